"""Classification: the model's view of a message, and the rules that override it. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from triage.domain import Classification, Label, ParsedMessage
from triage.judgement.averaging import AveragedModel

MAX_MODEL_CHARS = 4000  # the opening of the new text carries the request; long tails add noise


def model_text(subject: str, new_text: str) -> str:
    """What the model reads: the subject and only the new text (no quoted history)."""
    subject = re.sub(r"^\s*((re|fwd?|aw|wg|sv)\s*:\s*)+", "", subject, flags=re.IGNORECASE)
    return f"{subject}\n{new_text[:MAX_MODEL_CHARS]}".strip()


@dataclass(frozen=True)
class Rules:
    """Hard cases decided by the team, not the model."""

    escalation_keywords: tuple[str, ...] = ()
    vip_domains: tuple[str, ...] = ()

    def match(self, message: ParsedMessage) -> str | None:
        """The rule that makes this an escalation, e.g. 'keyword: lawyer', or None."""
        domain = message.sender.address.rpartition("@")[2]
        if domain and domain in self.vip_domains:
            return f"vip domain: {domain}"
        text = f"{message.subject}\n{message.new_text}".lower()
        for keyword in self.escalation_keywords:
            if re.search(rf"(?<!\w){re.escape(keyword.lower())}(?!\w)", text):
                return f"keyword: {keyword}"
        return None


class Classifier:
    """A trained model plus its version; classifies texts in batches.

    The model is either the averaged pair that `build_model` makes or, for models trained
    before it (format 1), a single n-gram pipeline; each member is a pipeline with
    "features" and "model" steps. The n-grams are transformed once, for both the
    probabilities and the words shown as reasons.
    """

    def __init__(self, pipeline: Any, version: str) -> None:
        self.pipeline = pipeline
        self.version = version
        self.labels = [Label(str(c)) for c in pipeline.classes_]
        self._members = list(pipeline.fitted_) if isinstance(pipeline, AveragedModel) else [pipeline]
        self._words = self._members[0]  # the n-grams: the words shown as a decision's reasons
        self._names: list[str] | None = None
        self._escalation = self.labels.index(Label.ESCALATION) if Label.ESCALATION in self.labels else None

    def classify(self, texts: Sequence[str], explain: int = 4) -> list[Classification]:
        """Label and probability per text, with the `explain` words that pushed it most."""
        if not texts:
            return []
        batch = list(texts)
        word_vectors = self._words.named_steps["features"].transform(batch).tocsr()
        probabilities = np.mean(
            [
                member.named_steps["model"].predict_proba(
                    word_vectors if member is self._words else member.named_steps["features"].transform(batch)
                )
                for member in self._members
            ],
            axis=0,
        )
        results = []
        for i, row in enumerate(probabilities):
            best = int(np.argmax(row))
            reasons = self._terms(word_vectors[i], best, explain) if explain else ()
            escalation = float(row[self._escalation]) if self._escalation is not None else 0.0
            results.append(
                Classification(self.labels[best], float(row[best]), self.version, reasons, None, escalation)
            )
        return results

    def explain(self, text: str, top: int = 6) -> tuple[str, ...]:
        """The words that pushed this text most towards its predicted class."""
        return self.classify([text], explain=top)[0].reasons

    def _terms(self, vector: Any, label_index: int, top: int) -> tuple[str, ...]:
        """Word n-grams by contribution (tf-idf x weight) to the class; characters are not shown."""
        model = self._words.named_steps["model"]
        weights = model.coef_[label_index] if model.coef_.shape[0] > 1 else model.coef_[0]
        contributions = vector.data * weights[vector.indices]
        names = self._feature_names()
        terms: list[str] = []
        for position in np.argsort(contributions)[::-1]:
            if contributions[position] <= 0 or len(terms) >= top:
                break
            name = names[vector.indices[position]]
            if name.startswith("words__") and name[7:] not in terms:
                terms.append(name[7:])
        return tuple(terms)

    def _feature_names(self) -> list[str]:
        if self._names is None:
            features = self._words.named_steps["features"]
            self._names = [str(n) for n in features.get_feature_names_out()]
        return self._names


def decide_label(
    message: ParsedMessage, predicted: Classification, rules: Rules, escalation_floor: float = 0.0
) -> Classification:
    """A rule, when one matches, overrides the model with certainty; then the escalation floor:
    a message whose escalation probability reaches it is an escalation even when another
    class scores higher (a missed escalation costs more than a false one)."""
    rule = rules.match(message)
    if rule is None:
        if (
            escalation_floor
            and predicted.label is not Label.ESCALATION
            and predicted.escalation_probability >= escalation_floor
        ):
            return replace(
                predicted,
                label=Label.ESCALATION,
                probability=predicted.escalation_probability,
                reasons=(f"escalation floor {escalation_floor:.2f}", *predicted.reasons),
            )
        return predicted
    return Classification(Label.ESCALATION, 1.0, predicted.model_version, (rule,), by_rule=rule)
