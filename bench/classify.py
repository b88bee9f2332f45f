"""Classifier benchmark: prediction throughput, training time, dev macro-F1, learning curve.

Usage: python bench/classify.py [--dev ../shared/data/dev.csv] [--ks 0,25,50,100,200]

The learning curve: from the shipped corpus, add k "corrections" drawn at random (seed 0)
from the labeled CSV, retrain, and measure macro-F1 on the rows not drawn: how fast
triage learns a team's own mail. The baseline is k = 0, measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from triage.adapters import model_store  # noqa: E402
from triage.adapters.datasets import read_corpus, read_csv  # noqa: E402
from triage.judgement.classifier import Classifier  # noqa: E402
from triage.training.fitting import evaluate, texts_of, train  # noqa: E402

EVAL_ROWS = 6000  # a fixed random slice of the dev set keeps each point of the curve quick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev.csv")
    parser.add_argument("--ks", default="0,25,50,100,200")
    args = parser.parse_args()
    corpus = list(read_corpus(REPO / "models" / "corpus").examples)
    dev = list(read_csv(args.dev).examples)
    classifier = model_store.load(REPO / "models")
    texts = texts_of(dev[:2000])

    started = time.perf_counter()
    for text in texts[:300]:
        classifier.classify([text])
    single = 300 / (time.perf_counter() - started)
    started = time.perf_counter()
    classifier.classify(texts)
    batch = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    train(corpus)
    train_s = time.perf_counter() - started
    full = evaluate(classifier, dev, threshold=0.5)
    print(f"prediction: {single:.0f} msg/s one at a time, {batch:.0f} msg/s in a batch of {len(texts)}")
    print(f"training on {len(corpus)} rows: {train_s:.1f} s")
    print(
        f"shipped model on {args.dev.name} (n={full['n']}): macro-F1 {full['macro_f1']:.3f},"
        f" escalation recall {full['per_class']['escalation']['recall']:.3f}"
    )

    rng = random.Random(0)
    order = list(range(len(dev)))
    rng.shuffle(order)
    ks = [int(k) for k in args.ks.split(",")]
    pool, held_out = order[: max(ks)], order[max(ks) : max(ks) + EVAL_ROWS]
    evaluation = [dev[i] for i in held_out]
    print(f"\nlearning curve (held-out n={len(evaluation)}, same rows for every k)")
    print("| k corrections | macro-F1 | escalation recall |\n|---|---|---|")
    for k in ks:
        added = [dev[i] for i in pool[:k]]
        model = Classifier(train(corpus + added), f"k{k}")
        figures = evaluate(model, evaluation, threshold=0.5)
        print(f"| {k} | {figures['macro_f1']:.3f} | {figures['per_class']['escalation']['recall']:.3f} |")


if __name__ == "__main__":
    main()
