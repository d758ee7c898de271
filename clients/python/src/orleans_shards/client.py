"""``Client``: the routes of the OrleansShards HTTP API (jobs, leases, records, topics, runs)."""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Union
from urllib.parse import quote

from ._http import Transport
from .errors import ShardsError

if TYPE_CHECKING:  # pragma: no cover
    from .leases import LeaseWorker
    from .runs import Run

log = logging.getLogger("orleans_shards")

PathLike = Union[str, "os.PathLike[str]"]
Columns = Optional[Union[str, Sequence[str]]]

ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.stream"


def _segment(value: Union[str, int]) -> str:
    return quote(str(value), safe="")


def _columns(columns: Columns) -> Optional[str]:
    if columns is None:
        return None
    if isinstance(columns, str):
        return columns
    return ",".join(columns)


def load_document(path: PathLike) -> Any:
    """Reads a JSON or YAML file (YAML by the suffix ``.yaml``/``.yml``; YAML needs PyYAML)."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    if file.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import]
        except ImportError:
            raise ImportError(
                f"'{file}' is YAML, and reading YAML needs PyYAML, which is not installed here "
                "(pip install pyyaml, or Debian's python3-yaml); or write the spec as JSON"
            ) from None
        return yaml.safe_load(text)
    try:
        return json.loads(text)
    except ValueError as error:
        raise ValueError(f"'{file}' is not valid JSON: {error}") from None


class RecordPage(NamedTuple):
    """One page of a task's records.

    ``records`` is a list of dicts (JSON) or a ``pyarrow.Table`` (Arrow); ``next_offset`` the offset
    of the next page within the shard, ``None`` after the last page.
    """

    records: Any
    next_offset: Optional[int]


class TopicRecord(NamedTuple):
    """A record of a topic partition: its offset and its JSON value."""

    offset: int
    value: Any


class Client:
    """A client of one OrleansShards server.

    ``Client("http://127.0.0.1:5080", token=None)``. Every method sends one request (or a few, for
    iterators) and returns the answer's JSON as dicts and lists. Answers ``503`` and other ``5xx``
    and connection errors are retried with exponential back-off (honouring ``Retry-After``) up to
    ``retries`` times; ``4xx`` answers are never retried. Errors raise :class:`ShardsError`, which
    carries the server's ProblemDetails (``status``, ``title``, ``detail``, ``field``).

    Retried lease requests carry the same ``requestId`` (the server gives the same leases) and
    reports are idempotent, so retries never double work; a topic append that failed after the
    server stored it is appended again when retried (at least once).

    A Client may be shared by threads (each thread uses its own connection) and survives ``fork``
    and pickling (DataLoader workers): connections are never shared between processes.
    """

    def __init__(
        self,
        base_url: str,
        token: Optional[str] = None,
        *,
        timeout: float = 60.0,
        retries: int = 6,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
    ) -> None:
        self._http = Transport(base_url, token, timeout=timeout, retries=retries, backoff=backoff, max_backoff=max_backoff)

    @property
    def base_url(self) -> str:
        """The server's base URL, without a trailing '/'."""
        return self._http.base_url

    @property
    def token(self) -> Optional[str]:
        """The bearer token sent with every request, if any."""
        return self._http.token

    def close(self) -> None:
        """Closes the calling thread's connection."""
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    @staticmethod
    def of(server: Union[str, "Client"], token: Optional[str] = None) -> "Client":
        """``server`` itself when it is a Client, else a new Client of that URL."""
        return server if isinstance(server, Client) else Client(server, token)

    # -- raw ---------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """Sends ``method path`` (a path of the API such as ``/v1/jobs``) with a JSON body and returns
        the answer's JSON (``None`` for an empty answer). Retries as the class says."""
        return self._http.request(method, path, query=query, json_body=body, timeout=timeout).json()

    def _object(self, method: str, path: str, body: Any = None, *, query: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        answer = self.request(method, path, body, query=query)
        if not isinstance(answer, dict):
            raise ShardsError(None, f"{method} {path}: the answer is a JSON {type(answer).__name__}, not an object", method=method, url=self._http.url(path, query))
        return answer

    def _list(self, key: str, method: str, path: str, body: Any = None) -> List[Any]:
        answer = self._object(method, path, body).get(key)
        if not isinstance(answer, list):
            raise ShardsError(None, f"{method} {path}: the answer has no list '{key}'", method=method, url=self._http.url(path))
        return answer

    # -- health ------------------------------------------------------------------------------

    def health(self) -> Dict[str, Any]:
        """``GET /healthz``: the server is alive."""
        return self._object("GET", "/healthz")

    # -- jobs --------------------------------------------------------------------------------

    @staticmethod
    def _job(job: str) -> str:
        return "/v1/jobs/" + _segment(job)

    def create_job(self, spec: Union[Mapping[str, Any], PathLike]) -> Dict[str, Any]:
        """Creates a job from a spec (a dict, or the path of a JSON or YAML file) and returns its status.

        The same spec again returns the existing job's status; another spec under the same id
        raises ShardsError 409.
        """
        document = load_document(spec) if isinstance(spec, (str, os.PathLike)) else dict(spec)
        if not isinstance(document, dict):
            raise ValueError(f"a job spec is a mapping (JSON object), not {type(document).__name__}")
        return self._object("POST", "/v1/jobs", document)

    def job(self, job: str) -> Dict[str, Any]:
        """The job's status (``state``, ``epoch``, ``epochs``, ``shards``, ``records``, ``partitions``, ``spec``, ...)."""
        return self._object("GET", self._job(job))

    def jobs(self) -> List[Dict[str, Any]]:
        """The status of every job."""
        return self._list("jobs", "GET", "/v1/jobs")

    def pause(self, job: str) -> Dict[str, Any]:
        """Pauses the job (no new leases; leases in flight may finish); returns the new status."""
        return self._object("POST", self._job(job) + "/pause")

    def resume(self, job: str) -> Dict[str, Any]:
        """Resumes a paused job; returns the new status."""
        return self._object("POST", self._job(job) + "/resume")

    def cancel(self, job: str) -> Dict[str, Any]:
        """Cancels the job (leases refused from now on, state kept); returns the new status."""
        return self._object("POST", self._job(job) + "/cancel")

    def delete_job(self, job: str) -> None:
        """Deletes the job and its stored state."""
        self.request("DELETE", self._job(job))

    def export_checkpoint(self, job: str, path: Optional[PathLike] = None) -> Dict[str, Any]:
        """The job's checkpoint document; also written to ``path`` (JSON) when given."""
        document = self._object("GET", self._job(job) + "/checkpoint")
        if path is not None:
            Path(path).write_text(json.dumps(document), encoding="utf-8")
        return document

    def import_checkpoint(self, document: Union[Mapping[str, Any], PathLike], job: Optional[str] = None) -> Dict[str, Any]:
        """Creates a job from a checkpoint document (a dict or a JSON file), under ``job`` when given
        instead of the document's id; leases that were in flight are re-queued. Returns its status."""
        body = load_document(document) if isinstance(document, (str, os.PathLike)) else dict(document)
        return self._object("POST", "/v1/jobs/import", body, query={"id": job})

    # -- leases ------------------------------------------------------------------------------

    def lease(self, job: str, worker_id: str, max_tasks: int = 1, request_id: Optional[str] = None) -> Dict[str, Any]:
        """Asks for up to ``max_tasks`` leases: ``{"leases": [...], "state", "retryAfterMs"?}``.

        ``request_id`` (a fresh one when not given) makes the request idempotent: the retries of
        this call carry it, and the server answers them with the same leases.
        """
        body = {"workerId": worker_id, "maxTasks": max_tasks, "requestId": request_id or uuid.uuid4().hex}
        return self._object("POST", self._job(job) + "/leases", body)

    def report(
        self, job: str, task_id: str, lease_id: str, worker_id: str, outcome: str = "done", error: Optional[str] = None
    ) -> Dict[str, Any]:
        """Reports a leased task ``"done"`` or ``"failed"`` (with ``error``). The same report again changes
        nothing; a lease that expired and went to another worker raises ShardsError 409."""
        body: Dict[str, Any] = {"taskId": task_id, "leaseId": lease_id, "workerId": worker_id, "outcome": outcome}
        if error is not None:
            body["error"] = error
        return self._object("POST", self._job(job) + "/reports", body)

    def heartbeat(self, job: str, worker_id: str, lease_ids: Sequence[str]) -> List[Dict[str, Any]]:
        """Extends leases: ``[{"leaseId", "expiresAt"}]``, ``expiresAt`` null for a lease no longer held."""
        return self._list("leases", "POST", self._job(job) + "/heartbeats", {"workerId": worker_id, "leaseIds": list(lease_ids)})

    def release(self, job: str, worker_id: str, lease_ids: Sequence[str]) -> int:
        """Ends leases now and puts their shards back in the queue; returns how many were released."""
        answer = self.request("POST", self._job(job) + "/releases", {"workerId": worker_id, "leaseIds": list(lease_ids)})
        return int(answer.get("released", 0))

    def leases(self, job: str) -> List[Dict[str, Any]]:
        """The job's leases in flight: ``[{"taskId", "leaseId", "workerId", "attempt", "expiresAt"}]``."""
        return self._list("leases", "GET", self._job(job) + "/leases")

    def records(
        self,
        job: str,
        task_id: str,
        *,
        columns: Columns = None,
        offset: int = 0,
        limit: Optional[int] = None,
        format: str = "json",
    ) -> RecordPage:
        """One page of a task's records from ``offset`` (within the shard).

        ``format="json"``: a list of dicts. ``format="arrow"``: a ``pyarrow.Table`` (needs pyarrow;
        :func:`orleans_shards.arrow.require_pyarrow` says so when it is missing).
        """
        if format not in ("json", "arrow"):
            raise ValueError(f"format '{format}' is neither 'json' nor 'arrow'")
        path = f"{self._job(job)}/tasks/{_segment(task_id)}/records"
        query = {"columns": _columns(columns), "offset": offset, "limit": limit, "format": format}
        if format == "arrow":
            from .arrow import read_stream, require_pyarrow

            require_pyarrow()
            response = self._http.request("GET", path, query=query, accept=ARROW_MEDIA_TYPE)
            next_offset = response.headers.get("X-Next-Offset")
            return RecordPage(read_stream(response.body), int(next_offset) if next_offset else None)
        page = self._http.request("GET", path, query=query).json()
        next_offset = page.get("nextOffset")
        return RecordPage(page["records"], int(next_offset) if next_offset is not None else None)

    def arrow_bytes(self, job: str, task_id: str, *, columns: Columns = None, offset: int = 0, limit: Optional[int] = None) -> RecordPage:
        """One page of a task's records as the Arrow IPC stream's bytes, undecoded (no pyarrow needed)."""
        path = f"{self._job(job)}/tasks/{_segment(task_id)}/records"
        query = {"columns": _columns(columns), "offset": offset, "limit": limit, "format": "arrow"}
        response = self._http.request("GET", path, query=query, accept=ARROW_MEDIA_TYPE)
        next_offset = response.headers.get("X-Next-Offset")
        return RecordPage(response.body, int(next_offset) if next_offset else None)

    def task_pages(
        self, job: str, task_id: str, *, columns: Columns = None, limit: Optional[int] = None, format: str = "json"
    ) -> Iterator[RecordPage]:
        """Every page of a task's records, following ``nextOffset`` from 0."""
        offset: Optional[int] = 0
        while offset is not None:
            page = self.records(job, task_id, columns=columns, offset=offset, limit=limit, format=format)
            yield page
            offset = page.next_offset

    def lease_worker(self, job: str, **options: Any) -> "LeaseWorker":
        """A :class:`~orleans_shards.LeaseWorker` of this client on ``job`` (options as LeaseWorker's)."""
        from .leases import LeaseWorker

        return LeaseWorker(self, job, **options)

    # -- topics ------------------------------------------------------------------------------

    @staticmethod
    def _partition(topic: str, partition: int) -> str:
        return f"/v1/topics/{_segment(topic)}/partitions/{int(partition)}"

    def create_topic(self, name: str, partitions: int) -> Dict[str, Any]:
        """Creates a topic of ``partitions`` partitions (the same again is fine; another count is 409)."""
        return self._object("POST", "/v1/topics", {"name": name, "partitions": partitions})

    def topics(self) -> List[Any]:
        """The topics."""
        return self._list("topics", "GET", "/v1/topics")

    def topic(self, name: str) -> Dict[str, Any]:
        """A topic with each partition's first retained offset and high-water mark."""
        return self._object("GET", "/v1/topics/" + _segment(name))

    def delete_topic(self, name: str) -> None:
        """Deletes a topic and its records."""
        self.request("DELETE", "/v1/topics/" + _segment(name))

    def append(self, topic: str, partition: int, records: Sequence[Any]) -> Dict[str, Any]:
        """Appends records (JSON objects) to a partition; answered ``{"firstOffset", "nextOffset"}``
        once they are durable. A retried append (5xx, connection lost) may store them twice."""
        return self._object("POST", self._partition(topic, partition) + "/records", list(records))

    def read(self, topic: str, partition: int, offset: int = 0, limit: Optional[int] = None) -> Dict[str, Any]:
        """Records of a partition from ``offset``: ``{"records": [{"offset", "value"}], "nextOffset", "highWatermark"}``."""
        return self._object("GET", self._partition(topic, partition) + "/records", query={"from": offset, "limit": limit})

    def follow(
        self, topic: str, partition: int, offset: int = 0, *, reconnect: bool = True, idle_timeout: float = 60.0
    ) -> Iterator[TopicRecord]:
        """Follows a partition over Server-Sent Events from ``offset``: yields every record, then each
        new one as it lands, for ever (close the iterator or break to stop).

        After a disconnect (or ``idle_timeout`` seconds without even a keep-alive) it reconnects
        with ``Last-Event-ID``, so it resumes after the last record it yielded: none is lost or
        repeated. Connection failures back off as requests do; a run of failures longer than the
        client's ``retries`` raises ShardsError, as do error answers (404, 410 when retention
        removed records not yet read).
        """
        from .topics import follow

        return follow(self._http, self._partition(topic, partition) + "/stream", offset, reconnect=reconnect, idle_timeout=idle_timeout)

    # -- runs --------------------------------------------------------------------------------

    @staticmethod
    def _run(job: str, run: str) -> str:
        return f"/v1/jobs/{_segment(job)}/runs/{_segment(run)}"

    def create_run(self, job: str, run: str, global_batch_size: int, drop_remainder: Optional[bool] = None) -> Dict[str, Any]:
        """Creates a training run of ``job`` with a global batch size; returns its status (the same spec
        again is fine, another under the same name is 409)."""
        body: Dict[str, Any] = {"run": run, "globalBatchSize": global_batch_size}
        if drop_remainder is not None:
            body["dropRemainder"] = drop_remainder
        return self._object("POST", self._job(job) + "/runs", body)

    def runs(self, job: str) -> List[Dict[str, Any]]:
        """The status of every run of the job."""
        return self._list("runs", "GET", self._job(job) + "/runs")

    def run_status(self, job: str, run: str) -> Dict[str, Any]:
        """A run's status: ``globalBatchSize``, ``stepsPerEpoch`` (None when live), ``epochs``,
        ``committed``, ``resumeAt`` ``{"epoch", "step"}``, ..."""
        return self._object("GET", self._run(job, run))

    def run_batch(
        self,
        job: str,
        run: str,
        epoch: int,
        step: int,
        rank: int = 0,
        world_size: int = 1,
        *,
        columns: Columns = None,
        format: str = "json",
        wait_ms: Optional[int] = None,
    ) -> Dict[str, Any]:
        """One rank's batch of a step: ``{"epoch", "step", "rank", "worldSize", "records"}`` with
        exactly ``globalBatchSize / world_size`` records (a ``pyarrow.Table`` with ``format="arrow"``).

        A step of a live run that is not full yet answers ``records`` empty with ``retryAfterMs``
        (the server waited up to ``wait_ms``): ask again.
        """
        query = {
            "epoch": epoch, "step": step, "rank": rank, "worldSize": world_size,
            "columns": _columns(columns), "waitMs": wait_ms,
        }
        path = self._run(job, run) + "/batches"
        timeout = self._http.timeout + (wait_ms or 0) / 1000.0
        if format == "arrow":
            from .arrow import read_stream, require_pyarrow

            require_pyarrow()
            query["format"] = "arrow"
            response = self._http.request("GET", path, query=query, accept=ARROW_MEDIA_TYPE, timeout=timeout)
            if response.status == 204 or not response.body:
                return _not_full(epoch, step, rank, world_size, response.headers.get("Retry-After"))
            return {"epoch": epoch, "step": step, "rank": rank, "worldSize": world_size, "records": read_stream(response.body)}
        if format != "json":
            raise ValueError(f"format '{format}' is neither 'json' nor 'arrow'")
        response = self._http.request("GET", path, query=query, timeout=timeout)
        answer: Optional[Dict[str, Any]] = response.json()
        if answer is None:
            # 204: the step is not full yet (the older form of the answer; 200 with no records is the other).
            return _not_full(epoch, step, rank, world_size, response.headers.get("Retry-After"))
        return answer

    def commit(self, job: str, run: str, epoch: int, step: int, checkpoint: Optional[str] = None) -> Dict[str, Any]:
        """Commits step ``(epoch, step)`` of a run, with the name of the trainer's checkpoint that holds it;
        durable once answered. Returns the run's status; going backwards raises ShardsError 409."""
        body: Dict[str, Any] = {"epoch": epoch, "step": step}
        if checkpoint is not None:
            body["checkpoint"] = checkpoint
        return self._object("POST", self._run(job, run) + "/commits", body)

    def rewind(
        self, job: str, run: str, checkpoint: Optional[str] = None, *, epoch: Optional[int] = None, step: Optional[int] = None
    ) -> Dict[str, Any]:
        """Rewinds a run to an earlier commit, named by its checkpoint or by ``epoch`` and ``step``:
        ``resumeAt`` becomes the step after it and later commits are forgotten. Returns the run's status."""
        if checkpoint is not None:
            if epoch is not None or step is not None:
                raise ValueError("rewind takes a checkpoint name or an epoch and step, not both")
            body: Dict[str, Any] = {"checkpoint": checkpoint}
        elif epoch is not None and step is not None:
            body = {"epoch": epoch, "step": step}
        else:
            raise ValueError("rewind needs a checkpoint name, or both epoch and step")
        return self._object("POST", self._run(job, run) + "/rewind", body)

    def delete_run(self, job: str, run: str) -> None:
        """Deletes a run."""
        self.request("DELETE", self._run(job, run))

    def run(self, job: str, run: str) -> "Run":
        """A handle on one run: status, per-rank batches from ``resumeAt``, commit, rewind."""
        from .runs import Run

        return Run(self, job, run)

    # Pickling: a Client crosses into spawned DataLoader workers as its configuration.
    def __getstate__(self) -> Dict[str, Any]:
        return {"_http": self._http}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self._http = state["_http"]


def _not_full(epoch: int, step: int, rank: int, world_size: int, retry_after: Optional[str]) -> Dict[str, Any]:
    from ._http import retry_after_seconds

    seconds = retry_after_seconds(retry_after)
    return {
        "epoch": epoch, "step": step, "rank": rank, "worldSize": world_size, "records": [],
        "retryAfterMs": int(seconds * 1000) if seconds is not None else None,
    }


__all__ = ["Client", "RecordPage", "TopicRecord", "ShardsError", "load_document"]
