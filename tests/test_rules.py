"""The silence rules and the SLA clock, scenario by scenario (docs/design.md, rule semantics)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from rule_scenarios import (
    CUSTOMER,
    DEVELOPER,
    INTEGRATOR,
    MODERATOR,
    PASSER_BY,
    STAFF,
    START,
    SYSTEM_BOT,
    Thread,
    check,
    findings,
    hours,
    minutes,
)

from forumwatch.model import (
    Author,
    BusinessHours,
    Evidence,
    PostKind,
    Responders,
    Role,
    Sla,
    Stage,
    TopicKey,
    TopicState,
)
from rules.base import all_rules
from rules.clock import deadline, is_working_time
from rules.silence import follow_up_ignored, masked_silence, no_diagnosis, unanswered

KYIV = ZoneInfo("Europe/Kyiv")
KYIV_HOURS = BusinessHours(timezone="Europe/Kyiv", start=time(9), end=time(18))
FRIDAY_5PM_KYIV = datetime(2025, 3, 7, 17, 0, tzinfo=KYIV)


def kyiv(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A wall-clock time in Kyiv, as the aware UTC datetime rules work with."""
    return datetime(year, month, day, hour, minute, tzinfo=KYIV).astimezone(UTC)


# --- the SLA clock -------------------------------------------------------------------------


def test_calendar_deadline_is_plain_addition_in_utc() -> None:
    due = deadline(FRIDAY_5PM_KYIV, hours(2), None)
    assert due == datetime(2025, 3, 7, 17, 0, tzinfo=UTC)
    assert due.tzinfo is UTC


def test_friday_evening_topic_is_due_monday_morning_in_forum_time() -> None:
    assert deadline(FRIDAY_5PM_KYIV, hours(2), KYIV_HOURS) == kyiv(2025, 3, 10, 10, 0)


def test_holiday_is_skipped() -> None:
    hours_with_holiday = BusinessHours("Europe/Kyiv", holidays=frozenset({"2025-03-10"}))
    assert deadline(FRIDAY_5PM_KYIV, hours(2), hours_with_holiday) == kyiv(2025, 3, 11, 10, 0)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (kyiv(2025, 3, 3, 7, 30), kyiv(2025, 3, 3, 11, 0)),  # before opening: counts from 9:00
        (kyiv(2025, 3, 3, 16, 0), kyiv(2025, 3, 3, 18, 0)),  # fits exactly: due at closing
        (kyiv(2025, 3, 3, 19, 0), kyiv(2025, 3, 4, 11, 0)),  # after closing: next morning
        (kyiv(2025, 3, 8, 12, 0), kyiv(2025, 3, 10, 11, 0)),  # Saturday: Monday morning
    ],
)
def test_start_outside_hours_begins_counting_at_next_opening(
    start: datetime, due: datetime
) -> None:
    assert deadline(start, hours(2), KYIV_HOURS) == due


def test_long_duration_spans_several_working_days() -> None:
    # 9 working hours a day: Monday 9 + Tuesday 9 + 6 on Wednesday.
    assert deadline(kyiv(2025, 3, 3, 9, 0), hours(24), KYIV_HOURS) == kyiv(2025, 3, 5, 15, 0)


def test_clock_follows_daylight_saving_change() -> None:
    # Kyiv moves from UTC+2 to UTC+3 on Sunday 2025-03-30.
    due = deadline(datetime(2025, 3, 28, 17, 0, tzinfo=KYIV), hours(2), KYIV_HOURS)
    assert due == datetime(2025, 3, 31, 7, 0, tzinfo=UTC)


def test_working_time_check() -> None:
    assert is_working_time(kyiv(2025, 3, 7, 17, 59), KYIV_HOURS)
    assert not is_working_time(kyiv(2025, 3, 7, 18, 0), KYIV_HOURS)
    assert not is_working_time(kyiv(2025, 3, 8, 12, 0), KYIV_HOURS)
    assert is_working_time(kyiv(2025, 3, 8, 12, 0), None)


def test_clock_refuses_naive_times_and_impossible_hours() -> None:
    with pytest.raises(ValueError, match="aware"):
        deadline(datetime(2025, 3, 7, 17, 0), hours(2), None)
    with pytest.raises(ValueError, match="open before they close"):
        deadline(START, hours(2), BusinessHours(start=time(18), end=time(9)))
    with pytest.raises(ValueError, match="working weekday"):
        deadline(START, hours(2), BusinessHours(weekdays=frozenset()))


# --- unanswered ----------------------------------------------------------------------------


def test_unanswered_fires_exactly_when_acknowledgement_is_due() -> None:
    assert check("unanswered", Thread(), START + hours(2) - minutes(1)) is None
    found = check("unanswered", Thread(), START + hours(2))
    assert found is not None
    assert found.key == TopicKey("forum.example", "4242")
    assert found.rule == "unanswered"
    assert (found.stage, found.opened_at) == (Stage.DUE, START)
    assert (found.due_at, found.escalate_at) == (START + hours(2), START + hours(24))
    assert found.evidence == ()
    assert found.silent == ("anna_support", "dev_ivan")


def test_unanswered_escalates_after_the_escalation_delay() -> None:
    before = check("unanswered", Thread(), START + hours(24) - minutes(1))
    at = check("unanswered", Thread(), START + hours(24))
    assert before is not None and before.stage == Stage.DUE
    assert at is not None and at.stage == Stage.ESCALATED


def test_developer_whisper_never_answers() -> None:
    thread = Thread().whisper(DEVELOPER, minutes(30))
    found = findings(thread, START + hours(30))
    assert set(found) == {"unanswered"}
    assert found["unanswered"].evidence == (
        Evidence(
            post_number=2,
            username="dev_ivan",
            role=Role.DEVELOPER,
            created_at=START + minutes(30),
            kind=PostKind.WHISPER,
            note="whisper: not visible to the customer",
        ),
    )


def test_moderator_action_is_not_an_answer() -> None:
    thread = Thread().system(MODERATOR, minutes(10)).system(SYSTEM_BOT, minutes(20))
    assert set(findings(thread, START + hours(2))) == {"unanswered"}


def test_summary_names_who_is_silent_and_for_how_long() -> None:
    found = check("unanswered", Thread(), START + hours(5) + minutes(20))
    assert found is not None
    assert found.summary == (
        "No answer from the developer (dev_ivan) or staff (anna_support) for 5 h;"
        " nobody has replied publicly"
    )


def test_without_configured_developers_the_developer_is_named_generically() -> None:
    staff_only = Responders(staff=frozenset({"anna_support"}))
    found = check("unanswered", Thread(), START + hours(3), responders=staff_only)
    assert found is not None and found.silent == ("anna_support", "developer")


# --- masked_silence ------------------------------------------------------------------------


def test_third_party_comment_masks_the_silence() -> None:
    thread = Thread().reply(PASSER_BY, minutes(30))
    assert check("unanswered", thread, START + hours(3)) is None
    assert check("masked_silence", thread, START + hours(2) - minutes(1)) is None
    found = check("masked_silence", thread, START + hours(2))
    assert found is not None
    assert (found.stage, found.opened_at, found.due_at) == (Stage.DUE, START, START + hours(2))
    assert found.evidence == (
        Evidence(
            2, "taras", Role.OTHER, START + minutes(30), PostKind.REPLY, "third-party comment"
        ),
    )
    assert found.silent == ("anna_support", "dev_ivan")


def test_author_bump_does_not_count_as_answer() -> None:
    found = check("masked_silence", Thread().reply(CUSTOMER, hours(1)), START + hours(2))
    assert found is not None
    assert [(e.post_number, e.username, e.role) for e in found.evidence] == [
        (2, "olena_k", Role.AUTHOR)
    ]


def test_masking_evidence_lists_every_comment_with_its_role_and_skips_hidden_posts() -> None:
    thread = (
        Thread()
        .reply(PASSER_BY, minutes(10))
        .whisper(DEVELOPER, minutes(20))
        .reply(CUSTOMER, hours(1))
        .system(MODERATOR, hours(1))
        .reply(INTEGRATOR, hours(3))
    )
    found = check("masked_silence", thread, START + hours(5))
    assert found is not None
    assert [(e.post_number, e.role, e.note) for e in found.evidence] == [
        (2, Role.OTHER, "third-party comment"),
        (4, Role.AUTHOR, "the author's own bump"),
        (6, Role.OTHER, "third-party comment"),
    ]
    assert found.summary == (
        "No answer from the developer (dev_ivan) or staff (anna_support) for 5 h;"
        " 1 bump by the author and 2 comments by others masked the silence"
    )


def test_masked_silence_escalates_after_the_escalation_delay() -> None:
    thread = Thread().reply(PASSER_BY, minutes(30))
    before = check("masked_silence", thread, START + hours(24) - minutes(1))
    at = check("masked_silence", thread, START + hours(24))
    assert before is not None and before.stage == Stage.DUE
    assert at is not None and (at.stage, at.escalate_at) == (Stage.ESCALATED, START + hours(24))


# --- no_diagnosis --------------------------------------------------------------------------


def test_staff_acknowledgement_stops_silence_rules_but_leads_to_no_diagnosis() -> None:
    thread = Thread().reply(PASSER_BY, minutes(10)).reply(STAFF, hours(1)).reply(STAFF, hours(3))
    assert findings(thread, START + hours(24) - minutes(1)) == {}
    found = findings(thread, START + hours(24))
    assert set(found) == {"no_diagnosis"}
    diagnosis = found["no_diagnosis"]
    assert (diagnosis.opened_at, diagnosis.due_at) == (START, START + hours(24))
    assert (diagnosis.stage, diagnosis.escalate_at) == (Stage.DUE, START + hours(46))
    assert diagnosis.silent == ("dev_ivan",)
    assert [(e.post_number, e.username, e.role) for e in diagnosis.evidence] == [
        (3, "anna_support", Role.STAFF),
        (4, "anna_support", Role.STAFF),
    ]
    assert diagnosis.summary == (
        "Staff (anna_support) acknowledged the topic, but no diagnosis from the developer"
        " (dev_ivan) for 24 h"
    )


def test_no_diagnosis_escalates_after_the_escalation_delay() -> None:
    thread = Thread().reply(STAFF, hours(1))
    before = check("no_diagnosis", thread, START + hours(46) - minutes(1))
    at = check("no_diagnosis", thread, START + hours(46))
    assert before is not None and before.stage == Stage.DUE
    assert at is not None and at.stage == Stage.ESCALATED


def test_moderator_group_acknowledges_as_staff_but_never_diagnoses() -> None:
    thread = Thread().reply(MODERATOR, hours(1))
    found = findings(thread, START + hours(24))
    assert set(found) == {"no_diagnosis"}
    assert found["no_diagnosis"].evidence[0].role == Role.STAFF


def test_developer_whisper_after_staff_ack_is_no_diagnosis() -> None:
    thread = Thread().reply(STAFF, hours(1)).whisper(DEVELOPER, hours(2))
    assert set(findings(thread, START + hours(24))) == {"no_diagnosis"}


def test_public_developer_answer_is_a_diagnosis() -> None:
    thread = Thread().reply(STAFF, hours(1)).reply(DEVELOPER, hours(30))
    assert check("no_diagnosis", thread, START + hours(31)) is None


# --- follow_up_ignored ---------------------------------------------------------------------


def test_follow_up_is_measured_from_the_oldest_waiting_post() -> None:
    thread = (
        Thread().reply(DEVELOPER, hours(1)).reply(CUSTOMER, hours(3)).reply(PASSER_BY, hours(20))
    )
    assert check("follow_up_ignored", thread, START + hours(27) - minutes(1)) is None
    found = check("follow_up_ignored", thread, START + hours(27))
    assert found is not None
    assert (found.opened_at, found.due_at) == (START + hours(3), START + hours(27))
    assert (found.stage, found.escalate_at) == (Stage.DUE, START + hours(49))
    assert found.evidence == (
        Evidence(3, "olena_k", Role.AUTHOR, START + hours(3), note="waiting for an answer"),
        Evidence(4, "taras", Role.OTHER, START + hours(20), note="waiting for an answer"),
    )
    assert found.silent == ("anna_support", "dev_ivan")
    assert found.summary == (
        "No answer from the developer (dev_ivan) or staff (anna_support) for 24 h"
        " to 2 follow-ups by the author and others after the last answer"
    )


def test_follow_up_escalates_after_the_escalation_delay() -> None:
    thread = Thread().reply(DEVELOPER, hours(1)).reply(CUSTOMER, hours(3))
    before = check("follow_up_ignored", thread, START + hours(49) - minutes(1))
    at = check("follow_up_ignored", thread, START + hours(49))
    assert before is not None and before.stage == Stage.DUE
    assert at is not None and at.stage == Stage.ESCALATED


def test_only_posts_after_the_last_answer_are_waiting() -> None:
    thread = (
        Thread()
        .reply(DEVELOPER, hours(1))
        .reply(CUSTOMER, hours(2))
        .reply(STAFF, hours(4))
        .reply(CUSTOMER, hours(6))
    )
    found = check("follow_up_ignored", thread, START + hours(30))
    assert found is not None
    assert found.opened_at == START + hours(6)
    assert [e.post_number for e in found.evidence] == [5]


def test_answer_after_the_follow_up_clears_it() -> None:
    thread = Thread().reply(DEVELOPER, hours(1)).reply(CUSTOMER, hours(2)).reply(STAFF, hours(5))
    assert check("follow_up_ignored", thread, START + hours(100)) is None


@pytest.mark.parametrize("hidden_kind", [PostKind.WHISPER, PostKind.SYSTEM])
def test_hidden_developer_post_does_not_answer_a_follow_up(hidden_kind: PostKind) -> None:
    thread = (
        Thread()
        .reply(DEVELOPER, hours(1))
        .reply(CUSTOMER, hours(2))
        .reply(DEVELOPER, hours(3), hidden_kind)
    )
    found = check("follow_up_ignored", thread, START + hours(26))
    assert found is not None and [e.post_number for e in found.evidence] == [3]


def test_no_diagnosis_and_follow_up_can_fire_together() -> None:
    thread = Thread().reply(STAFF, hours(1)).reply(CUSTOMER, hours(2))
    assert set(findings(thread, START + hours(26) - minutes(1))) == {"no_diagnosis"}
    assert set(findings(thread, START + hours(26))) == {"no_diagnosis", "follow_up_ignored"}


# --- long topics, states, authors, roles ---------------------------------------------------


def _long_topic(tail: list[tuple[Author, PostKind]]) -> Thread:
    """22 posts of bumps and comments, the developer's answer as post 23, then `tail`."""
    thread = Thread()
    for n in range(2, 23):
        thread.reply(CUSTOMER if n % 3 == 0 else PASSER_BY, minutes(10 * n))
    thread.reply(DEVELOPER, hours(5))
    for author, kind in tail:
        thread.reply(author, hours(6), kind)
    return thread


@pytest.mark.parametrize("shuffled", [False, True])
def test_developer_answer_on_post_23_of_25_is_seen(shuffled: bool) -> None:
    thread = _long_topic([(STAFF, PostKind.WHISPER), (MODERATOR, PostKind.SYSTEM)])
    assert len(thread.posts) == 25
    assert findings(thread.topic(shuffled=shuffled), START + hours(100)) == {}


def test_customer_posts_after_a_late_answer_wait_for_follow_up() -> None:
    thread = _long_topic([(CUSTOMER, PostKind.REPLY), (PASSER_BY, PostKind.REPLY)])
    assert findings(thread, START + hours(30) - minutes(1)) == {}
    found = findings(thread.topic(shuffled=True), START + hours(30))
    assert set(found) == {"follow_up_ignored"}
    assert [e.post_number for e in found["follow_up_ignored"].evidence] == [24, 25]


def _every_shape() -> list[Thread]:
    """Topics that would raise each rule if they were open and started by a customer."""
    return [
        Thread(),
        Thread().reply(PASSER_BY, hours(1)),
        Thread().reply(STAFF, hours(1)),
        Thread().reply(DEVELOPER, hours(1)).reply(CUSTOMER, hours(2)),
    ]


@pytest.mark.parametrize("state", [TopicState.CLOSED, TopicState.SOLVED, TopicState.ARCHIVED])
def test_closed_solved_and_archived_topics_raise_nothing(state: TopicState) -> None:
    for thread in _every_shape():
        thread.state = state
        assert findings(thread, START + hours(200)) == {}


def test_open_shapes_raise_each_rule() -> None:
    fired = [set(findings(thread, START + hours(200))) for thread in _every_shape()]
    assert fired == [{"unanswered"}, {"masked_silence"}, {"no_diagnosis"}, {"follow_up_ignored"}]


@pytest.mark.parametrize("starter", [DEVELOPER, STAFF, MODERATOR, Author("DEV_IVAN")])
def test_topics_started_by_a_responder_raise_nothing(starter: Author) -> None:
    for shape in _every_shape():
        thread = Thread(author=starter, posts=[])
        thread.posts.extend(shape.posts[1:])
        assert findings(thread, START + hours(200)) == {}


def test_usernames_and_groups_match_case_insensitively() -> None:
    responders = Responders(
        developers=frozenset({"Dev_Ivan"}), staff_groups=frozenset({"Moderator"})
    )
    thread = Thread().reply(Author("mod_x", forum_roles=frozenset({"MODERATOR"})), hours(1))
    thread.reply(Author("DEV_IVAN"), hours(2))
    assert findings(thread, START + hours(200), responders=responders) == {}


def test_developer_group_from_forum_roles_answers_and_starts_topics() -> None:
    petro = Author("petro_k", forum_roles=frozenset({"vendor-petro"}))
    responders = Responders(developer_groups=frozenset({"vendor-petro"}))
    answered = Thread().reply(MODERATOR, hours(1)).reply(petro, hours(2))
    assert findings(answered, START + hours(200), responders=responders) == {}
    assert findings(Thread(author=petro), START + hours(200), responders=responders) == {}
    silent = check("unanswered", Thread(), START + hours(2), responders=responders)
    assert silent is not None and silent.silent == ("developer",)


# --- business hours ------------------------------------------------------------------------

KYIV_SLA = Sla(business_hours=KYIV_HOURS)


def test_friday_evening_topic_in_business_hours_is_due_monday_and_escalates_wednesday() -> None:
    thread = Thread(start=FRIDAY_5PM_KYIV.astimezone(UTC))
    monday_10 = kyiv(2025, 3, 10, 10, 0)
    assert check("unanswered", thread, monday_10 - minutes(1), sla=KYIV_SLA) is None
    found = check("unanswered", thread, monday_10, sla=KYIV_SLA)
    assert found is not None
    # 22 working hours: Monday 10-18, Tuesday 9-18, Wednesday 9-14.
    assert (found.due_at, found.escalate_at) == (monday_10, kyiv(2025, 3, 12, 14, 0))
    assert found.stage == Stage.DUE
    late = check("unanswered", thread, kyiv(2025, 3, 12, 14, 0), sla=KYIV_SLA)
    assert late is not None and late.stage == Stage.ESCALATED


def test_business_hours_holiday_delays_the_deadline() -> None:
    holiday = BusinessHours("Europe/Kyiv", holidays=frozenset({"2025-03-10"}))
    thread = Thread(start=FRIDAY_5PM_KYIV.astimezone(UTC)).reply(PASSER_BY, hours(1))
    sla = Sla(business_hours=holiday)
    assert check("masked_silence", thread, kyiv(2025, 3, 11, 9, 59), sla=sla) is None
    found = check("masked_silence", thread, kyiv(2025, 3, 11, 10, 0), sla=sla)
    assert found is not None and found.due_at == kyiv(2025, 3, 11, 10, 0)


def test_follow_up_in_business_hours_counts_from_the_waiting_post() -> None:
    monday_9 = kyiv(2025, 3, 3, 9, 0)
    thread = (
        Thread(start=monday_9).reply(DEVELOPER, hours(1)).reply(CUSTOMER, hours(7))  # 16:00
    )
    found = check("follow_up_ignored", thread, kyiv(2025, 3, 6, 13, 0), sla=KYIV_SLA)
    # 24 working hours from Monday 16:00: 2 + 9 + 9 + 4 → Thursday 13:00.
    assert found is not None
    assert (found.opened_at, found.due_at) == (kyiv(2025, 3, 3, 16, 0), kyiv(2025, 3, 6, 13, 0))


# --- the registry --------------------------------------------------------------------------


def test_rules_are_registered_by_id_with_a_one_line_docstring() -> None:
    registered = all_rules()
    for rule_id, func in [
        ("unanswered", unanswered),
        ("masked_silence", masked_silence),
        ("no_diagnosis", no_diagnosis),
        ("follow_up_ignored", follow_up_ignored),
    ]:
        assert registered[rule_id] is func
        assert func.__doc__ and "\n" not in func.__doc__.strip()
