"""How close an answer must be before a draft carries it: chosen for precision on the bank itself. Pure.

Every past question is held out in turn and offered to the rest of the bank as a new asking
would be (leave-one-out): it is answered right when the closest answer is the one the team
sent it. A question whose answer was sent only once leaves no answer behind, as a question
of a kind never asked before finds none, so every proposal for it counts as wrong. Of the
(threshold, margin) pairs, the one that answers the most held-out questions right while
their precision reaches the target is chosen; a bank that cannot show that precision on
enough questions keeps the configured fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SIMILARITIES = np.round(np.arange(0.0, 1.0001, 0.01), 2)
MARGINS = np.round(np.arange(0.0, 0.3001, 0.01), 2)
MIN_ANSWERED = 30  # held-out questions answered before a precision means anything (0.97 of 30: none wrong)


@dataclass(frozen=True)
class Threshold:
    """What a proposal must clear: `similarity`, and `margin` ahead of the next answer."""

    similarity: float
    margin: float
    precision: float | None = None  # held-out precision when chosen on the bank; None: the fallback
    held_out: int = 0  # past questions held out
    answered: int = 0  # of them, how many got an answer

    def describe(self) -> str:
        """One line for `triage answers`."""
        rule = f"similarity >= {self.similarity:.2f} and {self.margin:.2f} ahead of the next answer"
        if self.precision is None:
            return f"{rule} (answers.min_similarity: the bank is too small to choose its own)"
        return (
            f"{rule} (chosen on the bank: {self.answered} of {self.held_out} past questions held out"
            f" answered, {self.precision:.1%} of them right)"
        )


def choose(
    best: Any,
    runner_up: Any,
    right: Any,
    precision: float,
    fallback: Threshold,
    min_answered: int = MIN_ANSWERED,
) -> Threshold:
    """The pair answering the most held-out questions right at `precision` or better.

    `best` and `runner_up` are each held-out question's two highest answer similarities and
    `right` whether the best was its own answer (arrays of one length). Ties go to the stricter pair."""
    best, runner_up, right = np.asarray(best), np.asarray(runner_up), np.asarray(right, dtype=bool)
    lead = best - runner_up
    chosen, score = fallback, (-1, 0.0)
    for similarity in SIMILARITIES:
        clears = best >= similarity
        for margin in MARGINS:
            answered = clears & (lead >= margin)
            count = int(answered.sum())
            if count < min_answered:
                continue
            correct = int((answered & right).sum())
            held_out_precision = correct / count
            if held_out_precision >= precision and (correct, held_out_precision) >= score:
                score = (correct, held_out_precision)
                chosen = Threshold(float(similarity), float(margin), held_out_precision, len(best), count)
    return chosen
