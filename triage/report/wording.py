"""How the report says things: durations in days and hours, changes, states. Pure."""

from __future__ import annotations


def duration(hours: float) -> str:
    """A span as people say it: 45 min, 2 h 36 min, 22 d 2 h."""
    minutes = round(hours * 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        whole, rest = divmod(minutes, 60)
        return f"{whole} h {rest} min" if rest else f"{whole} h"
    days, rest = divmod(round(hours), 24)
    return f"{days} d {rest} h" if rest else f"{days} d"


def value_text(kind: str, value: float | None) -> str:
    if value is None:
        return "-"
    if kind == "duration":
        return duration(value)
    if kind == "share":
        return f"{value:.0%}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def change_text(kind: str, value: float | None, reference: float | None) -> str:
    """The change from `reference` to `value`: +5, -1 h 10 min, +4 pts; "no data" without history."""
    if reference is None:
        return "no data"
    if value is None:
        return "-"
    delta = value - reference
    if abs(delta) < 1e-9:
        return "no change"
    sign = "+" if delta > 0 else "\u2212"
    if kind == "duration":
        return sign + duration(abs(delta))
    if kind == "share":
        return f"{sign}{abs(delta) * 100:.0f} pts"
    return sign + value_text(kind, abs(delta))


def state_text(state: str) -> str:
    return "waiting on the customer" if state == "waiting_on_customer" else "waiting on us"


def snippet(text: str | None, length: int = 160) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= length else flat[:length].rsplit(" ", 1)[0] + " ..."
