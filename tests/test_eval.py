"""`triage eval`: figures per class, JSON, and bad rows counted instead of crashed on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage.cli import main

ROWS = """subject,body,label,source
Password,How do I reset my password?,small_fix,x
,someone used my card without permission block it now,escalation,x
Late,my parcel is two weeks late and nobody answers. really poor,complaint,x
,where can I download my invoice,small_fix,x
,this row has a label we do not use,praise,x
Empty,,complaint,x
,too,many,fields,here,x
"""


@pytest.fixture
def labeled_csv(tmp_path: Path) -> Path:
    path = tmp_path / "labeled.csv"
    path.write_text(ROWS)
    return path


def test_eval_prints_per_class_figures_and_the_tradeoff(
    labeled_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--data", str(labeled_csv)]) == 0
    out = capsys.readouterr().out
    for text in ("complaint", "small_fix", "escalation", "macro-F1", "confusion", "coverage"):
        assert text in out
    assert "label outside the three classes: 1" in out and "empty body: 1" in out
    assert "broken CSV line: 1" in out


def test_eval_reports_each_source_apart(labeled_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labeled_csv.write_text(ROWS.replace(",x\n", ",tickets\n", 2))
    assert main(["eval", "--data", str(labeled_csv), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures["per_source"]) == {"tickets", "x"}
    assert figures["per_source"]["tickets"]["n"] == 2
    assert set(figures["per_source"]["tickets"]["recall"]) == {"small_fix", "escalation"}


def test_eval_applies_the_model_s_own_escalation_floor(
    labeled_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from triage.adapters import model_store

    floor = model_store.read_info(Path(__file__).parent.parent / "models").figures["cross_validation"]
    assert main(["eval", "--data", str(labeled_csv), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["escalation_floor"] == floor["escalation_floor"] > 0


def test_eval_json_has_the_documented_keys(labeled_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--data", str(labeled_csv), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n"] == 4
    assert {"macro_f1", "per_class", "abstain_rate", "n"} <= set(figures)
    assert set(figures["per_class"]["small_fix"]) == {"precision", "recall", "f1", "support"}
    assert figures["per_class"]["small_fix"]["support"] == 2


def test_the_threshold_for_a_precision_target_is_the_lowest_that_reaches_it() -> None:
    from triage.judgement.evaluation import threshold_for_precision

    truth = ["a", "b", "a", "a", "a"]
    predicted = ["a", "a", "a", "a", "a"]
    confidence = [0.3, 0.4, 0.5, 0.8, 0.9]
    # all five: 4/5 = 0.8; from 0.4 up: 3/4 = 0.75; from 0.5 up: 3/3 = 1.0
    assert threshold_for_precision(truth, predicted, confidence, "a", 0.8) == 0.3
    assert threshold_for_precision(truth, predicted, confidence, "a", 0.9) == 0.5
    assert threshold_for_precision(truth, ["b"] * 5, confidence, "a", 0.9) == 1.0


def test_precision_targets_set_per_class_thresholds_from_the_shipped_model(tmp_path: Path) -> None:
    from triage import app
    from triage import config as config_module
    from triage.adapters import model_store

    repo = Path(__file__).parent.parent
    config = config_module.from_mapping(
        {
            "mailbox": {"url": "maildir:///x"},
            "classifier": {
                "model_dir": str(repo / "models"),
                "precision_targets": {"escalation": 0.99, "small_fix": 0.5},
            },
        },
        {},
        tmp_path,
    )
    thresholds = app.class_thresholds(config, model_store.read_info(repo / "models"))
    assert set(thresholds) == {"escalation", "small_fix"}
    assert thresholds["escalation"] >= thresholds["small_fix"]
