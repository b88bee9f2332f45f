"""Learning from corrections: a keyword swapped in a mail client or `triage relabel` changes
the next model; versions can be listed and rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Dovecot
from tests.test_imap_end_to_end import mix  # noqa: F401  (fixture)
from triage import config as config_module
from triage.adapters import model_store
from triage.app.logs import RedactSecrets
from triage.cli import main
from triage.judgement.classifier import Classifier
from triage.state.store import Store
from triage.training.team import is_held_out


def database(config_path: Path) -> Path:
    return Path(yaml.safe_load(config_path.read_text())["state"]["database"])


def probability(classifier: Classifier, text: str, label: str) -> float:
    row = classifier.pipeline.predict_proba([text])[0]
    return float(row[list(classifier.pipeline.classes_).index(label)])


def test_a_keyword_swap_in_a_mail_client_becomes_a_correction_and_changes_the_next_model(
    dovecot: Dovecot,
    imap_user: str,
    mix: tuple[Path, int],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_path, _ = mix
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    store = Store(database(config_path))
    candidates = [
        m
        for m in store.messages()
        if m.label == "small_fix"
        and m.outcome == "drafted"
        and m.message_id
        and not is_held_out(m.message_id)
    ]
    target = candidates[0]
    text = store.db.execute(
        "SELECT model_text FROM messages WHERE message_id = ?", (target.message_id,)
    ).fetchone()[0]

    client = dovecot.client(imap_user)  # a reviewer re-files it in their mail client
    client.select_folder("INBOX")
    client.remove_flags([target.ref.uid], [b"triage_small_fix"])
    client.add_flags([target.ref.uid], [b"triage_complaint"])
    client.logout()
    other = next(
        m
        for m in store.messages()
        if m.label and m.message_id and m is not target and m.message_id != target.message_id
    )
    assert (
        main(["--config", str(config_path), "relabel", other.message_id or "", "escalation", "--who", "dana"])
        == 0
    )

    assert main(["--config", str(config_path), "run", "--once"]) == 0
    corrections = {(c.message_id, c.source): c for c in store.corrections()}
    keyword = corrections[(target.message_id, "keyword")]
    assert (keyword.label, keyword.previous_label) == ("complaint", "small_fix")
    assert corrections[(other.message_id, "relabel")].who == "dana"

    shipped = model_store.load(Path(__file__).parent.parent / "models")
    before = probability(shipped, text, "complaint")
    assert main(["--config", str(config_path), "train"]) == 0
    assert "promoted" in capsys.readouterr().out
    team = config_module.load(config_path, {}).team_models
    retrained = model_store.load_active(Path(__file__).parent.parent / "models", team)
    assert retrained.version.startswith("team-")
    assert probability(retrained, text, "complaint") > before

    assert main(["--config", str(config_path), "model", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"* {retrained.version}" in listing and "  shipped" in listing

    assert main(["--config", str(config_path), "model", "use", "shipped"]) == 0  # roll back
    rolled_back = model_store.load_active(Path(__file__).parent.parent / "models", team)
    assert rolled_back.version == shipped.version
    assert probability(rolled_back, text, "complaint") == pytest.approx(before)


def test_relabel_refuses_an_unknown_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"mailbox: {{url: 'maildir://{tmp_path}/m'}}\nstate: {{database: '{tmp_path}/s.db'}}\n")
    assert main(["--config", str(config), "relabel", "<nope@x>", "complaint"]) == 1
    assert "no message" in capsys.readouterr().err


def test_a_broken_team_model_falls_back_to_the_shipped_one(tmp_path: Path) -> None:
    shipped = Path(__file__).parent.parent / "models"
    team = tmp_path / "models"
    (team / "team-broken").mkdir(parents=True)
    (team / "team-broken" / model_store.META_FILE).write_text(
        '{"version": "team-broken", "format_version": 99, "sklearn_version": "1.9.1", "trained_at": "x"}'
    )
    model_store.use(team, "team-broken")
    assert model_store.load_active(shipped, team).version == model_store.read_info(shipped).version


def test_filing_a_message_into_another_class_folder_is_a_correction_and_past_folders_train(
    dovecot: Dovecot,
    imap_user: str,
    mix: tuple[Path, int],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_path, _ = mix
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    store = Store(database(config_path))
    target = next(m for m in store.messages() if m.label == "complaint" and m.outcome == "drafted")
    client = dovecot.client(imap_user)  # a reviewer files it under escalations
    client.create_folder("Triage/Escalation")
    client.select_folder("INBOX")
    client.move([target.ref.uid], "Triage/Escalation")
    client.create_folder("Past/Complaints")
    for eml in sorted(
        (Path(__file__).parent.parent / "triage" / "demo_mailbox" / "INBOX").glob("0[15]-*.eml")
    ):
        client.append("Past/Complaints", eml.read_bytes())
    client.logout()

    assert main(["--config", str(config_path), "run", "--once"]) == 0
    folder = [c for c in store.corrections() if c.source == "folder"]
    assert [(c.message_id, c.previous_label, c.label) for c in folder] == [
        (target.message_id, "complaint", "escalation")
    ]
    assert main(["--config", str(config_path), "run", "--once"]) == 0
    assert len([c for c in store.corrections() if c.source == "folder"]) == 1, "noted once, not every poll"

    capsys.readouterr()
    assert main(["--config", str(config_path), "train", "--from-folder", "Past/Complaints=complaint"]) == 0
    assert "2 from folders" in capsys.readouterr().out


def test_the_scheduled_retrain_swaps_in_a_promoted_model_and_survives_a_failure(tmp_path: Path) -> None:
    from triage import app
    from triage import config as config_module
    from triage.cli.model import retrain_in_place
    from triage.daemon import Daemon

    repo = Path(__file__).parent.parent
    config = config_module.from_mapping(
        {
            "mailbox": {"url": f"maildir://{tmp_path}/m"},
            "state": {"database": str(tmp_path / "s.db")},
            "classifier": {"model_dir": str(repo / "models"), "retrain_every_days": 7},
            "drafting": {"templates_dir": str(repo / "templates")},
        },
        {},
        tmp_path,
    )
    engine = app.build_engine(config)

    def broken() -> None:
        raise RuntimeError("disk full")

    daemon = Daemon(
        lambda: app.open_inbox(config, {}, RedactSecrets()),
        app.open_store(config),
        engine,
        app.utc_now,
        60,
        False,
        1,
        1,
        10,
        retrain=broken,
        retrain_every_days=7,
    )
    daemon.retrain_once()
    assert daemon.engine.classifier.version == engine.classifier.version
    daemon.retrain = lambda: retrain_in_place(config)
    daemon.retrain_once()
    assert daemon.engine.classifier.version.startswith("team-")
