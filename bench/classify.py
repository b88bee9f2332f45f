"""Classifier benchmark: speed, load time and memory of the shipped model against an n-gram-only
baseline trained in the same run; figures on dev_gold.csv; the learning curve from corrections.

Usage: python bench/classify.py [--gold ../shared/data/dev_gold.csv] [--ks 0,25,50,100,200]
       [--repeats 5] [--skip-curve]

Speed: messages per second one at a time and in one batch of the same texts: 2,000 dev.csv
rows drawn at random (seed 0) across its sources, read as the daemon reads mail.
Load: in a fresh interpreter, the time to import triage, then the time to load the model
until it has classified one message (the word vectors load then), median of three.
Memory: how much that interpreter's resident set grows from before the load to after
classifying the batch: what a model costs the daemon.

The learning curve: k rows of dev_gold.csv play a team's corrections (drawn at random), the
model is retrained on the corpus plus them, and measured on a fixed held-out half of
dev_gold.csv that no k ever draws from; averaged over --repeats draws.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import sklearn  # noqa: E402

from triage.adapters import model_store  # noqa: E402
from triage.adapters.datasets import Example, read_corpus, read_csv  # noqa: E402
from triage.judgement.classifier import Classifier  # noqa: E402
from triage.training.fitting import (  # noqa: E402
    SEED,
    build_model,  # noqa: E402
    evaluate,
    texts_of,
    train,
)

SHARED = REPO.parent / "shared" / "data"
PROBE = """
import os, sys, time
started = time.perf_counter()
sys.path.insert(0, {repo!r})
from triage.adapters import model_store
from pathlib import Path
imported = time.perf_counter()
def rss():
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = rss()
classifier = model_store.load(Path({model!r}))
classifier.classify(["warm up: the word vectors load on first use"])
loaded = time.perf_counter()
texts = [line for line in Path({texts!r}).read_text().split("\\x00") if line]
classifier.classify(texts)
print(imported - started, loaded - imported, rss() - before)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=SHARED / "dev_gold.csv")
    parser.add_argument("--unlabeled", type=Path, default=SHARED / "dev.csv")
    parser.add_argument("--ks", default="0,25,50,100,200")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--weights", default="1,10", help="correction weights to compare")
    parser.add_argument("--skip-curve", action="store_true")
    args = parser.parse_args()
    corpus = list(read_corpus(REPO / "models" / "corpus").examples)
    gold = list(read_csv(args.gold).examples)
    unlabeled = list(read_csv(args.unlabeled).examples)
    texts = texts_of(random.Random(SEED).sample(unlabeled, 2000))
    shipped = model_store.load(REPO / "models")
    floor = model_store.read_info(REPO / "models").figures["cross_validation"]["escalation_floor"]

    started = time.perf_counter()
    baseline_pipeline = build_model(SEED, meaning=False).fit(texts_of(corpus), [e.label for e in corpus])
    baseline_train_s = time.perf_counter() - started
    baseline = Classifier(baseline_pipeline, "baseline-ngrams")
    started = time.perf_counter()
    train(corpus)
    shipped_train_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        baseline_dir = Path(folder) / "baseline"
        model_store.save(
            baseline_pipeline,
            baseline_dir,
            model_store.ModelInfo("baseline-ngrams", model_store.FORMAT_VERSION, sklearn.__version__, "", {}),
        )
        texts_file = Path(folder) / "texts"
        texts_file.write_text("\x00".join(texts))
        rows = [
            ("n-grams only (baseline)", baseline, baseline_dir, baseline_train_s, 0.0),
            ("n-grams + word vectors (shipped)", shipped, REPO / "models", shipped_train_s, floor),
        ]
        print(
            f"corpus {len(corpus)} rows; speed on {len(texts)} dev.csv texts;"
            f" {args.gold.name} n={len(gold)}\n"
        )
        print(
            "| model | one at a time | batch | import + load | RSS growth: load + batch | train"
            " | gold macro-F1 | gold esc. recall |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, classifier, folder_path, train_s, model_floor in rows:
            single, batch = speed(classifier, texts)
            import_s, load_s, rss_mb = probe(folder_path, texts_file)
            figures = evaluate(classifier, gold, 0.5, model_floor)
            print(
                f"| {name} | {single:.0f} msg/s | {batch:.0f} msg/s | {import_s:.2f} s + {load_s:.2f} s"
                f" | +{rss_mb:.0f} MB"
                f" | {train_s:.1f} s | {figures['macro_f1']:.3f}"
                f" | {figures['per_class']['escalation']['recall']:.3f} |"
            )
    if not args.skip_curve:
        weights = [float(w) for w in args.weights.split(",")]
        learning_curve(corpus, gold, [int(k) for k in args.ks.split(",")], args.repeats, weights)


def speed(classifier: Classifier, texts: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    for text in texts[:300]:
        classifier.classify([text])
    single = 300 / (time.perf_counter() - started)
    started = time.perf_counter()
    classifier.classify(texts)
    return single, len(texts) / (time.perf_counter() - started)


def probe(model_dir: Path, texts_file: Path) -> tuple[float, float, float]:
    """(seconds to import triage, seconds to load the model and classify one message, MB the
    process's resident set grew from before the load to after a batch), median of three."""
    runs = []
    for _ in range(3):
        code = PROBE.format(repo=str(REPO), model=str(model_dir), texts=str(texts_file))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        runs.append(tuple(float(v) for v in out.stdout.split()[-3:]))
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))  # type: ignore[return-value]


def learning_curve(
    corpus: list[Example], gold: list[Example], ks: list[int], repeats: int, weights: list[float]
) -> None:
    order = list(range(len(gold)))
    random.Random(SEED).shuffle(order)
    held_out = [gold[i] for i in order[: len(gold) // 2]]
    pool = order[len(gold) // 2 :]
    print("\nlearning curve: k corrections drawn from one half of the gold set, measured on the other")
    print(f"(n={len(held_out)}, the same rows for every k), mean of {repeats} draws; k = 0 is the baseline;")
    print("a correction counts `weight` times as much as a corpus row (triage uses TEAM_WEIGHT)")
    print("| k corrections | " + " | ".join(f"weight {w:g}: macro-F1 | esc. recall" for w in weights) + " |")
    print("|---|" + "---|---|" * len(weights))
    results: dict[str, list[float]] = {}
    for k in ks:
        cells = []
        for weight in weights if k else weights[:1]:
            f1s, recalls = [], []
            for repeat in range(repeats if k else 1):
                drawn = random.Random(repeat).sample(pool, k)
                added = [
                    Example(gold[i].subject, gold[i].body, gold[i].label, f"correction-{i}", weight=weight)
                    for i in drawn
                ]
                figures = evaluate(Classifier(train(corpus + added), f"k{k}"), held_out, 0.5)
                f1s.append(figures["macro_f1"])
                recalls.append(figures["per_class"]["escalation"]["recall"])
            cells += [statistics.mean(f1s), statistics.mean(recalls)]
        if not k:
            cells *= len(weights)
        results[str(k)] = [round(c, 4) for c in cells]
        print(f"| {k} | " + " | ".join(f"{c:.3f}" for c in cells) + " |", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
