"""A burst of the same problem becomes one cluster; unrelated mail does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from triage.metrics.fires import Problem, recurring

T0 = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)


def test_a_burst_of_the_same_problem_is_one_fire() -> None:
    burst = [
        "The app crashes when I tap Pay at checkout",
        "app crashed at checkout when paying, twice now",
        "Every time I press pay in the app it crashes",
        "Checkout crashes the app as soon as I pay",
    ]
    other = [
        "How do I change my delivery address?",
        "Please send me last month's invoice",
        "My card was stolen",
    ]
    problems = [Problem(f"<b{i}>", "", text, T0 + timedelta(hours=i)) for i, text in enumerate(burst)]
    problems += [Problem(f"<o{i}>", "", text, T0) for i, text in enumerate(other)]
    fires = recurring(problems)
    assert len(fires) == 1
    assert set(fires[0].message_ids) == {"<b0>", "<b1>", "<b2>", "<b3>"}
    assert (fires[0].first_seen, fires[0].last_seen) == (T0, T0 + timedelta(hours=3))


def test_fewer_messages_than_a_fire_needs_give_none() -> None:
    assert recurring([Problem("<a>", "", "crash", T0)], min_size=3) == []
