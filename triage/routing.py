"""Who owns a complaint or an escalation: the first route whose topic or sender domain matches. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from triage.domain import Owner, ParsedMessage


@dataclass(frozen=True)
class Route:
    name: str
    owner: Owner
    keywords: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    reply_within_hours: float | None = None  # when the customer hears back; None: the class default

    def matches(self, message: ParsedMessage) -> bool:
        domain = message.sender.address.rpartition("@")[2]
        if domain and domain in self.domains:
            return True
        text = f"{message.subject}\n{message.new_text}".lower()
        return any(re.search(rf"(?<!\w){re.escape(k.lower())}(?!\w)", text) for k in self.keywords)


def route(message: ParsedMessage, routes: Sequence[Route], default: Route) -> Route:
    return next((r for r in routes if r.matches(message)), default)
