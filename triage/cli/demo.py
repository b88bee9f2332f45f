"""`triage demo`: the bundled demo mailbox as a Maildir, triaged once."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from triage import app
from triage import config as config_module
from triage.app.logs import RedactSecrets
from triage.cli.common import EXIT_OK
from triage.cli.running import print_result
from triage.pipeline.poll import poll

DEMO_ESCALATION_KEYWORDS = [
    "lawyer",
    "solicitor",
    "attorney",
    "legal action",
    "data breach",
    "chargeback",
    "fraud",
    "GDPR",
]


def cmd_demo(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Build a Maildir from the bundled demo mail and run one poll on it."""
    target: Path = args.dir.resolve()
    if target.exists():
        shutil.rmtree(target)
    maildir = target / "mailbox"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    source = config_module.bundled("demo_mailbox") / "INBOX"
    for index, eml in enumerate(sorted(source.glob("*.eml"))):
        shutil.copyfile(eml, maildir / "new" / f"{1763000000 + index}.demo{index:03d}.triage")
    sent = maildir / ".Sent"
    for sub in ("cur", "new", "tmp"):
        (sent / sub).mkdir(parents=True)
    for index, eml in enumerate(sorted((source.parent / "Sent").glob("*.eml"))):
        shutil.copyfile(eml, sent / "cur" / f"{1763100000 + index}.sent{index:03d}.triage:2,S")
    templates = target / "templates"  # the shipped templates with the demo team's curated answers
    shutil.copytree(config_module.bundled("templates"), templates)
    shutil.copyfile(source.parent / "fixes.yaml", templates / "fixes.yaml")
    config = config_module.from_mapping(
        {
            "mailbox": {"url": f"maildir://{maildir}"},
            "drafting": {"templates_dir": str(templates)},
            "team": {
                "name": "Northwind Outfitters Support",
                "address": "support@northwind.example",
                "own_addresses": ["alice@northwind.example", "ben@northwind.example"],
                "signature": "Alice\nNorthwind Outfitters Support",
            },
            "rules": {"escalation_keywords": DEMO_ESCALATION_KEYWORDS},
            "routing": {
                "default_owner": {
                    "name": "Dana Reyes",
                    "address": "dana@northwind.example",
                    "role": "customer care lead",
                },
                "routes": [
                    {
                        "name": "payments",
                        "keywords": ["charged twice", "chargeback", "refund", "payment", "fraud"],
                        "owner": {
                            "name": "Priya Shah",
                            "address": "priya@northwind.example",
                            "role": "payments lead",
                        },
                        "reply_within_hours": 4,
                    }
                ],
            },
            "state": {"database": str(target / "state.sqlite3")},
        },
        {},
        base_dir=Path.cwd(),
    )
    engine = app.build_engine(config)
    inbox = app.open_inbox(config, {}, redactor)
    store = app.open_store(config)
    try:
        result = poll(inbox, store, engine, app.utc_now)
    finally:
        inbox.close()
        store.close()
    print_result(result, dry_run=False)
    drafts = [path.read_bytes() for path in (maildir / ".Drafts" / "cur").iterdir()]
    briefs = sum(1 for data in drafts if b"X-Triage: brief" in data)
    print(
        f"\nDrafts (one file each, ready to review): {maildir / '.Drafts' / 'cur'}\n"
        f"  {len(drafts) - briefs} replies to customers, {briefs} escalation briefs for their owners"
    )
    print(f"State database: {target / 'state.sqlite3'}")
    print(f"Model: {engine.classifier.version}   Run it again: the second run adds nothing.")
    return EXIT_OK
