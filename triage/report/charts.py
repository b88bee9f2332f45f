"""The report's charts as PNG bytes (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from triage.report.weekly import WeekReport  # noqa: E402

COLOURS = {"complaint": "#d9534f", "small_fix": "#5bc0de", "escalation": "#f0ad4e"}


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def volume_chart(report: WeekReport) -> bytes:
    """Messages per day, stacked by class."""
    figure, axes = plt.subplots(figsize=(6, 2.6))
    labels = [f"{day:%a}" for day in report.days]
    bottom = [0] * len(report.days)
    for label, colour in COLOURS.items():
        values = [report.volume[day][label] for day in report.days]
        axes.bar(labels, values, bottom=bottom, color=colour, label=label)
        bottom = [b + v for b, v in zip(bottom, values)]
    axes.set_title("Customer mail per day, by class")
    axes.legend(loc="upper right", fontsize=8, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def backlog_chart(report: WeekReport) -> bytes:
    """Open conversations per day (the day's peak); inbox-zero days marked."""
    figure, axes = plt.subplots(figsize=(6, 2.4))
    labels = [f"{day:%a}" for day in report.days]
    values = [report.backlog[day] or 0 for day in report.days]
    colours = ["#5cb85c" if day in report.inbox_zero_days else "#777777" for day in report.days]
    axes.bar(labels, values, color=colours)
    axes.set_title("Open conversations per day (green: inbox zero reached)")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)
