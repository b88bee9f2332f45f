"""Which answer fits a small fix: learned answers and curated fixes ranked by one similarity. Pure.

Every answer is one point in a text representation (the composition layer passes it in:
the classifier's word vectors, each word weighted by how rare it is among the bank's
questions): the mean of the questions it answered plus its own text, so an answer asked
five ways is found by what the askings share and by what the team wrote; replies giving the same
answer in other words (most of their words shared) are one answer. A curated fix is
the same: its examples plus its text. A new message gets the closest answer only when it
clears a similarity and leads the next answer by a margin, both chosen when the index is
built for precision on the bank's own past questions (`replies/calibration.py`): a wrong
answer is worse than a marked place. A curated fix whose keyword stands as a whole word or
phrase in the new text is proposed when no answer is clearly closer; on a tie a curated
fix ranks first, so a team can pin an answer (`triage answers --pin`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.domain import ParsedMessage
from triage.replies.answer_text import names_of, question_text
from triage.replies.calibration import Threshold, choose

PRECISION = 0.97  # held-out precision the threshold is chosen for
# until the bank shows that precision: stricter on both counts than bench/answers.py's bank chose (0.44, 0.13)
FALLBACK = Threshold(0.55, 0.15)
_DIGEST = re.compile(r"\bdigest\b|^today's topics:|^message: \d+$", re.IGNORECASE | re.MULTILINE)
SAME_ANSWER = 0.5  # two replies' word overlap (TF-IDF cosine) from which they give one answer
_CHUNK = 1024  # held-out questions scored at once: bounds the memory of choosing the threshold


class Representation(Protocol):
    """Texts as dense vectors of unit length (a dot product is the cosine), fitted on the bank's questions."""

    def fit(self, texts: Sequence[str]) -> None: ...

    def transform(self, texts: Sequence[str]) -> Any: ...


@dataclass(frozen=True)
class Fix:
    """A curated answer from fixes.yaml: steps or an answer text, found by keywords or examples."""

    keywords: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    answer: str = ""
    examples: tuple[str, ...] = ()  # questions it answers (a pinned answer carries the team's)

    @property
    def text(self) -> str:
        return self.answer or "\n".join(self.steps)


@dataclass(frozen=True)
class PastQuestion:
    """A question the team answered: the learned answer it got and where it came from."""

    answer_id: int
    text: str  # `question_text`: subject and new text, the customer's details left out
    source: str  # the past conversation: the question's Message-ID


@dataclass(frozen=True)
class Proposal:
    """The answer a small-fix draft carries, and why."""

    kind: str  # "learned" or "curated"
    similarity: float
    source: str  # learned: the closest past question's Message-ID; curated: "fixes.yaml entry N"
    answer_id: int | None = None  # learned: the answer's id in the bank; curated: its entry number
    text: str = ""
    steps: tuple[str, ...] = ()
    keyword: str = ""  # curated: the keyword found in the new text

    def note(self) -> str:
        """One line for the draft's X-Triage header and `triage show`."""
        if self.kind == "learned":
            return f"learned answer {self.answer_id} from {self.source}, similarity {self.similarity:.2f}"
        found = f"keyword {self.keyword!r}, " if self.keyword else ""
        return f"curated answer, {self.source} ({found}similarity {self.similarity:.2f})"


class AnswerIndex:
    """The learned answers and curated fixes as vectors, with the threshold chosen on the bank."""

    def __init__(
        self,
        questions: Sequence[PastQuestion],
        answers: Mapping[int, str],
        representation: Representation,
        fixes: Sequence[Fix] = (),
        precision: float = PRECISION,
        fallback: Threshold = FALLBACK,
    ) -> None:
        self.fixes = tuple(fixes)
        self.representation = representation
        pinned = {example for fix in self.fixes for example in fix.examples}
        # an answer pinned into fixes.yaml is proposed as the curated copy, never twice
        shadowed = {q.answer_id for q in questions if q.text in pinned}
        self.questions = tuple(q for q in questions if q.answer_id in answers and q.answer_id not in shadowed)
        self.answer_ids, column = one_column_per_answer([q.answer_id for q in self.questions], answers)
        self.answers = {answer_id: answers[answer_id] for answer_id in self.answer_ids}
        self.owner = np.array([column[q.answer_id] for q in self.questions], dtype=np.int64)
        self.threshold = fallback
        self.vectors: Any = None  # one row per learned answer, then one per curated fix
        self.width = 0
        asked = [q.text for q in self.questions] + [e for fix in self.fixes for e in fix.examples]
        texts = list(self.answers.values()) + [fix.text for fix in self.fixes]
        if not asked + texts:
            return
        representation.fit(asked or texts)
        self.width = int(np.asarray(representation.transform([texts[0] if texts else asked[0]])).shape[1])
        self.question_vectors = self._vectors([q.text for q in self.questions])
        sums = np.zeros((len(self.answer_ids), self.width), dtype=np.float32)
        np.add.at(sums, self.owner, self.question_vectors)
        counts = np.bincount(self.owner, minlength=len(self.answer_ids)).astype(np.float32)
        answer_texts = self._vectors(list(self.answers.values()))
        curated = [self._fix_vector(fix) for fix in self.fixes]
        self.vectors = _unit(np.vstack([sums + counts[:, None] * answer_texts, *curated]))
        if len(self.questions):
            self.threshold = self._held_out(sums, counts, answer_texts, precision, fallback)

    def __len__(self) -> int:
        return len(self.questions)

    def propose(self, messages: Sequence[ParsedMessage]) -> list[Proposal | None]:
        """The answer for each message, or None when none is close enough and clearly the best."""
        if not messages:
            return []
        if self.vectors is None:
            return [None] * len(messages)
        queries = self._vectors(
            [question_text(m.subject, m.new_text, names_of(m.sender.name)) for m in messages]
        )
        similarities = queries @ self.vectors.T
        return [self._choose(m, q, row) for m, q, row in zip(messages, queries, similarities)]

    def _choose(self, message: ParsedMessage, query: Any, row: Any) -> Proposal | None:
        if _DIGEST.search(f"{message.subject}\n{message.new_text}"):
            return None  # a list digest quotes everyone's questions: no answer fits it
        learned = len(self.answer_ids)
        own_words = "\n".join(
            line for line in message.new_text.splitlines() if not line.lstrip().startswith(">")
        )
        # highest similarity first; on a tie a curated fix first
        order = np.lexsort((np.arange(len(row)) < learned, -row))
        best = int(order[0])
        lead = row[best] - (row[order[1]] if len(order) > 1 else 0.0)
        if row[best] >= self.threshold.similarity and lead >= self.threshold.margin:
            if best < learned:
                return self._learned(best, query, row[best])
            return self._curated(best - learned, row, own_words)
        for number, fix in enumerate(self.fixes):  # no answer clearly closer: the team's keyword rules
            if any(has_phrase(own_words, keyword) for keyword in fix.keywords):
                return self._curated(number, row, own_words)
        return None

    def _learned(self, column: int, query: Any, similarity: float) -> Proposal:
        askings = np.flatnonzero(self.owner == column)
        closest = askings[int(np.argmax(self.question_vectors[askings] @ query))]
        answer_id = self.answer_ids[column]
        source = self.questions[closest].source
        return Proposal("learned", float(similarity), source, answer_id, self.answers[answer_id])

    def _curated(self, number: int, row: Any, own_words: str) -> Proposal:
        fix = self.fixes[number]
        keyword = next((k for k in fix.keywords if has_phrase(own_words, k)), "")
        similarity = float(row[len(self.answer_ids) + number])
        return Proposal(
            "curated",
            similarity,
            f"fixes.yaml entry {number + 1}",
            number + 1,
            fix.answer,
            fix.steps,
            keyword,
        )

    def _held_out(
        self, sums: Any, counts: Any, answer_texts: Any, precision: float, fallback: Threshold
    ) -> Threshold:
        """Each past question offered to the bank without itself: its answer is then the mean of
        the other askings plus its text, or gone when it was the only asking."""
        best, runner_up, right = [], [], []
        for start in range(0, len(self.questions), _CHUNK):
            rows = slice(start, start + _CHUNK)
            vectors, owner = self.question_vectors[rows], self.owner[rows]
            scores = vectors @ self.vectors.T
            rest = sums[owner] - vectors + (counts[owner] - 1)[:, None] * answer_texts[owner]
            own = np.einsum("ij,ij->i", vectors, _unit(rest))
            scores[np.arange(len(owner)), owner] = np.where(counts[owner] > 1, own, -np.inf)
            top = (
                np.argsort(-scores, axis=1)[:, :2] if scores.shape[1] > 1 else np.zeros((len(owner), 1), int)
            )
            picked = np.take_along_axis(scores, top, axis=1)
            best.append(picked[:, 0])
            runner_up.append(picked[:, 1] if picked.shape[1] > 1 else np.zeros(len(owner)))
            right.append(top[:, 0] == owner)
        return choose(
            np.concatenate(best), np.concatenate(runner_up), np.concatenate(right), precision, fallback
        )

    def _fix_vector(self, fix: Fix) -> Any:
        examples = self._vectors(list(fix.examples)).sum(axis=0) if fix.examples else 0.0
        text = self._vectors([" ".join((*fix.keywords, fix.text))])[0]
        return (examples + max(len(fix.examples), 1) * text)[None, :]

    def _vectors(self, texts: list[str]) -> Any:
        if not texts:
            return np.zeros((0, self.width), dtype=np.float32)
        return np.asarray(self.representation.transform(texts), dtype=np.float32)


def one_column_per_answer(
    asked: Sequence[int], answers: Mapping[int, str]
) -> tuple[list[int], dict[int, int]]:
    """(the answer each column proposes, answer id -> its column). Replies giving the same answer in
    other words share a column: agents word the same steps differently, and a question must not find
    its own answer's other wording a rival. Linked in a chain (a ~ b, b ~ c). A column proposes the
    wording closest to the others, the one least about its own customer ("good luck with the flat!"),
    then the most asked."""
    ids = sorted(set(asked))
    groups = list(range(len(ids)))
    closeness: Any = np.zeros(len(ids))
    if len(ids) > 1:
        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
        try:
            vectors = words.fit_transform([answers[i] for i in ids])
        except ValueError:  # not one word to compare: every answer its own
            pass
        else:
            similar = (vectors @ vectors.T).tocoo()
            _, found = connected_components(similar >= SAME_ANSWER, directed=False)
            groups = [int(g) for g in found]
            inside = found[similar.row] == found[similar.col]  # how close to the rest of its answer
            closeness = np.bincount(similar.row[inside], similar.data[inside], minlength=len(ids))
    count = Counter(asked)
    best: dict[int, int] = {}
    for n, (answer_id, group) in enumerate(zip(ids, groups)):
        rank = (closeness[n], count[answer_id])
        if group not in best or rank > (closeness[best[group]], count[ids[best[group]]]):
            best[group] = n
    proposed = sorted(ids[n] for n in best.values())
    column = {answer_id: c for c, answer_id in enumerate(proposed)}
    return proposed, {i: column[ids[best[g]]] for i, g in zip(ids, groups)}


def has_phrase(text: str, phrase: str) -> bool:
    """The phrase as whole words ("return" is not in "returned"), any case and spacing."""
    words = phrase.split()
    return (
        bool(words)
        and re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", text, re.IGNORECASE)
        is not None
    )


def _unit(vectors: Any) -> Any:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-9)
