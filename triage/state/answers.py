"""The answer bank: the team's answers learned from Sent, where each came from, and how their drafts fared."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from triage.state.database import Tables

_SOURCES = "FROM answer_sources s WHERE s.answer_id = answers.id"


@dataclass(frozen=True)
class SentReply:
    """A team reply not yet looked at for the answer bank."""

    id: int
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    customer: str
    customer_name: str
    subject: str
    sent_at: datetime
    body: str  # the reply's new text: greeting, body, sign-off
    quoted: str  # the customer's words the reply quotes ("" when it quotes nothing)


@dataclass(frozen=True)
class Asked:
    """A customer's question as triage read it, and the draft triage wrote for it."""

    text: str  # subject and new text
    draft: str  # the draft's body ("" when none)
    answer: str  # the learned answer the draft carried ("" when none)


@dataclass(frozen=True)
class LearnedCopy:
    """One reply that taught an answer: the question it answered and this copy's details."""

    reply_id: int
    fingerprint: str
    shape: str  # the answer with every customer detail marked
    question_id: str  # the past conversation: the question's Message-ID
    question: str
    customer: str
    greeting: str
    sign_off: str
    details: tuple[tuple[str, str], ...]  # (kind, value) at each mark of `shape`
    sent_at: datetime


@dataclass(frozen=True)
class BankAnswer:
    """A learned answer as `triage answers` lists it."""

    id: int
    body: str
    times_sent: int
    first_sent_at: datetime
    last_sent_at: datetime
    questions: tuple[str, ...]


class AnswerBank(Tables):
    """The answers and answer_sources tables, and the replies they are learned from."""

    def unlearned_replies(self, mailbox: str) -> list[SentReply]:
        rows = self.db.execute(
            "SELECT id, message_id, in_reply_to, refs, customer, customer_name, subject, sent_at, body,"
            " quoted FROM replies WHERE mailbox = ? AND learned_at IS NULL ORDER BY id",
            (mailbox,),
        )
        return [
            SentReply(
                int(r[0]),
                r[1],
                r[2],
                tuple(str(r[3] or "").split()),
                str(r[4] or ""),
                str(r[5] or ""),
                str(r[6] or ""),
                datetime.fromisoformat(r[7]),
                str(r[8] or ""),
                str(r[9] or ""),
            )
            for r in rows
        ]

    def questions_asked(self, mailbox: str, message_ids: Iterable[str]) -> dict[str, Asked]:
        """Message-ID -> what the customer asked and what triage drafted, for messages triage read."""
        found: dict[str, Asked] = {}
        for message_id in set(message_ids):
            row = self.db.execute(
                "SELECT m.model_text, m.draft_body, a.body FROM messages m LEFT JOIN answers a"
                " ON a.id = m.answer_id AND m.answer_kind = 'learned answer'"
                " WHERE m.mailbox = ? AND m.message_id = ? AND m.model_text IS NOT NULL LIMIT 1",
                (mailbox, message_id),
            ).fetchone()
            if row:
                found[message_id] = Asked(str(row[0]), str(row[1] or ""), str(row[2] or ""))
        return found

    def answer_copies(
        self, mailbox: str, fingerprints: Iterable[str]
    ) -> dict[str, list[tuple[str, tuple[tuple[str, str], ...]]]]:
        """Fingerprint -> (customer, details) of every copy already learned."""
        copies: dict[str, list[tuple[str, tuple[tuple[str, str], ...]]]] = {}
        for fingerprint in set(fingerprints):
            rows = self.db.execute(
                "SELECT s.customer, s.details FROM answer_sources s JOIN answers a ON a.id = s.answer_id"
                " WHERE a.mailbox = ? AND a.fingerprint = ?",
                (mailbox, fingerprint),
            )
            copies[fingerprint] = [(str(r[0]), _details(r[1])) for r in rows]
        return copies

    def record_answers(
        self,
        mailbox: str,
        copies: Sequence[LearnedCopy],
        bodies: Mapping[str, str],
        looked_at: Sequence[int],
        now: datetime,
    ) -> None:
        """Add what the replies taught (`bodies`: fingerprint -> the answer as drafts show it) and
        mark every reply looked at, learned from or not, in one transaction."""
        with self.transaction():
            for copy in copies:
                sent = copy.sent_at.isoformat()
                self.db.execute(
                    "INSERT INTO answers (mailbox, fingerprint, shape, body, times_sent, first_sent_at,"
                    " last_sent_at) VALUES (?, ?, ?, ?, 0, ?, ?)"
                    " ON CONFLICT (mailbox, fingerprint) DO NOTHING",
                    (mailbox, copy.fingerprint, copy.shape, bodies[copy.fingerprint], sent, sent),
                )
                (answer_id,) = self.db.execute(
                    "SELECT id FROM answers WHERE mailbox = ? AND fingerprint = ?",
                    (mailbox, copy.fingerprint),
                ).fetchone()
                self.db.execute(
                    "INSERT INTO answer_sources (mailbox, reply_id, answer_id, question_id, question,"
                    " customer, greeting, sign_off, details, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (mailbox, reply_id) DO NOTHING",
                    (
                        mailbox,
                        copy.reply_id,
                        answer_id,
                        copy.question_id,
                        copy.question,
                        copy.customer,
                        copy.greeting,
                        copy.sign_off,
                        json.dumps(copy.details),
                        sent,
                    ),
                )
            for fingerprint, body in bodies.items():
                self.db.execute(
                    "UPDATE answers SET body = ?,"
                    f" times_sent = (SELECT COUNT(*) {_SOURCES}),"
                    f" first_sent_at = (SELECT MIN(sent_at) {_SOURCES}),"
                    f" last_sent_at = (SELECT MAX(sent_at) {_SOURCES})"
                    " WHERE mailbox = ? AND fingerprint = ?",
                    (body, mailbox, fingerprint),
                )
            self.db.executemany(
                "UPDATE replies SET learned_at = ? WHERE id = ?", [(now.isoformat(), i) for i in looked_at]
            )

    def bank_size(self, mailbox: str) -> int:
        """How many replies taught an answer: the bank has grown when this has."""
        row = self.db.execute("SELECT COUNT(*) FROM answer_sources WHERE mailbox = ?", (mailbox,)).fetchone()
        return int(row[0])

    def past_questions(self, mailbox: str) -> tuple[list[tuple[int, str, str]], dict[int, str]]:
        """([(answer id, question, question's Message-ID)], {answer id: the answer as drafts show it})."""
        questions = [
            (int(r[0]), str(r[1]), str(r[2]))
            for r in self.db.execute(
                "SELECT answer_id, question, question_id FROM answer_sources WHERE mailbox = ?"
                " ORDER BY reply_id",
                (mailbox,),
            )
        ]
        bodies = {
            int(r[0]): str(r[1])
            for r in self.db.execute("SELECT id, body FROM answers WHERE mailbox = ?", (mailbox,))
        }
        return questions, bodies

    def learned_answers(self, mailbox: str) -> list[BankAnswer]:
        """Every learned answer, most often sent first, with the questions it answered."""
        answers = []
        for r in self.db.execute(
            "SELECT id, body, times_sent, first_sent_at, last_sent_at FROM answers WHERE mailbox = ?"
            " ORDER BY times_sent DESC, id",
            (mailbox,),
        ):
            questions = tuple(
                str(q[0])
                for q in self.db.execute(
                    "SELECT question FROM answer_sources WHERE answer_id = ? ORDER BY sent_at", (r[0],)
                )
            )
            answers.append(
                BankAnswer(
                    int(r[0]),
                    str(r[1]),
                    int(r[2]),
                    datetime.fromisoformat(r[3]),
                    datetime.fromisoformat(r[4]),
                    questions,
                )
            )
        return answers

    def answer_drafts_and_replies(self, mailbox: str) -> list[tuple[int, str, str]]:
        """(learned answer id, draft body, what the team sent) for every sent reply to a draft that
        carried a learned answer."""
        rows = self.db.execute(
            "SELECT m.answer_id, m.draft_body, r.body FROM replies r JOIN messages m"
            " ON m.mailbox = r.mailbox AND m.message_id = r.in_reply_to"
            " WHERE r.mailbox = ? AND m.answer_kind = 'learned answer' AND m.draft_body IS NOT NULL",
            (mailbox,),
        )
        return [(int(r[0]), str(r[1]), str(r[2] or "")) for r in rows]


def _details(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(kind), str(value)) for kind, value in json.loads(text))
