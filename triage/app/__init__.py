"""Composition: adapters, the engine and the weekly report, built from a validated Config."""

from triage.app.engine import (
    active_model,
    build_drafter,
    build_engine,
    build_policy,
    business_hours,
    class_thresholds,
    escalation_floor,
    parse_pool,
    read_fixes,
    read_templates,
    train_on_corrections,
)
from triage.app.mailboxes import mailbox_name, open_inbox, open_store, smtp_sender, state_location, utc_now
from triage.app.reports import (
    RenderedReport,
    last_complete_week,
    send_weekly_report,
    weekly_report,
)

__all__ = [
    "active_model",
    "escalation_floor",
    "RenderedReport",
    "build_drafter",
    "build_engine",
    "build_policy",
    "business_hours",
    "class_thresholds",
    "last_complete_week",
    "mailbox_name",
    "open_inbox",
    "open_store",
    "parse_pool",
    "read_fixes",
    "read_templates",
    "send_weekly_report",
    "smtp_sender",
    "state_location",
    "train_on_corrections",
    "utc_now",
    "weekly_report",
]
