"""Model files are data: untrusted types, newer formats and other sklearn versions are refused."""

from __future__ import annotations

import json
import shutil
from datetime import UTC
from pathlib import Path

import pytest
import skops.io
from sklearn.tree import DecisionTreeClassifier

from triage.adapters import model_store
from triage.errors import ModelError

MODELS = Path(__file__).parent.parent / "models"


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    target = tmp_path / "models"
    target.mkdir()
    for name in (model_store.MODEL_FILE, model_store.META_FILE):
        shutil.copy(MODELS / name, target / name)
    return target


def test_the_shipped_model_loads_and_classifies(model_dir: Path) -> None:
    classifier = model_store.load(model_dir)
    [result] = classifier.classify(["Someone used my card without permission, please block it now"])
    assert result.label.value == "escalation"


def test_a_model_with_an_untrusted_type_is_refused(model_dir: Path) -> None:
    tree = DecisionTreeClassifier().fit([[0], [1]], ["complaint", "small_fix"])
    skops.io.dump(tree, model_dir / model_store.MODEL_FILE)
    with pytest.raises(ModelError) as caught:
        model_store.load(model_dir)
    assert "untrusted" in caught.value.reason and str(model_dir) in str(caught.value)


def test_a_newer_format_is_refused(model_dir: Path) -> None:
    meta = json.loads((model_dir / model_store.META_FILE).read_text())
    meta["format_version"] = model_store.FORMAT_VERSION + 1
    (model_dir / model_store.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="newer"):
        model_store.load(model_dir)


def test_a_model_from_another_sklearn_version_is_refused(model_dir: Path) -> None:
    meta = json.loads((model_dir / model_store.META_FILE).read_text())
    meta["sklearn_version"] = "0.24.2"
    (model_dir / model_store.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="scikit-learn 0.24.2"):
        model_store.load(model_dir)


def test_a_missing_model_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="triage train"):
        model_store.load(tmp_path)


def test_no_pickle_anywhere_in_the_package() -> None:
    package = Path(__file__).parent.parent / "triage"
    for source in package.rglob("*.py"):
        text = source.read_text()
        assert "import pickle" not in text and "joblib" not in text, source


def test_the_shipped_models_confidence_is_not_overstated_on_text_like_its_corpus() -> None:
    # per-class thresholds (classifier.precision_targets) are read off these predictions; on
    # third-party text the top band is overstated, and the model card says by how much
    figures = model_store.read_info(MODELS).figures
    for band in figures["cross_validation"]["reliability"]:
        assert band["accuracy"] >= band["confidence"] - 0.02, band
    card = (MODELS / "MODEL_CARD.md").read_text()
    assert "Does the confidence mean something?" in card and "conservative" not in card


def test_only_the_new_text_counts_not_the_quoted_history() -> None:
    from datetime import datetime

    from triage.judgement.classifier import model_text
    from triage.mail.parsing import parse

    classifier = model_store.load(MODELS)
    short = b"From: a@b.example\nSubject: \n\nhow do i change my delivery address?\n"
    thread = (
        b"From: a@b.example\nSubject: Re: Order 1\n\nhow do i change my delivery address?\n\n"
        b"On Mon, 16 Nov 2026 at 10:00, Support <s@x.example> wrote:\n"
        + b"> I am so sorry, this is unacceptable, fraud, stolen card, lawyer, data breach!\n"
        * 30
    )
    now = datetime(2026, 11, 20, tzinfo=UTC)
    labels = [
        classifier.classify([model_text(m.subject, m.new_text)])[0].label
        for m in (parse(short, now), parse(thread, now))
    ]
    assert labels[0] == labels[1] and labels[0].value == "small_fix"


def test_a_refused_current_model_falls_back_to_the_last_good_version(tmp_path: Path) -> None:
    team = tmp_path / "team"
    good = model_store.read_info(MODELS)
    for version, trained_at in (("team-good", "2026-11-01T00:00:00"), ("team-bad", "2026-11-02T00:00:00")):
        (team / version).mkdir(parents=True)
        shutil.copy(MODELS / model_store.MODEL_FILE, team / version / model_store.MODEL_FILE)
        meta = {
            "version": version,
            "format_version": 1,
            "sklearn_version": good.sklearn_version,
            "trained_at": trained_at,
            "figures": {"promoted": True},
        }
        (team / version / model_store.META_FILE).write_text(json.dumps(meta))
    tree = DecisionTreeClassifier().fit([[0], [1]], ["complaint", "small_fix"])
    skops.io.dump(tree, team / "team-bad" / model_store.MODEL_FILE)  # an untrusted type
    model_store.use(team, "team-bad")
    assert model_store.load_active(MODELS, team).version == "team-good"
