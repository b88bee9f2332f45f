"""The customer's problem in a sentence or two, and a topic phrase for it: what a draft restates. Pure.

From what the customer just wrote (quoted history already gone) it drops the greeting, the
pleasantries, the sign-off and signature, @handles, hashtags, URLs and template placeholders
("<Agent name>", "[Support Agent]"), splits the rest into sentences (sentencex) and keeps the
most informative one or two, whole. Template syntax such as `{{ 7*7 }}` is the customer's text
like any other: it is kept, and the drafter only ever prints it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sentencex import segment

MAX_RESTATED = 300  # two sentences at most, and never more characters than this unless one is longer
MAX_SENTENCE = 400  # a single sentence longer than this is cut at a clause boundary
MAX_TOPIC_WORDS = 12
_POINTS_BACK = frozenset(("it", "this", "these", "that", "those", "they", "them", "there"))

_GREETING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|hiya|dear|greetings|good (?:morning|afternoon|evening)|to whom it may concern)\b"
    r"(?:[ \t]+[^\s,.!:;]+){0,4}?[ \t]*[,.!:;\n]|(?:hi|hello|hey|hiya)\b[ \t]+(?=\S))",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(?:(?:many |warm(?:est)? |kind(?:est)? |best |with )?(?:thanks|thank you|regards|wishes)"
    r"(?: (?:again|so much|very much|in advance|for your (?:help|time)))?|best|cheers|yours(?: \w+)?|"
    r"all the best|take care|sincerely|faithfully|thx|ta|sent from my .*|get outlook for .*)\s*[,.!]*\s*$",
    re.IGNORECASE,
)
_CONTACT_LINE = re.compile(
    r"^(?:\w{1,3}:\s*)?\+?[\d ()-]{7,}$|^(?:tel|phone|mobile|mob|m|t|fax|email|e|web|www)\b\s*[:.]|"
    r"\b(?:ltd|llp|limited|inc|gmbh|plc)\b\.?|^\S+@\S+$|^(?:https?://|www\.)\S+$",
    re.IGNORECASE,
)
_PLEASANTRY = re.compile(
    r"^(?:i hope (?:this|you|all)\b.*|(?:many |big )?thanks?(?: you)?(?: (?:so|very) much)?"
    r"(?: (?:in advance|for (?:your|the|any) (?:help|time|assistance|attention|patience|support)\b.*))?|"
    r"thanks?(?: you)?,? \w+,? (?:that|this|it)(?:'s| is| was| worked)\b.*|cheers|"
    r"(?:please )?help(?: me)?(?: please)?|any help (?:would be|is) (?:much |greatly )?appreciated|"
    r"no rush(?: at all)?\b.*|i look forward to (?:hearing|your)\b.*)[.!]*$",
    re.IGNORECASE,
)
_FIELD = re.compile(r"^(?:message|description|details|comments?)\s*:\s*", re.IGNORECASE)
_METADATA = re.compile(
    r"^(?:category|topic|product area|priority|company|account|order(?: number| no\.?)?|subject|name|email)"
    r"\s*:",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd)\s*:\s*)+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_HASHTAG = re.compile(r"(?<![\w&#])#(?=[A-Za-z])\w+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'()]+", re.IGNORECASE)
_PLACEHOLDER_WORDS = (
    r"(?:your |the |customer |support |service |agent |first |last |full |company |recipient |team )*"
    r"(?:name|agent|representative|recipient|team|customer|sir|madam|support agent|company|title)"
)
_PLACEHOLDER = re.compile(
    rf"<\s*{_PLACEHOLDER_WORDS}\s*>|\[\s*{_PLACEHOLDER_WORDS}\s*\]|(?<!\{{)\{{\s*{_PLACEHOLDER_WORDS}\s*\}}(?!\}})",
    re.IGNORECASE,
)
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\ufe0f]+")
_PROBLEM = re.compile(
    r"\b(?:charged|charge|twice|double|duplicate|declined|crash\w*|error|fail\w*|missing|lost|stolen|"
    r"broken|broke|damaged|scratch\w*|chipped|wrong|late|delay\w*|not (?:arrived|here|working|valid)|"
    r"hasn't|haven't|hadn't|didn't|doesn't|don't|can't|cannot|won't|isn't|wasn't|never|no|nobody|nothing|"
    r"refund\w*|money|frozen|freeze|locked|disappeared|gone|rude|closed|cut off|sparked|burning|tipped|"
    r"leak\w*|down|stuck|pending|processing|fee|price|rate|increase|disconnected|logged? (?:me )?out|"
    r"deleted|removed|changed|recogni[sz]e|scam\w*|fraud|mugged|taken|hacked|lower|higher|again)\b",
    re.IGNORECASE,
)
_ASK = re.compile(
    r"\?|^(?:how|where|when|what|why|which|who|can|could|would|will|is|are|do|does|did)\b|\b(?:please|"
    r"i (?:want|need|would like)|can (?:i|you|we)|could you|how (?:do|can|much|long))\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"\?|(?:^|[.!]\s+)(?:please|can|could|would|will|how|where|when|what|why|which|who|do|does|did|is|are|"
    r"refund|sort|stop|fix|tell|send|let)\b",
    re.IGNORECASE,
)
_SELF_BLAME = re.compile(
    r"\b(?:stupid\w*|idiot\w*|silly|foolish\w*|dumb|my (?:own )?(?:fault|mistake))\b", re.I
)
_FEELING_ONLY = re.compile(
    r"^(?:(?:this is|that's|it's|i am|i'm|we are|we're|honestly|pretty|really|so|very|absolutely|"
    r"just|totally|completely|not)\s+)*(?:ridiculous|furious|disgusted|annoyed|annoying|unacceptable|"
    r"disappointed|upset|frustrated|angry|fed up|not impressed|not happy|shocking|appalling|terrible|"
    r"awful|a joke|sort it out)(?:\s+at all)?[.!]*$",
    re.IGNORECASE,
)
# irony: praise for a failure ("huge thanks to @shop for leaving it in the rain 🙃"), told back in
# earnest, reads as mockery
_IRONY = re.compile(
    "[\U0001f643\U0001f644\U0001f612\U0001f44f]|"
    r"\b(?:nothing says|(?:i |just )?love (?:that|how)|(?:huge|big|massive) thanks to|thanks for nothing"
    r"|living up to)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"[£$€]\s?\d|\d")
_CLAUSE = re.compile(r",\s+|\s+[-–—]\s+|;\s+|\s+(?=(?:but|and|because|so|since|although|while|or)\s)")


@dataclass(frozen=True)
class Sentence:
    text: str
    position: int
    asks: bool  # a question or a request


def problem_sentences(new_text: str, sender_name: str = "") -> tuple[Sentence, ...]:
    """The customer's sentences, in order, less greeting, pleasantries, sign-off and signature."""
    lines = _body_lines(new_text, sender_name)
    text = "\n".join(lines)
    text = _GREETING.sub("", text, count=1) if _GREETING.match(text) else text
    found: list[Sentence] = []
    for paragraph in text.split("\n"):
        if _METADATA.match(paragraph.strip()):
            continue  # a web form's fields: facts, not the problem
        paragraph = _clean(_FIELD.sub("", paragraph.strip()))
        for piece in _whole_sentences(paragraph):
            sentence = " ".join(piece.split())
            if not sentence.strip(" .,!?;:-–—*_~>\"'") or _PLEASANTRY.match(sentence):
                continue
            found.append(Sentence(sentence, len(found), bool(_ASK.search(sentence))))
    return tuple(found)


def _whole_sentences(paragraph: str) -> list[str]:
    """sentencex's sentences, less its splits inside a token ("a.b[1].c" is one): those follow no space."""
    pieces: list[str] = []
    for piece in segment("en", paragraph) if paragraph else ():
        if pieces and not pieces[-1][-1:].isspace():
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return pieces


def restate(new_text: str, sender_name: str = "") -> str:
    """The customer's problem in their words: the most informative one or two sentences, whole;
    nothing from an ironic message (the apology and the plan answer it without quoting it back)."""
    if _IRONY.search(new_text):
        return ""
    sentences = problem_sentences(new_text, sender_name)
    # "I stupidly pressed continue" is theirs to say, not ours to quote back, when anything else says it
    sentences = tuple(s for s in sentences if not _SELF_BLAME.search(s.text)) or sentences
    if not sentences:
        return ""
    ranked = sorted(sentences, key=lambda s: (-_score(s), s.position))
    chosen = [ranked[0]]
    for candidate in ranked[1:2]:
        fits = len(chosen[0].text) + 1 + len(candidate.text) <= MAX_RESTATED
        if fits and _score(candidate) > 0 and not _FEELING_ONLY.match(candidate.text):
            chosen.append(candidate)
    text = " ".join(s.text for s in sorted(chosen, key=lambda s: s.position))
    return _shorten(text)


def in_our_words(problem: str) -> str | None:
    """The restated problem told back to the customer ("you were charged twice"), or None.

    Only statements are turned: first person becomes second; a sentence that speaks to us
    ("you", "your") or asks something stays the customer's own words (None), since turning it
    by rule could change what they meant.
    """
    if not problem or _REQUEST.search(problem) or _SELF_BLAME.search(problem):
        return None  # "you stupidly pressed continue" would blame them in our voice
    if re.search(r"\b(?:you|your|yours|yourself)\b", problem, re.IGNORECASE):
        return None
    turned = _PRONOUNS.sub(lambda m: _TURNED[m.group(0).lower().replace("’", "'")], problem)
    turned = re.sub(r"([.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), turned)
    first, _, rest = turned.partition(" ")
    if first.lower().rstrip(",;:") in _LOWER_FIRST:
        turned = f"{first.lower()} {rest}".rstrip()
    return turned if turned[-1:] in ".!?" else turned + "."


def topic(subject: str, new_text: str, sender_name: str = "") -> str:
    """What the message is about, for "your message about ...": the subject, else a short phrase.

    The phrase is their first short question, else the first clause of the problem sentence, ending
    at a word boundary.
    """
    subject = clean_subject(subject)
    if subject and not _GENERIC_SUBJECT.match(subject):
        return subject
    sentences = problem_sentences(new_text, sender_name)
    if not sentences:
        return subject
    for sentence in sentences:  # a short question names what they want best: "how do I add a user"
        words = sentence.text.rstrip(" ?!.").split()
        asks = sentence.text.rstrip().endswith("?") and 3 <= len(words) <= MAX_TOPIC_WORDS
        if asks and not _POINTS_BACK.intersection(w.lower() for w in words):  # "does it work?" needs context
            return " ".join(words)
    first = _shorten(min(sentences, key=lambda s: (-_score(s), s.position)).text)
    clauses = [c for c in _CLAUSE.split(first) if len(c.split()) >= 3] or [first]
    words = clauses[0].rstrip(".!?").split()
    if len(words) > MAX_TOPIC_WORDS:
        words = words[:MAX_TOPIC_WORDS]
        while words and words[-1].lower() in _DANGLING:
            words.pop()
    return " ".join(words)


def signed_name(new_text: str, sender_name: str) -> str:
    """The part of their name they sign with ("Lan" for "Nguyen Lan"), or "" when they sign with none."""
    parts: dict[str, str] = {part.lower(): part for part in re.findall(r"[^\W\d_][\w'-]*", sender_name)}
    for line in [line.strip() for line in new_text.splitlines() if line.strip()][-3:][::-1]:
        words = [word.lower() for word in re.findall(r"[^\W\d_][\w'-]*", line)]
        named = [word for word in words if word in parts]
        if named and len(words) <= 3 and named == words[-1:]:  # "Thanks, Lan" / "- Lan", not "Jane Doe"
            return parts[named[0]]
    return ""


def clean_subject(subject: str) -> str:
    """The subject on one line, without "Re:", "AW:", "SV:" or "Fwd:" prefixes."""
    return _REPLY_PREFIX.sub("", " ".join(subject.split())).strip()


def _body_lines(new_text: str, sender_name: str) -> list[str]:
    """The lines before the sign-off, or before the signature block that ends the message."""
    lines = [line.rstrip() for line in new_text.replace("\r", "").split("\n")]
    for index, line in enumerate(lines):
        if index and _SIGN_OFF.match(line):
            return lines[:index]
    names = {w.lower() for w in re.findall(r"\w+", sender_name) if len(w) > 1}
    end = len(lines)
    while end > 1:
        line = lines[end - 1].strip()
        words = re.findall(r"\w+", line)
        is_name = bool(words) and len(words) <= 5 and any(w.lower() in names for w in words)
        if not line or _CONTACT_LINE.search(line) or (is_name and line[-1:] not in ".?!"):
            end -= 1
            continue
        break
    return lines[:end]


def _clean(text: str) -> str:
    for pattern in (_URL, _PLACEHOLDER, _HASHTAG, _EMOJI):
        text = pattern.sub("", text)
    text = re.sub(r"^(?:\s*@\w+)+[\s,:]*", "", text)  # addressing the team: "@BrandHelp quick q"
    text = _HANDLE.sub("you", text)  # mentioning it mid-sentence speaks to us: "a transfer from you"
    text = re.sub(r"^(?:quick (?:q|question)|question|qq)\s*[-:,]\s*", "", text, flags=re.I)
    text = re.sub(r"([?!.])\1+", r"\1", text)
    return " ".join(text.split()).strip(" ,-")


def _score(sentence: Sentence) -> float:
    text = sentence.text
    words = len(text.split())
    if _FEELING_ONLY.match(text) or words < 3:
        return 0.0
    score = 2.0 * len(_PROBLEM.findall(text)) + 1.5 * min(len(_NUMBER.findall(text)), 2)
    score += 1.0 if sentence.asks else 0.0
    score += min(words, 25) / 10 - max(0, words - 45) / 10
    return score - 0.3 * sentence.position


def _shorten(text: str) -> str:
    if len(text) <= MAX_SENTENCE:
        return text
    cut = text[:MAX_SENTENCE]
    boundaries = [m.start() for m in _CLAUSE.finditer(cut) if m.start() > MAX_SENTENCE // 2]
    end = boundaries[-1] if boundaries else cut.rfind(" ")
    return cut[:end].rstrip(" ,;-") + " ..."


_PRONOUNS = re.compile(
    r"\b(?:I['’]m|I['’]ve|I['’]d|I['’]ll|I am|I was|I wasn['’]t|I|me|my|mine|myself|"
    r"we['’]re|we['’]ve|we['’]d|we['’]ll|we were|we|us|our|ours|ourselves)\b",
    re.IGNORECASE,
)
_TURNED = {
    "i'm": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "i am": "you are",
    "i was": "you were",
    "i wasn't": "you weren't",
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "we're": "you're",
    "we've": "you've",
    "we'd": "you'd",
    "we'll": "you'll",
    "we were": "you were",
    "we": "you",
    "us": "you",
    "our": "your",
    "ours": "yours",
    "ourselves": "yourselves",
}


_LOWER_FIRST = {
    "you",
    "you're",
    "you've",
    "you'd",
    "you'll",
    "your",
    "yours",
    "the",
    "a",
    "an",
    "it",
    "it's",
    "this",
    "that",
    "there",
    "there's",
    "since",
    "after",
    "when",
    "yesterday",
    "today",
    "last",
    "new",
    "someone",
    "nobody",
    "every",
    "both",
    "two",
    "unfortunately",
    "recently",
    "about",
    "at",
    "in",
    "on",
    "all",
    "none",
    "some",
    "before",
    "now",
    "these",
}
_GENERIC_SUBJECT = re.compile(
    r"^(?:hi|hello|hey|help|help needed|question|query|enquiry|inquiry|support|support request|"
    r"request|urgent|issue|problem|complaint|feedback|contact|contact form|message|no subject|"
    r"\(no subject\)|fw|fwd|re)[\s!.?:]*$",
    re.IGNORECASE,
)
_DANGLING = {
    "the",
    "a",
    "an",
    "to",
    "of",
    "for",
    "and",
    "or",
    "but",
    "my",
    "our",
    "your",
    "in",
    "on",
    "at",
    "with",
    "from",
    "that",
    "is",
    "was",
    "i",
    "we",
    "it",
    "so",
    "because",
    "about",
    "by",
    "as",
}
