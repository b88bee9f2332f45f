"""A team's own model: the corpus plus its corrections, promoted only if not worse on held-out ones."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import sklearn

from triage.adapters import model_store
from triage.adapters.datasets import Example
from triage.judgement.classifier import Classifier
from triage.training.fitting import evaluate, train

logger = logging.getLogger(__name__)


# a team's own mail outweighs the generic corpus: a few dozen corrections must move a model
# trained on thousands of rows (bench/classify.py measures the curve for several weights)
TEAM_WEIGHT = 10.0
HOLD_OUT_EVERY = 5  # one correction in five is kept back to judge a retrained model


@dataclass(frozen=True)
class TeamTraining:
    version: str
    promoted: bool
    why: str
    trained_on: int
    corrections_used: int
    held_out: int
    new_figures: dict[str, Any] | None
    current_figures: dict[str, Any] | None


def is_held_out(message_id: str) -> bool:
    """A stable split: the same correction is always on the same side."""
    return int(hashlib.sha256(message_id.encode()).hexdigest(), 16) % HOLD_OUT_EVERY == 0


def train_team_model(
    corpus: Sequence[Example],
    corrections: Sequence[tuple[str, str, str]],
    team: Path,
    current: Classifier,
    threshold: float,
    now: datetime,
    past_mail: Sequence[Example] = (),
) -> TeamTraining:
    """Train on the corpus plus the team's corrections (message_id, text, label).

    The new version is saved; it becomes current only if it is not worse than the
    current model on the held-out corrections (macro-F1 and escalation recall).
    """
    held = [Example("", text, label) for mid, text, label in corrections if is_held_out(mid)]
    used = [
        Example("", text, label, f"correction-{mid}", weight=TEAM_WEIGHT)
        for mid, text, label in corrections
        if not is_held_out(mid)
    ]
    examples = [*corpus, *used, *(replace(e, weight=TEAM_WEIGHT) for e in past_mail)]
    pipeline = train(examples)
    version = f"team-{now:%Y%m%d-%H%M%S}"
    candidate = Classifier(pipeline, version)
    new_figures = evaluate(candidate, held, threshold) if held else None
    current_figures = evaluate(current, held, threshold) if held else None
    if new_figures is None or current_figures is None:
        promoted, why = True, "no held-out corrections yet to compare on"
    else:
        worse_f1 = new_figures["macro_f1"] < current_figures["macro_f1"]
        new_esc = new_figures["per_class"]["escalation"]["recall"]
        worse_esc = new_esc < current_figures["per_class"]["escalation"]["recall"]
        promoted = not (worse_f1 or worse_esc)
        why = (
            f"held-out macro-F1 {new_figures['macro_f1']:.3f}"
            f" vs {current_figures['macro_f1']:.3f} ({current.version}),"
            f" escalation recall {new_esc:.3f} vs {current_figures['per_class']['escalation']['recall']:.3f}"
        )
    info = model_store.ModelInfo(
        version=version,
        format_version=model_store.FORMAT_VERSION,
        sklearn_version=sklearn.__version__,
        trained_at=now.isoformat(timespec="seconds"),
        figures={
            "corpus": dict(sorted(Counter(e.label for e in examples).items())),
            "corrections_used": len(used),
            "corrections_held_out": len(held),
            "past_mail": len(past_mail),
            "held_out": new_figures,
            "promoted": promoted,
            "why": why,
        },
    )
    model_store.save(pipeline, team / version, info)
    if promoted:
        model_store.use(team, version)
    logger.info("model %s %s: %s", version, "promoted" if promoted else "kept, not used", why)
    return TeamTraining(
        version, promoted, why, len(examples), len(used), len(held), new_figures, current_figures
    )
