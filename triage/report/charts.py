"""The report's three charts as PNG bytes (matplotlib, Agg backend: no display needed). Pure.

Each is 600 px wide, the width mail clients give a message. Colours are chosen so each chart's
data can be told apart from the others' (and found in a screenshot): mail by class, the
backlog, and first responses within and beyond the target.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from triage.report.weekly import WeekReport  # noqa: E402
from triage.report.wording import duration  # noqa: E402

CLASS_COLOURS = {"complaint": "#d9534f", "small_fix": "#5bc0de", "escalation": "#f0ad4e"}
WAITING = "#6f7fd6"
INBOX_ZERO = "#2e9e5b"
NO_DATA = "#bdbdbd"
WITHIN = "#3c9a5f"
BEYOND = "#c0392b"
UNANSWERED = "#9e9e9e"
NOTE = "#757575"
DPI = 100
SIZE = (6.0, 2.5)  # inches at DPI: 600 x 250 px


def render_charts(report: WeekReport) -> dict[str, bytes]:
    """The charts by name, in the order the HTML shows them."""
    return {
        "volume": volume_chart(report),
        "backlog": backlog_chart(report),
        "first_response": response_chart(report),
    }


def _axes(title: str) -> tuple[Figure, Axes]:
    figure, axes = plt.subplots(figsize=SIZE)
    axes.set_title(title, fontsize=11, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=9)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return buffer.getvalue()


def _day_axis(axes: Axes, report: WeekReport) -> list[int]:
    positions = list(range(len(report.days)))
    axes.set_xticks(positions, [f"{day:%a} {day.day}" for day in report.days])
    return positions


def volume_chart(report: WeekReport) -> bytes:
    """Messages per day, stacked by class."""
    figure, axes = _axes("Customer mail per day, by class")
    positions = _day_axis(axes, report)
    bottom = [0] * len(report.days)
    for label, colour in CLASS_COLOURS.items():
        values = [report.volume[day][label] for day in report.days]
        axes.bar(positions, values, bottom=bottom, color=colour, label=label.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, values)]
    axes.set_ylim(0, max(max(bottom), 1) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if any(bottom):
        axes.legend(loc="upper right", fontsize=8, frameon=False, ncols=3)
    else:
        axes.text(3, 0.5, "No customer mail this week", ha="center", va="center", fontsize=10, color=NOTE)
    return _png(figure)


def backlog_chart(report: WeekReport) -> bytes:
    """The most conversations waiting at once each day; inbox-zero days green, days without
    history marked "no data" (never drawn as zero)."""
    figure, axes = _axes("Waiting for the team, the most at once each day (green: inbox zero)")
    positions = _day_axis(axes, report)
    days = [report.backlog[day] for day in report.days]
    highest = max((d.highest for d in days if d), default=0)
    top = max(highest, 1) * 1.2
    for x, day in zip(positions, days):
        if day is None:
            axes.bar(x, top, color="none", edgecolor=NO_DATA, hatch="///", linewidth=0)
            axes.text(
                x, top / 2, "no data", ha="center", va="center", fontsize=8, color="#757575", rotation=90
            )
            continue
        colour = INBOX_ZERO if day.inbox_zero else WAITING
        axes.bar(x, max(day.highest, top * 0.015), color=colour)
        axes.text(x, day.highest + top * 0.02, str(day.highest), ha="center", va="bottom", fontsize=8)
    axes.set_ylim(0, top)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _png(figure)


def response_chart(report: WeekReport) -> bytes:
    """How long the week's conversations waited for a first reply, in buckets around the target."""
    target = report.targets.reply_hours
    edges = sorted({1.0, 4.0, 8.0, target, 2 * target, 3 * target})
    labels = [f"< {duration(edges[0])}"] + [
        f"{duration(lo)}-{duration(hi)}" for lo, hi in zip(edges, edges[1:])
    ]
    labels.append(f"> {duration(edges[-1])}")
    counts = [0] * (len(edges) + 1)
    for hours in report.response_hours:
        counts[sum(hours > edge for edge in edges)] += 1
    colours = [WITHIN if i < len(edges) and edges[i] <= target else BEYOND for i in range(len(counts))]
    labels.append("no reply yet")
    counts.append(report.unanswered)
    colours.append(UNANSWERED)
    within = sum(hours <= target for hours in report.response_hours)
    figure, axes = _axes(
        f"First responses: {within} of {len(report.response_hours)} within {target:g} h"
        f" (green), {report.unanswered} not answered yet"
    )
    positions = list(range(len(counts)))
    axes.bar(positions, counts, color=colours)
    axes.set_xticks(positions, labels, fontsize=8)
    for x, count in zip(positions, counts):
        if count:
            axes.text(x, count, str(count), ha="center", va="bottom", fontsize=8)
    axes.set_ylim(0, max(max(counts), 1) * 1.2)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _png(figure)
