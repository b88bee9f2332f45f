"""Who owns a complaint or an escalation, and what the customer must do at once: by topic or sender. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from triage.domain import Owner, ParsedMessage


@dataclass(frozen=True)
class Topic:
    """Words, patterns or sender domains that say what a message is about."""

    keywords: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()  # regular expressions, case-insensitive, over subject and new text

    def is_set(self) -> bool:
        return bool(self.keywords or self.domains or self.patterns)

    def matches(self, message: ParsedMessage) -> bool:
        domain = message.sender.address.rpartition("@")[2]
        if domain and domain in self.domains:
            return True
        text = f"{message.subject}\n{message.new_text}"
        lowered = text.lower()
        if any(re.search(rf"(?<!\w){re.escape(k.lower())}(?!\w)", lowered) for k in self.keywords):
            return True
        return any(re.search(pattern, text, re.IGNORECASE) for pattern in self.patterns)


@dataclass(frozen=True)
class FirstSteps:
    """Safety-first steps: when the topic matches, they go first into the draft, whatever the class."""

    topic: Topic
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    name: str
    owner: Owner
    keywords: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    reply_within_hours: float | None = None  # when the customer hears back; None: the class default
    patterns: tuple[str, ...] = ()  # regular expressions, case-insensitive, over subject and new text
    labels: tuple[str, ...] = ("complaint", "escalation")  # the classes this route takes
    first_steps: tuple[str, ...] = ()  # for every draft whose text matches the route's topic, any class

    @property
    def topic(self) -> Topic:
        return Topic(self.keywords, self.domains, self.patterns)

    def matches(self, message: ParsedMessage, label: str) -> bool:
        if label not in self.labels:
            return False
        topic = self.topic
        return not topic.is_set() or topic.matches(message)  # a route with no topic takes its classes


def route(message: ParsedMessage, label: str, routes: Sequence[Route], default: Route) -> Route:
    return next((r for r in routes if r.matches(message, label)), default)


def first_steps(
    message: ParsedMessage, topics: Sequence[FirstSteps], routes: Sequence[Route]
) -> tuple[str, ...]:
    """The steps of every configured topic and route the message is about, in order, each once.

    A route's steps come with its topic, not its classes: an emergency asked as a question, or
    one the model was unsure of, still gets them.
    """
    found: list[str] = []
    matched = [t.steps for t in topics if t.topic.matches(message)]
    matched += [
        r.first_steps for r in routes if r.first_steps and r.topic.is_set() and r.topic.matches(message)
    ]
    for steps in matched:
        found += [step for step in steps if step not in found]
    return tuple(found)
