"""Models whose class probabilities are averaged: each member a pipeline seeing the text its own way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone


class AveragedModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Fits every member on the same data; predicts the mean of their probabilities.

    Unlike scikit-learn's VotingClassifier it keeps one copy of each fitted member, so the
    model file holds each vocabulary once.
    """

    def __init__(self, members: Sequence[tuple[str, Any]]) -> None:
        self.members = members

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], sample_weight: Sequence[float] | None = None
    ) -> AveragedModel:
        """Fit each member; `sample_weight` goes to each member pipeline's final "model" step."""
        weights = {} if sample_weight is None else {"model__sample_weight": sample_weight}
        self.fitted_ = [clone(member).fit(texts, labels, **weights) for _, member in self.members]
        self.classes_ = self.fitted_[0].classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.asarray(np.mean([member.predict_proba(texts) for member in self.fitted_], axis=0))

    def predict(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[Any]]:
        return np.asarray(self.classes_[self.predict_proba(texts).argmax(axis=1)])
