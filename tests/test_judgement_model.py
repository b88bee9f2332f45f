"""The model's judgement: word vectors offline, an escalation floor chosen on cross-validation,
and escalations never traded for small fixes when the model is unsure."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from triage.adapters import model_store
from triage.adapters.word_vectors import DIMENSIONS, MeanWordVectors, word_vectors
from triage.judgement.averaging import AveragedModel
from triage.judgement.evaluation import floor_for_recall

MODELS = Path(__file__).parent.parent / "models"


def test_word_vectors_come_from_the_package_and_never_from_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HOME", str(tmp_path))
    word_vectors.cache_clear()
    try:
        vectors = MeanWordVectors(weight=2.0).transform(["my card was stolen", "how do I reset my PIN?"])
    finally:
        word_vectors.cache_clear()
    assert vectors.shape == (2, DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 2.0, atol=1e-4)
    assert not (tmp_path / ".cache").exists()  # nothing was downloaded or cached


def test_word_vectors_are_what_wordllama_itself_computes() -> None:
    import wordllama

    texts = ["my card was stolen", "Hi team,\nhow do I reset my PIN?\n\nThanks, Jo", ""]
    reference = wordllama.WordLlama.load(
        config="l2_supercat", dim=DIMENSIONS, cache_dir=Path(wordllama.__file__).parent, disable_download=True
    ).embed(texts)
    reference = reference / np.maximum(np.linalg.norm(reference, axis=1, keepdims=True), 1e-9)
    assert np.allclose(MeanWordVectors().transform(texts), reference, atol=1e-5)


def test_word_vectors_put_like_meanings_together() -> None:
    stolen, wallet, address = MeanWordVectors().transform(
        ["my card was stolen", "someone took my wallet with my cards", "how do I change my postal address"]
    )
    assert float(stolen @ wallet) > float(stolen @ address)


def test_the_shipped_model_averages_n_grams_and_word_vectors() -> None:
    classifier = model_store.load(MODELS)
    assert isinstance(classifier.pipeline, AveragedModel)
    ngrams, meaning = classifier.pipeline.fitted_
    assert {name for name, _ in ngrams.named_steps["features"].transformer_list} == {"words", "chars"}
    assert isinstance(meaning.named_steps["features"], MeanWordVectors)


def test_the_averaged_model_gives_what_its_members_give_on_average() -> None:
    classifier = model_store.load(MODELS)
    texts = ["someone used my card in Lisbon, I was at home", "how do I change my address?"]
    members = classifier.pipeline.fitted_
    expected = np.mean([member.predict_proba(texts) for member in members], axis=0)
    assert np.allclose(classifier.pipeline.predict_proba(texts), expected)
    results = classifier.classify(texts)
    assert [r.probability for r in results] == pytest.approx(list(expected.max(axis=1)))
    assert results[0].label.value == "escalation" and results[1].label.value == "small_fix"
    assert results[1].reasons  # the words that pushed it, from the n-grams


def test_the_floor_recovers_just_enough_escalations_to_reach_the_recall_target() -> None:
    truth = ["escalation"] * 10 + ["small_fix"] * 5
    predicted = ["escalation"] * 6 + ["small_fix"] * 4 + ["small_fix"] * 5
    escalation = [0.9] * 6 + [0.45, 0.3, 0.2, 0.05] + [0.1] * 5
    # 6 of 10 found; 0.9 recall allows one miss, so three must be recovered: down to 0.2
    assert floor_for_recall(truth, predicted, escalation, 0.9) == pytest.approx(0.1999)
    assert floor_for_recall(truth, predicted, escalation, 0.6) == 0.0  # already reached
    assert floor_for_recall(truth, predicted, escalation, 1.0) == pytest.approx(0.0499)


def test_the_shipped_model_carries_its_floor_chosen_by_cross_validation() -> None:
    figures = model_store.read_info(MODELS).figures["cross_validation"]
    assert 0.0 <= figures["escalation_floor"] <= 0.5
    assert figures["escalation_recall_target"] >= 0.9
    truth, predicted, _, escalation = zip(*figures["predictions"])
    floored = [
        q == "escalation" or p >= figures["escalation_floor"]
        for t, q, p in zip(truth, predicted, escalation)
        if t == "escalation"
    ]
    assert sum(floored) / len(floored) >= figures["escalation_recall_target"]


def _config(tmp_path: Path, floor: float | None) -> object:
    from triage import config as config_module

    classifier: dict[str, object] = {"model_dir": str(MODELS)}
    if floor is not None:
        classifier["escalation_floor"] = floor
    return config_module.from_mapping(
        {"mailbox": {"url": "maildir:///x"}, "classifier": classifier}, {}, tmp_path
    )


def test_the_model_s_own_floor_is_used_unless_config_sets_one(tmp_path: Path) -> None:
    from triage import app

    info = model_store.read_info(MODELS)
    own = info.figures["cross_validation"]["escalation_floor"]
    assert app.escalation_floor(_config(tmp_path, None), info) == own  # type: ignore[arg-type]
    assert app.escalation_floor(_config(tmp_path, 0.0), info) == 0.0  # type: ignore[arg-type]
    assert app.escalation_floor(_config(tmp_path, 0.3), info) == 0.3  # type: ignore[arg-type]
