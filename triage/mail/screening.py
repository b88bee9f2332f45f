"""Don't reply to machines (RFC 3834), nor to ourselves. Pure."""

from __future__ import annotations

import re

from triage.domain import ParsedMessage

NOREPLY = re.compile(r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|noreply[-_.].*|.*[-_.]noreply)$")
BOUNCE_SENDERS = ("mailer-daemon", "postmaster")
BULK_PRECEDENCE = ("bulk", "junk", "list")
# list software's own headers (fml, Mailman, SmartList); any List-* header (RFC 2369, 2919) counts too
LIST_HEADERS = ("x-mlserver", "x-ml-name", "x-mailman-version", "x-loop")
# the addresses list managers write from: ppp-request@, neko-admin@, owner-ppp@, ppp-bounces@
LIST_MANAGER = re.compile(r"^(owner-.+|.+-(request|admin|bounces|owner))$")


def machine_reason(message: ParsedMessage, team_addresses: frozenset[str]) -> str | None:
    """Why this message must get no draft, or None when a person wrote it.

    Reasons, first match wins: own_address, bounce, auto_submitted, precedence,
    mailing_list, list_manager, noreply_sender, no_reply_address.
    """
    sender = message.sender.address
    local_part = sender.split("@", 1)[0]
    if sender in team_addresses:
        return "own_address"
    if _is_bounce(message, local_part):
        return "bounce"
    auto_submitted = (message.header("auto-submitted") or "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return "auto_submitted"
    if message.header("x-autoreply") or message.header("x-autorespond"):
        return "auto_submitted"
    if (message.header("precedence") or "").strip().lower() in BULK_PRECEDENCE:
        return "precedence"
    if any(name.startswith("list-") or name in LIST_HEADERS for name, _ in message.headers):
        return "mailing_list"
    if LIST_MANAGER.match(local_part):
        return "list_manager"
    if NOREPLY.match(local_part):
        return "noreply_sender"
    if not (message.reply_to or "@" in sender):
        return "no_reply_address"
    return None


def _is_bounce(message: ParsedMessage, local_part: str) -> bool:
    if message.content_type == "multipart/report":
        return True
    if local_part in BOUNCE_SENDERS or message.sender.name.strip().lower() in BOUNCE_SENDERS:
        return True
    return_path = message.header("return-path")
    return return_path is not None and return_path.strip() in ("<>", "")
