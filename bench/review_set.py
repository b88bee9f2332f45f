"""The review set: three fictional support mailboxes triaged end to end, a blind packet for reviewers, scored.

```sh
.venv/bin/python bench/review_set.py run [--history] [--label before]  # bench/review_set/<date>-<label>/
.venv/bin/python bench/review_set.py score RUN_DIR VERDICTS.csv [...]   # one CSV per reviewer
```

`bench/review_set/messages.json` holds three mailboxes (a mobile bank, a homeware shop, a B2B
accounting SaaS), 26 incoming messages each with the class `LABELS.md` gives it and a note on what a
good reply must do, and 45 past exchanges each (a customer's question and the team's full reply: 12 on six
common topics, and three for each small fix of the set, written by other customers, so that a `--history`
run is "once the answer bank knows the questions").
`run` builds a Maildir per mailbox beside its config (`bench/review_set/<mailbox>.yaml`: team, working
hours, routes and owners), delivers the messages one by one at their arrival times and polls triage
after each, as the daemon would (a fixed clock: Thursday 10 April 2025, London). With `--history` the
past questions sit in INBOX weeks earlier (before `mailbox.only_since`, so they are not drafted) and the
team's replies in Sent: the run "once the answer bank knows the questions".

It writes, in the run's folder:
* `packet.md`: for each message, numbered in a shuffled order, the customer's message as received and
  triage's draft exactly as saved in Drafts; no class, confidence, expected label or note. This is
  what reviewers get, with `verdicts-template.csv` to fill in (number, verdict, defects).
* `key.json`: number -> mailbox, message id, expected class, triage's class, outcome, template.
* `summary.md`: what triage decided per message against the expected class, for the developer.
`score` reads reviewers' verdicts (send / light_edit / rewrite / wrong per number) with the key and
prints the figures the issue asks for: send + light_edit and wrong, overall, per mailbox and per class.
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import json
import os
import random
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from triage import app  # noqa: E402
from triage import config as config_module  # noqa: E402
from triage.app.logs import RedactSecrets  # noqa: E402
from triage.pipeline.poll import poll  # noqa: E402

HERE = REPO / "bench" / "review_set"
MESSAGES = HERE / "messages.json"
CONFIGS = {"fintech": "pennywise.yaml", "shop": "hearth_and_home.yaml", "saas": "ledgerly.yaml"}
LONDON = ZoneInfo("Europe/London")
DAY = date(2025, 4, 10)  # a Thursday; the messages speak of early April 2025
SEED = 15
VERDICTS = ("send", "light_edit", "rewrite", "wrong")
TARGET_USABLE, TARGET_USABLE_WITH_HISTORY, TARGET_WRONG = 0.60, 0.80, 0.03


@dataclass(frozen=True)
class Arrival:
    mailbox: str
    company: str
    message: dict[str, Any]
    at: datetime
    data: bytes
    message_id: str


def arrival_times(count: int, rng: random.Random) -> list[datetime]:
    """A day's mail: a few the evening before, a few early, most in office hours."""
    evening = datetime.combine(DAY - timedelta(days=1), time(18, 30), LONDON)
    morning = datetime.combine(DAY, time(6, 30), LONDON)
    office = datetime.combine(DAY, time(9, 0), LONDON)
    spans = [(evening, 300)] * 4 + [(morning, 150)] * 4 + [(office, 470)] * (count - 8)
    return sorted(start + timedelta(minutes=rng.randrange(span)) for start, span in spans)


def customer_mail(mailbox: dict[str, Any], message: dict[str, Any], at: datetime) -> tuple[bytes, str]:
    """The message as the team's mailbox receives it."""
    domain = mailbox["team_address"].rpartition("@")[2]
    mail = EmailMessage(policy=email.policy.SMTP)
    address = message["from_email"]
    if not address:  # a tweet, mailed in by the team's social-media bridge: replies go back as tweets
        address = message["from_name"].rpartition("@")[2].rstrip(")") + f"@social.{domain}"
    mail["From"] = formataddr((message["from_name"], address))
    mail["To"] = mailbox["team_address"]
    if message["subject"]:
        mail["Subject"] = message["subject"]
    mail["Date"] = format_datetime(at)
    message_id = f"<{message['id']}@review.{domain}>"
    mail["Message-ID"] = message_id
    if message["subject"].lower().startswith("re:"):  # a reply in a thread the team answered before
        earlier = f"<{message['id']}-earlier@{domain}>"
        mail["In-Reply-To"] = earlier
        mail["References"] = earlier
    mail.set_content(message["body"])
    return mail.as_bytes(), message_id


def history_mail(mailbox: dict[str, Any], index: int, past: dict[str, Any]) -> tuple[bytes, bytes, datetime]:
    """A past question (weeks before the review day) and the team's reply to it, for Sent."""
    domain = mailbox["team_address"].rpartition("@")[2]
    # every 2.5 days from 10 December: the 45th is asked on 1 April, before the review day
    asked = datetime(2024, 12, 10, 10, 0, tzinfo=LONDON) + timedelta(hours=60 * index + index % 5)
    question = EmailMessage(policy=email.policy.SMTP)
    question["From"] = formataddr((past["from_name"], past["from_email"]))
    question["To"] = mailbox["team_address"]
    question["Subject"] = past["question_subject"]
    question["Date"] = format_datetime(asked)
    question_id = make_msgid(f"history{index}", "review.example")
    question["Message-ID"] = question_id
    question.set_content(past["question_body"])
    reply = EmailMessage(policy=email.policy.SMTP)
    reply["From"] = formataddr((mailbox["team_name"], mailbox["team_address"]))
    reply["To"] = formataddr((past["from_name"], past["from_email"]))
    reply["Subject"] = f"Re: {past['question_subject']}"
    reply["Date"] = format_datetime(asked + timedelta(hours=3))
    reply["Message-ID"] = make_msgid(f"reply{index}", domain)
    reply["In-Reply-To"] = question_id
    reply["References"] = question_id
    reply.set_content(past["answer"])
    return question.as_bytes(), reply.as_bytes(), asked


def deliver(folder: Path, data: bytes, at: datetime, name: str, seen: bool = False) -> None:
    """A file in a Maildir folder, its mtime the arrival time (the inbox's INTERNALDATE)."""
    path = folder / ("cur" if seen else "new") / (name + (":2,S" if seen else ""))
    path.write_bytes(data)
    os.utime(path, (at.timestamp(), at.timestamp()))


def make_maildir(root: Path) -> Path:
    maildir = root / "mailbox"
    for folder in (maildir, maildir / ".Sent"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    return maildir


def run_mailbox(
    mailbox: dict[str, Any], work: Path, history: bool, rng: random.Random
) -> list[dict[str, Any]]:
    """Triage one mailbox end to end, a poll after each arrival; what each message got."""
    settings = yaml.safe_load((HERE / CONFIGS[mailbox["name"]]).read_text(encoding="utf-8"))
    mailbox = {**mailbox, "team_name": settings["team"]["name"]}
    root = work / mailbox["name"]
    maildir = make_maildir(root)
    if history:
        for index, past in enumerate(mailbox["history"]):
            question, reply, asked = history_mail(mailbox, index, past)
            deliver(
                maildir, question, asked, f"{int(asked.timestamp())}.history{index:02d}.review", seen=True
            )
            sent_at = asked + timedelta(hours=3)
            deliver(
                maildir / ".Sent", reply, sent_at, f"{int(sent_at.timestamp())}.reply{index:02d}.review", True
            )
    settings["mailbox"] = {"url": f"maildir://{maildir}", "only_since": (DAY - timedelta(days=1)).isoformat()}
    settings["state"] = {"database": str(root / "state.sqlite3")}
    (root / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    config = config_module.from_mapping(settings, {}, root, root / "config.yaml")
    engine = app.build_engine(config)
    messages = list(mailbox["messages"])
    rng.shuffle(messages)
    results = []
    for message, at in zip(messages, arrival_times(len(messages), rng)):
        data, message_id = customer_mail(mailbox, message, at)
        deliver(maildir, data, at, f"{int(at.timestamp())}.{message['id']}.review")
        inbox = app.open_inbox(config, {}, RedactSecrets())
        store = app.open_store(config)
        try:
            result = poll(inbox, store, engine, lambda at=at: at + timedelta(minutes=1))
        finally:
            inbox.close()
            store.close()
        plan = next((p for p in result.plans if p.record.message_id == message_id), None)
        assert plan is not None, f"{message['id']} was not triaged"
        record = plan.record
        results.append(
            {
                "mailbox": mailbox["name"],
                "company": mailbox["company"],
                "id": message["id"],
                "expected": message["expected"],
                "register": message["register"],
                "label": record.label,
                "outcome": plan.outcome.value,
                "template": record.template,
                "confidence": round(record.confidence, 3) if record.confidence is not None else None,
                "reason": plan.reason,
                "received": at.isoformat(),
                "customer": data.decode("utf-8"),
                "draft": saved_draft(maildir, record.draft_message_id) if record.draft_message_id else None,
            }
        )
    return results


def saved_draft(maildir: Path, message_id: str) -> dict[str, str]:
    """The draft as Drafts holds it: its file, read back as a mail client would."""
    for path in (maildir / ".Drafts" / "cur").iterdir():
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(mail["Message-ID"]).strip() == message_id:
            assert isinstance(mail, EmailMessage)
            headers = {name: str(mail[name]) for name in ("From", "To", "Subject")}
            return {**headers, "body": mail.get_content().replace("\r\n", "\n")}
    raise LookupError(f"draft {message_id} is not in Drafts")


def shown_message(raw: str) -> tuple[dict[str, str], str]:
    mail = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    headers = {name: str(mail[name]) for name in ("From", "To", "Subject", "Date") if mail[name] is not None}
    return headers, mail.get_content().replace("\r\n", "\n").rstrip("\n")


def write_packet(items: list[dict[str, Any]], out: Path, title: str) -> None:
    review = (REPO.parent / "shared" / "data" / "DRAFT_REVIEW.md").resolve()
    rule = review.read_text(encoding="utf-8").split("\n", 2)[2] if review.exists() else ""
    lines = [
        f"# Review packet: {title}",
        "",
        f"{len(items)} drafts written by triage for messages to three fictional support teams. Judge",
        "each draft beside the customer's message, as the lead of that team would on a real shift, and",
        "write one verdict per number in `verdicts-template.csv` (send, light_edit, rewrite or wrong)",
        "with the defects in a few words.",
        "",
        rule.strip(),
        "",
        "The teams: **Pennywise** (a mobile bank app: cards, transfers, savings pots), **Hearth & Home**",
        "(online homeware and furniture, with delivery and assembly), **Ledgerly** (cloud accounting for",
        "small businesses). Drafts are saved for a person to review; nothing was sent.",
        "",
    ]
    for item in items:
        headers, body = shown_message(item["customer"])
        lines += [f"## {item['number']}. {item['team']}", "", "**The customer's message, as received**", ""]
        lines += [f"    {name}: {value}" for name, value in headers.items()]
        lines += ["", "~~~~text", body, "~~~~", "", "**triage's draft, as saved in Drafts**", ""]
        draft = item["draft"]
        if draft is None:
            lines += ["(no draft)", ""]
            continue
        lines += [f"    {name}: {draft[name]}" for name in ("From", "To", "Subject")]
        lines += ["", "~~~~text", draft["body"].rstrip("\n"), "~~~~", ""]
    (out / "packet.md").write_text("\n".join(lines), encoding="utf-8")
    with (out / "verdicts-template.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "verdict", "defects"])
        writer.writerows([item["number"], "", ""] for item in items)


TEAMS = {"fintech": "Pennywise", "shop": "Hearth & Home", "saas": "Ledgerly"}
KEY_FIELDS = ("number", "mailbox", "id", "expected", "label", "outcome", "template", "confidence", "reason")


def write_summary(items: list[dict[str, Any]], out: Path, title: str) -> None:
    decided = [i["label"] if i["outcome"] == "drafted" else "needs_review" for i in items]
    agree = sum(1 for i, d in zip(items, decided) if d == i["expected"])
    matrix = Counter((i["expected"], d) for i, d in zip(items, decided))
    classes = ("small_fix", "complaint", "escalation")
    lines = [
        f"# What triage decided: {title}",
        "",
        f"{agree} of {len(items)} as expected; needs_review {decided.count('needs_review')}.",
        "",
        "| expected \\ triage | " + " | ".join((*classes, "needs_review")) + " |",
        "|---|" + "---|" * 4,
    ]
    for expected in classes:
        cells = [str(matrix[expected, d]) for d in (*classes, "needs_review")]
        lines.append(f"| {expected} | " + " | ".join(cells) + " |")
    lines += ["", "| # | message | expected | triage | confidence | reason |", "|---|---|---|---|---|---|"]
    for item, d in sorted(zip(items, decided), key=lambda pair: pair[0]["id"]):
        mark = "" if d == item["expected"] else " **x**"
        lines.append(
            f"| {item['number']} | {item['id']} | {item['expected']} | {d}{mark} | {item['confidence']} | "
            f"{item['reason']} |"
        )
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cmd_run(args: argparse.Namespace) -> int:
    data = json.loads(MESSAGES.read_text(encoding="utf-8"))
    label = args.label + ("-history" if args.history else "")
    out = args.out or HERE / f"{date.today().isoformat()}-{label}"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    work = out / "work"
    rng = random.Random(SEED)
    items = [r for mailbox in data["mailboxes"] for r in run_mailbox(mailbox, work, args.history, rng)]
    random.Random(SEED).shuffle(items)
    for number, item in enumerate(items, 1):
        item["number"] = number
        item["team"] = TEAMS[item["mailbox"]]
    title = f"{label}, run {date.today().isoformat()}" + (" (history in Sent)" if args.history else "")
    write_packet(items, out, title)
    key = [{field: item[field] for field in KEY_FIELDS} for item in items]
    (out / "key.json").write_text(json.dumps({"history": args.history, "items": key}, indent=1) + "\n")
    write_summary(items, out, title)
    for mailbox in CONFIGS:
        shutil.copyfile(work / mailbox / "config.yaml", out / f"config-{mailbox}.yaml")
    if not args.keep_work:
        shutil.rmtree(work)
    print(f"{len(items)} drafts: {out / 'packet.md'}\nkey: {out / 'key.json'}\nsummary: {out / 'summary.md'}")
    return 0


def read_verdicts(path: Path) -> dict[int, tuple[str, str]]:
    """number -> (verdict, defects) from a reviewer's CSV (number, verdict, defects)."""
    verdicts = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            verdict = (row.get("verdict") or "").strip().lower().replace(" ", "_").replace("-", "_")
            if not verdict:
                continue
            if verdict not in VERDICTS:
                raise SystemExit(
                    f"{path}: number {row['number']}: verdict {verdict!r} is not one of {VERDICTS}"
                )
            verdicts[int(row["number"])] = (verdict, (row.get("defects") or "").strip())
    return verdicts


def figures(verdicts: list[str]) -> str:
    n = len(verdicts)
    if not n:
        return "no verdicts"
    counts = Counter(verdicts)
    usable = (counts["send"] + counts["light_edit"]) / n
    return (
        f"n={n}  send {counts['send']}  light_edit {counts['light_edit']}  rewrite {counts['rewrite']}  "
        f"wrong {counts['wrong']}  |  send+light_edit {usable:.0%}  wrong {counts['wrong'] / n:.1%}"
    )


def cmd_score(args: argparse.Namespace) -> int:
    key = json.loads((args.run / "key.json").read_text(encoding="utf-8"))
    items = {item["number"]: item for item in key["items"]}
    target = TARGET_USABLE_WITH_HISTORY if key["history"] else TARGET_USABLE
    pooled: list[tuple[dict[str, Any], str]] = []
    for path in args.verdicts:
        verdicts = read_verdicts(path)
        missing = sorted(set(items) - set(verdicts))
        print(f"== {path.name}" + (f" (no verdict for {missing})" if missing else ""))
        rows = [(items[number], verdict) for number, (verdict, _) in sorted(verdicts.items())]
        pooled += rows
        print("  all          " + figures([v for _, v in rows]))
    print(f"== all reviewers pooled ({len(args.verdicts)})")
    print("  all          " + figures([v for _, v in pooled]))
    for field, values in (("mailbox", CONFIGS), ("expected", ("small_fix", "complaint", "escalation"))):
        for value in values:
            print(f"  {value:<13}" + figures([v for item, v in pooled if item[field] == value]))
    for outcome in ("drafted", "needs_review"):
        print(f"  {outcome:<13}" + figures([v for item, v in pooled if item["outcome"] == outcome]))
    counts = Counter(v for _, v in pooled)
    n = max(len(pooled), 1)
    usable, wrong = (counts["send"] + counts["light_edit"]) / n, counts["wrong"] / n
    print(
        f"targets: send+light_edit >= {target:.0%}: {'met' if usable >= target else 'NOT met'}; "
        f"wrong <= {TARGET_WRONG:.0%}: {'met' if wrong <= TARGET_WRONG else 'NOT met'}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="triage the review set and write the blind packet")
    run.add_argument("--history", action="store_true", help="the past exchanges in INBOX and Sent first")
    run.add_argument("--label", default="run", help="names the run's folder: <date>-<label>")
    run.add_argument("--out", type=Path, help="the run's folder (default bench/review_set/<date>-<label>)")
    run.add_argument("--keep-work", action="store_true", help="keep the Maildirs and state databases")
    score = sub.add_parser("score", help="score reviewers' verdicts against a run's key")
    score.add_argument("run", type=Path, help="the run's folder (holds key.json)")
    score.add_argument("verdicts", type=Path, nargs="+", help="one CSV per reviewer: number,verdict,defects")
    args = parser.parse_args()
    return cmd_run(args) if args.command == "run" else cmd_score(args)


if __name__ == "__main__":
    sys.exit(main())
