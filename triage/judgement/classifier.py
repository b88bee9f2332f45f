"""Classification: the model's view of a message, and the rules that override it. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from triage.domain import Classification, Label, ParsedMessage

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
MAX_MODEL_CHARS = 4000  # the opening of the new text carries the request; long tails add noise


def model_text(subject: str, new_text: str) -> str:
    """What the model reads: the subject and only the new text (no quoted history)."""
    subject = re.sub(r"^\s*((re|fwd?|aw|wg|sv)\s*:\s*)+", "", subject, flags=re.IGNORECASE)
    return f"{subject}\n{new_text[:MAX_MODEL_CHARS]}".strip()


def build_pipeline(seed: int = 0) -> Pipeline:
    """The untrained model: word and character n-grams into logistic regression."""
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True)),
            (
                "chars",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
            ),
        ]
    )
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=seed)
    return Pipeline([("features", features), ("model", model)])


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
    """A trained pipeline plus its version; classifies texts in batches."""

    def __init__(self, pipeline: Any, version: str) -> None:
        self.pipeline = pipeline
        self.version = version
        self.labels = [Label(str(c)) for c in pipeline.classes_]
        self._names: list[str] | None = None
        self._escalation = self.labels.index(Label.ESCALATION) if Label.ESCALATION in self.labels else None

    def classify(self, texts: Sequence[str], explain: int = 4) -> list[Classification]:
        """Label and probability per text, with the `explain` words that pushed it most."""
        if not texts:
            return []
        features = self.pipeline.named_steps["features"]
        model = self.pipeline.named_steps["model"]
        vectors = features.transform(list(texts)).tocsr()
        probabilities = model.predict_proba(vectors)
        results = []
        for i, row in enumerate(probabilities):
            best = int(np.argmax(row))
            reasons = self._terms(vectors[i], best, explain) if explain else ()
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
        model = self.pipeline.named_steps["model"]
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
            self._names = [str(n) for n in self.pipeline.named_steps["features"].get_feature_names_out()]
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
