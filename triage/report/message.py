"""The weekly report as one email: text/plain, and HTML with its charts embedded by Content-ID."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def report_message(
    subject: str,
    sender: str,
    recipients: Sequence[str],
    text: str,
    html_for: Callable[[Sequence[str]], str],
    images: Mapping[str, bytes],
    now: datetime,
) -> EmailMessage:
    """Build the email; `html_for(sources)` renders the HTML given each image's `cid:` source."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a report
    message.set_content(text)
    cids = {name: make_msgid(domain="triage.report") for name in images}
    message.add_alternative(html_for([f"cid:{cid[1:-1]}" for cid in cids.values()]), subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    assert isinstance(html_part, EmailMessage)
    for name, data in images.items():
        html_part.add_related(data, maintype="image", subtype="png", cid=cids[name], filename=f"{name}.png")
    return message
