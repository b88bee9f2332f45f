"""Composition: the engine (model, policy, drafter, follow-up) built from a validated Config."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from triage import config as config_module
from triage.adapters import model_store
from triage.adapters.datasets import Example, read_corpus
from triage.adapters.word_vectors import RareWordVectors
from triage.app.mailboxes import open_store, smtp_sender, team_notifier, utc_now
from triage.config.loading import Config
from triage.domain import Owner
from triage.errors import ConfigError
from triage.judgement.classifier import Classifier, Rules
from triage.judgement.decisions import Policy
from triage.judgement.evaluation import threshold_for_precision
from triage.judgement.routing import FirstSteps, Route, Topic
from triage.metrics.business_hours import BusinessHours
from triage.pipeline.answers import AnswerBook
from triage.pipeline.engine import Engine, FollowUp
from triage.replies.briefs import FollowUpPolicy
from triage.replies.calibration import Threshold
from triage.replies.drafting import TEMPLATE_SUFFIX, Drafter, DraftSettings
from triage.replies.retrieval import Fix
from triage.training.team import TeamTraining, train_team_model

logger = logging.getLogger(__name__)
FIX_KEYS = {"keywords", "steps", "answer", "examples"}


def read_templates(directory: Path) -> dict[str, str]:
    """Template sources by name (`complaint.txt.j2` -> `complaint`)."""
    if not directory.is_dir():
        raise ConfigError("drafting.templates_dir", "a folder of *.txt.j2 templates", str(directory))
    return {
        path.name.removesuffix(TEMPLATE_SUFFIX): path.read_text(encoding="utf-8")
        for path in sorted(directory.glob(f"*{TEMPLATE_SUFFIX}"))
    }


def read_fixes(directory: Path) -> tuple[Fix, ...]:
    """The curated answers of fixes.yaml: each with keywords or examples, and steps or an answer."""
    path = directory / "fixes.yaml"
    if not path.exists():
        return ()
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise ConfigError(path.name, "valid YAML", str(exc)) from None
    if not isinstance(entries, list):
        raise ConfigError(path.name, "a list of {keywords, steps}", type(entries).__name__)
    fixes = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) - FIX_KEYS:
            raise ConfigError(f"{path.name}[{index}]", f"a mapping with keys among {sorted(FIX_KEYS)}", entry)
        lists = {key: entry.get(key) or [] for key in ("keywords", "steps", "examples")}
        if not all(isinstance(value, list) for value in lists.values()):
            raise ConfigError(f"{path.name}[{index}]", "keywords, steps and examples as lists", entry)
        if not (lists["keywords"] or lists["examples"]) or not (lists["steps"] or entry.get("answer")):
            raise ConfigError(
                f"{path.name}[{index}]",
                "keywords: [...] or examples: [...], and steps: [...] or answer",
                entry,
            )
        fixes.append(
            Fix(
                keywords=tuple(map(str, lists["keywords"])),
                steps=tuple(map(str, lists["steps"])),
                answer=str(entry.get("answer") or ""),
                examples=tuple(map(str, lists["examples"])),
            )
        )
    return tuple(fixes)


DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def business_hours(config: Config) -> BusinessHours:
    """The team's working hours and days (metrics.*), in team.timezone."""
    s = config.settings
    return BusinessHours(
        timezone=s.team.timezone,
        start=time.fromisoformat(s.metrics.day_starts),
        end=time.fromisoformat(s.metrics.day_ends),
        working_days=frozenset(DAYS.index(day) for day in s.metrics.working_days),
        holidays=frozenset(s.metrics.holidays),
    )


def answer_book(config: Config) -> AnswerBook:
    """The team's answers for small fixes: curated from fixes.yaml, learned ones represented by the
    classifier's word vectors."""
    s = config.settings.answers
    fallback = Threshold(s.min_similarity, s.min_margin)
    return AnswerBook(
        RareWordVectors, read_fixes(config.templates_dir), s.precision, fallback, s.history_days
    )


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
                working_hours=business_hours(config),
                reply_within_hours=dict(s.drafting.reply_within_hours),
                escalation_owner=s.drafting.escalation_owner,
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
    truth, predicted, confidence, *_ = zip(*predictions)
    thresholds = {
        label: threshold_for_precision(truth, predicted, confidence, label, target)
        for label, target in targets.items()
    }
    logger.info("per-class thresholds from precision targets: %s", thresholds)
    return thresholds


def escalation_floor(config: Config, info: model_store.ModelInfo) -> float:
    """classifier.escalation_floor when set, else the floor the model's cross-validation chose."""
    configured = config.settings.classifier.escalation_floor
    if configured is not None:
        return configured
    return float(info.figures.get("cross_validation", {}).get("escalation_floor", 0.0))


def build_policy(
    config: Config, thresholds: Mapping[str, float] | None = None, floor: float | None = None
) -> Policy:
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
                tuple(r.first_steps),
            )
            for r in s.routing.routes
        ),
        first_steps=tuple(
            FirstSteps(Topic(tuple(t.keywords), (), tuple(t.patterns)), tuple(t.steps))
            for t in s.drafting.first_steps
        ),
        default_route=Route(
            "default",
            Owner(s.routing.default_owner.name, s.routing.default_owner.address, s.routing.default_owner.role)
            if s.routing.default_owner
            else Owner(s.drafting.escalation_owner),
        ),
        escalation_floor=floor if floor is not None else (s.classifier.escalation_floor or 0.0),
    )


def parse_pool(config: Config) -> Executor | None:
    """Worker processes for parsing big batches, or None for in-process parsing."""
    workers = config.settings.daemon.parse_workers or min(os.cpu_count() or 1, 4)
    if workers <= 1:
        return None
    # fork: workers inherit the imported parser at no start-up cost
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


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


def active_model(
    config: Config, loaded: dict[tuple[Path, Path], Classifier] | None = None
) -> tuple[Classifier, model_store.ModelInfo]:
    """The model in use (the team's current one, else the shipped one) and its facts.

    `loaded`: models already loaded for other mailboxes, by (model_dir, team folder): twenty
    mailboxes with one model load it once, not twenty times.
    """
    team = config.team_models
    if loaded is None:
        loaded = {}
    if (config.model_dir, team) not in loaded:
        loaded[config.model_dir, team] = model_store.load_active(config.model_dir, team)
    classifier = loaded[config.model_dir, team]
    folder = team / classifier.version if (team / classifier.version).is_dir() else config.model_dir
    return classifier, model_store.read_info(folder)


def build_engine(
    config: Config,
    executor: Executor | None = None,
    loaded: dict[tuple[Path, Path], Classifier] | None = None,
) -> Engine:
    """`loaded`: see `active_model`."""
    s = config.settings
    classifier, info = active_model(config, loaded)
    return Engine(
        executor=executor,
        classifier=classifier,
        drafter=build_drafter(config),
        policy=build_policy(config, class_thresholds(config, info), escalation_floor(config, info)),
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
        answers=answer_book(config),
    )


def train_on_corrections(config: Config, corpus_dir: Path, past_mail: Sequence[Example] = ()) -> TeamTraining:
    """A new team model from the corpus, the stored corrections and any past mail."""
    with open_store(config) as store:
        corrections = [(c.message_id, c.text, c.label) for c in store.corrected_texts()]
    team = config.team_models
    return train_team_model(
        read_corpus(corpus_dir).examples,
        corrections,
        team,
        model_store.load_active(config.model_dir, team),
        config.settings.classifier.threshold,
        utc_now(),
        past_mail,
    )
