"""Drafts follow the service rules, are real threaded replies, and never run customer text."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from triage.adapters.word_vectors import RareWordVectors
from triage.app.engine import read_fixes, read_templates
from triage.domain import LABELS, Action, Classification, Decision, Label, Owner
from triage.mail.parsing import parse
from triage.metrics.business_hours import BusinessHours
from triage.replies.drafting import FORBIDDEN_PHRASES, TEMPLATE_NAMES, Drafter, DraftSettings
from triage.replies.restating import in_our_words, restate, topic
from triage.replies.retrieval import AnswerIndex

TEMPLATES = Path(__file__).parent.parent / "templates"
DEMO_TEAM = Path(__file__).parent.parent / "triage" / "demo_mailbox"  # the demo team's fixes.yaml
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SETTINGS = DraftSettings(
    team_name="Northwind Support",
    team_address="support@northwind.example",
    signature="Alice\nNorthwind Support",
    working_hours=BusinessHours("Europe/London"),
    reply_within_hours={"complaint": 24, "small_fix": 24, "escalation": 4, "needs_review": 24},
    escalation_owner="Dana Reyes, customer care lead",
)


def message(
    body: str = "My order NW-1 arrived broken.",
    subject: str = "Broken tent",
    sender: str = "Jane Doe <jane@example.org>",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@northwind.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <orig-1@example.org>\r\nReferences: <root@example.org>\r\n{extra}"
        f"Date: Thu, 19 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


def draft_for(
    data: bytes, label: str | None, guess: Label = Label.COMPLAINT, first_steps: tuple[str, ...] = ()
) -> tuple[str, email.message.EmailMessage]:
    drafter = Drafter(read_templates(TEMPLATES), SETTINGS)
    parsed = parse(data, NOW)
    if label is None:
        decision = Decision(
            Action.REVIEW, "unsure", Classification(guess, 0.4, "v"), "needs_review", first_steps=first_steps
        )
    else:
        decision = Decision(Action.DRAFT, "model", Classification(Label(label), 0.9, "v"), label)
    answer = (
        AnswerIndex([], {}, RareWordVectors(), read_fixes(DEMO_TEAM)).propose([parsed])[0]
        if label == "small_fix"
        else None
    )
    draft = drafter.render(parsed, decision, "key-1", NOW, answer)
    return draft.body, email.message_from_bytes(draft.data, policy=email.policy.default)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_no_template_says_we_cannot_help(name: str) -> None:
    source = (TEMPLATES / f"{name}.txt.j2").read_text().lower().replace("’", "'")
    for phrase in FORBIDDEN_PHRASES:
        assert phrase not in source


def test_a_complaint_draft_follows_the_service_rules() -> None:
    body, _ = draft_for(message("Hi team,\nMy tent arrived with a torn seam. I want it fixed."), "complaint")
    assert body.startswith("Dear Jane,")
    assert "I am sorry" in body
    assert "Thank you for bringing this to my attention" in body
    assert "As I understand it, your tent arrived with a torn seam." in body  # their problem, in our words
    # 24 hours from Friday 09:00 is Saturday, a day off: Friday's close gives the team its working day
    assert "you will hear back from me by 17:00 (Europe/London) on Friday 20 November" in body
    assert "May I go ahead" in body  # permission to proceed
    assert "how we handled it" in body  # feedback asked


def test_an_escalation_draft_names_the_owner_and_when() -> None:
    body, _ = draft_for(message("Someone used my card for 900 EUR I never spent."), "escalation")
    assert "I am sorry" in body
    assert "Dana Reyes, customer care lead" in body and "owns it" in body
    assert "by 13:00 (Europe/London) on Friday 20 November" in body  # 4 hours, London time


def test_a_small_fix_draft_gives_steps_now() -> None:
    body, draft = draft_for(message("How do I reset my password?", subject="Password"), "small_fix")
    assert "Forgot password" in body
    assert "1. " in body and "2. " in body
    assert "curated answer, fixes.yaml entry 1 (keyword 'password'" in draft["X-Triage"]


def test_the_shipped_fixes_file_guesses_no_product_steps() -> None:
    assert read_fixes(TEMPLATES) == ()  # steps are facts about a team's product: each team writes its own


def test_a_small_fix_with_no_known_answer_leaves_marked_places_for_the_reviewer() -> None:
    body, draft = draft_for(
        message("Can I bring my dog into the Bristol store?", subject="Dogs"), "small_fix"
    )
    assert "[reviewer: the first step for the customer]" in body
    assert draft["X-Triage"] == "draft; review before sending"


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("Thanks", "I returned from holiday and the boots fit perfectly."),  # "return" is a keyword
        (
            "Re: Spring sale",
            "Which tent do you recommend?\n\n> To unsubscribe from marketing emails, click here",
        ),
        ("Outdoor list Digest, Vol 12, Issue 3", "Today's Topics:\n  1. unsubscribe (Sam)\n  2. tents (Ann)"),
    ],
    ids=["part of a longer word", "only in quoted text", "a list digest"],
)
def test_curated_keywords_match_whole_words_in_the_new_text_only(subject: str, text: str) -> None:
    body, _ = draft_for(message(text, subject=subject), "small_fix")
    assert "[reviewer: the first step for the customer]" in body


def test_a_needs_review_draft_makes_no_class_specific_promise() -> None:
    for guess in Label:
        body, _ = draft_for(message(), None, guess)
        assert "owns it" not in body and "Here is my plan" not in body and "May I go ahead" not in body
        assert "You will hear back from us by" in body
    body, _ = draft_for(message(), None, Label.SMALL_FIX)
    assert "I am sorry" not in body  # a question the model was unsure of gets no apology


def test_greets_neutrally_when_the_name_is_unknown() -> None:
    body, _ = draft_for(message(sender="jane@example.org"), "complaint")
    assert body.startswith("Hello,")


def test_drafts_are_threaded_replies() -> None:
    _, draft = draft_for(message(subject="Re: RE: Broken tent"), "complaint")
    assert draft["Subject"] == "Re: Broken tent"
    assert draft["In-Reply-To"] == "<orig-1@example.org>"
    assert draft["References"] == "<root@example.org> <orig-1@example.org>"
    assert draft["To"] == "Jane Doe <jane@example.org>"
    assert draft["From"] == "Northwind Support <support@northwind.example>"
    assert draft["Message-ID"].startswith("<triage-") and draft["Message-ID"].endswith("@northwind.example>")


def test_replies_go_to_reply_to_when_given() -> None:
    _, draft = draft_for(message(extra="Reply-To: orders@jane.example\r\n"), "small_fix")
    assert draft["To"] == "orders@jane.example"


def test_the_draft_message_id_is_stable_per_message() -> None:
    _, first = draft_for(message(), "complaint")
    _, second = draft_for(message(), "complaint")
    assert first["Message-ID"] == second["Message-ID"]


def test_customer_template_syntax_is_printed_not_run() -> None:
    body, _ = draft_for(
        message("{{ 7 * 7 }} {% for x in range(3) %}boom{% endfor %} {{ self.__init__ }}"), "complaint"
    )
    assert "{{ 7 * 7 }}" in body and "49" not in body
    assert "{% for x in range(3) %}boom{% endfor %}" in body


def test_templates_cannot_reach_python_internals() -> None:
    from jinja2.exceptions import SecurityError

    evil = {name: "x" for name in TEMPLATE_NAMES}
    evil["complaint"] = "{{ first_name.__class__.__mro__[1].__subclasses__() }}"
    drafter = Drafter(evil, SETTINGS)
    decision = Decision(Action.DRAFT, "m", Classification(Label.COMPLAINT, 0.9, "v"), "complaint")
    with pytest.raises(SecurityError):
        drafter.render(parse(message(), NOW), decision, "k", NOW)


def test_header_values_cannot_carry_cr_or_lf() -> None:
    data = message(subject="=?utf-8?q?Hi=0D=0ABcc=3A_evil=40example=2Ecom?=")
    _, draft = draft_for(data, "complaint")
    assert draft["Bcc"] is None
    assert "\n" not in draft["Subject"] and "\r" not in draft["Subject"]


def test_restate_drops_the_greeting_and_keeps_their_words() -> None:
    assert restate("Hello there,\n\nThe app crashes when I pay. It has done so since Monday.") == (
        "The app crashes when I pay. It has done so since Monday."
    )
    assert len(restate("word " * 500)) <= 410


def test_an_escalation_draft_names_the_routes_owner_and_promise() -> None:
    drafter = Drafter(read_templates(TEMPLATES), SETTINGS)
    decision = Decision(
        Action.DRAFT,
        "rule",
        Classification(Label.ESCALATION, 1.0, "v"),
        "escalation",
        owner=Owner("Priya Shah", "priya@x.example", "payments lead"),
        reply_within_hours=2,
    )
    body = drafter.render(parse(message("charged twice"), NOW), decision, "k", NOW).body
    assert "Priya Shah, our payments lead" in body
    assert "by 11:00 (Europe/London) on Friday 20 November" in body


# ---- promises fall within the team's working hours and days ---------------------------------------

THURSDAY_EVENING = datetime(2026, 11, 19, 20, 19, tzinfo=UTC)  # 20:19 in London


def promise_in(template: str, now: datetime, hours: BusinessHours = SETTINGS.working_hours) -> str:
    drafter = Drafter(read_templates(TEMPLATES), replace(SETTINGS, working_hours=hours))
    label = Label(template) if template in LABELS else None
    decision = Decision(
        Action.DRAFT, "m", Classification(label, 0.9, "v") if label else None, template=template
    )
    body = drafter.render(parse(message(), now), decision, "k", now).body
    return " ".join(body.split()).split(" by ", 1)[1].split(" with ")[0].split(". ")[0]


def test_an_escalation_after_hours_is_promised_for_the_next_working_morning_not_midnight() -> None:
    # 4 hours from 20:19 would be 00:19; the team works 09:00-17:00, so it gets its 4 hours on Friday
    assert promise_in("escalation", THURSDAY_EVENING) == "13:00 (Europe/London) on Friday 20 November"


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_kind_of_draft_promises_a_time_the_team_is_at_work(template: str) -> None:
    friday_afternoon = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    promised = promise_in(template, friday_afternoon)
    if template == "escalation":  # 2 hours on Friday, 2 on Monday
        assert promised == "11:00 (Europe/London) on Monday 23 November"
    else:  # 24 hours: Saturday 15:00 is a day off; Monday 15:00 gives the team its working day
        assert promised == "15:00 (Europe/London) on Monday 23 November"


def test_promises_skip_holidays_and_follow_the_configured_days_and_hours() -> None:
    hours = BusinessHours(
        "Europe/London",
        start=time(8, 0),
        end=time(12, 0),
        working_days=frozenset({0, 1, 2, 3, 4, 5}),  # Saturdays too
        holidays=frozenset({date(2026, 11, 20)}),
    )
    # Friday is a holiday: 4 hours from Thursday 20:19 are Saturday morning's
    assert (
        promise_in("escalation", THURSDAY_EVENING, hours) == "12:00 (Europe/London) on Saturday 21 November"
    )


def test_a_promise_at_night_is_the_close_of_the_working_day_before_not_the_next_morning() -> None:
    tuesday_night = datetime(2026, 11, 17, 22, 48, tzinfo=UTC)  # 24 hours later is Wednesday 22:48
    assert promise_in("complaint", tuesday_night) == "17:00 (Europe/London) on Wednesday 18 November"


def test_a_promise_inside_working_hours_is_the_target_itself() -> None:
    tuesday_ten = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
    assert promise_in("escalation", tuesday_ten) == "14:00 (Europe/London) on Tuesday 17 November"
    assert promise_in("complaint", tuesday_ten) == "10:00 (Europe/London) on Wednesday 18 November"


# ---- issue 15: drafts a reviewer sends in under a minute -------------------------------------------
# Each defect the blind review found has a test below that reproduces it.

FORMAL = (
    "Dear Customer Support Team,\n\nI hope this message finds you well. I am writing regarding my recent"
    " order HH-449588, the Alder dining table, which was delivered on Saturday.\n\nWhen we unwrapped it we"
    " found a deep scratch across the tabletop, and one corner is chipped.\n\nThank you in advance for your"
    " assistance.\n\nKind regards,\nPatricia Morgan-Reid"
)


@pytest.mark.parametrize(
    ("text", "kept", "dropped"),
    [
        (
            FORMAL,
            "found a deep scratch across the tabletop",
            ["Dear", "I hope this", "Kind regards", "Patricia"],
        ),
        (
            "Dear <Agent name>,\n\nMy new card has no PIN letter. Where do I find it?\n\nKind regards,\nKwame"
            " Asante\nTel: 01423 555 018",
            "My new card has no PIN letter.",
            ["<Agent name>", "Kwame", "01423"],
        ),
        (
            "@PennywiseHelp lost my card in the field and my phone's on 3%!!! what do i do #festivalseason"
            " https://t.example/x",
            "lost my card in the field",
            ["@PennywiseHelp", "#festivalseason", "https://", "!!!"],
        ),
        (
            "Dear [Support Agent],\n\nHow do I change our year end?\n\nThanks,\nPaul",
            "How do I change",
            ["[Support"],
        ),
        (
            "This is ridiculous. You've taken my gym membership twice this month. Sort it out.\n\nGary",
            "You've taken my gym membership twice this month.",
            ["ridiculous", "Sort it out", "Gary"],
        ),
    ],
    ids=[
        "greeting-pleasantries-signature",
        "placeholder-signature",
        "handle-hashtag-url",
        "bracket",
        "feeling",
    ],
)
def test_the_restatement_names_the_problem_not_the_wrapping(text: str, kept: str, dropped: list[str]) -> None:
    restated = restate(text, "Patricia Morgan-Reid" if "Patricia" in text else "Kwame Asante")
    assert kept in restated
    for wrapping in dropped:
        assert wrapping not in restated
    assert restated[-1] in ".?!" or restated.endswith("do i do")  # whole sentences, never cut mid-way


def test_the_restatement_keeps_at_most_two_sentences_whole() -> None:
    text = " ".join(f"My order {n} arrived broken and the box was wet." for n in range(1, 9))
    restated = restate(text)
    assert restated.count(".") == 2 and restated.endswith(".")


@pytest.mark.parametrize(
    "post",
    [
        "Big thanks to @GearShop for delivering my tent to the wrong town. Again. #brilliant",
        "nothing says premium service like a 2 hour hold queue 🙃",
        "love that my 'next day' parcel is on day four now 👏👏 #fail",
    ],
)
def test_an_ironic_post_is_not_quoted_back_in_earnest(post: str) -> None:
    assert restate(post) == ""
    body, _ = draft_for(message(post), "complaint")
    assert "As I understand it" not in body and "I am sorry" in body


def test_the_greeting_uses_the_name_they_sign_with() -> None:
    signed = message(
        "My card is declined in every shop.\nThank you,\nLan", sender="Nguyen Lan <lan@example.org>"
    )
    body, _ = draft_for(signed, "complaint")
    assert body.startswith("Dear Lan,")  # a family name first in the display name
    full, _ = draft_for(message("It broke.\nJane Doe"), "complaint")
    assert full.startswith("Dear Jane,")  # a whole name signed: the display name's first word


def test_their_self_reproach_is_left_out_of_the_restatement() -> None:
    text = (
        "I paid my plumber £300 to the wrong account this morning. The name check said no match and I "
        "stupidly carried on anyway. Can you get it back?"
    )
    assert "stupidly" not in restate(text) and "wrong account" in restate(text)
    assert restate("I stupidly deleted my invoices.") == "I stupidly deleted my invoices."  # all they said


def test_a_short_message_is_told_back_in_our_words_by_rule() -> None:
    assert in_our_words(restate("Hi,\nI was charged twice for order 1042.\nThanks,\nJo")) == (
        "you were charged twice for order 1042."
    )
    assert in_our_words("We moved house and my card still shows our old address.") == (
        "you moved house and your card still shows your old address."
    )
    # what speaks to us or asks something stays the customer's words: a rule could change its meaning
    assert in_our_words("You've taken my gym membership twice.") is None
    assert in_our_words("Where do I find my PIN?") is None
    assert in_our_words("I stupidly pressed continue.") is None  # their self-reproach is not ours to repeat


def test_template_looking_text_after_a_greeting_is_kept_as_text() -> None:
    # found by the Hypothesis test in test_hostile_input.py: "hi {{ 7*7 }}" was dropped as a greeting
    assert restate("hi {{ 7*7 }}") == "{{ 7*7 }}"
    body, _ = draft_for(message("hi {{ 7*7 }} {% for x in range(3) %}boom{% endfor %}"), "complaint")
    assert "{{ 7*7 }}" in body and "{% for x in range(3) %}boom{% endfor %}" in body and "49" not in body


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("Re: RE: Broken tent", "It tore.", "Broken tent"),
        ("", FORMAL, "When we unwrapped it we found a deep scratch across the tabletop"),
        ("", "hi, new card came this morning but there's no PIN letter with it?? where do i find it", None),
        ("Help", "My parcel never arrived and the tracking page says delivered.", "My parcel never arrived"),
        (
            "",
            "how do I give my accountant access to our books? she runs her own practice, I'd rather not pay",
            "how do I give my accountant access to our books",
        ),
    ],
    ids=["subject", "no-subject-formal", "no-subject-chat", "generic-subject", "a-short-question"],
)
def test_the_topic_phrase_reads(subject: str, body: str, expected: str | None) -> None:
    phrase = topic(subject, body, "Patricia Morgan-Reid")
    if expected is not None:
        assert phrase == expected
    assert not phrase.lower().startswith(("re:", "dear", "hi", "hello", "i hope"))
    assert len(phrase.split()) <= 12 and phrase.split()[-1].lower() not in ("the", "a", "to", "and", "my")
    assert phrase in body or phrase == subject.removeprefix("Re: RE: ")  # their words, whole words


def test_a_needs_review_draft_restates_and_asks_the_one_question_a_reviewer_would_ask() -> None:
    body, _ = draft_for(
        message("My chair was delivered with a wobbly leg.", subject=""), None, Label.SMALL_FIX
    )
    assert "As I understand it, your chair was delivered with a wobbly leg." in body
    assert "Could you send me the order number" in body
    body, _ = draft_for(
        message("Order NW-1042 was delivered with a wobbly leg.", subject=""), None, Label.SMALL_FIX
    )
    assert "order number" not in body  # given already: not asked again


MUGGED = "I was mugged and everything taken. What do I do to protect my account?"
SAFETY = ("Freeze your card now in the app: Cards > Freeze.", "Or call us on 0800 555 0199, day or night.")


@pytest.mark.parametrize("label", [None, "small_fix", "complaint", "escalation"])
def test_safety_first_steps_go_into_every_draft_whose_text_matches(label: str | None) -> None:
    from triage.judgement.classifier import Rules
    from triage.judgement.decisions import Policy, decide
    from triage.judgement.routing import FirstSteps, Route, Topic

    policy = Policy(
        frozenset({"support@northwind.example"}),
        Rules(),
        threshold=0.5,
        needs_review_draft=True,
        routes=(Route("fraud", Owner("Nadia Okoro"), keywords=("mugged",), first_steps=SAFETY[1:]),),
        default_route=Route("default", Owner("Dana Reyes")),
        first_steps=(FirstSteps(Topic(keywords=("stolen", "mugged")), SAFETY[:1]),),
    )
    guess = Classification(Label(label) if label else Label.COMPLAINT, 0.9 if label else 0.3, "v")
    decision = decide(parse(message(MUGGED, subject=""), NOW), guess, policy)
    assert decision.first_steps == SAFETY  # the topic's, then the route's: by text, whatever the class
    body = (
        Drafter(read_templates(TEMPLATES), SETTINGS)
        .render(parse(message(MUGGED), NOW), decision, "k", NOW)
        .body
    )
    assert "Before anything else, please do this now:\n\n  - Freeze your card now" in body
    assert body.index("Freeze your card") < body.index("hear back" if label != "escalation" else "owns it")
    calm = decide(parse(message("How do I reset my password?"), NOW), guess, policy)
    assert calm.first_steps == ()


def test_an_escalation_does_not_ask_for_a_phone_number_it_was_given() -> None:
    body, _ = draft_for(
        message("Someone changed my email. My phone number is 07700 900461 if it's easier to call."),
        "escalation",
    )
    assert "07700 900461" in body and "reply with a number" not in body
    body, _ = draft_for(message("Two payments on account 31847260 I never made."), "escalation")
    assert "reply with a number" in body  # an account number is not a phone number
    assert "31847260" not in body.split("owns it")[1]


def test_an_escalation_names_the_order_it_was_given() -> None:
    body, _ = draft_for(message("The lamp from order HH-450877 sparked.", subject="Lamp"), "escalation")
    assert "with the details you sent (order HH-450877), to Dana Reyes" in body


SEED_PHRASES = {
    "complaint": (
        "I am sorry",
        "Thank you for bringing this to my attention",
        "May I go ahead",
        "how we handled",
    ),
    "escalation": ("I am sorry", "Dana Reyes, customer care lead", "owns it", "You will hear from us by"),
    "small_fix": ("Here is how to sort this out right now", "Did this solve it for you?"),
    "needs_review": ("Thank you for your message about", "You will hear back from us by"),
    "holding": ("I am sorry that this is taking longer", "You will hear from us by"),
}
NEVER_IN = {
    "needs_review": ("owns it", "Here is my plan"),
    "small_fix": ("owns it",),
    "complaint": ("owns it",),
}


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
@pytest.mark.parametrize("label", [*LABELS, None])
@pytest.mark.parametrize("text", [MUGGED, FORMAL, "charged twice?? @brand #fail"])
def test_every_template_and_class_carries_the_seeds_phrases_and_none_forbidden(
    template: str, label: str | None, text: str
) -> None:
    drafter = Drafter(read_templates(TEMPLATES), SETTINGS)
    classification = Classification(Label(label), 0.9, "v") if label else None
    action = Action.REVIEW if template == "needs_review" else Action.DRAFT
    decision = Decision(action, "m", classification, template, first_steps=SAFETY if text == MUGGED else ())
    body = drafter.render(parse(message(text), NOW), decision, "k", NOW).body
    lowered = body.lower().replace("’", "'")
    for phrase in SEED_PHRASES[template]:
        assert phrase in body
    for phrase in (*FORBIDDEN_PHRASES, *NEVER_IN.get(template, ())):
        assert phrase.lower() not in lowered
    assert "{{" not in body.replace("{{ 7", "") and "[reviewer" not in body or template == "small_fix"
    if text == MUGGED:
        assert SAFETY[0] in body or template == "holding"
