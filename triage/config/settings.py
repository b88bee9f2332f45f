"""The sections and keys of config.yaml as pydantic models: types, defaults, checks."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from triage.domain import LABELS


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MailboxSettings(_Section):
    url: str | None = None
    auth: Literal["password", "xoauth2"] = "password"
    password_file: Path | None = None
    oauth_token_file: Path | None = None
    oauth_token_command: str | None = None
    allow_insecure: bool = False
    ca_file: Path | None = None
    drafts_folder: str | None = None
    sent_folder: str | None = None
    batch_size: Annotated[int, Field(ge=1, le=5000)] = 200
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    max_message_bytes: Annotated[int, Field(ge=1024)] = 25_000_000
    only_since: date | None = None  # mail that arrived before this day is recorded as skipped, never drafted


class TeamSettings(_Section):
    name: str = "Support Team"
    address: str = "support@example.com"
    own_addresses: list[str] = []
    signature: str = ""
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _is_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("address")
    @classmethod
    def _is_address(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("an email address")
        return value.lower()


class ClassifierSettings(_Section):
    model_dir: Path = Path("models")
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    needs_review_draft: Literal["acknowledge", "none"] = "acknowledge"
    precision_targets: dict[str, Annotated[float, Field(gt=0, le=1)]] = {}
    escalation_floor: Annotated[float, Field(ge=0, le=1)] | None = None  # None: the model's own
    learn_from_keywords: bool = True
    correction_window_days: Annotated[float, Field(gt=0)] = 30.0
    retrain_every_days: Annotated[float, Field(ge=0)] = 0.0

    @field_validator("precision_targets")
    @classmethod
    def _known_labels(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(LABELS)
        if unknown:
            raise ValueError(f"keys among {list(LABELS)}, not {sorted(unknown)}")
        return value


class RuleSettings(_Section):
    escalation_keywords: list[str] = []
    vip_domains: list[str] = []


def _compiling(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"regular expressions; {pattern!r}: {exc}") from None
    return patterns


class FirstStepsSettings(_Section):
    keywords: list[str] = []
    patterns: list[str] = []
    steps: Annotated[list[str], Field(min_length=1)]

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        return _compiling(value)


class DraftingSettings(_Section):
    templates_dir: Path = Path("templates")
    reply_within_hours: dict[str, Annotated[float, Field(gt=0)]] = {
        "complaint": 24.0,
        "small_fix": 24.0,
        "escalation": 4.0,
        "needs_review": 24.0,
    }
    escalation_owner: str = "our support lead"
    first_steps: list[FirstStepsSettings] = []  # safety-first steps by topic, in every matching draft

    @field_validator("reply_within_hours")
    @classmethod
    def _known_classes(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - {*LABELS, "needs_review"}
        if unknown:
            raise ValueError(f"keys among {[*LABELS, 'needs_review']}, not {sorted(unknown)}")
        return value


class AnswerSettings(_Section):
    history_days: Annotated[float, Field(ge=0)] = 180.0
    precision: Annotated[float, Field(gt=0, le=1)] = 0.97  # replies.retrieval.PRECISION
    min_similarity: Annotated[float, Field(gt=0, le=1)] = 0.55  # replies.retrieval.FALLBACK
    min_margin: Annotated[float, Field(ge=0, le=1)] = 0.15  # replies.retrieval.FALLBACK


class OwnerSettings(_Section):
    name: str
    address: str = ""
    role: str = ""


class RouteSettings(_Section):
    name: str
    owner: OwnerSettings
    keywords: list[str] = []
    domains: list[str] = []
    patterns: list[str] = []
    labels: list[Literal["complaint", "escalation"]] = ["complaint", "escalation"]
    reply_within_hours: Annotated[float, Field(gt=0)] | None = None
    first_steps: list[str] = []  # go first into every draft whose text matches the route's topic

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        return _compiling(value)


class RoutingSettings(_Section):
    default_owner: OwnerSettings | None = None
    routes: list[RouteSettings] = []
    deliver: Literal["draft", "email", "off"] = "draft"
    remind_every_hours: dict[str, Annotated[float, Field(ge=0)]] = {"escalation": 4.0, "complaint": 24.0}
    waiting_on_customer_hours: Annotated[float, Field(ge=0)] = 72.0
    team_lead: OwnerSettings | None = None
    lead_after_reminders: Annotated[int, Field(ge=0)] = 2

    @field_validator("deliver", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        return "off" if value is False else value  # YAML reads a bare `off` as false

    @field_validator("remind_every_hours")
    @classmethod
    def _complaints_and_escalations(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - {"complaint", "escalation"}
        if unknown:
            raise ValueError(f"keys among ['complaint', 'escalation'], not {sorted(unknown)}")
        return value


class MarkingSettings(_Section):
    keywords: bool = True
    move_to_class_folders: bool = False
    class_folders: dict[str, str] = {
        "complaint": "Triage/Complaint",
        "small_fix": "Triage/Small fix",
        "escalation": "Triage/Escalation",
    }


class StateSettings(_Section):
    database: str | None = None  # a SQLite path, or postgresql://user@host:5432/dbname
    password_file: Path | None = None
    ca_file: Path | None = None
    allow_insecure: bool = False


class DaemonSettings(_Section):
    poll_interval_seconds: Annotated[float, Field(gt=0)] = 60.0
    idle: bool = True
    idle_timeout_seconds: Annotated[float, Field(gt=0, le=1740)] = 300.0
    reconnect_max_seconds: Annotated[float, Field(gt=0)] = 300.0
    parse_workers: Annotated[int, Field(ge=0, le=64)] = 0
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 0
    metrics_address: str = "127.0.0.1"
    lease_seconds: Annotated[float, Field(ge=2, le=600)] = 30.0


class MetricsSettings(_Section):
    live_window_days: Annotated[int, Field(ge=7)] = 90
    # business hours for response-time figures, in team.timezone
    working_days: list[
        Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    ] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]
    day_starts: str = "09:00"
    day_ends: str = "17:00"
    holidays: list[date] = []
    # the share of a conversation's target after which it counts as at risk
    at_risk_share: Annotated[float, Field(gt=0, lt=1)] = 0.75
    holding_drafts: bool = True
    at_risk_email: bool = False

    @field_validator("day_starts", "day_ends")
    @classmethod
    def _is_time(cls, value: str) -> str:
        return _hhmm(value)


def _hhmm(value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError("a time of day as HH:MM")
    return f"{int(hours):02d}:{int(minutes):02d}"


class ReportSettings(_Section):
    recipients: list[str] = []
    smtp_url: str | None = None
    smtp_password_file: Path | None = None
    ca_file: Path | None = None
    allow_insecure: bool = False
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    time: str = "08:00"
    # the headline figures are green when they meet these targets, red when they miss them
    target_median_hours: Annotated[float, Field(gt=0)] = 8.0
    target_within_share: Annotated[float, Field(ge=0, le=1)] = 0.9
    target_backlog: Annotated[int, Field(ge=0)] = 5

    @field_validator("time")
    @classmethod
    def _is_time(cls, value: str) -> str:
        return _hhmm(value)


class Settings(_Section):
    mailbox: MailboxSettings = MailboxSettings()
    team: TeamSettings = TeamSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    rules: RuleSettings = RuleSettings()
    drafting: DraftingSettings = DraftingSettings()
    answers: AnswerSettings = AnswerSettings()
    marking: MarkingSettings = MarkingSettings()
    state: StateSettings = StateSettings()
    daemon: DaemonSettings = DaemonSettings()
    routing: RoutingSettings = RoutingSettings()
    metrics: MetricsSettings = MetricsSettings()
    report: ReportSettings = ReportSettings()
