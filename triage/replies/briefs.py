"""Escalation briefs and follow-up reminders: what the owner is told, and when. Pure.

The brief is composed when it is delivered, with the thread's timeline as the state
database knows it by then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from triage.domain import Owner
from triage.metrics.response import how_long
from triage.replies.facts import Facts


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str  # "Jane Doe wrote: Charged twice", "the team replied", ...


@dataclass(frozen=True)
class Notice:
    """A message to a person on the team: a brief or a reminder."""

    kind: str  # brief | reminder
    case: str  # the customer's Message-ID it is about
    to: str
    cc: str | None
    subject: str
    text: str
    number: int = 0  # reminders: 1, 2, ...

    def message_id(self, sender: Owner) -> str:
        """Stable: a notice saved to Drafts is found there again after a crash, never saved twice."""
        digest = hashlib.sha256(f"{self.kind}:{self.number}:{self.case}".encode()).hexdigest()[:24]
        return f"<triage-{self.kind}-{digest}@{sender.address.rpartition('@')[2] or 'triage.invalid'}>"

    def email(self, sender: Owner, now: datetime) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((sender.name, sender.address))
        message["To"] = self.to
        if self.cc:
            message["Cc"] = self.cc
        message["Subject"] = self.subject
        message["Date"] = format_datetime(now)
        message["Message-ID"] = self.message_id(sender)
        message["References"] = self.case
        message["Auto-Submitted"] = "auto-generated"
        message["X-Triage"] = f"{self.kind}; {self.case}"
        message.set_content(self.text)
        return message


def compose_brief(
    facts: Facts,
    owner: Owner,
    team: Owner,
    timeline: Sequence[TimelineEntry],
    told: str | None,
    zone: str,
) -> Notice:
    """The email that passes an escalation to its owner, in bullet and timeline form."""
    tz = ZoneInfo(zone)
    customer = (
        formataddr((facts.customer_name, facts.customer_address))
        if facts.customer_name
        else (facts.customer_address)
    )
    opening = f"{owner.name}, this escalation is yours until it is solved."
    if not owner.address:
        opening = (
            f"For {owner.name}: this escalation needs an owner with the authority to act. No address is"
            " configured for them, so it came to the team address; set routing.default_owner (or a"
            " route's owner) so briefs reach a person."
        )
    lines = [
        opening,
        "",
        "Facts",
        f"- Received: {_when(facts.received_at, tz)}",
        f"- Customer: {customer}",
    ]
    if facts.reply_to:
        lines.append(f"- Reply to: {facts.reply_to}")
    lines.append(f"- Phone: {', '.join(facts.phones) if facts.phones else 'none given'}")
    lines.append(f"- Order / account numbers: {', '.join(facts.numbers) if facts.numbers else 'none given'}")
    if facts.attachments:
        lines.append(f"- Attachments: {', '.join(facts.attachments)}")
    lines += [f"- Subject: {facts.subject or '(none)'}", "- What they wrote:"]
    lines += [f"    {line}" for line in facts.text.splitlines()] or ["    (no text)"]
    lines += ["", "Why it was escalated", f"- {facts.why}", "", "Timeline"]
    lines += [f"- {_when(entry.at, tz)}: {entry.what}" for entry in timeline]
    lines += ["", "What the customer has been told"]
    if told:
        lines.append("- A reply waits in the team's Drafts for review; once sent, it says:")
        lines += [f"    {line}" for line in told.strip().splitlines()]
    else:
        lines.append("- Nothing yet.")
    lines += ["", "Next step"]
    if facts.reply_by is not None:
        lines.append(f"- The customer expects to hear from us by {_when(facts.reply_by, tz)}.")
    lines += [
        "- Reply to the customer from the team mailbox, so the thread stays in one place.",
        f"- When it is solved: `triage resolve '{facts.message_id}'`, or set the keyword"
        " triage_resolved on the customer's message in your mail client.",
        "- Until then you will get reminders.",
        "",
        f"Message-ID: {facts.message_id}",
    ]
    return Notice(
        kind="brief",
        case=facts.message_id,
        to=formataddr((owner.name, owner.address or team.address)),
        cc=None,
        subject=f"Escalation for {owner.name}: {facts.subject or '(no subject)'} ({facts.customer_address})",
        text="\n".join(lines) + "\n",
    )


@dataclass(frozen=True)
class Case:
    """An unresolved complaint or escalation, as follow-up sees it."""

    message_id: str
    label: str
    subject: str
    customer: str
    owner: Owner
    received_at: datetime
    handled_at: datetime  # when triage decided it: a first run on old mail does not remind at once
    state: str  # open (the team owes an answer) | waiting_on_customer
    state_since: datetime
    reminders_sent: int
    last_reminder_at: datetime | None


@dataclass(frozen=True)
class FollowUpPolicy:
    remind_every_hours: Mapping[str, float]  # per class, while the team owes an answer
    waiting_on_customer_hours: float  # while the customer owes one: a nudge to chase or resolve
    team_lead: Owner | None
    lead_after_reminders: int  # this many reminders to the owner, then the lead


def due_reminder(case: Case, now: datetime, policy: FollowUpPolicy, team: Owner) -> Notice | None:
    """The reminder this case is owed now, or None."""
    if case.state == "waiting_on_customer":
        every = policy.waiting_on_customer_hours
    else:
        every = policy.remind_every_hours.get(case.label, 0.0)
    if every <= 0:
        return None
    since = max(case.state_since, case.handled_at, case.last_reminder_at or case.handled_at)
    if now - since < timedelta(hours=every):
        return None
    number = case.reminders_sent + 1
    to_lead = policy.team_lead is not None and number > policy.lead_after_reminders
    age = (now - case.received_at).total_seconds() / 3600
    owner = formataddr((case.owner.name, case.owner.address or team.address))
    if case.state == "waiting_on_customer":
        state = f"waiting on the customer since {case.state_since:%Y-%m-%d %H:%M} UTC"
        ask = "Chase the customer, or resolve it if it is solved."
    else:
        state = "open: the customer is waiting for us"
        ask = "Reply to the customer with the next step, or tell them when they will hear back."
    lines = [
        f"Reminder {number}: this {case.label} is not resolved yet.",
        "",
        f"- Customer: {case.customer}",
        f"- Subject: {case.subject}",
        f"- Received: {case.received_at:%Y-%m-%d %H:%M} UTC ({how_long(age)} ago)",
        f"- Owner: {case.owner.name}",
        f"- State: {state}",
        f"- Reminders so far: {case.reminders_sent}",
        "",
        ask,
        f"When it is solved: `triage resolve '{case.message_id}'`, or the keyword triage_resolved.",
    ]
    if to_lead:
        assert policy.team_lead is not None
        lines.insert(
            0,
            f"{policy.team_lead.name}: {case.owner.name} has had {case.reminders_sent}"
            " reminders and it is still not solved, so it comes to you as team lead.\n",
        )
    return Notice(
        kind="reminder",
        case=case.message_id,
        to=formataddr((policy.team_lead.name, policy.team_lead.address))
        if to_lead and policy.team_lead
        else owner,
        cc=owner if to_lead else None,
        subject=f"Reminder {number}: {case.label} still open: {case.subject} ({case.customer})",
        text="\n".join(lines) + "\n",
        number=number,
    )


def _when(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%a %-d %b %Y, %H:%M} ({tz.key})"
