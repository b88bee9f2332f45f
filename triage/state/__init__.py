"""State: every message seen, its decision and outcome, cursors, replies, corrections, cases."""

from triage.state.cases import OpenCase, PendingBrief
from triage.state.corrections import Correction, LabeledText
from triage.state.messages import PlannedRecord, StoredMessage
from triage.state.migrations import MIGRATIONS
from triage.state.replies import Reply
from triage.state.store import Store

__all__ = [
    "MIGRATIONS",
    "Correction",
    "LabeledText",
    "OpenCase",
    "PendingBrief",
    "PlannedRecord",
    "Reply",
    "StoredMessage",
    "Store",
]
