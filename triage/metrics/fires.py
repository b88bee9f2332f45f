"""Recurring fires: similar problems within a window, clustered so they get fixed once. Pure.

Messages are compared by TF-IDF cosine similarity (character n-grams) over their new text; a cluster is a
connected group of messages at or above the similarity threshold (single link), and it
is reported when it holds at least `min_size` messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity


@dataclass(frozen=True)
class Problem:
    message_id: str
    subject: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Fire:
    """A recurring problem: how often, when first and last, examples, and what solved it."""

    count: int
    first_seen: datetime
    last_seen: datetime
    subjects: tuple[str, ...]
    message_ids: tuple[str, ...]
    solution: str | None = None


def recurring(problems: Sequence[Problem], threshold: float = 0.3, min_size: int = 3) -> list[Fire]:
    """Clusters of similar problems, largest first."""
    if len(problems) < min_size:
        return []
    # character n-grams: "crashed", "crashes" and "crash" count as the same problem
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(
        [f"{p.subject}\n{p.text}" for p in problems]
    )
    similar = cosine_similarity(vectors) >= threshold
    parent = list(range(len(problems)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(problems)):
        for j in range(i + 1, len(problems)):
            if similar[i, j]:
                parent[root(j)] = root(i)
    groups: dict[int, list[Problem]] = {}
    for i, problem in enumerate(problems):
        groups.setdefault(root(i), []).append(problem)
    fires = [
        Fire(
            count=len(members),
            first_seen=min(p.at for p in members),
            last_seen=max(p.at for p in members),
            subjects=tuple(dict.fromkeys(p.subject for p in members if p.subject))[:3],
            message_ids=tuple(p.message_id for p in members),
        )
        for members in groups.values()
        if len(members) >= min_size
    ]
    return sorted(fires, key=lambda fire: (-fire.count, fire.first_seen))
