"""The model shipped with triage: trained on the corpus, measured, saved with its card."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sklearn

from triage.adapters import model_store
from triage.adapters.datasets import Example
from triage.judgement.classifier import Classifier
from triage.training.fitting import FOLDS, SEED, corpus_version, cross_validate, evaluate, train

logger = logging.getLogger(__name__)


def train_and_save(
    examples: Sequence[Example],
    model_dir: Path,
    threshold: float,
    now: datetime,
    dev: Sequence[Example] | None = None,
    dev_name: str = "dev.csv",
) -> dict[str, Any]:
    """Cross-validate, train on everything, measure on `dev` if given, save with a card."""
    counts = Counter(e.label for e in examples)
    logger.info("training on %d examples %s", len(examples), dict(sorted(counts.items())))
    by_source: dict[str, Counter[str]] = {}
    for e in examples:
        by_source.setdefault(e.source or "corpus", Counter())[e.label] += 1
    figures: dict[str, Any] = {
        "corpus": dict(sorted(counts.items())),
        "corpus_by_source": {source: dict(sorted(c.items())) for source, c in by_source.items()},
        "cross_validation": cross_validate(examples, threshold),
    }
    pipeline = train(examples)
    version = f"cold-{corpus_version(examples)}"
    classifier = Classifier(pipeline, version)
    if dev:
        floor = figures["cross_validation"]["escalation_floor"]
        figures["dev"] = evaluate(classifier, dev, threshold, floor)
        figures["dev_name"] = dev_name
    info = model_store.ModelInfo(
        version=version,
        format_version=model_store.FORMAT_VERSION,
        sklearn_version=sklearn.__version__,
        trained_at=now.isoformat(timespec="seconds"),
        figures=figures,
    )
    model_store.save(pipeline, model_dir, info)
    notes = [model_dir / name for name in ("card_notes.md", "comparison.md")]
    texts = [path.read_text(encoding="utf-8") if path.exists() else "" for path in notes]
    (model_dir / "MODEL_CARD.md").write_text(model_card(info, *texts), encoding="utf-8")
    return figures


WORD_VECTORS_NOTE = (
    "The word vectors are WordLlama `l2_supercat` at 256 dimensions (package `wordllama` 0.4, MIT"
    " licence, by Lee Miller): a token-embedding codebook taken from large language models with the"
    " LLaMA 2 tokenizer (LLaMA 2 70B and phi-3 medium among them; LLaMA 2 is under Meta's Llama 2"
    " Community License, phi-3 under MIT) and trained further as a context-free word model. The 16 MB"
    " of weights ship inside the wheel; triage reads them from the installed package and never"
    " downloads anything (a missing file is an error). A message's vector is the mean of its tokens'"
    " vectors: meaning without word order."
)


def model_card(info: model_store.ModelInfo, notes: str = "", comparison: str = "") -> str:
    """The model card: what the model reads, how good it is on real text, on what data, and where
    it is weak. `notes` (hand-written) and `comparison` (bench/compare_models.py) are included."""
    f = info.figures
    cv = f["cross_validation"]
    lines = [
        "# triage model card",
        "",
        f"- version: `{info.version}` (trained {info.trained_at}, scikit-learn {info.sklearn_version})",
        "- reads: the subject and the customer's new text only (quoted history and signature removed)",
        "- model: two logistic regressions (C=1, classes balanced) whose probabilities are averaged:"
        " one on word 1-2-grams and character 2-5-grams (TF-IDF), one on pretrained word vectors",
        f"- decides: the most probable class; an escalation whenever its probability reaches"
        f" **{cv['escalation_floor']:.2f}** (chosen by cross-validation on the corpus for"
        f" {cv['escalation_recall_target']:.0%} escalation recall, never on the evaluation set);"
        " needs_review below the confidence threshold (0.5 by default)",
    ]
    if "dev" in f:
        lines += ["", *_dev_section(f["dev"], f["dev_name"]), "", *_reliability(cv, f["dev"], f["dev_name"])]
    if notes:
        lines += ["", notes.strip()]
    lines += [
        "",
        "## Training data",
        "",
        "| part | complaint | small_fix | escalation | rows |",
        "|---|---|---|---|---|",
        *[
            f"| `{source}` | {c.get('complaint', 0)} | {c.get('small_fix', 0)} | {c.get('escalation', 0)}"
            f" | {sum(c.values())} |"
            for source, c in f.get("corpus_by_source", {}).items()
        ],
        "",
        "Sources, licences and how the rows were labeled: `models/corpus/README.md`.",
        "",
        "## Word vectors",
        "",
        WORD_VECTORS_NOTE,
        "",
        f"## Cross-validated on the corpus ({FOLDS}-fold, stratified, grouped by message, seed {SEED})",
        "",
        *_table(cv),
    ]
    if comparison:
        lines += ["", "## Candidates compared (`bench/compare_models.py`)", "", comparison.strip()]
    lines += [
        "",
        "## Limits",
        "",
        "- Written for English; other languages fall back mostly on character n-grams.",
        "- Below the confidence threshold a message is `needs_review`: no class-specific promise.",
        "- Escalation keywords and VIP domains in config.yaml override the model.",
        "",
    ]
    return "\n".join(lines)


def _dev_section(d: dict[str, Any], name: str) -> list[str]:
    esc, complaint = d["per_class"]["escalation"], d["per_class"]["complaint"]
    lines = [
        f"## How good it is on real support text (`{name}`, never trained on)",
        "",
        f"Of every 100 escalations it flags **{esc['recall'] * 100:.0f}** (precision"
        f" {esc['precision']:.2f}: some small fixes are flagged too, the safe side); of every 100"
        f" complaints it recognises **{complaint['recall'] * 100:.0f}**. Overall macro-F1"
        f" **{d['macro_f1']:.3f}**; {d['abstain_rate']:.1%} of messages go to needs_review.",
        "",
        *_table(d),
        "",
        "confusion (rows: true class, columns: what triage said)",
        "",
        "| | " + " | ".join(d["confusion"]["labels"]) + " |",
        "|---|" + "---|" * len(d["confusion"]["labels"]),
        *[
            f"| {label} | " + " | ".join(str(v) for v in row) + " |"
            for label, row in zip(d["confusion"]["labels"], d["confusion"]["matrix"])
        ],
    ]
    if d.get("per_source"):
        lines += [
            "",
            "By source:",
            "",
            "| source | n | accuracy | macro-F1 over its classes | recall per class |",
            "|---|---|---|---|---|",
            *[
                f"| {source} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | "
                + ", ".join(f"{label} {r:.2f} (n={m['support'][label]})" for label, r in m["recall"].items())
                + " |"
                for source, m in d["per_source"].items()
            ],
        ]
    return lines


def _reliability(cv: dict[str, Any], dev: dict[str, Any], name: str) -> list[str]:
    """Confidence bands against the accuracy reached, on the corpus (cross-validated) and on `name`."""
    reached = {row["band"]: row for row in dev.get("reliability", [])}
    lines = [
        "## Does the confidence mean something?",
        "",
        f"| confidence band | corpus: messages | corpus: accuracy | {name}: messages | {name}: accuracy |",
        "|---|---|---|---|---|",
    ]
    for row in cv.get("reliability", []):
        other = reached.get(row["band"], {})
        lines.append(
            f"| {row['band']} | {row['n']} | {row['accuracy']:.3f} | {other.get('n', 0)}"
            f" | {other.get('accuracy', float('nan')):.3f} |"
        )
    top = reached.get("0.9-1.0")
    if top:
        lines += [
            "",
            f"On text like its corpus a stated confidence is reached or beaten in every band, so"
            f" `classifier.precision_targets` keep their promise there. On `{name}` the top band"
            f" reaches {top['accuracy']:.0%} for a stated {top['confidence']:.0%}: on text unlike the"
            " corpus a very confident answer is wrong more often than it says.",
        ]
    return lines


def _table(r: dict[str, Any]) -> list[str]:
    rows = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, m in r["per_class"].items():
        rows.append(
            f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
        )
    rows.append(
        f"\nmacro-F1 **{r['macro_f1']:.3f}**, n = {r['n']}, needs_review rate {r['abstain_rate']:.1%}"
        f" at threshold {r['threshold']}, accuracy on the rest {r['accuracy_when_answered']:.1%}"
    )
    return rows
