"""Compare candidate models: cross-validated on the project's corpus, measured on a dev CSV.

Usage: python bench/compare_models.py [--dev ../shared/data/dev.csv]
Prints one row per candidate: CV macro-F1, dev macro-F1, dev escalation recall.
The dev set is only measured on, never trained on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score, recall_score  # noqa: E402
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict  # noqa: E402
from sklearn.naive_bayes import ComplementNB  # noqa: E402
from sklearn.pipeline import FeatureUnion, Pipeline  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from triage.adapters.datasets import read_corpus, read_csv  # noqa: E402
from triage.judgement.classifier import RISK_TERMS, TONE_PATTERN, build_pipeline  # noqa: E402
from triage.training.fitting import texts_of  # noqa: E402


def words() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)


def chars() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)


def tone() -> CountVectorizer:
    return CountVectorizer(token_pattern=TONE_PATTERN, lowercase=False, binary=True)


def risk() -> CountVectorizer:
    return CountVectorizer(vocabulary=RISK_TERMS, ngram_range=(1, 3), binary=True)


def lr() -> LogisticRegression:
    return LogisticRegression(C=10, class_weight="balanced", max_iter=3000)


def candidates() -> dict[str, Pipeline]:
    return {
        "ComplementNB, words": Pipeline([("f", words()), ("m", ComplementNB(alpha=0.3))]),
        "LogReg, words": Pipeline([("f", words()), ("m", lr())]),
        "LogReg, chars": Pipeline([("f", chars()), ("m", lr())]),
        "LogReg, words+chars": Pipeline([("f", FeatureUnion([("w", words()), ("c", chars())])), ("m", lr())]),
        "Calibrated LinearSVC, words+chars": Pipeline(
            [
                ("f", FeatureUnion([("w", words()), ("c", chars())])),
                ("m", CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"), cv=5)),
            ]
        ),
        "LogReg, words+chars+tone+risk": Pipeline(
            [("f", FeatureUnion([("w", words()), ("c", chars()), ("t", tone()), ("r", risk())])), ("m", lr())]
        ),
        "shipped (build_pipeline)": build_pipeline(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev.csv")
    args = parser.parse_args()
    corpus = read_corpus(REPO / "models" / "corpus").examples
    texts, labels = texts_of(corpus), [e.label for e in corpus]
    dev = read_csv(args.dev).examples if args.dev.exists() else ()
    dev_texts, dev_labels = texts_of(dev), [e.label for e in dev]
    groups = [e.group or f"row-{i}" for i, e in enumerate(corpus)]
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
    lines = [
        f"Corpus n={len(corpus)} (5-fold CV grouped by message), dev n={len(dev)} ({args.dev.name}).",
        "",
        "| model | CV macro-F1 | dev macro-F1 | dev escalation recall | train s |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines))
    for name, pipeline in candidates().items():
        cv = cross_val_predict(pipeline, texts, labels, groups=groups, cv=folds)
        cv_f1 = f1_score(labels, cv, average="macro")
        started = time.perf_counter()
        pipeline.fit(texts, labels)
        train_s = time.perf_counter() - started
        if dev:
            predicted = pipeline.predict(dev_texts)
            dev_f1 = f1_score(dev_labels, predicted, average="macro")
            esc = recall_score(dev_labels, predicted, labels=["escalation"], average="macro")
            lines.append(f"| {name} | {cv_f1:.3f} | {dev_f1:.3f} | {esc:.3f} | {train_s:.1f} |")
        else:
            lines.append(f"| {name} | {cv_f1:.3f} | - | - | {train_s:.1f} |")
        print(lines[-1])
    (REPO / "models" / "comparison.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
