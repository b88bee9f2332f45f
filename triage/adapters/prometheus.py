"""The optional /metrics endpoint for Prometheus (daemon.metrics_port; off by default)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class PollMetrics:
    """What each poll updates; served on 127.0.0.1 unless an address is configured."""

    def __init__(self, mailbox: str, shared: PollMetrics | None = None) -> None:
        self.mailbox = mailbox
        if shared is not None:  # another mailbox of the same daemon: same registry, its own label
            self.__dict__.update({k: v for k, v in vars(shared).items() if k != "mailbox"})
            return
        self.registry = CollectorRegistry()
        labels = ["mailbox"]
        self.open = Gauge(
            "triage_open_conversations", "Conversations waiting for the team", labels, registry=self.registry
        )
        self.oldest = Gauge(
            "triage_oldest_open_hours", "Age of the oldest open conversation", labels, registry=self.registry
        )
        self.messages = Counter(
            "triage_messages",
            "Messages handled, by outcome and label",
            [*labels, "outcome", "label"],
            registry=self.registry,
        )
        self.duration = Gauge(
            "triage_poll_duration_seconds", "Duration of the last poll", labels, registry=self.registry
        )
        self.last_success = Gauge(
            "triage_last_successful_poll_timestamp_seconds",
            "When the last poll succeeded",
            labels,
            registry=self.registry,
        )
        self.failures = Counter(
            "triage_poll_failures", "Polls that lost the connection", labels, registry=self.registry
        )
        self.up = Gauge(
            "triage_mailbox_up",
            "1 when the last poll of the mailbox succeeded, 0 when it is unreachable or refused the login",
            labels,
            registry=self.registry,
        )
        self.holders = Gauge(
            "triage_mailbox_holder",
            "1 for the daemon (host:pid) that holds the mailbox's lease, as the shared state says",
            [*labels, "holder"],
            registry=self.registry,
        )

    def for_mailbox(self, mailbox: str) -> PollMetrics:
        return PollMetrics(mailbox, shared=self)

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        start_http_server(port, addr=address, registry=self.registry)

    def record_poll(
        self,
        counts: Mapping[tuple[str, str], int],
        seconds: float,
        at: float,
        open_count: int,
        oldest: float | None,
    ) -> None:
        """`counts`: messages handled in the poll by (outcome, label)."""
        for (outcome, label), count in counts.items():
            self.messages.labels(self.mailbox, outcome, label).inc(count)
        self.duration.labels(self.mailbox).set(seconds)
        self.last_success.labels(self.mailbox).set(at)
        self.open.labels(self.mailbox).set(open_count)
        self.oldest.labels(self.mailbox).set(oldest or 0)
        self.up.labels(self.mailbox).set(1)

    def record_holders(self, holders: Mapping[str, str]) -> None:
        """Which daemon holds which mailbox now (every mailbox of the shared state, not only ours)."""
        self.holders.clear()
        for mailbox, holder in holders.items():
            self.holders.labels(mailbox, holder).set(1)

    def record_failure(self) -> None:
        self.failures.labels(self.mailbox).inc()
        self.up.labels(self.mailbox).set(0)
