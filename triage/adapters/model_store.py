"""Model files: skops for the estimator (never pickle), JSON beside it for the facts.

`models/triage-model.skops` holds the pipeline, `models/triage-model.json` its
version, format, scikit-learn version and figures. Loading refuses a file that
needs a type outside TRUSTED_TYPES, that was written in a newer format, or that was
trained with another scikit-learn minor version.
"""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sklearn
import skops.io
from skops.io.exceptions import UntrustedTypesFoundException

from triage.errors import ModelError
from triage.judgement.classifier import Classifier

logger = logging.getLogger(__name__)

MODEL_FILE = "triage-model.skops"
META_FILE = "triage-model.json"

FORMAT_VERSION = 2
"""Bump when the meaning of the files changes (new keys read at load, new layout).

Older triage refuses newer formats; keep loading every older format, or refuse it
with a message that says to run `triage train`.

2: the model may be an `AveragedModel` of pipelines, one reading pretrained word vectors
(`MeanWordVectors`); the file is deflated; the figures carry the escalation floor chosen by
cross-validation (`cross_validation.escalation_floor`).
"""

# Types beyond skops' defaults that our pipeline needs; anything else is refused.
TRUSTED_TYPES: tuple[str, ...] = (
    "collections.defaultdict",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "builtins.float",
    "builtins.int",
    "builtins.str",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
    "triage.judgement.averaging.AveragedModel",
    "triage.adapters.word_vectors.MeanWordVectors",
)


@dataclass(frozen=True)
class ModelInfo:
    version: str
    format_version: int
    sklearn_version: str
    trained_at: str
    figures: dict[str, Any]


def save(pipeline: Any, directory: Path, info: ModelInfo) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    skops.io.dump(pipeline, directory / MODEL_FILE, compression=zipfile.ZIP_DEFLATED)
    untrusted = set(skops.io.get_untrusted_types(file=directory / MODEL_FILE))
    unexpected = untrusted - set(TRUSTED_TYPES)
    if unexpected:
        raise ModelError(str(directory / MODEL_FILE), f"would need untrusted types {sorted(unexpected)}")
    meta = {
        "version": info.version,
        "format_version": info.format_version,
        "sklearn_version": info.sklearn_version,
        "trained_at": info.trained_at,
        "figures": info.figures,
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_info(directory: Path) -> ModelInfo:
    path = directory / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        return ModelInfo(
            version=str(meta["version"]),
            format_version=int(meta["format_version"]),
            sklearn_version=str(meta["sklearn_version"]),
            trained_at=str(meta["trained_at"]),
            figures=dict(meta.get("figures", {})),
        )
    except FileNotFoundError:
        raise ModelError(str(path), "missing: run `triage train` to create a model") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(str(path), f"unreadable model facts: {exc}") from None


def load(directory: Path) -> Classifier:
    """Load the classifier, refusing anything not known to be safe and compatible."""
    info = read_info(directory)
    path = directory / MODEL_FILE
    if info.format_version > FORMAT_VERSION:
        raise ModelError(
            str(path), f"format {info.format_version} is newer than this triage reads ({FORMAT_VERSION})"
        )
    if _minor(info.sklearn_version) != _minor(sklearn.__version__):
        raise ModelError(
            str(path),
            f"trained with scikit-learn {info.sklearn_version}, this is {sklearn.__version__};"
            " run `triage train` to retrain",
        )
    try:  # one pass over the file: skops refuses any type outside the list as it reads
        pipeline = skops.io.load(path, trusted=list(TRUSTED_TYPES))
    except FileNotFoundError:
        raise ModelError(str(path), "missing: run `triage train` to create a model") from None
    except UntrustedTypesFoundException:
        refused = set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
        raise ModelError(str(path), f"refused: untrusted types {sorted(refused)}") from None
    except Exception as exc:  # skops raises assorted errors on a corrupt archive
        raise ModelError(str(path), f"not a readable skops file: {exc}") from None
    logger.info("loaded model %s from %s", info.version, path)
    return Classifier(pipeline, info.version)


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


CURRENT_FILE = "current"
SHIPPED = "shipped"


def versions(team: Path) -> list[ModelInfo]:
    """Team-trained models, oldest first."""
    if not team.is_dir():
        return []
    found = []
    for folder in sorted(p for p in team.iterdir() if p.is_dir()):
        try:
            found.append(read_info(folder))
        except ModelError:
            logger.warning("ignoring unreadable model folder %s", folder)
    return sorted(found, key=lambda info: info.trained_at)


def current_version(team: Path) -> str:
    path = team / CURRENT_FILE
    return path.read_text(encoding="utf-8").strip() if path.exists() else SHIPPED


def use(team: Path, version: str) -> None:
    """Make `version` (or "shipped") the model the daemon loads."""
    if version != SHIPPED and not (team / version / META_FILE).exists():
        raise ModelError(str(team / version), "no such model version (see `triage model list`)")
    team.mkdir(parents=True, exist_ok=True)
    tmp = team / f"{CURRENT_FILE}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    tmp.replace(team / CURRENT_FILE)


def load_active(shipped: Path, team: Path) -> Classifier:
    """The current model; if it is refused, the newest promoted version that loads, else shipped.

    A refused model never stops triage: the fallback is logged with the file and the reason.
    """
    version = current_version(team)
    if version == SHIPPED:
        return load(shipped)
    try:
        return load(team / version)
    except ModelError as exc:
        logger.error("%s; falling back to the last good model", exc)
    for info in reversed(versions(team)):
        if info.version != version and info.figures.get("promoted"):
            try:
                return load(team / info.version)
            except ModelError as exc:
                logger.error("%s", exc)
    return load(shipped)
