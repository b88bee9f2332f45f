"""Train the classifier from labeled examples and describe it in a model card."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sklearn
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict

from triage import model_store
from triage.classifier import Classifier, build_pipeline, model_text
from triage.datasets import Example
from triage.evaluation import report
from triage.parsing import new_text

logger = logging.getLogger(__name__)

SEED = 0
FOLDS = 5


def texts_of(examples: Sequence[Example]) -> list[str]:
    return [model_text(e.subject, new_text(e.body)) for e in examples]


def corpus_version(examples: Sequence[Example]) -> str:
    """Same corpus, same version: training is deterministic."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(f"{e.label}\x00{e.subject}\x00{e.body}\x01".encode())
    return digest.hexdigest()[:12]


def cross_validate(examples: Sequence[Example], threshold: float) -> dict[str, Any]:
    texts, labels = texts_of(examples), [e.label for e in examples]
    # variants of one message share a group and a fold, so CV does not grade memory
    groups = [e.group or f"row-{i}" for i, e in enumerate(examples)]
    folds = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    probabilities = cross_val_predict(
        build_pipeline(SEED), texts, labels, groups=groups, cv=folds, method="predict_proba"
    )
    classes = sorted(set(labels))
    predicted = [classes[row.argmax()] for row in probabilities]
    return report(labels, predicted, [float(row.max()) for row in probabilities], threshold)


def train(examples: Sequence[Example]) -> Any:
    pipeline = build_pipeline(SEED)
    pipeline.fit(texts_of(examples), [e.label for e in examples])
    return pipeline


def evaluate(classifier: Classifier, examples: Sequence[Example], threshold: float) -> dict[str, Any]:
    results = classifier.classify(texts_of(examples))
    return report(
        [e.label for e in examples],
        [r.label.value for r in results],
        [r.probability for r in results],
        threshold,
    )


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
    (model_dir / "MODEL_CARD.md").write_text(model_card(info), encoding="utf-8")
    return figures


def model_card(info: model_store.ModelInfo) -> str:
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
