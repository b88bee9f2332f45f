"""The model's commands: classify, train, eval, relabel, model list/use."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from triage import app
from triage import config as config_module
from triage.adapters import model_store
from triage.adapters.datasets import Example, read_corpus, read_csv
from triage.app.logs import RedactSecrets
from triage.cli import progress
from triage.cli.common import EXIT_ERROR, EXIT_OK, load_config_or_defaults
from triage.config.loading import Config
from triage.domain import LABELS
from triage.errors import (
    ConfigError,
    MalformedMessage,
)
from triage.judgement.classifier import Classifier, model_text
from triage.judgement.decisions import decide, is_machine
from triage.mail.parsing import parse
from triage.state.corrections import Correction
from triage.training.fitting import evaluate
from triage.training.shipped import train_and_save

logger = logging.getLogger(__name__)


def cmd_classify(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    engine = app.build_engine(config)
    try:
        message = parse(args.file.read_bytes(), datetime.now(UTC))
    except MalformedMessage as exc:
        print(f"malformed: {exc.reason}")
        return EXIT_ERROR
    predicted = None
    if not is_machine(message, engine.policy):
        predicted = engine.classifier.classify([model_text(message.subject, message.new_text)])[0]
    decision = decide(message, predicted, engine.policy)
    print(f"action:     {decision.action.value}")
    print(f"label:      {decision.label.value if decision.label else '-'}")
    if decision.classification:
        print(f"confidence: {decision.classification.probability:.2f}")
        print(f"model:      {decision.classification.model_version}")
    print(f"reason:     {decision.reason}")
    if args.explain and predicted is not None:
        terms = engine.classifier.explain(model_text(message.subject, message.new_text))
        print(f"terms:      {', '.join(terms) or '-'}")
    if decision.template:
        answer = None
        if decision.template == "small_fix":  # the team's answers as learned so far, and the curated ones
            with app.open_store(config) as store:
                answer = engine.answers.index(store, app.mailbox_name(config)).propose([message])[0]
        key = message.message_id or str(args.file)
        draft = engine.drafter.render(message, decision, key, app.utc_now(), answer)
        if answer:
            print(f"answer:     {answer.note()}")
        print(f"\n--- draft to {draft.to}: {draft.subject}\n{draft.body}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    if not args.shipped:
        return train_team(args, config, redactor)
    model_dir = args.model_dir or config.model_dir
    corpus_dir = args.corpus or model_dir / "corpus"
    corpus = read_corpus(corpus_dir)
    if not corpus.examples:
        raise ConfigError("--corpus", "a folder of labeled CSV files", str(corpus_dir))
    dev = read_csv(args.dev).examples if args.dev else None
    figures = train_and_save(
        corpus.examples,
        model_dir,
        config.settings.classifier.threshold,
        app.utc_now(),
        dev,
        dev_name=args.dev.name if args.dev else "",
    )
    cv = figures["cross_validation"]
    print(f"trained on {len(corpus.examples)} examples; cross-validated macro-F1 {cv['macro_f1']:.3f}")
    if "dev" in figures:
        print(f"macro-F1 on {args.dev.name}: {figures['dev']['macro_f1']:.3f}")
    print(f"model written to {model_dir}")
    return EXIT_OK


def retrain_in_place(config: Config) -> Classifier | None:
    """The daemon's scheduled retrain: the new classifier if it was promoted, else None."""
    result = app.train_on_corrections(config, config.model_dir / "corpus")
    team = config.team_models
    return model_store.load(team / result.version) if result.promoted else None


def train_team(args: argparse.Namespace, config: Config, redactor: RedactSecrets) -> int:
    past_mail = (
        read_labeled_folders(args.from_folder, config, redactor, args.quiet) if args.from_folder else []
    )
    with progress.bar("training", None, args.quiet) as advance:
        result = app.train_on_corrections(config, args.corpus or config.model_dir / "corpus", past_mail)
        advance(result.trained_on)
    state = "promoted: now in use" if result.promoted else "kept but NOT used"
    print(
        f"model {result.version}: trained on {result.trained_on} examples"
        f" ({result.corrections_used} corrections, {result.held_out} held out,"
        f" {len(past_mail)} from folders)"
    )
    print(f"{state} ({result.why})")
    return EXIT_OK


def read_labeled_folders(
    specs: list[str], config: Config, redactor: RedactSecrets, quiet: bool = False
) -> list[Example]:
    """FOLDER=LABEL pairs -> examples from the mailbox's own folders (IMAP or Maildir)."""
    examples: list[Example] = []
    inbox = app.open_inbox(config, config_module.environ(), redactor)
    try:
        for spec in specs:
            folder, _, label = spec.rpartition("=")
            if not folder or label not in LABELS:
                raise ConfigError("--from-folder", f"FOLDER=LABEL with LABEL one of {list(LABELS)}", spec)
            with progress.bar(f"reading {folder}", None, quiet) as advance:
                for raw in inbox.read_folder(folder, config.settings.mailbox.max_message_bytes):
                    advance(1)
                    try:
                        message = parse(raw.data, raw.internaldate)
                    except MalformedMessage:
                        continue
                    examples.append(
                        Example(message.subject, message.new_text, label, f"folder-{raw.ref.uid}-{folder}")
                    )
            logger.info("read %s as %s", folder, label)
    finally:
        inbox.close()
    return examples


def cmd_relabel(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    with app.open_store(config) as store:
        found = store.find(args.message_id)
        if not found:
            print(f"no message with Message-ID {args.message_id} in {config.database}", file=sys.stderr)
            return EXIT_ERROR
        mailbox = found[0].ref.mailbox
        previous = store.current_label(mailbox, args.message_id)
        store.record_correction(
            Correction(mailbox, args.message_id, args.label, previous, "relabel", args.who, app.utc_now())
        )
    print(f"{args.message_id}: {previous or '-'} -> {args.label}; used by the next `triage train`")
    return EXIT_OK


def cmd_model(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    team = config.team_models
    if args.model_command == "use":
        model_store.use(team, args.version)
        print(f"now using {args.version}; a running daemon picks it up when restarted")
        return EXIT_OK
    current = model_store.current_version(team)
    shipped = model_store.read_info(config.model_dir)
    dev = shipped.figures.get("dev", {}).get("macro_f1")
    mark = "*" if current == model_store.SHIPPED else " "
    print(f"{mark} shipped  ({shipped.version}, trained {shipped.trained_at}, dev macro-F1 {dev})")
    for info in model_store.versions(team):
        mark = "*" if info.version == current else " "
        held = info.figures.get("held_out") or {}
        print(
            f"{mark} {info.version}  trained {info.trained_at},"
            f" corrections {info.figures.get('corrections_used', 0)},"
            f" held-out macro-F1 {held.get('macro_f1', '-')}, promoted {info.figures.get('promoted')}"
        )
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    classifier, info = app.active_model(config)
    try:
        data = read_csv(args.data)
    except (OSError, ValueError) as exc:
        raise ConfigError("--data", "a readable CSV with body and label columns", str(exc)) from None
    floor = app.escalation_floor(config, info) if args.escalation_floor is None else args.escalation_floor
    with progress.bar("eval", len(data.examples), args.quiet or args.json) as advance:
        figures = evaluate(classifier, data.examples, config.settings.classifier.threshold, floor, advance)
    figures["rejected"] = data.rejected
    if args.json:
        print(json.dumps(figures, indent=2))
        return EXIT_OK
    print_figures(figures)
    return EXIT_OK


def print_figures(f: dict[str, Any]) -> None:
    print(f"{'class':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for label, m in f["per_class"].items():
        print(f"{label:<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>8}")
    print(
        f"macro-F1 {f['macro_f1']:.3f}  n={f['n']}  needs_review rate {f['abstain_rate']:.1%}"
        f"  accuracy when answered {f['accuracy_when_answered']:.1%}"
    )
    labels = f["confusion"]["labels"]
    print("\nconfusion (rows: true, columns: predicted)")
    print(" " * 12 + "".join(f"{label:>12}" for label in labels))
    for label, row in zip(labels, f["confusion"]["matrix"]):
        print(f"{label:<12}" + "".join(f"{v:>12}" for v in row))
    print("\nthreshold  coverage  accuracy on what is answered")
    for row in f["tradeoff"]:
        print(f"{row['threshold']:>9.2f} {row['coverage']:>9.1%} {row['accuracy']:>9.1%}")
    if f.get("per_source"):
        print(f"\n{'source':<18} {'n':>5} {'macro-F1':>9} {'accuracy':>9}  recall")
        for source, m in f["per_source"].items():
            recall = ", ".join(f"{label} {r:.2f}" for label, r in m["recall"].items())
            print(f"{source:<18} {m['n']:>5} {m['macro_f1']:>9.3f} {m['accuracy']:>9.3f}  {recall}")
    print(f"\nescalation floor {f['escalation_floor']:.2f}, needs_review below {f['threshold']:.2f}")
    if f.get("rejected"):
        print("\nrows not used: " + ", ".join(f"{reason}: {n}" for reason, n in f["rejected"].items()))
