"""Which answer fits a small fix: learned answers and curated fixes ranked by one similarity. Pure.

A new message is compared with every past question the team answered (cosine similarity
of a text representation, TF-IDF for now) and with the examples of each curated fix.
The best answer is proposed only when it clears `min_similarity` and beats the best
*other* answer by `margin`: when two answers are about as close, neither is proposed,
because a wrong answer is worse than a marked place. A curated fix whose keyword stands
as a whole word or phrase in the new text counts as clearing the threshold, and on a
tie a curated fix ranks first, so a team can pin an answer (`triage answers --pin`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from triage.domain import ParsedMessage
from triage.replies.answer_text import names_of, question_text

MIN_SIMILARITY = 0.5
MARGIN = 0.05
CLOSEST = 50  # past questions looked at per message: the best two answers are among them
_DIGEST = re.compile(r"\bdigest\b|^today's topics:|^message: \d+$", re.IGNORECASE | re.MULTILINE)


class Representation(Protocol):
    """Texts as vectors; rows are L2-normalised, so a dot product is the cosine similarity."""

    def fit(self, texts: Sequence[str]) -> None: ...

    def transform(self, texts: Sequence[str]) -> Any: ...


class TfidfRepresentation:
    """Word uni- and bigrams and character 4-grams ("reset", "resetting"), fitted on the bank's questions.

    One size of character n-gram (not 3 to 5) halves the time per message at the same accuracy
    on bench/answers.py."""

    def __init__(self) -> None:
        self.features = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 4), sublinear_tf=True)),
            ]
        )

    def fit(self, texts: Sequence[str]) -> None:
        self.features.fit(list(texts))

    def transform(self, texts: Sequence[str]) -> Any:
        return normalize(self.features.transform(list(texts)))


@dataclass(frozen=True)
class Fix:
    """A curated answer from fixes.yaml: steps or an answer text, found by keywords or examples."""

    keywords: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    answer: str = ""
    examples: tuple[str, ...] = ()  # questions it answers (a pinned answer carries the team's)


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
    source: str  # learned: the past question's Message-ID; curated: "fixes.yaml entry N"
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
    """The past questions and curated fixes, vectorised once; proposes answers for a batch of messages."""

    def __init__(
        self,
        questions: Sequence[PastQuestion],
        answers: Mapping[int, str],
        fixes: Sequence[Fix] = (),
        min_similarity: float = MIN_SIMILARITY,
        margin: float = MARGIN,
        representation: Representation | None = None,
    ) -> None:
        self.fixes = tuple(fixes)
        self.min_similarity = min_similarity
        self.margin = margin
        pinned = {example for fix in self.fixes for example in fix.examples}
        # an answer pinned into fixes.yaml is proposed as the curated copy, never twice
        shadowed = {q.answer_id for q in questions if q.text in pinned}
        self.questions = tuple(q for q in questions if q.answer_id in answers and q.answer_id not in shadowed)
        self.answers = dict(answers)
        self.examples = [(number, text) for number, fix in enumerate(self.fixes, 1) for text in fix.examples]
        texts = [q.text for q in self.questions] + [text for _, text in self.examples]
        self.representation = representation or TfidfRepresentation()
        self.vectors: Any = None
        try:
            self.representation.fit(texts)
            self.vectors = self.representation.transform(texts).T.tocsr()  # one column per text
        except ValueError:  # nothing to learn from yet (no texts, or only stop words)
            self.vectors = None

    def __len__(self) -> int:
        return len(self.questions)

    def propose(self, messages: Sequence[ParsedMessage]) -> list[Proposal | None]:
        """The answer for each message, or None when none is close enough and clearly the best."""
        if not messages:
            return []
        similarities = np.zeros((len(messages), 0))
        if self.vectors is not None:
            queries = self.representation.transform(
                [question_text(m.subject, m.new_text, names_of(m.sender.name)) for m in messages]
            )
            product = queries @ self.vectors
            similarities = product.toarray() if hasattr(product, "toarray") else np.asarray(product)
        return [self._choose(message, row) for message, row in zip(messages, similarities)]

    def _choose(self, message: ParsedMessage, row: Any) -> Proposal | None:
        if _DIGEST.search(f"{message.subject}\n{message.new_text}"):
            return None  # a list digest quotes everyone's questions: no answer fits it
        candidates = self._learned(row) + self._curated(message, row[len(self.questions) :])
        if not candidates:
            return None
        # highest similarity first; on a tie a curated answer first
        candidates.sort(key=lambda p: (p.similarity, p.kind == "curated"), reverse=True)
        best = candidates[0]
        runner_up = next((p.similarity for p in candidates[1:] if _key(p) != _key(best)), 0.0)
        if best.similarity < self.min_similarity or best.similarity - runner_up < self.margin:
            return None
        return best

    def _learned(self, row: Any) -> list[Proposal]:
        """The two closest learned answers (the best and the runner-up are all a choice needs)."""
        found: list[Proposal] = []
        learned = row[: len(self.questions)]
        closest = (
            np.argpartition(learned, -CLOSEST)[-CLOSEST:] if len(learned) > CLOSEST else range(len(learned))
        )
        for position in sorted(closest, key=lambda p: learned[p], reverse=True):
            question = self.questions[position]
            if all(p.answer_id != question.answer_id for p in found):
                similarity = float(row[position])
                text = self.answers[question.answer_id]
                found.append(Proposal("learned", similarity, question.source, question.answer_id, text))
            if len(found) == 2:
                break
        return found

    def _curated(self, message: ParsedMessage, row: Any) -> list[Proposal]:
        closest: dict[int, float] = {}
        for (number, _), similarity in zip(self.examples, row):
            closest[number] = max(closest.get(number, 0.0), float(similarity))
        own_words = "\n".join(
            line for line in message.new_text.splitlines() if not line.lstrip().startswith(">")
        )
        found = []
        for number, fix in enumerate(self.fixes, 1):
            keyword = next((k for k in fix.keywords if has_phrase(own_words, k)), "")
            similarity = max(closest.get(number, 0.0), self.min_similarity if keyword else 0.0)
            if similarity > 0:
                found.append(
                    Proposal(
                        "curated",
                        similarity,
                        f"fixes.yaml entry {number}",
                        number,
                        fix.answer,
                        fix.steps,
                        keyword,
                    )
                )
        return found


def has_phrase(text: str, phrase: str) -> bool:
    """The phrase as whole words ("return" is not in "returned"), any case and spacing."""
    words = phrase.split()
    return (
        bool(words)
        and re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", text, re.IGNORECASE)
        is not None
    )


def _key(proposal: Proposal) -> tuple[str, int | None]:
    return proposal.kind, proposal.answer_id
