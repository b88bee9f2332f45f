"""Train the classifier from labeled examples and describe it in a model card."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
EVAL_CHUNK = 1000

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
    confidence = [round(float(row.max()), 4) for row in probabilities]
    figures = report(labels, predicted, confidence, threshold)
    # kept with the model so per-class thresholds follow config's precision targets at start-up
    figures["predictions"] = [list(row) for row in zip(labels, predicted, confidence)]
    return figures


def train(examples: Sequence[Example]) -> Any:
    pipeline = build_pipeline(SEED)
    pipeline.fit(texts_of(examples), [e.label for e in examples])
    return pipeline


def evaluate(
    classifier: Classifier,
    examples: Sequence[Example],
    threshold: float,
    escalation_floor: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Figures for the classifier on labeled examples, with the escalation floor applied."""
    texts = texts_of(examples)
    results = []
    for start in range(0, len(texts), EVAL_CHUNK):  # in chunks, so a bar can move
        results.extend(classifier.classify(texts[start : start + EVAL_CHUNK], explain=0))
        if progress is not None:
            progress(len(texts[start : start + EVAL_CHUNK]))
    floored = [
        escalation_floor > 0
        and r.label.value != "escalation"
        and r.escalation_probability >= escalation_floor
        for r in results
    ]
    figures = report(
        [e.label for e in examples],
        ["escalation" if f else r.label.value for r, f in zip(results, floored)],
        [r.escalation_probability if f else r.probability for r, f in zip(results, floored)],
        threshold,
    )
    figures["escalation_floor"] = escalation_floor
    return figures


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


HOLD_OUT_EVERY = 5  # one correction in five is kept back to judge a retrained model


@dataclass(frozen=True)
class TeamTraining:
    version: str
    promoted: bool
    why: str
    trained_on: int
    corrections_used: int
    held_out: int
    new_figures: dict[str, Any] | None
    current_figures: dict[str, Any] | None


def is_held_out(message_id: str) -> bool:
    """A stable split: the same correction is always on the same side."""
    return int(hashlib.sha256(message_id.encode()).hexdigest(), 16) % HOLD_OUT_EVERY == 0


def train_team_model(
    corpus: Sequence[Example],
    corrections: Sequence[tuple[str, str, str]],
    team: Path,
    current: Classifier,
    threshold: float,
    now: datetime,
    past_mail: Sequence[Example] = (),
) -> TeamTraining:
    """Train on the corpus plus the team's corrections (message_id, text, label).

    The new version is saved; it becomes current only if it is not worse than the
    current model on the held-out corrections (macro-F1 and escalation recall).
    """
    held = [Example("", text, label) for mid, text, label in corrections if is_held_out(mid)]
    used = [
        Example("", text, label, f"correction-{mid}")
        for mid, text, label in corrections
        if not is_held_out(mid)
    ]
    examples = [*corpus, *used, *past_mail]
    pipeline = train(examples)
    version = f"team-{now:%Y%m%d-%H%M%S}"
    candidate = Classifier(pipeline, version)
    new_figures = evaluate(candidate, held, threshold) if held else None
    current_figures = evaluate(current, held, threshold) if held else None
    if new_figures is None or current_figures is None:
        promoted, why = True, "no held-out corrections yet to compare on"
    else:
        worse_f1 = new_figures["macro_f1"] < current_figures["macro_f1"]
        new_esc = new_figures["per_class"]["escalation"]["recall"]
        worse_esc = new_esc < current_figures["per_class"]["escalation"]["recall"]
        promoted = not (worse_f1 or worse_esc)
        why = (
            f"held-out macro-F1 {new_figures['macro_f1']:.3f}"
            f" vs {current_figures['macro_f1']:.3f} ({current.version}),"
            f" escalation recall {new_esc:.3f} vs {current_figures['per_class']['escalation']['recall']:.3f}"
        )
    info = model_store.ModelInfo(
        version=version,
        format_version=model_store.FORMAT_VERSION,
        sklearn_version=sklearn.__version__,
        trained_at=now.isoformat(timespec="seconds"),
        figures={
            "corpus": dict(sorted(Counter(e.label for e in examples).items())),
            "corrections_used": len(used),
            "corrections_held_out": len(held),
            "past_mail": len(past_mail),
            "held_out": new_figures,
            "promoted": promoted,
            "why": why,
        },
    )
    model_store.save(pipeline, team / version, info)
    if promoted:
        model_store.use(team, version)
    logger.info("model %s %s: %s", version, "promoted" if promoted else "kept, not used", why)
    return TeamTraining(
        version, promoted, why, len(examples), len(used), len(held), new_figures, current_figures
    )
