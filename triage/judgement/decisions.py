"""Decide what to do with one parsed message. Pure: returns a plan, changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from triage.domain import Action, Classification, Decision, Label, ParsedMessage
from triage.judgement.classifier import Rules, decide_label
from triage.judgement.routing import FirstSteps, Route, first_steps, route
from triage.mail.screening import machine_reason


@dataclass(frozen=True)
class Policy:
    team_addresses: frozenset[str]
    rules: Rules
    threshold: float
    needs_review_draft: bool  # a neutral acknowledgement when unsure, or no draft
    class_thresholds: Mapping[str, float] = field(default_factory=dict)  # from precision targets
    escalation_floor: float = 0.0  # 0: off
    routes: tuple[Route, ...] = ()
    default_route: Route | None = None
    first_steps: tuple[FirstSteps, ...] = ()  # drafting.first_steps: safety-first steps by topic

    def threshold_for(self, label: str) -> float:
        return max(self.threshold, self.class_thresholds.get(label, 0.0))


def decide(message: ParsedMessage, predicted: Classification | None, policy: Policy) -> Decision:
    """Skip machine mail; else the rule or the model's class; unsure -> needs_review.

    `predicted` is None only for machine mail, which is never classified.
    """
    machine = machine_reason(message, policy.team_addresses)
    if machine is not None or predicted is None:
        return Decision(Action.SKIP, machine or "not classified")
    result = decide_label(message, predicted, policy.rules, policy.escalation_floor)
    steps = first_steps(message, policy.first_steps, policy.routes)
    owner, within = None, None
    if result.label in (Label.ESCALATION, Label.COMPLAINT) and policy.default_route is not None:
        chosen = route(message, result.label.value, policy.routes, policy.default_route)
        owner = chosen.owner
        within = chosen.reply_within_hours if result.label is Label.ESCALATION else None
        steps += tuple(step for step in chosen.first_steps if step not in steps)  # a route by class alone
    if result.by_rule:
        return Decision(Action.DRAFT, f"rule {result.by_rule}", result, "escalation", owner, within, steps)
    threshold = policy.threshold_for(result.label.value)
    floored = bool(policy.escalation_floor) and result.label is Label.ESCALATION
    if result.probability < threshold and not floored:
        reason = f"{result.label.value} at {result.probability:.2f} < threshold {threshold:.2f}"
        if result.reasons:
            reason += f" ({', '.join(result.reasons)})"
        template = "needs_review" if policy.needs_review_draft else None
        return Decision(Action.REVIEW, reason, result, template=template, first_steps=steps)
    reason = f"model {result.model_version}: {result.label.value} at {result.probability:.2f}"
    if result.reasons:
        reason += f" ({', '.join(result.reasons)})"
    return Decision(Action.DRAFT, reason, result, result.label.value, owner, within, steps)


def is_machine(message: ParsedMessage, policy: Policy) -> bool:
    return machine_reason(message, policy.team_addresses) is not None
