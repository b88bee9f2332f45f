"""The backlog rebuilt from the mail, on constructed timelines: any week, watched live or not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from triage.metrics.backlog import Backlog, DayBacklog, daily_backlog, waits
from triage.metrics.business_hours import BusinessHours
from triage.metrics.conversations import MailEvent, conversations
from triage.report.headlines import Targets, headlines
from triage.report.weekly import build

MON = datetime(2026, 11, 16, tzinfo=UTC)  # Monday of 2026-W47, 00:00
WEEK = [date(2026, 11, 16) + timedelta(days=i) for i in range(7)]
AFTER_THE_WEEK = MON + timedelta(days=8)


def at(day: int, hour: float) -> datetime:
    """Day 0 is Monday 16 November; hours in UTC."""
    return MON + timedelta(days=day, hours=hour)


def asked(mid: str, when: datetime, who: str = "") -> MailEvent:
    return MailEvent(mid, None, (), f"subject {mid}", who or f"{mid}@x.example", when, from_team=False)


def answered(mid: str, when: datetime) -> MailEvent:
    return MailEvent(f"re-{mid}", mid, (mid,), f"Re: subject {mid}", f"{mid}@x.example", when, from_team=True)


# A week nobody watched: Monday two messages, both answered by noon (inbox zero); Tuesday one
# that waits until Thursday 10:00; Wednesday two more, answered Wednesday 16:00 and Friday 09:00.
# Nothing arrives at the weekend, and on Friday 09:00 the last one is answered.
UNWATCHED_WEEK = [
    asked("a", at(0, 9)),
    asked("b", at(0, 10)),
    answered("a", at(0, 11)),
    answered("b", at(0, 12)),
    asked("c", at(1, 9)),
    asked("d", at(2, 9)),
    asked("e", at(2, 10)),
    answered("d", at(2, 16)),
    answered("c", at(3, 10)),
    answered("e", at(4, 9)),
]


def backlog_of(events: list[MailEvent]) -> Backlog:
    return Backlog.of(waits(conversations(events)))


def test_the_count_at_any_moment_follows_from_arrivals_and_first_replies() -> None:
    backlog = backlog_of(UNWATCHED_WEEK)
    assert (
        backlog.at(
            at(
                0,
                10,
            )
        )
        == 2
    )
    assert backlog.at(at(0, 11)) == 1  # the reply at 11:00 counts from 11:00
    assert backlog.at(at(0, 13)) == 0
    assert backlog.at(at(2, 12)) == 3  # c, d and e
    assert backlog.at(at(4, 9)) == 0


def test_a_week_triage_never_watched_has_its_daily_backlog_and_inbox_zero_days() -> None:
    daily = daily_backlog(backlog_of(UNWATCHED_WEEK), [], WEEK, "UTC", AFTER_THE_WEEK)
    assert daily == {
        WEEK[0]: DayBacklog(highest=2, lowest=0),  # Monday: two at once, zero from noon
        WEEK[1]: DayBacklog(highest=1, lowest=0),  # Tuesday starts at zero, c arrives at 09:00
        WEEK[2]: DayBacklog(highest=3, lowest=1),  # Wednesday: c still waits all day
        WEEK[3]: DayBacklog(highest=2, lowest=1),  # Thursday: c answered, e still waits
        WEEK[4]: DayBacklog(highest=1, lowest=0),  # Friday: e answered at 09:00
        WEEK[5]: DayBacklog(highest=0, lowest=0),
        WEEK[6]: DayBacklog(highest=0, lowest=0),
    }


def test_days_before_the_history_and_after_now_are_gaps_never_zeros() -> None:
    events = [asked("late", at(2, 9)), answered("late", at(2, 11))]
    wednesday_noon = at(2, 12)
    daily = daily_backlog(backlog_of(events), [], WEEK, "UTC", wednesday_noon)
    assert daily[WEEK[0]] is None and daily[WEEK[1]] is None  # no mail history yet
    assert daily[WEEK[2]] == DayBacklog(highest=1, lowest=0)  # from the first message on
    assert all(daily[day] is None for day in WEEK[3:])  # still to come
    assert backlog_of(events).at(at(1, 12)) is None


def test_days_triage_watched_before_any_mail_arrived_are_zeros_not_gaps() -> None:
    events = [asked("late", at(2, 9)), answered("late", at(2, 11))]
    first_poll = at(0, 8)  # triage was switched on Monday at 08:00
    backlog = Backlog.of(waits(conversations(events)), watched_since=first_poll)
    daily = daily_backlog(backlog, [], WEEK, "UTC", at(2, 12))
    assert daily[WEEK[0]] == daily[WEEK[1]] == DayBacklog(highest=0, lowest=0)
    assert backlog.at(at(0, 7)) is None and backlog.at(at(1, 12)) == 0


def test_poll_snapshots_refine_the_rebuilt_backlog_and_fill_days_without_mail() -> None:
    backlog = backlog_of(UNWATCHED_WEEK)
    snapshots = [
        (at(2, 13), 0),  # a poll saw nothing waiting (the mail's dates said 3: a late delivery)
        (at(3, 12), 5),  # a poll counted more than the mail shows
    ]
    daily = daily_backlog(backlog, snapshots, WEEK, "UTC", AFTER_THE_WEEK)
    assert daily[WEEK[2]] == DayBacklog(highest=3, lowest=0)
    assert daily[WEEK[3]] == DayBacklog(highest=5, lowest=1)
    # before the first message, only a poll tells: it saw an empty inbox
    sunday_before = [date(2026, 11, 15)]
    assert daily_backlog(backlog, [(at(-1, 12), 0)], sunday_before, "UTC", AFTER_THE_WEEK) == {
        sunday_before[0]: DayBacklog(highest=0, lowest=0)
    }


def test_days_are_the_teams_days_in_its_time_zone() -> None:
    # 23:30 UTC on Monday is Tuesday 08:30 in Tokyo
    events = [asked("x", at(0, 23.5)), answered("x", at(1, 1))]
    daily = daily_backlog(backlog_of(events), [], WEEK, "Asia/Tokyo", AFTER_THE_WEEK)
    assert daily[WEEK[0]] is None and daily[WEEK[1]] == DayBacklog(highest=1, lowest=0)


def test_a_follow_up_after_the_reply_waits_again_from_its_own_arrival() -> None:
    events = [
        asked("a", at(0, 9)),
        answered("a", at(0, 10)),
        MailEvent("a2", "re-a", ("a", "re-a"), "Re: subject a", "a@x.example", at(0, 15), False),
    ]
    assert [(w.since, w.until) for w in waits(conversations(events))] == [
        (at(0, 9), at(0, 10)),
        (at(0, 15), None),
    ]


def test_the_weeks_report_from_an_unwatched_week_shows_backlog_inbox_zero_and_oldest_waiting() -> None:
    events = [*UNWATCHED_WEEK, asked("f", at(6, 20))]  # Sunday evening, still waiting at week end
    report = build(
        "2026-W47", "UTC", [], conversations(events), [], None, 0, BusinessHours(), Targets(), AFTER_THE_WEEK
    )
    assert report.inbox_zero_days == (WEEK[0], WEEK[1], WEEK[4], WEEK[5], WEEK[6])
    assert [(who, round(hours, 1)) for who, _, hours in report.oldest_open] == [("f@x.example", 4.0)]
    assert sorted(report.response_hours) == [2, 2, 7, 47, 49]  # a, b, d, e, c


def test_headlines_compare_with_last_week_and_the_four_weeks_before() -> None:
    events: list[MailEvent] = []
    for weeks_back, count in ((4, 4), (3, 2), (2, 6), (1, 4)):  # 4 weeks of history before W47
        for i in range(count):
            mid = f"w{weeks_back}-{i}"
            events += [asked(mid, at(-7 * weeks_back, 9 + i)), answered(mid, at(-7 * weeks_back, 10 + i))]
    events += [asked("now1", at(0, 9)), answered("now1", at(0, 21)), asked("now2", at(6, 9))]
    conversations_, median, within, waiting = headlines(
        conversations(events), backlog_of(events), MON, AFTER_THE_WEEK, BusinessHours(), Targets()
    )
    assert (conversations_.this_week, conversations_.last_week, conversations_.four_weeks) == (2, 4, 4)
    assert conversations_.on_target is None  # volume is neither good nor bad
    assert (median.this_week, median.last_week, median.four_weeks) == (12, 1, 1)
    assert median.on_target is False  # target: at most 8 h
    assert (within.this_week, within.on_target) == (1.0, True)
    assert (waiting.this_week, waiting.last_week, waiting.four_weeks, waiting.on_target) == (1, 0, 0, True)


def test_headlines_without_earlier_history_say_so_rather_than_compare_with_zero() -> None:
    events = [asked("first", at(1, 9))]
    figures = headlines(
        conversations(events), backlog_of(events), MON, AFTER_THE_WEEK, BusinessHours(), Targets()
    )
    assert all(h.last_week is None and h.four_weeks is None for h in figures)
    assert figures[0].this_week == 1
