"""The long-running worker: `schedule` drives the jobs, IDLE wakes the poll early.

One bad message never stops the loop (the pipeline records it); a lost connection is
re-made with exponential backoff; a refused login stops that mailbox's worker with a
clear error instead of hammering the server; SIGTERM and SIGINT stop it cleanly between
steps. Several mailboxes run side by side, one thread and one connection each, so one
that is down or refuses the login never stalls the others.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from types import FrameType

import schedule
from imapclient.exceptions import IMAPClientError
from tenacity import RetryError, Retrying, retry_if_exception, stop_any, wait_exponential_jitter
from tenacity.stop import stop_base

from triage.adapters.prometheus import PollMetrics
from triage.cluster.coordinator import Coordinator
from triage.cluster.lease import LeasedInbox, MailboxLease, leased_engine
from triage.domain import PollSummary
from triage.errors import (
    AuthenticationError,
    ConfigError,
    DatabaseUnavailable,
    FolderRefused,
    LeaseLost,
    MailboxError,
)
from triage.judgement.classifier import Classifier
from triage.pipeline.engine import Engine, PollResult
from triage.pipeline.poll import poll
from triage.ports import Inbox
from triage.state.store import Store

logger = logging.getLogger(__name__)

CONNECTION_ERRORS = (MailboxError, IMAPClientError, OSError)
# what stops one mailbox's worker (retrying cannot help), its exit code and what the log says
STOPS: tuple[tuple[type[Exception], int, str], ...] = (
    (AuthenticationError, 3, "%s: %s; fix the credentials and start again"),
    (FolderRefused, 4, "%s: %s; fix it and start again"),
    (ConfigError, 2, "%s: configuration error: %s"),  # e.g. the password file went missing
)


def _worth_retrying(exc: BaseException) -> bool:
    """Network trouble is retried; a refused login or folder is not (no retry storm)."""
    return isinstance(exc, CONNECTION_ERRORS) and not isinstance(exc, AuthenticationError | FolderRefused)


class _StopWhen(stop_base):
    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping

    def __call__(self, retry_state: object) -> bool:
        return self.stopping.is_set()


class Daemon:
    def __init__(
        self,
        open_inbox: Callable[[], Inbox],
        store: Store,
        engine: Engine,
        clock: Callable[[], datetime],
        poll_interval: float,
        idle: bool,
        idle_timeout: float,
        reconnect_max: float,
        batch_size: int,
        retrain: Callable[[], Classifier | None] | None = None,
        retrain_every_days: float = 0,
        weekly_report: tuple[str, str, Callable[[], str]] | None = None,
        metrics: PollMetrics | None = None,
        name: str = "mailbox",
        reload: Callable[[], Engine] | None = None,
        lease: MailboxLease | None = None,
    ) -> None:
        self.name = name
        self.lease = lease  # with shared state: work the mailbox only while holding its lease
        self.poll_requested = False
        self.reload = reload
        self.reload_requested = False
        self.wake = threading.Event()  # set by a signal: stop, or reload
        self.open_inbox = open_inbox
        self.store = store
        self.engine = engine
        self.clock = clock
        self.poll_interval = poll_interval
        self.idle = idle
        self.idle_timeout = idle_timeout
        self.reconnect_max = reconnect_max
        self.batch_size = batch_size
        self.retrain = retrain
        self.retrain_every_days = retrain_every_days
        self.weekly_report = weekly_report
        self.metrics = metrics
        self.scheduler = schedule.Scheduler()
        self.stopping = threading.Event()
        self.inbox: Inbox | None = None
        self.polls = 0

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        logger.info("stopping (signal %s)", signum)
        self.stopping.set()
        self.wake.set()

    def request_poll(self) -> None:
        """Poll at once: the lease was granted (work), or given up (stand by)."""
        self.poll_requested = True
        self.wake.set()

    def request_reload(self) -> None:
        self.reload_requested = True
        self.wake.set()

    def reload_now(self) -> None:
        """Rebuild the engine from the config file (templates, rules, routing, model); on any error
        the running one stays."""
        self.reload_requested = False
        if self.reload is None:
            return
        try:
            self.engine = self.reload()
        except Exception as exc:  # a broken edit must not stop a running daemon
            logger.error("%s: reload failed, still running the previous config: %s", self.name, exc)
            notify("READY=1")
            return
        logger.info("%s: config and templates reloaded", self.name)
        notify("READY=1")

    def run(self) -> int:
        """Run until stopped; 0 on a clean stop, 3 when the login is refused."""
        return run_all([self])

    def serve(self) -> int:
        """The loop, in the calling thread; 0 on a clean stop, 3 when the login is refused."""
        self.schedule_jobs()
        try:
            self.poll_once()
            while not self.stopping.is_set():
                woke = self._wait(self._next_timeout())
                self.wake.clear()
                if self.reload_requested and not self.stopping.is_set():
                    self.reload_now()
                if (woke or self.poll_requested) and not self.stopping.is_set():
                    self.poll_requested = False
                    self.poll_once()
                self.scheduler.run_pending()
        except Exception as exc:  # never a silent clean exit: the service manager must see the failure
            code, message = next(
                ((code, message) for kind, code, message in STOPS if isinstance(exc, kind)),
                (1, "%s: stopped by an unexpected error: %s"),
            )
            logger.error(message, self.name, exc, exc_info=code == 1)
            if self.metrics is not None:
                self.metrics.record_failure()
            return code
        finally:
            self._disconnect()
        logger.info("%s: stopped after %d polls", self.name, self.polls)
        return 0

    def schedule_jobs(self) -> None:
        """The poll, and, when configured, the weekly report and the retrain."""
        self.scheduler.every(max(1, round(self.poll_interval))).seconds.do(self.poll_once)
        if self.weekly_report is not None:
            day, at, _ = self.weekly_report
            getattr(self.scheduler.every(), day).at(at).do(self.send_report)
        if self.retrain is not None and self.retrain_every_days > 0:
            self.scheduler.every(max(1, round(self.retrain_every_days * 86400))).seconds.do(self.retrain_once)

    def poll_once(self) -> PollSummary | None:
        """One poll; a connection failure drops the connection for the next attempt."""
        if self.stopping.is_set():
            return None
        if self.lease is None:
            return self._poll(self.engine)
        with self.lease.busy:  # the coordinator releases the lease only between polls
            if not self.lease.held():
                self._stand_by()
                return None
            self.store.fence = self.lease.fence()
            try:
                return self._poll(leased_engine(self.engine, self.lease))
            except LeaseLost as exc:
                logger.warning("%s: %s; stopped writing until it is held again", self.name, exc)
                self._stand_by()
                return None

    def _stand_by(self) -> None:
        """Not our mailbox now: no connection to it, none to the database on its behalf."""
        self._disconnect()
        self.store.close()

    def _poll(self, engine: Engine) -> PollSummary | None:
        started = time.monotonic()
        try:
            inbox = self._connected()
            if inbox is None:
                return None
            result = poll(
                inbox if self.lease is None else LeasedInbox(inbox, self.lease),
                self.store,
                engine,
                self.clock,
                batch_size=self.batch_size,
                keep_plans=False,
            )
        except (AuthenticationError, FolderRefused, ConfigError):
            raise
        except DatabaseUnavailable as exc:
            logger.warning("%s: state database unavailable: %s; will retry", self.name, exc)
            self.store.close()
            if self.metrics is not None:
                self.metrics.record_failure()
            return None
        except CONNECTION_ERRORS as exc:
            logger.warning("%s: mailbox connection lost: %s; will reconnect", self.name, exc)
            self._disconnect()
            if self.metrics is not None:
                self.metrics.record_failure()
            return None
        self.polls += 1
        if self.metrics is not None:
            self.metrics.record_poll(
                result.counts,
                time.monotonic() - started,
                time.time(),
                result.open_count,
                result.oldest_open_hours,
            )
        log_poll(result, time.monotonic() - started)
        return result.summary

    def send_report(self) -> None:
        """The weekly report job, by the mailbox's holder: a failure is logged and never stops the daemon."""
        assert self.weekly_report is not None
        if self.lease is not None and not self.lease.held():
            return
        try:
            logger.info("weekly report: %s", self.weekly_report[2]())
        except Exception:  # SMTP down, bad recipients: say so, keep triaging
            logger.exception("weekly report not sent")

    def retrain_once(self) -> None:
        """The scheduled retrain: a promoted model replaces the one in use, without a restart."""
        assert self.retrain is not None
        try:
            classifier = self.retrain()
        except Exception:  # a failed retrain must never stop triage; the current model stays
            logger.exception("scheduled retrain failed; keeping model %s", self.engine.classifier.version)
            return
        if classifier is not None:
            logger.info("now using model %s", classifier.version)
            self.engine = replace(self.engine, classifier=classifier)

    def _connected(self) -> Inbox | None:
        if self.inbox is not None:
            return self.inbox
        retrying = Retrying(
            retry=retry_if_exception(_worth_retrying),
            wait=wait_exponential_jitter(initial=1, max=self.reconnect_max),
            stop=stop_any(_StopWhen(self.stopping)),
            sleep=self._sleep,
            before_sleep=lambda state: logger.warning(
                "%s: cannot reach the mailbox (%s); retrying",
                self.name,
                state.outcome.exception() if state.outcome else "?",
            ),
            reraise=True,
        )
        try:
            self.inbox = retrying(self.open_inbox)
        except RetryError:
            return None
        return self.inbox

    def _sleep(self, seconds: float) -> None:
        self.stopping.wait(seconds)

    def _next_timeout(self) -> float:
        until_job = self.scheduler.idle_seconds
        timeout = self.idle_timeout if until_job is None else min(until_job, self.idle_timeout)
        return max(timeout, 0.05)

    def _wait(self, timeout: float) -> bool:
        """Wait for new mail (IDLE) or the next job; True when the mailbox said something."""
        inbox = self.inbox
        if inbox is None or not self.idle:
            self.wake.wait(timeout)
            return False
        try:
            return bool(inbox.wait_for_new_mail(timeout, self.wake))
        except CONNECTION_ERRORS as exc:
            logger.warning("%s: connection lost while waiting: %s", self.name, exc)
            self._disconnect()
            return False

    def _disconnect(self) -> None:
        if self.inbox is not None:
            try:
                self.inbox.close()
            except CONNECTION_ERRORS:
                logger.debug("close failed", exc_info=True)
            self.inbox = None


def log_poll(result: PollResult, seconds: float) -> None:
    """The one line per poll."""
    s = result.summary
    logger.info(
        "poll: seen=%d drafted=%d skipped=%d needs_review=%d failed=%d pending=%d corrections=%d (%.2fs)",
        s.seen,
        s.drafted,
        s.skipped,
        s.needs_review,
        s.failed,
        result.pending,
        result.corrections,
        seconds,
    )


def run_all(daemons: Sequence[Daemon], coordinator: Coordinator | None = None) -> int:
    """Serve every mailbox, each in its own thread, until SIGTERM or SIGINT; SIGHUP reloads.

    0 on a clean stop; 3 when every mailbox refused the login. A mailbox whose login is
    refused stops alone: the others go on, and the failure shows in the log and in
    `triage_mailbox_up`. Under systemd (Type=notify) readiness, reloads and the stop are
    reported with sd_notify. With shared state the coordinator's thread keeps the leases;
    it releases them once the workers have stopped.
    """

    def stop_all(signum: int, frame: FrameType | None) -> None:
        notify("STOPPING=1")
        for daemon in daemons:
            daemon.stop(signum, frame)

    def reload_all(signum: int, frame: FrameType | None) -> None:
        logger.info("reloading config and templates (SIGHUP)")
        notify("RELOADING=1")
        for daemon in daemons:
            daemon.request_reload()

    handlers = {signal.SIGTERM: stop_all, signal.SIGINT: stop_all, signal.SIGHUP: reload_all}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    codes: dict[str, int] = {}
    threads = [
        threading.Thread(target=lambda d=d: codes.__setitem__(d.name, d.serve()), name=d.name, daemon=True)
        for d in daemons
    ]
    beating = threading.Thread(target=coordinator.run, name="leases") if coordinator else None
    try:
        if beating is not None:
            beating.start()
        for thread in threads:
            thread.start()
        notify("READY=1")
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=0.5)  # short joins: the signal handlers run in between
    finally:
        if coordinator is not None and beating is not None:
            coordinator.stop()
            beating.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    failed = {name: code for name, code in codes.items() if code}
    if failed and len(failed) < len(daemons):
        logger.error("%s stopped on an error; the other mailboxes were served", ", ".join(failed))
    if coordinator is not None and coordinator.failed:
        return 1
    return max(failed.values()) if len(failed) == len(daemons) else 0


def notify(state: str) -> None:
    """sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, when systemd set it."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        logger.debug("sd_notify %s failed: %s", state, exc)
