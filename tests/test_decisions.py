"""What triage decides for a message: machine mail skipped, rules first, unsure -> needs_review."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import REPO
from triage.domain import Action, Classification, Label
from triage.judgement.classifier import Rules
from triage.judgement.decisions import Policy, decide
from triage.mail.parsing import parse

NOW = datetime(2026, 11, 20, tzinfo=UTC)
POLICY = Policy(
    team_addresses=frozenset({"support@example.com"}),
    rules=Rules(escalation_keywords=("lawyer", "data breach"), vip_domains=("bigcorp.example",)),
    threshold=0.6,
    needs_review_draft=True,
)


def msg(body: str, sender: str = "jo@example.org", headers: str = "") -> bytes:
    return f"From: {sender}\nSubject: hello\nMessage-ID: <m@x>\n{headers}\n{body}\n".encode()


def model_says(label: Label, p: float) -> Classification:
    return Classification(label, p, "test-model")


def test_a_confident_model_decides_the_class_and_template() -> None:
    decision = decide(parse(msg("where is my parcel"), NOW), model_says(Label.SMALL_FIX, 0.9), POLICY)
    assert (decision.action, decision.template, decision.label) == (
        Action.DRAFT,
        "small_fix",
        Label.SMALL_FIX,
    )
    assert "test-model" in decision.reason


def test_an_unsure_model_means_needs_review_with_a_neutral_draft() -> None:
    decision = decide(parse(msg("hmm"), NOW), model_says(Label.COMPLAINT, 0.41), POLICY)
    assert decision.action is Action.REVIEW and decision.template == "needs_review"
    assert "0.41 < threshold 0.60" in decision.reason


def test_needs_review_without_a_draft_when_configured() -> None:
    policy = Policy(POLICY.team_addresses, POLICY.rules, 0.6, needs_review_draft=False)
    decision = decide(parse(msg("hmm"), NOW), model_says(Label.COMPLAINT, 0.41), policy)
    assert decision.action is Action.REVIEW and decision.template is None


def test_an_escalation_keyword_overrides_the_model() -> None:
    decision = decide(
        parse(msg("I have asked my Lawyer to write"), NOW), model_says(Label.SMALL_FIX, 0.95), POLICY
    )
    assert decision.label is Label.ESCALATION and decision.reason == "rule keyword: lawyer"


def test_keywords_match_whole_words_only() -> None:
    decision = decide(parse(msg("my lawyers-free question"), NOW), model_says(Label.SMALL_FIX, 0.95), POLICY)
    assert decision.label is Label.SMALL_FIX


def test_a_vip_domain_is_always_an_escalation() -> None:
    decision = decide(
        parse(msg("quick question", "ceo@bigcorp.example"), NOW), model_says(Label.SMALL_FIX, 0.9), POLICY
    )
    assert decision.label is Label.ESCALATION and "vip domain" in decision.reason


def test_machine_mail_is_skipped_with_its_reason() -> None:
    decision = decide(parse(msg("away", headers="Auto-Submitted: auto-replied\n"), NOW), None, POLICY)
    assert (decision.action, decision.reason, decision.template) == (Action.SKIP, "auto_submitted", None)


def test_a_class_threshold_above_the_global_one_sends_it_to_review() -> None:
    policy = Policy(POLICY.team_addresses, POLICY.rules, 0.6, True, class_thresholds={"escalation": 0.9})
    decision = decide(parse(msg("my card was used"), NOW), model_says(Label.ESCALATION, 0.85), policy)
    assert decision.action is Action.REVIEW and "threshold 0.90" in decision.reason
    decision = decide(parse(msg("where is it"), NOW), model_says(Label.SMALL_FIX, 0.65), policy)
    assert decision.action is Action.DRAFT


def test_the_escalation_floor_turns_a_likely_escalation_into_one() -> None:
    policy = Policy(POLICY.team_addresses, POLICY.rules, 0.6, True, escalation_floor=0.25)
    predicted = Classification(Label.SMALL_FIX, 0.55, "m", escalation_probability=0.3)
    decision = decide(parse(msg("a payment I don't know"), NOW), predicted, policy)
    assert decision.label is Label.ESCALATION and decision.action is Action.DRAFT
    assert "escalation floor 0.25" in decision.reason
    below = Classification(Label.SMALL_FIX, 0.75, "m", escalation_probability=0.2)
    assert decide(parse(msg("where is it"), NOW), below, policy).label is Label.SMALL_FIX


def test_an_escalation_goes_to_the_first_matching_route_and_its_promise() -> None:
    from triage.domain import Owner
    from triage.judgement.routing import Route

    payments = Route(
        "payments",
        Owner("Priya Shah", "priya@x.example", "payments lead"),
        ("chargeback", "charged twice"),
        (),
        reply_within_hours=2,
    )
    vip = Route("key accounts", Owner("Sam Lee", role="key account manager"), (), ("bigcorp.example",))
    policy = Policy(
        POLICY.team_addresses,
        POLICY.rules,
        0.6,
        True,
        routes=(payments, vip),
        default_route=Route("default", Owner("Dana Reyes", role="customer care lead")),
    )
    charged = decide(
        parse(msg("I was charged twice, chargeback next"), NOW), model_says(Label.ESCALATION, 0.9), policy
    )
    assert charged.owner is not None and charged.reply_within_hours == 2
    assert (charged.owner.describe(), charged.owner.address) == (
        "Priya Shah, our payments lead",
        "priya@x.example",
    )
    other = decide(parse(msg("my account was hacked"), NOW), model_says(Label.ESCALATION, 0.9), policy)
    assert other.owner is not None and other.reply_within_hours is None
    assert other.owner.describe() == "Dana Reyes, our customer care lead"
    fix = decide(parse(msg("charged twice?"), NOW), model_says(Label.SMALL_FIX, 0.9), policy)
    assert fix.owner is None
    complaint = decide(parse(msg("charged twice, awful"), NOW), model_says(Label.COMPLAINT, 0.9), policy)
    assert complaint.owner == payments.owner and complaint.reply_within_hours is None, (
        "complaints are owned too"
    )


def test_a_route_can_match_a_pattern_and_take_only_some_classes() -> None:
    from triage.domain import Owner
    from triage.judgement.routing import Route

    orders = Route("orders", Owner("Omar"), patterns=(r"order\s+#?NW-\d+",), labels=("escalation",))
    complaints = Route("complaints", Owner("Cleo"), labels=("complaint",))  # by class alone
    policy = Policy(
        POLICY.team_addresses,
        POLICY.rules,
        0.6,
        True,
        routes=(orders, complaints),
        default_route=Route("default", Owner("Dana")),
    )
    escalated = decide(
        parse(msg("about order #NW-4821, this is fraud"), NOW), model_says(Label.ESCALATION, 0.9), policy
    )
    assert escalated.owner == Owner("Omar")
    other = decide(parse(msg("my account was hacked"), NOW), model_says(Label.ESCALATION, 0.9), policy)
    assert other.owner == Owner("Dana")
    complaint = decide(
        parse(msg("about order NW-4821, awful"), NOW), model_says(Label.COMPLAINT, 0.9), policy
    )
    assert complaint.owner == Owner("Cleo"), "the orders route takes escalations only"


def test_a_route_pattern_that_does_not_compile_is_a_config_error() -> None:
    from triage import config
    from triage.errors import ConfigError

    raw = {
        "mailbox": {"url": "imaps://u@h/INBOX"},
        "routing": {"routes": [{"name": "x", "owner": {"name": "O"}, "patterns": ["(unclosed"]}]},
    }
    with pytest.raises(ConfigError) as error:
        config.from_mapping(raw, {}, REPO)
    assert error.value.key == "routing.routes.0.patterns"


@pytest.mark.parametrize(
    ("sender", "headers", "reason"),
    [
        ("ppp-request@lists.dial.example", "", "list_manager"),  # digests and -request replies
        ("neko-admin@lists.neko.example", "", "list_manager"),  # fml's notices (Loop Alert)
        ("owner-ppp@lists.dial.example", "", "list_manager"),
        ("ppp-bounces@lists.dial.example", "", "list_manager"),  # Mailman
        ("jo@example.org", "X-MLServer: fml [fml 4.0.3 release]\n", "mailing_list"),
        ("jo@example.org", "X-ML-Name: neko\n", "mailing_list"),
        ("jo@example.org", "X-Mailman-Version: 2.1.39\n", "mailing_list"),
        ("jo@example.org", "List-Post: <mailto:ppp@lists.dial.example>\n", "mailing_list"),
        ("jo@example.org", "X-Loop: ppp@lists.dial.example\n", "mailing_list"),
    ],
)
def test_mailing_list_software_and_its_managers_get_no_draft(sender: str, headers: str, reason: str) -> None:
    decision = decide(parse(msg("Loop Alert", sender, headers), NOW), None, POLICY)
    assert (decision.action, decision.reason) == (Action.SKIP, reason)


@pytest.mark.parametrize(
    "sender", ["jo.request@example.org", "administrator@example.org", "owner@shop.example"]
)
def test_people_whose_address_merely_resembles_a_list_manager_are_answered(sender: str) -> None:
    decision = decide(parse(msg("my order is late", sender), NOW), model_says(Label.COMPLAINT, 0.9), POLICY)
    assert decision.action is Action.DRAFT
