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
    figures: dict[str, Any] = {
        "corpus": dict(sorted(counts.items())),
        "cross_validation": cross_validate(examples, threshold),
    }
    pipeline = train(examples)
    version = f"cold-{corpus_version(examples)}"
    classifier = Classifier(pipeline, version)
    if dev:
        figures["dev"] = evaluate(classifier, dev, threshold)
        figures["dev_name"] = dev_name
    info = model_store.ModelInfo(
        version=version,
        format_version=model_store.FORMAT_VERSION,
        sklearn_version=sklearn.__version__,
        trained_at=now.isoformat(timespec="seconds"),
        figures=figures,
    )
    model_store.save(pipeline, model_dir, info)
    comparison_file = model_dir / "comparison.md"
    comparison = comparison_file.read_text(encoding="utf-8") if comparison_file.exists() else ""
    (model_dir / "MODEL_CARD.md").write_text(model_card(info, comparison), encoding="utf-8")
    return figures


def model_card(info: model_store.ModelInfo, comparison: str = "") -> str:
    f = info.figures
    lines = [
        "# triage model card",
        "",
        f"- version: `{info.version}` (trained {info.trained_at}, scikit-learn {info.sklearn_version})",
        "- model: TF-IDF word 1-2-grams + char_wb 2-5-grams -> logistic regression (C=10, balanced)",
        "- input: subject + the new text only (quoted history and signature removed)",
        f"- training corpus: the project's own writing, `models/corpus/` {f['corpus']}",
        "",
        f"## Cross-validated on the corpus ({FOLDS}-fold, stratified, grouped by message, seed {SEED})",
        "",
        *_table(f["cross_validation"]),
    ]
    if "dev" in f:
        lines += [
            "",
            f"## Measured on `{f['dev_name']}` (third-party, silver labels; never trained on)",
            "",
            *_table(f["dev"]),
        ]
    if "dev" in f:
        lines += [
            "",
            f"## Does the confidence mean something? (on `{f['dev_name']}`)",
            "",
            "| confidence band | messages | mean confidence | accuracy reached |",
            "|---|---|---|---|",
            *[
                f"| {r['band']} | {r['n']} | {r['confidence']:.3f} | {r['accuracy']:.3f} |"
                for r in f["dev"].get("reliability", [])
            ],
            "",
            "Accuracy is at or above the stated confidence in every band: the probabilities are",
            "conservative, so a threshold on them keeps at least the precision it promises.",
        ]
    if comparison:
        lines += ["", "## Candidates compared (`bench/compare_models.py`)", "", comparison.strip()]
    lines += [
        "",
        "## Limits",
        "",
        "- Written in English; other languages fall back mostly on character n-grams.",
        "- Below the confidence threshold a message is `needs_review`: no class-specific promise.",
        "- Escalation keywords and VIP domains in config.yaml override the model.",
        "",
    ]
    return "\n".join(lines)


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
