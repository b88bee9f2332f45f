"""Compare candidate models: cross-validated on the corpus, measured on dev_gold.csv.

Usage: python bench/compare_models.py [--gold ../shared/data/dev_gold.csv] [--write]

Per candidate: cross-validated macro-F1 on the corpus (5 folds, grouped by message), the
escalation floor that cross-validation chooses for 95% escalation recall, and on the gold
set (labeled by LABELS.md, never trained on): macro-F1, recall of escalations and
complaints, both at the plain argmax and with the floor. --write puts the table in
models/comparison.md, which the model card includes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict  # noqa: E402
from sklearn.pipeline import FeatureUnion, Pipeline  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from triage.adapters.datasets import read_corpus, read_csv  # noqa: E402
from triage.adapters.word_vectors import MeanWordVectors  # noqa: E402
from triage.judgement.evaluation import floor_for_recall, report  # noqa: E402
from triage.training.fitting import (  # noqa: E402
    ESCALATION_RECALL,
    build_model,  # noqa: E402
    texts_of,
)

# Tone: shouting, exclamation, negation, emotion; each a token the model can weigh.
TONE_PATTERN = (
    r"!{1,3}|\?!|\b[A-Z]{3,}\b|\b(?:[Nn]ot|[Nn]ever|[Nn]o|[Nn]othing|[Nn]obody|[Cc]an't|[Ww]on't"
    r"|[Dd]idn't|[Dd]oesn't|[Ii]sn't|[Ww]asn't)\b|\b(?:[Ff]rustrat\w*|[Aa]ngry|[Uu]pset|[Dd]isappoint\w*"
    r"|[Uu]nacceptable|[Rr]idiculous|[Tt]errible|[Aa]wful|[Ww]orst|[Dd]isgust\w*|[Ff]urious|[Ss]hocking"
    r"|[Pp]athetic|[Hh]orrible|[Rr]ude|[Tt]hanks for nothing)\b"
)
# Urgency and risk: security, money, legal, outage, safety.
RISK_TERMS = (
    "hacked",
    "compromised",
    "breach",
    "data breach",
    "leak",
    "leaked",
    "phishing",
    "suspicious",
    "unauthorised",
    "unauthorized",
    "fraud",
    "fraudulent",
    "stolen",
    "lost card",
    "lost my card",
    "didn't make",
    "did not make",
    "not me",
    "wasn't me",
    "don't recognise",
    "don't recognize",
    "unrecognised",
    "unrecognized",
    "chargeback",
    "dispute",
    "withdrawal",
    "withdrawn",
    "missing",
    "not received",
    "never arrived",
    "charged twice",
    "double charged",
    "lawyer",
    "solicitor",
    "attorney",
    "legal",
    "court",
    "sue",
    "regulator",
    "ombudsman",
    "gdpr",
    "complaint to",
    "outage",
    "down",
    "not working",
    "cannot access",
    "can't access",
    "locked out",
    "all users",
    "production",
    "urgent",
    "asap",
    "immediately",
    "emergency",
    "critical",
    "severe",
    "injury",
    "injured",
    "fire",
    "overheating",
    "unsafe",
    "allergic",
    "hospital",
    "security",
    "incident",
    "block my card",
    "freeze",
    "cancel my card",
    "sim swap",
    "identity theft",
)


def words() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)


def chars() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)


def lr(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000)


def union(*parts: tuple[str, Any]) -> FeatureUnion:
    return FeatureUnion(list(parts))


def candidates() -> dict[str, Pipeline]:
    tone = ("t", CountVectorizer(token_pattern=TONE_PATTERN, lowercase=False, binary=True))
    risk = ("r", CountVectorizer(vocabulary=RISK_TERMS, ngram_range=(1, 3), binary=True))
    return {
        "n-grams, C=10 (the recipe shipped before)": Pipeline(
            [("f", union(("w", words()), ("c", chars()))), ("m", lr(10))]
        ),
        "n-grams, C=1": Pipeline([("f", union(("w", words()), ("c", chars()))), ("m", lr(1))]),
        "n-grams + tone and risk terms, C=1": Pipeline(
            [("f", union(("w", words()), ("c", chars()), tone, risk)), ("m", lr(1))]
        ),
        "word vectors only, C=1": Pipeline([("f", union(("v", MeanWordVectors(1.0)))), ("m", lr(1))]),
        "n-grams + word vectors in one regression x1, C=1": Pipeline(
            [("f", union(("w", words()), ("c", chars()), ("v", MeanWordVectors(1.0)))), ("m", lr(1))]
        ),
        "n-grams + word vectors in one regression x2, C=3": Pipeline(
            [("f", union(("w", words()), ("c", chars()), ("v", MeanWordVectors(2.0)))), ("m", lr(3))]
        ),
        "calibrated linear SVM, n-grams + word vectors x1.5": Pipeline(
            [
                ("f", union(("w", words()), ("c", chars()), ("v", MeanWordVectors(1.5)))),
                ("m", CalibratedClassifierCV(LinearSVC(C=0.3, class_weight="balanced"), cv=3)),
            ]
        ),
        "shipped: n-grams and word vectors, two regressions averaged (build_model)": build_model(),
    }


def figures(truth: list[str], probabilities: Any, classes: list[str], floor: float) -> dict[str, Any]:
    escalation = probabilities[:, classes.index("escalation")]
    argmax = [classes[i] for i in probabilities.argmax(1)]
    floored = ["escalation" if p >= floor > 0 else q for q, p in zip(argmax, escalation)]
    confidence = [1.0 if f != q else float(c) for f, q, c in zip(floored, argmax, probabilities.max(1))]
    return {
        "argmax": report(truth, argmax, list(probabilities.max(1)), 0.5),
        "floored": report(truth, floored, confidence, 0.5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=REPO.parent / "shared" / "data" / "dev_gold.csv")
    parser.add_argument("--write", action="store_true", help="write the table to models/comparison.md")
    args = parser.parse_args()
    corpus = read_corpus(REPO / "models" / "corpus").examples
    texts, labels = texts_of(corpus), [e.label for e in corpus]
    gold = read_csv(args.gold).examples
    gold_texts, gold_labels = texts_of(gold), [e.label for e in gold]
    groups = [e.group or f"row-{i}" for i, e in enumerate(corpus)]
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
    lines = [
        f"Corpus n={len(corpus)} (5-fold CV grouped by message); gold n={len(gold)} ({args.gold.name},"
        " never trained on). The floor is chosen on cross-validation for"
        f" {ESCALATION_RECALL:.0%} escalation recall, then applied to the gold set as it is.",
        "",
        "| model | CV macro-F1 | floor | gold macro-F1 | gold esc. recall | gold complaint recall"
        " | with floor: macro-F1 | esc. recall | needs_review | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for name, pipeline in candidates().items():
        cv = cross_val_predict(pipeline, texts, labels, groups=groups, cv=folds, method="predict_proba")
        classes = sorted(set(labels))
        cv_predicted = [classes[i] for i in cv.argmax(1)]
        floor = floor_for_recall(
            labels, cv_predicted, list(cv[:, classes.index("escalation")]), ESCALATION_RECALL
        )
        cv_f1 = report(labels, cv_predicted, list(cv.max(1)), 0.5)["macro_f1"]
        started = time.perf_counter()
        pipeline.fit(texts, labels)
        train_s = time.perf_counter() - started
        g = figures(gold_labels, pipeline.predict_proba(gold_texts), list(pipeline.classes_), floor)
        a, f = g["argmax"], g["floored"]
        lines.append(
            f"| {name} | {cv_f1:.3f} | {floor:.2f} | {a['macro_f1']:.3f}"
            f" | {a['per_class']['escalation']['recall']:.3f} | {a['per_class']['complaint']['recall']:.3f}"
            f" | {f['macro_f1']:.3f} | {f['per_class']['escalation']['recall']:.3f} | {f['abstain_rate']:.1%}"
            f" | {train_s:.1f} |"
        )
        print(lines[-1], flush=True)
    if args.write:
        (REPO / "models" / "comparison.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
