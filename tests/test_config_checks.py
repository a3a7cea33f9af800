"""The admin's first hour: the config mistakes that used to pass `check-config` (or came back as
parser jargon) are each refused with one line naming the place and the fix, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import forumwatch

from forumwatch.config.load import ConfigError, load_config, notes

FORUM = """\
forums:
  - id: market
    engine: discourse
    url: https://forum.example.com
    developers: [dev_ivan]
"""
TELEGRAM = "telegram: {token: '123456:ABC-def_ghi'}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """The problems `load_config` reports, without the file's directory."""
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return [p.removeprefix(f"{tmp_path}/") for p in caught.value.problems]


# 1. repeated keys


def test_a_repeated_key_is_refused_at_its_second_line(tmp_path: Path) -> None:
    text = FORUM + "    staff: [anna]\n    developers: [dev_olena]\n"

    assert problems(tmp_path, text) == [
        "config.yaml:7 forums[0].developers: repeats the key first set at line 5; "
        "merge the two into one (YAML keeps only the last)"
    ]


def test_a_repeated_key_is_refused_at_any_depth(tmp_path: Path) -> None:
    text = "sla:\n  acknowledge: 2h\nsla: {diagnose: 1d}\n" + FORUM.replace(
        "    developers: [dev_ivan]\n",
        "    business_hours:\n      start: '09:00'\n      start: '10:00'\n",
    )

    assert problems(tmp_path, text) == [
        "config.yaml:3 sla: repeats the key first set at line 1; "
        "merge the two into one (YAML keeps only the last)",
        "config.yaml:10 forums[0].business_hours.start: repeats the key first set at line 9; "
        "merge the two into one (YAML keeps only the last)",
    ]


# 2. SLA durations


def test_a_zero_sla_duration_is_refused(tmp_path: Path) -> None:
    text = "sla: {acknowledge: 0h, follow_up: 0m}\n" + FORUM

    assert problems(tmp_path, text) == [
        "config.yaml:1 sla.acknowledge: must be longer than zero; write it like 20s, 30m or 2h",
        "config.yaml:1 sla.follow_up: must be longer than zero; write it like 20s, 30m or 2h",
    ]


def test_diagnose_before_acknowledge_is_refused(tmp_path: Path) -> None:
    text = "sla:\n  acknowledge: 2h\n  diagnose: 1h\n" + FORUM

    assert problems(tmp_path, text) == [
        "config.yaml:3 sla.diagnose: 1h is shorter than acknowledge (2h); make it at least 2h"
    ]


def test_a_forum_sla_override_is_checked_too(tmp_path: Path) -> None:
    text = FORUM + "    sla: {acknowledge: 30m, diagnose: 0h}\n"

    assert problems(tmp_path, text) == [
        "config.yaml:6 forums[0].sla.diagnose: must be longer than zero; "
        "write it like 20s, 30m or 2h"
    ]


def test_an_acknowledge_longer_than_the_default_diagnose_is_refused(tmp_path: Path) -> None:
    text = FORUM + "    sla:\n      acknowledge: 30h\n"

    assert problems(tmp_path, text) == [
        "config.yaml:7 forums[0].sla: acknowledge 1d6h is longer than the default diagnose "
        "(1d); add diagnose: 1d6h or more"
    ]


def test_escalating_as_soon_as_due_stays_allowed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "sla: {escalate_after: 0h}\n" + FORUM))

    assert config.sla.escalate_after.total_seconds() == 0


# 3. chats without telegram:


def test_chats_without_a_telegram_section_are_refused(tmp_path: Path) -> None:
    text = FORUM + (
        "    developer_chats: [222222222]\n"
        "    apps:\n"
        "      - {id: signed-files, categories: [12], quality_chats: [-1001234567890]}\n"
    )

    assert problems(tmp_path, text) == [
        "config.yaml:6 forums[0].developer_chats: nothing is sent to chats without a "
        "`telegram:` section; add one with the bot's `token`, or remove developer_chats",
        "config.yaml:8 forums[0].apps[0].quality_chats: nothing is sent to chats without a "
        "`telegram:` section; add one with the bot's `token`, or remove quality_chats",
    ]


def test_chats_with_a_telegram_section_load(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TELEGRAM + FORUM + "    quality_chats: [-100123]\n"))

    assert config.forums[0].quality_chats == [-100123]


# 4. empty environment variables


def test_an_empty_environment_variable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FW_CHECKS_TOKEN", " \n")
    monkeypatch.delenv("FW_CHECKS_KEY", raising=False)
    text = "telegram: {token: '${FW_CHECKS_TOKEN}'}\n" + FORUM + "    api_key: ${FW_CHECKS_KEY}\n"

    assert problems(tmp_path, text) == [
        "config.yaml:1 telegram.token: environment variable FW_CHECKS_TOKEN is empty; export it "
        "(`export FW_CHECKS_TOKEN=...`) or write ${FW_CHECKS_TOKEN:-default}, "
        "or ${FW_CHECKS_TOKEN:-} to allow it empty",
        "config.yaml:7 forums[0].api_key: environment variable FW_CHECKS_KEY is not set; export "
        "it (`export FW_CHECKS_KEY=...`) or write ${FW_CHECKS_KEY:-default}, "
        "or ${FW_CHECKS_KEY:-} to allow it empty",
    ]


def test_an_explicit_default_allows_an_empty_or_missing_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FW_CHECKS_KEY", "")
    monkeypatch.delenv("FW_CHECKS_USER", raising=False)
    text = FORUM + "    api_key: ${FW_CHECKS_KEY:-}\n    api_username: ${FW_CHECKS_USER:-system}\n"

    forum = load_config(write(tmp_path, text)).forums[0]

    assert (forum.api_key, forum.api_username) == ("", "system")


# 5. repeated ids


def test_a_repeated_forum_id_is_named_at_its_second_line(tmp_path: Path) -> None:
    text = FORUM + "  - {id: market, engine: discourse, url: 'https://other.example.com'}\n"

    assert problems(tmp_path, text) == [
        "config.yaml:6 forums[1].id: forum id 'market' is used twice (first at line 2); "
        "ids must be unique"
    ]


def test_a_repeated_app_id_is_named_at_its_second_line(tmp_path: Path) -> None:
    text = FORUM + (
        "    apps:\n"
        "      - {id: signed-files, categories: [12]}\n"
        "      - {id: reports, categories: [13]}\n"
        "      - {id: signed-files, categories: [14]}\n"
    )

    assert problems(tmp_path, text) == [
        "config.yaml:9 forums[0].apps[2].id: app id 'signed-files' is used twice in this forum "
        "(first at line 7); ids must be unique"
    ]


# 6. YAML syntax


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (
            "    url: https://forum.example.com\n   developers: [dev_ivan]\n",
            "config.yaml:5:4: YAML syntax: a key is indented differently from the keys beside "
            "it; line it up with them",
        ),
        (
            "    url: https://forum.example.com\n      developers: [dev_ivan]\n",
            "config.yaml:5:17: YAML syntax: this key is indented more than the key above it; "
            "line it up with that key",
        ),
        (
            "    url: https://forum.example.com\n\tdevelopers: [dev_ivan]\n",
            "config.yaml:5:1: YAML syntax: a tab character; use spaces "
            "(YAML indents with spaces only)",
        ),
        (
            "    url: 'https://forum.example.com\n    developers: [dev_ivan]\n",
            "config.yaml:4:10: YAML syntax: a quote opened here is never closed; "
            "close it on the same line",
        ),
        (
            "    url: https://forum.example.com\n    developers: [dev_ivan\n",
            "config.yaml:5:17: YAML syntax: the list opened here with `[` is not closed with `]` "
            "(or a comma is missing between its items)",
        ),
        (
            "    url https://forum.example.com\n    developers: [dev_ivan]\n",
            "config.yaml:4:5: YAML syntax: a colon is missing after the key; write `key: value`",
        ),
        (
            "    url: https://forum.example.com\n    developers: ivan: petro\n",
            "config.yaml:5:21: YAML syntax: this value contains `: `; "
            "put the whole value in quotes",
        ),
        (
            '    url: "C:\\Users"\n',
            "config.yaml:4:15: YAML syntax: a backslash in double quotes starts an escape; "
            "use single quotes",
        ),
        (
            "    url: https://forum.example.com\n    developers: *devs\n",
            "config.yaml:5:17: YAML syntax: found undefined alias 'devs'",
        ),
    ],
)
def test_yaml_syntax_errors_are_told_in_our_words(
    tmp_path: Path, broken: str, problem: str
) -> None:
    text = FORUM.replace("    url: https://forum.example.com\n    developers: [dev_ivan]\n", broken)

    assert problems(tmp_path, text) == [problem]


def test_values_yaml_cannot_read_are_named_not_a_traceback(tmp_path: Path) -> None:
    text = "database: !secret x\n" + FORUM + "    business_hours: {holidays: [2026-13-45]}\n"

    assert problems(tmp_path, text) == [
        "config.yaml:1 database: the YAML tag !secret is not supported; remove it",
        "config.yaml:7 forums[0].business_hours.holidays[0]: '2026-13-45' cannot be read "
        "(month must be in 1..12); put it in quotes if it is text",
    ]


# 7. did you mean


def test_unknown_keys_and_engines_suggest_the_closest_name(tmp_path: Path) -> None:
    text = (
        FORUM.replace("developers:", "developrs:").replace("engine: discourse", "engine: discource")
        + "sla: {acknowlege: 2h}\nsmtp: {host: mail.example.com, from: f@example.com, too: [q]}\n"
        + "forum_colour: blue\n"
    )

    assert problems(tmp_path, text) == [
        "config.yaml:3 forums[0].engine: unknown engine 'discource'; did you mean 'discourse'? "
        "known engines: discourse, html, misago",
        "config.yaml:5 forums[0].developrs: unknown key; did you mean `developers`?",
        "config.yaml:6 sla.acknowlege: unknown key; did you mean `acknowledge`?",
        "config.yaml:7 smtp.to: is required",
        "config.yaml:7 smtp.too: unknown key; did you mean `to`?",
        "config.yaml:8 forum_colour: unknown key; check its spelling against the example "
        "config.yaml",
    ]


# 8. a database folder still to be made: a note, not an error


def test_a_missing_database_folder_is_a_note_not_an_error(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "database: data/new/watch.db\n" + FORUM))

    assert notes(config) == [
        f"database folder {tmp_path}/data/new does not exist yet; forumwatch will create it"
    ]
    assert notes(load_config(write(tmp_path, "database: watch.db\n" + FORUM))) == []


# the command


def test_check_config_exits_2_with_the_problem_on_stderr(tmp_path: Path) -> None:
    path = write(tmp_path, FORUM + "    developers: [dev_olena]\n")

    result = forumwatch("check-config", "-c", str(path))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"forumwatch: {path}:6 forums[0].developers: repeats the key first set at line 5; "
        "merge the two into one (YAML keeps only the last)\n"
    )


def test_check_config_reports_every_mistake_at_once_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sla:\n"
        "  acknowledge: 2h\n"
        "  diagnose: 1h\n"
        "forums:\n"
        "  - id: market\n"
        "    engine: discourse\n"
        "    url: https://forum.example.com\n"
        "    api_key: ${FW_CHECKS_EMPTY}\n"
        "    developers: [dev_ivan]\n"
        "    developer_chats: [222222222]\n"
        "    developers: [dev_olena]\n"
        "    ignore_user: [helpdesk_bot]\n"
        "  - id: market\n"
        "    engine: discourse\n"
        "    url: https://other.example.com\n",
    )

    result = forumwatch("check-config", "-c", str(path), env={"FW_CHECKS_EMPTY": ""})

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"forumwatch: {path}:{line}" + problem
        for line, problem in [
            (3, " sla.diagnose: 1h is shorter than acknowledge (2h); make it at least 2h"),
            (
                8,
                " forums[0].api_key: environment variable FW_CHECKS_EMPTY is empty; export it "
                "(`export FW_CHECKS_EMPTY=...`) or write ${FW_CHECKS_EMPTY:-default}, "
                "or ${FW_CHECKS_EMPTY:-} to allow it empty",
            ),
            (
                10,
                " forums[0].developer_chats: nothing is sent to chats without a `telegram:` "
                "section; add one with the bot's `token`, or remove developer_chats",
            ),
            (
                11,
                " forums[0].developers: repeats the key first set at line 9; merge the two "
                "into one (YAML keeps only the last)",
            ),
            (12, " forums[0].ignore_user: unknown key; did you mean `ignore_users`?"),
            (
                13,
                " forums[1].id: forum id 'market' is used twice (first at line 5); "
                "ids must be unique",
            ),
        ]
    ]


def test_check_config_names_a_database_folder_it_will_create(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "database: state/new/watch.db\n"
        "forums:\n  - {id: market, engine: discourse, url: 'https://forum.example.com'}\n",
        encoding="utf-8",
    )

    result = forumwatch("check-config", "-c", str(path))

    assert result.returncode == 0, result.stderr
    folder = tmp_path / "state" / "new"
    note = f"  note: database folder {folder} does not exist yet; forumwatch will create it"
    assert note in result.stdout.splitlines()  # piped: whole lines, never wrapped
    assert not folder.exists()
