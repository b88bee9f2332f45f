"""Figures for a classifier on labeled examples. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from triage.domain import LABELS


def report(
    truth: Sequence[str],
    predicted: Sequence[str],
    confidence: Sequence[float],
    threshold: float,
    always_answered: Sequence[bool] = (),
) -> dict[str, Any]:
    """Per-class precision/recall/F1, macro-F1, confusion matrix and abstention figures.

    A prediction below `threshold` counts as needs_review (abstained), unless
    `always_answered` marks it (an escalation by the floor is never sent to review);
    precision and recall are over all rows, as if nothing abstained, so models compare fairly.
    """
    labels = list(LABELS)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    forced = list(always_answered) or [False] * len(truth)
    kept = [i for i, c in enumerate(confidence) if c >= threshold or forced[i]]
    correct_kept = sum(1 for i in kept if truth[i] == predicted[i])
    return {
        "n": len(truth),
        "macro_f1": round(float(sum(f1) / len(labels)), 4),
        "accuracy": round(sum(t == p for t, p in zip(truth, predicted)) / max(len(truth), 1), 4),
        "per_class": {
            label: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(truth, predicted, labels=labels).tolist(),
        },
        "threshold": threshold,
        "abstain_rate": round(1 - len(kept) / max(len(truth), 1), 4),
        "accuracy_when_answered": round(correct_kept / max(len(kept), 1), 4),
        "tradeoff": tradeoff(truth, predicted, confidence),
        "reliability": reliability(truth, predicted, confidence),
    }


RELIABILITY_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


def reliability(
    truth: Sequence[str], predicted: Sequence[str], confidence: Sequence[float]
) -> list[dict[str, object]]:
    """Per confidence band: how many, the mean confidence, and the accuracy actually reached."""
    rows: list[dict[str, object]] = []
    for low, high in zip(RELIABILITY_EDGES, RELIABILITY_EDGES[1:]):
        band = [i for i, c in enumerate(confidence) if low <= c < high]
        if band:
            rows.append(
                {
                    "band": f"{low:.1f}-{min(high, 1.0):.1f}",
                    "n": len(band),
                    "confidence": round(sum(confidence[i] for i in band) / len(band), 3),
                    "accuracy": round(sum(truth[i] == predicted[i] for i in band) / len(band), 3),
                }
            )
    return rows


TRADEOFF_THRESHOLDS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def tradeoff(
    truth: Sequence[str], predicted: Sequence[str], confidence: Sequence[float]
) -> list[dict[str, float]]:
    """Coverage (share answered, not needs_review) and accuracy on it, per threshold."""
    rows = []
    for threshold in TRADEOFF_THRESHOLDS:
        kept = [i for i, c in enumerate(confidence) if c >= threshold]
        correct = sum(1 for i in kept if truth[i] == predicted[i])
        rows.append(
            {
                "threshold": threshold,
                "coverage": round(len(kept) / max(len(truth), 1), 4),
                "accuracy": round(correct / max(len(kept), 1), 4),
            }
        )
    return rows


def threshold_for_precision(
    truth: Sequence[str], predicted: Sequence[str], confidence: Sequence[float], label: str, target: float
) -> float:
    """The lowest confidence at which predictions of `label` reach `target` precision.

    Scans the observed confidences from low to high; 1.0 when no threshold reaches it
    (then every `label` prediction goes to needs_review).
    """
    scored = sorted((c, t == p) for t, p, c in zip(truth, predicted, confidence) if p == label)
    correct, total = sum(ok for _, ok in scored), len(scored)
    for confidence_at, ok in scored:
        if total and correct / total >= target:
            return round(confidence_at, 4)
        correct -= ok
        total -= 1
    return 1.0


def floor_for_recall(
    truth: Sequence[str], predicted: Sequence[str], escalation: Sequence[float], target: float
) -> float:
    """The highest escalation floor at which escalation recall reaches `target`.

    A message whose escalation probability reaches the floor is an escalation whatever
    scored higher, so the floor recovers the escalations the model ranked second. 0.0 when
    no floor is needed (recall already reaches the target); never above 0.5, where the
    escalation would have won anyway.
    """
    missed = sorted(
        (p for t, q, p in zip(truth, predicted, escalation) if t == "escalation" and q != "escalation"),
        reverse=True,
    )
    total = sum(1 for t in truth if t == "escalation")
    allowed = int(total * (1 - target) + 1e-9)
    to_recover = len(missed) - allowed
    if to_recover <= 0:
        return 0.0
    return min(round(missed[to_recover - 1] - 0.0001, 4), 0.5)


def by_source(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """The figures of one source: macro-F1 over the classes it holds, accuracy, recall per class."""
    present = [label for label in LABELS if label in truth]
    _, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=present, zero_division=0
    )
    return {
        "n": len(truth),
        "macro_f1": round(float(sum(f1) / max(len(present), 1)), 4),
        "accuracy": round(sum(t == p for t, p in zip(truth, predicted)) / max(len(truth), 1), 4),
        "recall": {label: round(float(r), 4) for label, r in zip(present, recall)},
        "support": {label: int(n) for label, n in zip(present, support)},
    }
