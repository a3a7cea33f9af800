"""The config file: what it accepts, and one clear line naming the place and the fix otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT, forumwatch

from forumwatch.config.load import ConfigError, load_config
from forumwatch.config.values import parse_duration
from forumwatch.model import Author, Topic
from forumwatch.roles import responders_for

GOOD = """\
database: watch.db
sla: {acknowledge: 2h, diagnose: 1d, follow_up: 1h30m}
forums:
  - id: market
    engine: discourse
    url: https://forum.example.com/
    developers: [dev_ivan]
    staff: [anna_quality]
    apps:
      - {id: signed-files, categories: [signed-files, 12], developers: [vendor_petro]}
"""
_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_the_example_config_in_the_repository_is_valid() -> None:
    config = load_config(ROOT / "config.yaml")

    assert config.forums[0].id == "market"
    assert config.sla.acknowledge == timedelta(hours=2)


def test_good_config_loads_with_durations_and_relative_database(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))

    assert config.database == tmp_path / "watch.db"
    assert config.sla.diagnose == timedelta(days=1)
    assert config.sla.follow_up == timedelta(hours=1, minutes=30)
    assert config.forums[0].url == "https://forum.example.com"
    assert config.forums[0].apps[0].categories == ["signed-files", "12"]


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("2h", timedelta(hours=2)),
        ("30m", timedelta(minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("1d 2h", timedelta(hours=26)),
        ("250ms", timedelta(milliseconds=250)),
    ],
)
def test_durations(text: str, duration: timedelta) -> None:
    assert parse_duration(text) == duration


def test_bad_url_names_file_line_and_key(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("https://forum.example.com/", "htp://x"))

    assert message == f"{tmp_path / 'config.yaml'}:6 forums[0].url: 'htp://x' is not an http(s) URL"


def test_misspelt_key_is_named(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("staff:", "staf:"))

    assert ":8 forums[0].staf: unknown key" in message


def test_bad_duration_says_how_to_write_one(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("acknowledge: 2h", "acknowledge: soon"))

    assert ":2 sla.acknowledge: 'soon' is not a duration; write it like 2h" in message


def test_missing_environment_variable_is_an_error_not_an_empty_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FW_TEST_KEY", raising=False)
    text = GOOD + "    api_key: ${FW_TEST_KEY}\n"

    message = error_for(tmp_path, text)

    assert ":11 forums[0].api_key: environment variable FW_TEST_KEY is not set" in message


def test_environment_variables_are_substituted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FW_TEST_KEY", "s3cret")
    config = load_config(write(tmp_path, GOOD + "    api_key: ${FW_TEST_KEY}\n"))

    assert config.forums[0].api_key == "s3cret"


def test_moderator_flag_cannot_make_a_developer(tmp_path: Path) -> None:
    text = GOOD.replace("developers: [dev_ivan]", "developer_groups: [moderator]")

    assert "forum-wide roles, not an app's developers" in error_for(tmp_path, text)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("staff: [anna_quality]", "staff: [anna_quality"))

    assert message == (
        f"{tmp_path / 'config.yaml'}:8:12: YAML syntax: the list opened here with `[` is not "
        "closed with `]` (or a comma is missing between its items)"
    )


def test_unknown_engine_lists_the_known_ones(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("engine: discourse", "engine: phpbb"))

    assert ":5 forums[0].engine: unknown engine 'phpbb'; known engines: discourse" in message


def test_app_developers_are_added_by_category_slug_or_id(tmp_path: Path) -> None:
    forum = load_config(write(tmp_path, GOOD)).forums[0]
    author = Author("olena")
    in_app = Topic("market", "1", "u", "t", author, _T0, (), category="x", category_id="12")
    elsewhere = Topic("market", "2", "u", "t", author, _T0, (), category="general")

    assert responders_for(forum, in_app).developers == {"dev_ivan", "vendor_petro"}
    assert responders_for(forum, in_app).app_id == "signed-files"
    assert responders_for(forum, elsewhere).developers == {"dev_ivan"}


def test_check_config_command_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("https://forum.example.com/", "htp://x"))

    result = forumwatch("check-config", "-c", str(path))

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "forums[0].url" in result.stderr


def test_config_path_defaults_to_the_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)

    result = forumwatch("check-config", env={"FORUMWATCH_CONFIG": str(path)})

    assert result.returncode == 0, result.stderr
    assert "market: discourse https://forum.example.com" in result.stdout


def test_missing_config_file_says_how_to_get_one(tmp_path: Path) -> None:
    result = forumwatch("check-config", "-c", str(tmp_path / "nope.yaml"))

    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_repeated_forum_id_is_refused(tmp_path: Path) -> None:
    forum = GOOD[GOOD.index("  - id: market") :]

    message = error_for(tmp_path, GOOD + forum)

    assert message == (
        f"{tmp_path / 'config.yaml'}:11 forums[1].id: forum id 'market' is used twice "
        "(first at line 4); ids must be unique"
    )
