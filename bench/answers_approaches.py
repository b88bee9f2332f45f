"""The retrieval approaches tried for issue 13, measured alike on the bank bench/answers.py builds.

Each approach scores every learned answer for a text. Its threshold and margin are chosen
as the shipped index chooses them (`triage.replies.calibration.choose`, precision 0.97):
on the bank's own past questions, each held out in turn, never on the new askings. A
held-out question whose answer was sent only once leaves no answer behind. The linear
model is held out by five folds rather than one question at a time (255 fits otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from triage.adapters.word_vectors import MeanWordVectors, RareWordVectors
from triage.replies.calibration import Threshold, choose
from triage.replies.retrieval import FALLBACK, PRECISION

Array = Any


@dataclass(frozen=True)
class Bank:
    """The learned bank as arrays: question texts, the answer (column) of each, the answers' texts."""

    questions: Sequence[str]
    owner: Array  # column of each question's answer
    answers: Sequence[str]
    subjects: Sequence[str] = ()  # for "subject and body apart"
    bodies: Sequence[str] = ()


@dataclass(frozen=True)
class Asked:
    """The new askings: subject and new text together (as triage compares them), and apart."""

    texts: Sequence[str]
    subjects: Sequence[str]
    bodies: Sequence[str]


@dataclass(frozen=True)
class Scored:
    new: Array  # new askings x answers
    best: Array  # held out: best and runner-up similarity, and whether the best was right
    runner_up: Array
    right: Array


def held_out(scores: Array, owner: Array) -> tuple[Array, Array, Array]:
    top = np.argsort(-scores, axis=1)[:, :2]
    picked = np.take_along_axis(scores, top, axis=1)
    return picked[:, 0], picked[:, 1], top[:, 0] == owner


def per_answer(similarities: Array, owner: Array, answers: int, how: str) -> Array:
    """Questions x past questions -> questions x answers: the closest asking, or the mean of the best two."""
    out = np.full((similarities.shape[0], answers), -np.inf)
    for column in range(answers):
        own = -np.sort(-similarities[:, owner == column], axis=1)
        if own.shape[1] == 0:
            continue
        second = own[:, 1] if own.shape[1] > 1 else own[:, 0]
        out[:, column] = (
            own[:, 0]
            if how == "closest"
            else np.where(np.isfinite(second), (own[:, 0] + second) / 2, own[:, 0])
        )
    return out


def nearest(how: str) -> Callable[[Array, Array, Array, Bank], Scored]:
    """Score an answer by its closest asking, or by its best two."""

    def score(questions: Array, new: Array, answer_texts: Array, bank: Bank) -> Scored:
        k = len(bank.answers)
        inner = questions @ questions.T
        np.fill_diagonal(inner, -np.inf)  # held out: never its own neighbour
        return Scored(
            per_answer(new @ questions.T, bank.owner, k, how),
            *held_out(per_answer(inner, bank.owner, k, how), bank.owner),
        )

    return score


def centroid(text_weight: float) -> Callable[[Array, Array, Array, Bank], Scored]:
    """Score an answer by the mean of its askings plus `text_weight` times its text (shipped: 1.0)."""

    def score(questions: Array, new: Array, answer_texts: Array, bank: Bank) -> Scored:
        counts = np.bincount(bank.owner, minlength=len(bank.answers)).astype(float)
        sums = np.zeros((len(bank.answers), questions.shape[1]))
        np.add.at(sums, bank.owner, questions)
        points = sums + text_weight * counts[:, None] * answer_texts
        inner = questions @ normalize(points).T
        rest = points[bank.owner] - questions - text_weight * answer_texts[bank.owner]
        own = np.einsum("ij,ij->i", questions, normalize(rest))
        inner[np.arange(len(questions)), bank.owner] = np.where(counts[bank.owner] > 1, own, -np.inf)
        return Scored(new @ normalize(points).T, *held_out(inner, bank.owner))

    return score


def linear_model(questions: Array, new: Array, answer_texts: Array, bank: Bank) -> Scored:
    """Each learned answer a class, its askings and its text the examples; probabilities as the score."""
    k = len(bank.answers)

    def fit(rows: Array, labels: Array) -> Callable[[Array], Array]:
        model = LogisticRegression(C=100.0, max_iter=3000)
        model.fit(np.vstack([rows, answer_texts]), np.concatenate([labels, np.arange(k)]))

        def probabilities(x: Array) -> Array:
            out = np.zeros((len(x), k))
            out[:, model.classes_] = model.predict_proba(x)
            return out

        return probabilities

    inner = np.zeros((len(questions), k))
    folds = np.random.default_rng(0).integers(0, 5, len(questions))
    for fold in range(5):
        train = folds != fold
        inner[~train] = fit(questions[train], bank.owner[train])(questions[~train])
        # a held-out question whose answer has no other asking: its answer's text alone is no asking
        alone = ~train & (np.bincount(bank.owner[train], minlength=k)[bank.owner] == 0)
        inner[alone, bank.owner[alone]] = 0.0
    return Scored(fit(questions, bank.owner)(new), *held_out(inner, bank.owner))


class Tfidf:
    """The first implementation: word uni- and bigrams and character 4-grams, fitted on the bank."""

    def __init__(self) -> None:
        self.features = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 4), sublinear_tf=True)),
            ]
        )

    def fit(self, texts: Sequence[str]) -> None:
        self.features.fit(list(texts))

    def transform(self, texts: Sequence[str]) -> Array:
        return normalize(self.features.transform(list(texts))).toarray()


class Plain:
    """The classifier's own MeanWordVectors, nothing fitted."""

    def fit(self, texts: Sequence[str]) -> None:
        pass

    def transform(self, texts: Sequence[str]) -> Array:
        return np.asarray(MeanWordVectors().transform(list(texts)), dtype=float)


class Blend:
    """Rare-word vectors and TF-IDF side by side: the dot product is their weighted mean similarity."""

    def __init__(self, tfidf_weight: float) -> None:
        self.parts = ((RareWordVectors(), 1 - tfidf_weight), (Tfidf(), tfidf_weight))

    def fit(self, texts: Sequence[str]) -> None:
        for part, _ in self.parts:
            part.fit(texts)

    def transform(self, texts: Sequence[str]) -> Array:
        return np.hstack(
            [np.sqrt(w) * np.asarray(part.transform(texts), dtype=float) for part, w in self.parts]
        )


def apart(bank: Bank, asked: Asked, subject_weight: float) -> Scored:
    """Subject and body each in rare-word vectors, the subject's similarity weighted apart; best two."""
    k, parts = len(bank.answers), []
    for weight, old, new in (
        (subject_weight, bank.subjects, asked.subjects),
        (1.0, bank.bodies, asked.bodies),
    ):
        representation = RareWordVectors()
        representation.fit(bank.questions)
        q, n = representation.transform(list(old)), representation.transform(list(new))
        inner = q @ q.T
        np.fill_diagonal(inner, -np.inf)
        parts.append((weight, n @ q.T, inner))
    total = sum(w for w, _, _ in parts)
    new_scores = per_answer(sum(w * s for w, s, _ in parts) / total, bank.owner, k, "best two")
    inner_scores = per_answer(sum(w * s for w, _, s in parts) / total, bank.owner, k, "best two")
    return Scored(new_scores, *held_out(inner_scores, bank.owner))


def run(
    representation: Any,
    scoring: Callable[[Array, Array, Array, Bank], Scored],
    bank: Bank,
    new: Sequence[str],
) -> Scored:
    representation.fit(bank.questions)
    questions = np.asarray(representation.transform(list(bank.questions)), dtype=float)
    answer_texts = np.asarray(representation.transform(list(bank.answers)), dtype=float)
    return scoring(
        questions, np.asarray(representation.transform(list(new)), dtype=float), answer_texts, bank
    )


def decide(scored: Scored) -> tuple[Threshold, Array]:
    """The threshold chosen on the held-out bank, and the column proposed for each new asking (-1: none)."""
    threshold = choose(scored.best, scored.runner_up, scored.right, PRECISION, FALLBACK)
    order = np.argsort(-scored.new, axis=1)
    best = np.take_along_axis(scored.new, order[:, :1], axis=1)[:, 0]
    second = np.take_along_axis(scored.new, order[:, 1:2], axis=1)[:, 0]
    proposed = (best >= threshold.similarity) & (best - second >= threshold.margin)
    return threshold, np.where(proposed, order[:, 0], -1)


def approaches(bank: Bank) -> list[tuple[str, Callable[[Asked], Scored]]]:
    """(name, new askings -> Scored) in the order they were tried."""
    return [
        (
            "TF-IDF, closest question (first version)",
            lambda new: run(Tfidf(), nearest("closest"), bank, new.texts),
        ),
        ("TF-IDF, best two askings (b)", lambda new: run(Tfidf(), nearest("best two"), bank, new.texts)),
        ("word vectors, closest question (a)", lambda new: run(Plain(), nearest("closest"), bank, new.texts)),
        (
            "word vectors, best two askings (a, b)",
            lambda new: run(Plain(), nearest("best two"), bank, new.texts),
        ),
        (
            "word vectors, centroid of askings (a, b)",
            lambda new: run(Plain(), centroid(0.0), bank, new.texts),
        ),
        (
            "word vectors, centroid + answer text (a, b)",
            lambda new: run(Plain(), centroid(1.0), bank, new.texts),
        ),
        (
            "rare-word vectors, closest question",
            lambda new: run(RareWordVectors(), nearest("closest"), bank, new.texts),
        ),
        (
            "rare-word vectors, best two askings",
            lambda new: run(RareWordVectors(), nearest("best two"), bank, new.texts),
        ),
        (
            "rare-word vectors, centroid of askings",
            lambda new: run(RareWordVectors(), centroid(0.0), bank, new.texts),
        ),
        (
            "rare-word vectors, centroid + answer text x0.5",
            lambda new: run(RareWordVectors(), centroid(0.5), bank, new.texts),
        ),
        (
            "rare-word vectors, centroid + answer text (shipped)",
            lambda new: run(RareWordVectors(), centroid(1.0), bank, new.texts),
        ),
        (
            "rare-word vectors, centroid + answer text x2",
            lambda new: run(RareWordVectors(), centroid(2.0), bank, new.texts),
        ),
        (
            "0.75 rare-word + 0.25 TF-IDF, centroid + text (a)",
            lambda new: run(Blend(0.25), centroid(1.0), bank, new.texts),
        ),
        (
            "0.5 rare-word + 0.5 TF-IDF, centroid + text (a)",
            lambda new: run(Blend(0.5), centroid(1.0), bank, new.texts),
        ),
        (
            "linear model over answers, word vectors (c)",
            lambda new: run(Plain(), linear_model, bank, new.texts),
        ),
        (
            "linear model over answers, rare-word vectors (c)",
            lambda new: run(RareWordVectors(), linear_model, bank, new.texts),
        ),
        ("subject x0.5 and body apart, best two (d)", lambda new: apart(bank, new, 0.5)),
        ("subject x1 and body apart, best two (d)", lambda new: apart(bank, new, 1.0)),
    ]
