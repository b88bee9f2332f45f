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
    patterns: tuple[str, ...] = ()  # regular expressions, case-insensitive, over subject and new text
    labels: tuple[str, ...] = ("complaint", "escalation")  # the classes this route takes

    def matches(self, message: ParsedMessage, label: str) -> bool:
        if label not in self.labels:
            return False
        if not (self.keywords or self.domains or self.patterns):
            return True  # a route by class alone
        domain = message.sender.address.rpartition("@")[2]
        if domain and domain in self.domains:
            return True
        text = f"{message.subject}\n{message.new_text}"
        lowered = text.lower()
        if any(re.search(rf"(?<!\w){re.escape(k.lower())}(?!\w)", lowered) for k in self.keywords):
            return True
        return any(re.search(pattern, text, re.IGNORECASE) for pattern in self.patterns)


def route(message: ParsedMessage, label: str, routes: Sequence[Route], default: Route) -> Route:
    return next((r for r in routes if r.matches(message, label)), default)
