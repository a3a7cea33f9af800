"""The digest in a real headless browser (Debian's chromium): it renders, shows its title, runs
no script and logs no console error, in each language it speaks (its `lang` and title). With
FORUMWATCH_UPDATE_SCREENSHOT=1 the Ukrainian screenshot becomes docs/digest.png, the one the
README shows."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from digests.build import build_digest
from digests.render import render_html
from forumwatch.config.models import Config
from forumwatch.store import Store
from tests.conftest import NOW, ROOT, forumwatch
from tests.test_digest import DAY, setup, topic  # noqa: F401  (setup is a fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing on CI: .ci/run installs Debian's chromium first")
    pytest.skip(
        "no chromium here (apt-get install chromium); CI installs it", allow_module_level=True
    )

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, "--enable-logging=stderr", "--v=0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def png_pixels(path: Path) -> bytes:
    """The raw (filtered) scanlines of a PNG: enough to tell a blank image from a page."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat = 8, b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"IDAT":
            idat += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    return zlib.decompress(idat)


def test_console_errors_are_detected_so_the_check_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<p>x</p><script>throw new Error('boom')</script>", encoding="utf-8")
    assert any(
        "Uncaught Error: boom" in line
        for line in console_lines(chromium("--dump-dom", page.as_uri()).stderr)
    )


@pytest.fixture(scope="module")
def kept_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo run kept for every language's digest (the digest only reads its store)."""
    folder = tmp_path_factory.mktemp("demo")
    kept = folder / "demo"
    demo = forumwatch(  # its digest goes under TMPDIR: this test's folder, not a shared one
        "demo", "--keep", str(kept), "--now", NOW.isoformat(), env={"TMPDIR": str(folder)}
    )
    assert demo.returncode == 0, demo.stderr
    return kept


TITLES = {
    "uk": "Дайджест forumwatch за 4 березня 2026",
    "ru": "Дайджест forumwatch за 4 марта 2026",
    "en": "forumwatch digest for 4 March 2026",
}


@pytest.mark.parametrize(
    "language",
    ["uk", pytest.param("ru", marks=pytest.mark.slow), pytest.param("en", marks=pytest.mark.slow)],
)
def test_demo_digest_renders_in_chromium(kept_demo: Path, tmp_path: Path, language: str) -> None:
    config = kept_demo / f"config-{language}.yaml"  # beside the demo's: its database is relative
    demo_config = (kept_demo / "config.yaml").read_text(encoding="utf-8")
    config.write_text(f"{demo_config.rstrip()}\nlanguage: {language}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = forumwatch("digest", "-c", str(config), "--date", "2026-03-04", "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = out / "2026-03-04.html"
    shot = tmp_path / "digest.png"

    painted = chromium("--window-size=1100,1500", f"--screenshot={shot}", page.as_uri())
    dom = chromium("--dump-dom", page.as_uri())

    assert shot.exists(), painted.stderr
    pixels = png_pixels(shot)
    assert len(set(pixels)) > 50, "the screenshot is blank"
    assert f'<html lang="{language}">' in dom.stdout
    assert f"<title>{TITLES[language]}</title>" in dom.stdout
    assert "Підпис файлів не проходить з новим ключем" in dom.stdout
    assert console_lines(painted.stderr + dom.stderr) == []
    if language == "uk" and os.environ.get("FORUMWATCH_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "digest.png")


def test_a_script_title_stays_text_in_the_browser(
    setup: tuple[Config, Store, Path],  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    config, store, _ = setup
    store.save_topic(topic(9, "<script>console.error('pwned')</script>", None), "m")
    page = tmp_path / "digest.html"
    page.write_text(render_html(build_digest(store, config, DAY)), encoding="utf-8")

    dom = chromium("--dump-dom", page.as_uri())

    assert console_lines(dom.stderr) == []  # it never ran
    assert "&lt;script&gt;console.error('pwned')&lt;/script&gt;" in dom.stdout
    assert "<script" not in dom.stdout
