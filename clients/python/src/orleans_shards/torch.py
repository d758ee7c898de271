"""PyTorch datasets over OrleansShards: ``LeaseDataset`` (leases, any number of DataLoader workers)
and ``RunDataset`` (a training run's per-rank step batches, for synchronous data parallel training).

Importing this module imports torch; the rest of the package does not need it.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import os
import re
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

import torch
import torch.distributed
from torch.utils.data import IterableDataset, get_worker_info

from .client import Client, Columns
from .leases import LeaseWorker
from .runs import Run, Step, step_after

log = logging.getLogger("orleans_shards")

__all__ = ["LeaseDataset", "RunDataset", "to_tensors"]

_INTEGER = re.compile(r"[+-]?\d+\Z")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_INT64 = (-(2**63), 2**63 - 1)


def _distributed() -> Optional[Any]:
    return torch.distributed if torch.distributed.is_available() and torch.distributed.is_initialized() else None


def _numeric_tensor(values: Sequence[Any]) -> Optional[torch.Tensor]:
    """A tensor of the values when every one is a number or a string that parses as one (CSV's
    text): int64 when all are integers, the default float dtype otherwise; ``None`` if not numeric."""
    parsed: List[Union[int, float]] = []
    integers = True
    for value in values:
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, int):
            parsed.append(value)
        elif isinstance(value, float):
            parsed.append(value)
            integers = False
        elif isinstance(value, str):
            text = value.strip()
            if _INTEGER.match(text):
                parsed.append(int(text))
            elif _NUMBER.match(text):
                parsed.append(float(text))
                integers = False
            else:
                return None
        else:
            return None
    if not parsed:
        return None
    if integers:
        if all(_INT64[0] <= v <= _INT64[1] for v in parsed):
            return torch.tensor(parsed, dtype=torch.int64)
        return None
    return torch.tensor(parsed, dtype=torch.get_default_dtype())


def to_tensors(records: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Columns of a batch of records: a tensor for each numeric column (numbers, or strings that
    parse as numbers), a list of the values for the others (a record without the column gives None)."""
    names: Dict[str, None] = {}
    for record in records:
        for name in record:
            names.setdefault(name, None)
    batch: Dict[str, Any] = {}
    for name in names:
        values = [record.get(name) for record in records]
        tensor = _numeric_tensor(values)
        batch[name] = tensor if tensor is not None else values
    return batch


class _SharedPass:
    """The epoch the workers of one DataLoader pass read, agreed through shared memory: the first
    worker of a pass reads the job's epoch and publishes it, the others take it, so a worker that
    starts after the epoch already ended does not read the next epoch's shards in this pass. A pass
    is known by the DataLoader iterator's base seed (the same in all its workers) and the number of
    passes the worker process made (persistent workers keep their seed).

    Lock-free (a multiprocessing lock made for fork cannot cross into spawned workers): the epoch is
    published before the pass's key, so a worker that sees the key sees its epoch; workers that
    start together may each read the job's epoch, and read the same one.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context()
        self._seed = context.RawValue("q", -1)
        self._passes = context.RawValue("q", -1)
        self._epoch = context.RawValue("q", -1)

    def agree(self, seed: int, passes: int, read_epoch: Callable[[], int]) -> int:
        if self._seed.value == seed and self._passes.value == passes:
            return int(self._epoch.value)
        epoch = read_epoch()
        if self._seed.value == seed and self._passes.value == passes:
            return int(self._epoch.value)  # another worker of this pass published first
        self._epoch.value = epoch
        self._passes.value = passes
        self._seed.value = seed
        return epoch


def _shared_pass() -> Optional[_SharedPass]:
    try:
        return _SharedPass()
    except OSError as error:  # no shared memory here (a locked-down /dev/shm): each worker reads the epoch itself
        log.debug("no shared memory for the pass epoch: %s", error)
        return None


class LeaseDataset(IterableDataset):  # type: ignore[type-arg]
    """An ``IterableDataset`` of a job's records (dicts), read through leases.

    ``server`` is a URL or a :class:`~orleans_shards.Client`; ``columns`` the columns to read
    (default all). Each DataLoader worker process leases its own shards (one at a time) with its
    own worker id (host, pid, DDP rank, DataLoader worker index), every lease request with a fresh
    ``requestId``, and keeps its leases alive with heartbeats; so
    ``DataLoader(ds, batch_size=64, num_workers=4)`` delivers every record of an epoch exactly
    once when nothing fails, and a shard whose worker died goes to another after its lease expires.

    One pass over the dataset is one epoch of the job: a worker whose lease request finds no shard
    left in the pass's epoch ends its pass at once (waiting for the others would deadlock the
    DataLoader, which takes its workers' batches in turn); the next pass reads the next epoch. A
    task is reported done when its worker moves on; an exception reports it failed (the job retries
    it); a worker stopped mid-task (``break``, Ctrl+C) releases its lease. Over a live job (topic,
    Redis Streams) a pass never ends: workers wait for records.
    """

    def __init__(self, server: Union[str, Client], job: str, columns: Columns = None, token: Optional[str] = None) -> None:
        super().__init__()
        self.server = server
        self.job = job
        self.columns = columns
        self.token = token
        dist = _distributed()
        self.rank: Optional[int] = dist.get_rank() if dist is not None else None
        self._passes = 0
        self._shared: Optional[_SharedPass] = _shared_pass()

    def _worker_id(self, worker_index: Optional[int]) -> str:
        parts = ["torch", socket.gethostname(), str(os.getpid())]
        if self.rank is not None:
            parts.append(f"r{self.rank}")
        if worker_index is not None:
            parts.append(f"w{worker_index}")
        return "-".join(parts)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        client = Client.of(self.server, self.token)
        info = get_worker_info()  # type: ignore[no-untyped-call]
        self._passes += 1
        if info is None or self._shared is None:
            epoch = int(client.job(self.job)["epoch"])
        else:
            epoch = self._shared.agree(int(info.seed) - int(info.id), self._passes, lambda: int(client.job(self.job)["epoch"]))
        worker_id = self._worker_id(info.id if info is not None else None)
        log.debug("job %s: worker %s reads epoch %d", self.job, worker_id, epoch)
        with LeaseWorker(client, self.job, worker_id=worker_id, columns=self.columns, epoch=epoch) as worker:
            for task in worker:
                yield from task.records()

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        if multiprocessing.context.get_spawning_popen() is None:
            # Shared memory crosses only into processes being started; elsewhere each reads the job's epoch itself.
            state["_shared"] = None
        return state


class RunDataset(IterableDataset):  # type: ignore[type-arg]
    """An ``IterableDataset`` of one rank's step batches of a training run, from the run's ``resumeAt``.

    Each item is a dict of column → tensor for numeric columns (numbers, or text that parses as
    numbers, as CSV's values) and column → list otherwise, plus ``"epoch"`` and ``"step"``. Every
    rank gets ``globalBatchSize / world_size`` records a step, so DDP ranks stay in lockstep.
    ``rank`` and ``world_size`` come from ``torch.distributed`` when it is initialised and they are
    not given (read when the dataset is built); else 0 and 1.

    Use it with ``DataLoader(ds, batch_size=None, num_workers=0)``: with worker processes every
    worker would yield every step, so iterating in a worker raises ValueError. One pass ends at the
    end of the current epoch; the next pass continues with the next one. :meth:`state_dict` is
    ``{"epoch", "step"}`` of the last batch yielded (the step you would commit now); after
    :meth:`load_state_dict` iteration starts at the step after it instead of ``resumeAt``.
    :meth:`commit` commits a step once the checkpoint holding it is durable. With ``prefetch``
    (the default) the next step's batch is fetched by a background thread while the trainer works.
    """

    def __init__(
        self,
        server: Union[str, Client],
        job: str,
        run: str,
        columns: Columns = None,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        token: Optional[str] = None,
        *,
        prefetch: bool = True,
    ) -> None:
        super().__init__()
        dist = _distributed()
        if dist is not None:
            rank = dist.get_rank() if rank is None else rank
            world_size = dist.get_world_size() if world_size is None else world_size
        self.rank = 0 if rank is None else int(rank)
        self.world_size = 1 if world_size is None else int(world_size)
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} is not in [0, world_size={self.world_size})")
        self.server = server
        self.job = job
        self.run = run
        self.columns = columns
        self.token = token
        self.prefetch = prefetch
        self._last: Optional[Step] = None
        self._run: Optional[Run] = None

    def _handle(self) -> Run:
        if self._run is None:
            self._run = Client.of(self.server, self.token).run(self.job, self.run)
        return self._run

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        if get_worker_info() is not None:  # type: ignore[no-untyped-call]
            raise ValueError(
                "RunDataset is read with DataLoader(dataset, batch_size=None, num_workers=0): "
                "in worker processes every worker would yield every step"
            )
        run = self._handle()
        status = run.status()
        steps_per_epoch = status.get("stepsPerEpoch")
        epochs = int(status.get("epochs") or 1)
        if self._last is not None:
            position = step_after(self._last, steps_per_epoch)
        else:
            position = Step(int(status["resumeAt"]["epoch"]), int(status["resumeAt"]["step"]))
        epoch = position.epoch

        def in_pass(at: Step) -> bool:
            return at.epoch == epoch and at.epoch < epochs

        stop = threading.Event()

        def fetch(at: Step) -> Dict[str, Any]:
            return run.batch(at.epoch, at.step, self.rank, self.world_size, columns=self.columns, stop=stop)

        # One step ahead from a background thread: the next batch travels while the trainer computes.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orleans-shards-prefetch") if self.prefetch else None
        try:
            ahead: Optional["Future[Dict[str, Any]]"] = pool.submit(fetch, position) if pool and in_pass(position) else None
            while in_pass(position):
                answer = ahead.result() if ahead is not None else fetch(position)
                following = step_after(position, steps_per_epoch)
                ahead = pool.submit(fetch, following) if pool and in_pass(following) else None
                batch = to_tensors(answer["records"])
                batch["epoch"] = position.epoch
                batch["step"] = position.step
                self._last = position
                yield batch
                position = following
        finally:
            stop.set()  # a prefetch waiting for a live step gives up
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def state_dict(self) -> Dict[str, int]:
        """``{"epoch", "step"}`` of the last batch yielded; ``{}`` before the first."""
        return {} if self._last is None else {"epoch": self._last.epoch, "step": self._last.step}

    def load_state_dict(self, state: Dict[str, int]) -> None:
        """Makes the next iteration start at the step after ``state`` (``{}``: at ``resumeAt``)."""
        self._last = Step(int(state["epoch"]), int(state["step"])) if state else None

    def commit(self, epoch: int, step: int, checkpoint: Optional[str] = None) -> Dict[str, Any]:
        """Commits ``(epoch, step)`` with the trainer's checkpoint name; returns the run's status."""
        return self._handle().commit(epoch, step, checkpoint)

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_run"] = None
        return state
