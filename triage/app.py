"""Composition: build the adapters and the engine from a validated Config."""

from __future__ import annotations

import base64
import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from triage import charts, model_store, reporting, smtp_outbox, training
from triage import config as config_module
from triage.briefs import FollowUpPolicy
from triage.classifier import Rules
from triage.config import Config
from triage.datasets import Example, read_corpus
from triage.decisions import Policy
from triage.domain import Owner
from triage.drafting import TEMPLATE_SUFFIX, Drafter, DraftSettings, Fix
from triage.errors import ConfigError
from triage.evaluation import threshold_for_precision
from triage.fires import Problem, recurring
from triage.imap_inbox import ImapInbox, ImapSettings
from triage.logs import RedactSecrets
from triage.maildir_inbox import MaildirInbox
from triage.metrics import BusinessHours, acceptance_by_template, conversations
from triage.pipeline import Engine, FollowUp, conversation_events, open_cases
from triage.ports import Inbox
from triage.report_mail import report_message
from triage.routing import Route
from triage.store import Store

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_inbox(config: Config, environ: Mapping[str, str], redactor: RedactSecrets) -> Inbox:
    url, settings = config.mailbox, config.settings.mailbox
    if url.scheme == "maildir":
        assert url.path is not None
        return MaildirInbox(url.path, drafts_folder=settings.drafts_folder, sent_folder=settings.sent_folder)
    return ImapInbox(*imap_access(config, environ, redactor))


def imap_access(
    config: Config, environ: Mapping[str, str], redactor: RedactSecrets
) -> tuple[ImapSettings, Callable[[], str]]:
    """How to reach and log in to an IMAP mailbox; the secret is read (and redacted) only when used."""
    url, settings = config.mailbox, config.settings.mailbox

    def secret() -> str:
        if settings.auth == "xoauth2":
            token = config_module.read_oauth_token(settings)
            redactor.add(token)
            sasl = f"user={url.user}\x01auth=Bearer {token}\x01\x01".encode()
            redactor.add(base64.b64encode(sasl).decode())
            return token
        password = config_module.read_password(settings, environ, config.password_env)
        redactor.add(password)
        return password

    return (
        ImapSettings(
            scheme=url.scheme,
            host=url.host,
            port=url.port,
            user=url.user,
            folder=url.folder,
            allow_insecure=settings.allow_insecure,
            is_loopback=url.is_loopback,
            ca_file=settings.ca_file,
            timeout=settings.timeout_seconds,
            drafts_folder=settings.drafts_folder,
            auth=settings.auth,
            sent_folder=settings.sent_folder,
        ),
        secret,
    )


def mailbox_name(config: Config) -> str:
    """The mailbox's name in the state database, without connecting (matches the inbox's `name`)."""
    url = config.mailbox
    return f"maildir:{url.path}" if url.scheme == "maildir" else f"{url.user}@{url.host}"


def open_store(config: Config) -> Store:
    return Store(config.database)


def read_templates(directory: Path) -> dict[str, str]:
    """Template sources by name (`complaint.txt.j2` -> `complaint`)."""
    if not directory.is_dir():
        raise ConfigError("drafting.templates_dir", "a folder of *.txt.j2 templates", str(directory))
    return {
        path.name.removesuffix(TEMPLATE_SUFFIX): path.read_text(encoding="utf-8")
        for path in sorted(directory.glob(f"*{TEMPLATE_SUFFIX}"))
    }


def read_fixes(directory: Path) -> tuple[Fix, ...]:
    path = directory / "fixes.yaml"
    if not path.exists():
        return ()
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ConfigError(f"{path.name}", "a list of {keywords, steps}", type(entries).__name__)
    fixes = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("keywords") or not entry.get("steps"):
            raise ConfigError(f"{path.name}[{index}]", "keywords: [...] and steps: [...]", entry)
        fixes.append(Fix(tuple(map(str, entry["keywords"])), tuple(map(str, entry["steps"]))))
    return tuple(fixes)


def build_drafter(config: Config) -> Drafter:
    s = config.settings
    templates = read_templates(config.templates_dir)
    try:
        return Drafter(
            templates,
            DraftSettings(
                team_name=s.team.name,
                team_address=s.team.address,
                signature=s.team.signature,
                timezone=s.team.timezone,
                reply_within_hours=dict(s.drafting.reply_within_hours),
                escalation_owner=s.drafting.escalation_owner,
                fixes=read_fixes(config.templates_dir),
            ),
        )
    except ValueError as exc:
        raise ConfigError(
            "drafting.templates_dir", "complaint, small_fix, escalation and needs_review templates", str(exc)
        ) from None


def class_thresholds(config: Config, info: model_store.ModelInfo) -> dict[str, float]:
    """Per-class thresholds meeting classifier.precision_targets on the model's CV predictions."""
    targets = config.settings.classifier.precision_targets
    predictions = info.figures.get("cross_validation", {}).get("predictions")
    if not targets:
        return {}
    if not predictions:
        logger.warning("model %s has no cross-validated predictions: precision_targets ignored", info.version)
        return {}
    truth, predicted, confidence = zip(*predictions)
    thresholds = {
        label: threshold_for_precision(truth, predicted, confidence, label, target)
        for label, target in targets.items()
    }
    logger.info("per-class thresholds from precision targets: %s", thresholds)
    return thresholds


def build_policy(config: Config, thresholds: Mapping[str, float] | None = None) -> Policy:
    s = config.settings
    return Policy(
        team_addresses=frozenset({s.team.address, *(a.lower() for a in s.team.own_addresses)}),
        rules=Rules(
            escalation_keywords=tuple(s.rules.escalation_keywords),
            vip_domains=tuple(d.lower() for d in s.rules.vip_domains),
        ),
        threshold=s.classifier.threshold,
        needs_review_draft=s.classifier.needs_review_draft == "acknowledge",
        class_thresholds=dict(thresholds or {}),
        routes=tuple(
            Route(
                r.name,
                Owner(r.owner.name, r.owner.address, r.owner.role),
                tuple(r.keywords),
                tuple(d.lower() for d in r.domains),
                r.reply_within_hours,
                tuple(r.patterns),
                tuple(r.labels),
            )
            for r in s.routing.routes
        ),
        default_route=Route(
            "default",
            Owner(s.routing.default_owner.name, s.routing.default_owner.address, s.routing.default_owner.role)
            if s.routing.default_owner
            else Owner(s.drafting.escalation_owner),
        ),
        escalation_floor=s.classifier.escalation_floor,
    )


def parse_pool(config: Config) -> Executor | None:
    """Worker processes for parsing big batches, or None for in-process parsing."""
    workers = config.settings.daemon.parse_workers or min(os.cpu_count() or 1, 4)
    if workers <= 1:
        return None
    # fork: workers inherit the imported parser at no start-up cost
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


def smtp_sender(config: Config, environ: Mapping[str, str]) -> Callable[[EmailMessage], None]:
    """Sends over report.smtp_url; built at start-up, so a missing URL is a config error then."""
    smtp = config_module.smtp_settings(config.settings.report)
    password = config_module.read_smtp_password(config.settings.report, environ)
    return lambda message: smtp_outbox.send(smtp, password, message)


def team_notifier(config: Config, environ: Mapping[str, str]) -> Callable[[str, str], None] | None:
    """Email to the team address over the report's SMTP server, when metrics.at_risk_email is on."""
    s = config.settings
    if not s.metrics.at_risk_email:
        return None
    send = smtp_sender(config, environ)

    def notify(subject: str, text: str) -> None:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = formataddr((s.team.name, s.team.address))
        message["To"] = s.team.address
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        send(message)

    return notify


def follow_up(config: Config, environ: Mapping[str, str]) -> FollowUp | None:
    """Briefs and reminders as routing.deliver says: saved to Drafts, emailed, or off."""
    s = config.settings
    routing = s.routing
    if routing.deliver == "off":
        return None
    send_email = smtp_sender(config, environ) if routing.deliver == "email" else None
    lead = routing.team_lead
    return FollowUp(
        policy=FollowUpPolicy(
            remind_every_hours=dict(routing.remind_every_hours),
            waiting_on_customer_hours=routing.waiting_on_customer_hours,
            team_lead=Owner(lead.name, lead.address, lead.role) if lead else None,
            lead_after_reminders=routing.lead_after_reminders,
        ),
        team=Owner(s.team.name, s.team.address),
        zone=s.team.timezone,
        send_email=send_email,
    )


def build_engine(config: Config, executor: Executor | None = None) -> Engine:
    s = config.settings
    team = model_store.team_dir(config.database)
    classifier = model_store.load_active(config.model_dir, team)
    info = model_store.read_info(
        config.model_dir if not (team / classifier.version).is_dir() else team / classifier.version
    )
    return Engine(
        executor=executor,
        classifier=classifier,
        drafter=build_drafter(config),
        policy=build_policy(config, class_thresholds(config, info)),
        max_message_bytes=s.mailbox.max_message_bytes,
        keywords=s.marking.keywords,
        class_folders=dict(s.marking.class_folders) if s.marking.move_to_class_folders else None,
        correction_folders=dict(s.marking.class_folders) if s.classifier.learn_from_keywords else None,
        sla=(dict(s.drafting.reply_within_hours), s.metrics.at_risk_share)
        if s.metrics.holding_drafts
        else None,
        notify_team=team_notifier(config, config_module.environ()),
        follow_up=follow_up(config, config_module.environ()),
        live_window=timedelta(days=s.metrics.live_window_days),
        only_since=datetime.combine(s.mailbox.only_since, time(0), ZoneInfo(s.team.timezone))
        if s.mailbox.only_since
        else None,
        correction_window=(
            timedelta(days=s.classifier.correction_window_days) if s.classifier.learn_from_keywords else None
        ),
    )


def train_on_corrections(
    config: Config, corpus_dir: Path, past_mail: Sequence[Example] = ()
) -> training.TeamTraining:
    """A new team model from the corpus, the stored corrections and any past mail."""
    with open_store(config) as store:
        corrections = [(c.message_id, c.text, c.label) for c in store.corrected_texts()]
    team = model_store.team_dir(config.database)
    return training.train_team_model(
        read_corpus(corpus_dir).examples,
        corrections,
        team,
        model_store.load_active(config.model_dir, team),
        config.settings.classifier.threshold,
        utc_now(),
        past_mail,
    )


@dataclass(frozen=True)
class RenderedReport:
    week: str
    subject: str
    sender: str
    text: str
    html_for: Callable[[Sequence[str]], str]
    images: Mapping[str, bytes]
    now: datetime

    def html_file(self) -> str:
        """Self-contained HTML: the charts as data: URIs."""
        return self.html_for(
            [f"data:image/png;base64,{base64.b64encode(png).decode()}" for png in self.images.values()]
        )

    def message(self, recipients: Sequence[str]) -> EmailMessage:
        return report_message(
            self.subject, self.sender, recipients, self.text, self.html_for, self.images, self.now
        )


DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def business_hours(config: Config) -> BusinessHours:
    s = config.settings
    return BusinessHours(
        timezone=s.team.timezone,
        start=time.fromisoformat(s.metrics.day_starts),
        end=time.fromisoformat(s.metrics.day_ends),
        working_days=frozenset(DAYS.index(day) for day in s.metrics.working_days),
        holidays=frozenset(s.metrics.holidays),
    )


def last_complete_week(config: Config, now: datetime) -> str:
    return reporting.iso_week((now - timedelta(days=7)).astimezone(ZoneInfo(config.settings.team.timezone)))


def weekly_report(config: Config, week: str, now: datetime) -> RenderedReport:
    """Gather a week's figures from the state database and render the report."""
    s = config.settings
    try:
        start, end = reporting.week_bounds(week, s.team.timezone)
    except ValueError:
        raise ConfigError("--week", "an ISO week such as 2026-W47", week) from None
    with open_store(config) as store:
        name = mailbox_name(config)
        inbound = [
            reporting.Inbound(
                m.message_id or "", m.label, m.subject, m.sender, datetime.fromisoformat(m.received_at)
            )
            for m in store.messages(name)
            if m.outcome in ("drafted", "needs_review") and m.received_at
        ]
        threads = conversations(conversation_events(store, name))
        snapshots = store.snapshots(name, start, end)
        corrections = sum(1 for c in store.corrections() if start <= c.at < end)
        accepted = acceptance_by_template(store.drafts_and_replies(name, start, end))
        problems = [Problem(*row) for row in store.problems_between(name, start, end)]
        _, escalations_resolved = store.escalations_between(name, start, end)
        open_items = [
            reporting.OpenItem(
                c.label,
                c.customer,
                c.subject,
                c.owner.name,
                c.state,
                round((now - c.received_at).total_seconds() / 3600, 1),
                c.reminders_sent,
            )
            for c in open_cases(store, name)
        ]
        fires = [
            replace(fire, solution=store.first_reply_to(name, fire.message_ids))
            for fire in recurring(problems)
        ]
    target = s.drafting.reply_within_hours.get("complaint", 24.0)
    hours = business_hours(config)
    report = reporting.build(
        week,
        s.team.timezone,
        inbound,
        threads,
        snapshots,
        corrections,
        hours,
        target,
        now,
        accepted,
        fires,
        escalations_resolved,
        open_items,
    )
    return RenderedReport(
        week=week,
        subject=f"Inbox health, {s.team.name}, week {week}",
        sender=formataddr((s.team.name, s.team.address)),
        text=reporting.render_text(report, target, s.team.name),
        html_for=lambda sources: reporting.render_html(report, target, s.team.name, sources),
        images={"volume": charts.volume_chart(report), "backlog": charts.backlog_chart(report)},
        now=now,
    )


def send_weekly_report(
    config: Config, rendered: RenderedReport, environ: Mapping[str, str], now: datetime, force: bool = False
) -> str:
    """Email the report to report.recipients, once per week unless forced; what happened, as a line."""
    report = config.settings.report
    if not report.recipients:
        raise ConfigError("report.recipients", "at least one address to send the report to", [])
    with open_store(config) as store:
        name = mailbox_name(config)
        if store.report_sent(name, rendered.week) and not force:
            return f"week {rendered.week} was already sent; --force sends it again"
        smtp_sender(config, environ)(rendered.message(report.recipients))
        store.record_report_sent(name, rendered.week, now, report.recipients)
    return f"week {rendered.week} sent to {', '.join(report.recipients)}"
