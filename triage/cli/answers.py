"""`triage answers`: the team's answers learned from Sent, how their drafts fared, and pinning one."""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict

import yaml

from triage import app
from triage.app.engine import answer_book, read_fixes
from triage.app.logs import RedactSecrets
from triage.cli.common import EXIT_ERROR, EXIT_OK, load_config_or_defaults
from triage.config.loading import Config
from triage.metrics.acceptance import ACCEPTANCE, acceptance
from triage.state.answers import BankAnswer

SNIPPET = 70


def cmd_answers(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    config = load_config_or_defaults(args)
    name = app.mailbox_name(config)
    with app.open_store(config) as store:
        answers = store.learned_answers(name)
        if args.pin is not None:
            chosen = next((a for a in answers if a.id == args.pin), None)
            if chosen is None:
                print(f"no learned answer {args.pin}: `triage answers` lists them", file=sys.stderr)
                return EXIT_ERROR
            return pin(config, chosen)
        if not answers:
            print("no answers learned yet: they come from the team's replies in the Sent folder")
            return EXIT_OK
        fared: dict[int, Counter[str]] = defaultdict(Counter)
        for answer_id, draft, sent in store.answer_drafts_and_replies(name):
            fared[answer_id][acceptance(draft, sent)] += 1
        threshold = answer_book(config).index(store, name).threshold
    print(f"a small fix gets the closest answer when {threshold.describe()}\n")
    print(f"{'ID':>5} {'SENT':>5}  {'LAST SENT':<10}  DRAFTS ({' / '.join(ACCEPTANCE)})  ANSWER / ASKED")
    for answer in answers:
        counts = " / ".join(str(fared[answer.id][kind]) for kind in ACCEPTANCE)
        print(
            f"{answer.id:>5} {answer.times_sent:>5}  {answer.last_sent_at:%Y-%m-%d}  {counts:<44}  "
            f"{_snippet(answer.body)}"
        )
        print(f"{'':>5} {'':>5}  {'':<10}  {'':<44}  asked: {_snippet(answer.questions[0])}")
    return EXIT_OK


def pin(config: Config, answer: BankAnswer) -> int:
    """Append the answer, with the questions it answered as examples, to fixes.yaml."""
    path = config.templates_dir / "fixes.yaml"
    if any(set(fix.examples) & set(answer.questions) for fix in read_fixes(config.templates_dir)):
        print(f"learned answer {answer.id} is pinned in {path} already", file=sys.stderr)
        return EXIT_ERROR
    entry = yaml.safe_dump(
        [{"examples": list(answer.questions), "answer": answer.body}], allow_unicode=True, width=100
    )
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    separator = "" if not existing or existing.endswith("\n") else "\n"
    path.write_text(
        f"{existing}{separator}# pinned from learned answer {answer.id} (`triage answers --pin`)\n{entry}",
        encoding="utf-8",
    )
    read_fixes(config.templates_dir)  # the file must still read; a ConfigError names the entry
    print(f"learned answer {answer.id} pinned in {path}; `systemctl reload triage` (or restart) uses it")
    return EXIT_OK


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 3] + "..."
