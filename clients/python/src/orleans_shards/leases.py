"""``LeaseWorker``: lease a job's tasks, read their records, keep the leases alive, report each task."""

from __future__ import annotations

import collections
import logging
import os
import socket
import threading
import uuid
from typing import Any, Deque, Dict, Iterator, List, Optional, Set, Tuple, Union

from .client import Client, Columns
from .errors import ShardsError

log = logging.getLogger("orleans_shards")

ENDED_STATES = ("completed", "failed", "cancelled")
LIVE_KINDS = ("topic", "redisstreams")


def default_worker_id(prefix: str = "py") -> str:
    """A worker id unique to this process: host, pid and a random suffix."""
    return f"{prefix}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def is_live(status: Dict[str, Any]) -> bool:
    """Whether a job reads a live source (a topic, Redis Streams, watched objects): one endless epoch."""
    spec = status.get("spec") or {}
    sources = [spec.get("source")] + [entry.get("source") for entry in spec.get("sources") or [] if isinstance(entry, dict)]
    for source in sources:
        if isinstance(source, dict) and (source.get("kind") in LIVE_KINDS or source.get("watch") is True):
            return True
    return any(p.get("highWatermark") is not None for p in status.get("partitions") or [])


class _Heartbeat(threading.Thread):
    """Renews the leases a worker holds, from a background thread, every ``interval`` seconds."""

    def __init__(self, client: Client, job: str, worker_id: str, interval: float) -> None:
        super().__init__(name=f"orleans-shards-heartbeat-{worker_id}", daemon=True)
        self._client = client
        self._job = job
        self._worker_id = worker_id
        self.interval = interval
        self._held: Set[str] = set()
        self._lost: Set[str] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def hold(self, lease_id: str) -> None:
        with self._lock:
            self._held.add(lease_id)

    def drop(self, lease_id: str) -> None:
        with self._lock:
            self._held.discard(lease_id)
            self._lost.discard(lease_id)

    def is_lost(self, lease_id: str) -> bool:
        with self._lock:
            return lease_id in self._lost

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            with self._lock:
                held = sorted(self._held - self._lost)
            if not held:
                continue
            try:
                renewals = self._client.heartbeat(self._job, self._worker_id, held)
            except ShardsError as error:
                log.warning("job %s: heartbeat of %d lease(s) failed, trying again in %.1f s: %s", self._job, len(held), self.interval, error)
                continue
            except Exception:  # never let the thread die silently: the leases would expire
                log.exception("job %s: heartbeat failed", self._job)
                continue
            with self._lock:
                for renewal in renewals:
                    if renewal.get("expiresAt") is None and renewal.get("leaseId") in self._held:
                        # Expired and handed to another worker: our report would be refused.
                        self._lost.add(renewal["leaseId"])
                        log.warning("job %s: lease %s lost: it expired before its heartbeat and another worker has the task", self._job, renewal["leaseId"])

    def stop(self) -> None:
        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=self._client._http.timeout + 1)


class LeasedTask:
    """A task the worker holds a lease on: its shard and its records.

    Attributes: ``task_id``, ``lease_id``, ``epoch``, ``attempt``, ``shard`` (``{"partition",
    "start", "end", ...}``), ``expires_at`` (as the server sent it). Read the records with
    :meth:`records` (dicts) or :meth:`pages` (lists of dicts, or ``pyarrow.Table`` with Arrow).
    The worker reports the task done when you move on to the next task; :meth:`fail` reports it
    failed instead, :meth:`done` reports it now.
    """

    def __init__(self, worker: "LeaseWorker", lease: Dict[str, Any]) -> None:
        self._worker = worker
        self.lease = lease
        self.task_id: str = lease["taskId"]
        self.lease_id: str = lease["leaseId"]
        self.epoch: int = int(lease.get("epoch", 0))
        self.attempt: int = int(lease.get("attempt", 1))
        self.shard: Dict[str, Any] = lease.get("shard") or {}
        self.expires_at: Optional[str] = lease.get("expiresAt")
        self.outcome: Optional[str] = None  # "done", "failed", "released" or "lost" once settled

    @property
    def settled(self) -> bool:
        """Whether the task was reported (or released, or found lost)."""
        return self.outcome is not None

    @property
    def lost(self) -> bool:
        """Whether the lease expired and the task went to another worker (a heartbeat found out)."""
        return self._worker._heartbeat.is_lost(self.lease_id)

    def pages(self) -> Iterator[Any]:
        """The task's records page by page (``page_size`` records a page), following ``nextOffset``."""
        client = self._worker.client
        for page in client.task_pages(
            self._worker.job, self.task_id, columns=self._worker.columns, limit=self._worker.page_size, format=self._worker.format
        ):
            yield page.records

    def records(self) -> Iterator[Dict[str, Any]]:
        """The task's records, one dict each, in the shard's order."""
        for page in self.pages():
            if self._worker.format == "arrow":
                from .arrow import table_rows

                page = table_rows(page)
            yield from page

    def done(self) -> None:
        """Reports the task done now (the worker does it by itself when you move on)."""
        self._worker._report(self, "done", None)

    def fail(self, error: Union[BaseException, str]) -> None:
        """Reports the task failed with the error's text; the job retries it (elsewhere) up to its maxAttempts."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self._worker._report(self, "failed", text)

    def __repr__(self) -> str:
        return f"LeasedTask({self.task_id!r}, lease={self.lease_id!r}, epoch={self.epoch}, attempt={self.attempt})"


class LeaseWorker:
    """A worker on one job: an iterator of :class:`LeasedTask` and a context manager.

    ::

        with LeaseWorker("http://127.0.0.1:5080", "my-job") as worker:
            for task in worker:
                for record in task.records():
                    train(record)

    Every lease request carries a fresh ``requestId`` (its retries the same one). A background
    thread renews the held leases every ``heartbeat_interval`` seconds (default: a third of the
    job's ``leaseTimeoutSeconds``). Moving on to the next task reports the previous one done
    (unless it was reported already); an exception out of the ``with`` block reports the task in
    hand failed with the exception's text; Ctrl+C (KeyboardInterrupt), ``SystemExit``, a ``break``
    or :meth:`close` release the leases in hand, so their shards go back to the queue at once. A
    task whose lease was lost (expired, another worker has it) is skipped.

    Iteration ends when the job has ended (completed, failed, cancelled). With ``epoch`` it also
    ends as soon as no shard of that epoch is left to lease (a lease of a later epoch is released
    at once); a live job has one endless epoch, so it waits for records instead. Without
    ``epoch`` it waits (``retryAfterMs``) while others finish an epoch or the job is paused.

    Args:
        server: the server's URL or a :class:`Client`.
        job: the job id.
        worker_id: this worker's id (default: host, pid and a random suffix).
        max_tasks: tasks leased per request.
        columns: the columns to read (default all).
        format: ``"json"`` (dicts) or ``"arrow"`` (``pyarrow.Table`` pages; needs pyarrow).
        page_size: records per page (default: the server's page size).
        token: the bearer token, when ``server`` is a URL.
        heartbeat_interval: seconds between heartbeats.
        epoch: lease only shards of this epoch (see above).
    """

    def __init__(
        self,
        server: Union[str, Client],
        job: str,
        *,
        worker_id: Optional[str] = None,
        max_tasks: int = 1,
        columns: Columns = None,
        format: str = "json",
        page_size: Optional[int] = None,
        token: Optional[str] = None,
        heartbeat_interval: Optional[float] = None,
        epoch: Optional[int] = None,
    ) -> None:
        if format not in ("json", "arrow"):
            raise ValueError(f"format '{format}' is neither 'json' nor 'arrow'")
        if format == "arrow":
            from .arrow import require_pyarrow

            require_pyarrow()
        if max_tasks < 1:
            raise ValueError("max_tasks must be 1 or more")
        self.client = Client.of(server, token)
        self.job = job
        self.worker_id = worker_id or default_worker_id()
        self.max_tasks = max_tasks
        self.columns = columns
        self.format = format
        self.page_size = page_size
        self.epoch = epoch
        self.state: Optional[str] = None  # the job's state in the last lease answer
        self.tasks_done = 0
        self.tasks_failed = 0
        status = self.client.job(job)
        self.live = is_live(status)
        lease_seconds = float((status.get("spec") or {}).get("leaseTimeoutSeconds") or 60)
        self._heartbeat = _Heartbeat(self.client, job, self.worker_id, heartbeat_interval or max(0.2, lease_seconds / 3.0))
        self._pending: Deque[Dict[str, Any]] = collections.deque()
        self._current: Optional[LeasedTask] = None
        self._exhausted = False
        self._closed = False
        # A lease request or a report that an interruption (Ctrl+C, a signal) cut off before its
        # answer: close() sends it again (both are idempotent) to learn what the server did.
        self._asking: Optional[str] = None
        self._reporting: Optional[Tuple[LeasedTask, str, Optional[str]]] = None
        self._wake = threading.Event()
        self._heartbeat.start()

    # -- iteration ---------------------------------------------------------------------------

    def __iter__(self) -> "LeaseWorker":
        return self

    def __next__(self) -> LeasedTask:
        current = self._current
        if current is not None and not current.settled:
            self._report(current, "done", None)
        self._current = None
        while True:
            if self._closed:
                raise StopIteration
            if self._pending:
                lease = self._pending.popleft()
                if self._heartbeat.is_lost(lease["leaseId"]):
                    # It expired while earlier tasks of this batch ran: another worker has it now.
                    self._heartbeat.drop(lease["leaseId"])
                    continue
                self._current = LeasedTask(self, lease)
                return self._current
            if self._exhausted:
                self._finish()
                raise StopIteration
            self._lease_more()

    def _lease_more(self) -> None:
        self._asking = uuid.uuid4().hex
        answer = self.client.lease(self.job, self.worker_id, self.max_tasks, self._asking)
        self.state = answer.get("state")
        leases: List[Dict[str, Any]] = answer.get("leases") or []
        if self.epoch is not None:
            later = [lease for lease in leases if int(lease.get("epoch", 0)) > self.epoch]
            if later:
                # The epoch ended and the job moved on: those shards belong to the next pass.
                self.client.release(self.job, self.worker_id, [lease["leaseId"] for lease in later])
                leases = [lease for lease in leases if lease not in later]
                self._exhausted = True
        for lease in leases:
            self._heartbeat.hold(lease["leaseId"])
        self._pending.extend(leases)
        self._asking = None
        if leases or self._exhausted:
            return
        if self.state in ENDED_STATES:
            self._exhausted = True
            return
        if self.epoch is not None and not self.live and self.state == "running":
            # No shard of this epoch is left to lease (the rest are in flight elsewhere): the pass ends now.
            self._exhausted = True
            return
        retry_ms = answer.get("retryAfterMs") or 1000
        self._wake.wait(retry_ms / 1000.0)

    # -- reports -----------------------------------------------------------------------------

    def _report(self, task: LeasedTask, outcome: str, error: Optional[str]) -> None:
        if task.settled:
            return
        self._reporting = (task, outcome, error)
        try:
            self.client.report(self.job, task.task_id, task.lease_id, self.worker_id, outcome, error)
            self._reporting = None
            task.outcome = outcome
            if outcome == "done":
                self.tasks_done += 1
            else:
                self.tasks_failed += 1
        except ShardsError as report_error:
            self._reporting = None
            if report_error.status != 409:
                raise
            task.outcome = "lost"
            log.warning("job %s: task %s: lease lost before the report (%s); another worker has the task",
                        self.job, task.task_id, report_error.detail)
        finally:
            self._heartbeat.drop(task.lease_id)

    # -- ending ------------------------------------------------------------------------------

    def close(self) -> None:
        """Releases the leases still held (the task in hand if unreported, and leased ones not
        started) and stops the heartbeats. A report or lease request that an interruption cut off
        is sent again first (both are idempotent), so no lease is left behind. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._heartbeat.stop()
        try:
            if self._reporting is not None:
                task, outcome, error = self._reporting
                self._report(task, outcome, error)
            if self._asking is not None:
                # Which leases did the interrupted request get? The same requestId gets the same answer.
                answer = self.client.lease(self.job, self.worker_id, self.max_tasks, self._asking)
                self._asking = None
                self._pending.extend(answer.get("leases") or [])
        except ShardsError as error:
            log.warning("job %s: could not settle an interrupted request: %s", self.job, error)
        held: List[str] = []
        current = self._current
        if current is not None and not current.settled:
            current.outcome = "released"
            held.append(current.lease_id)
        held.extend(lease["leaseId"] for lease in self._pending if lease["leaseId"] not in held)
        self._pending.clear()
        if held:
            try:
                released = self.client.release(self.job, self.worker_id, held)
                log.info("job %s: released %d lease(s) of worker %s", self.job, released, self.worker_id)
            except ShardsError as error:
                log.warning("job %s: could not release %d lease(s); they expire by themselves: %s", self.job, len(held), error)

    def _finish(self) -> None:
        self._closed = True
        self._heartbeat.stop()

    def __enter__(self) -> "LeaseWorker":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        current = self._current
        if isinstance(exc, Exception) and current is not None and not current.settled:
            try:
                current.fail(exc)
            except ShardsError as error:
                log.warning("job %s: could not report task %s failed: %s", self.job, current.task_id, error)
        self.close()

    def __del__(self) -> None:
        # A worker dropped without close(): stop the thread; the leases expire on the server.
        heartbeat = getattr(self, "_heartbeat", None)
        if heartbeat is not None:
            heartbeat._stopped.set()
