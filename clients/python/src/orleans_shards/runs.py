"""``Run``: a training run's per-rank batches from ``resumeAt``, its commits and rewinds."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Dict, Iterator, NamedTuple, Optional

from .client import Client, Columns

log = logging.getLogger("orleans_shards")


class Step(NamedTuple):
    """A step of a run: epoch and step number within the epoch."""

    epoch: int
    step: int


def step_after(position: Step, steps_per_epoch: Optional[int]) -> Step:
    """The step after ``position``: the next epoch's step 0 after an epoch's last step."""
    if steps_per_epoch is not None and position.step + 1 >= steps_per_epoch:
        return Step(position.epoch + 1, 0)
    return Step(position.epoch, position.step + 1)


class Run:
    """One training run of a job (a synchronous data-parallel trainer's view of the data).

    Every rank takes the batch of each step (``globalBatchSize / world_size`` records); the
    ranks' batches of a step, in rank order, are the step's global batch whatever the world
    size. After the trainer's checkpoint holding step ``s`` is durable, commit ``(epoch, s)``;
    a restart resumes at the step after the last commit (``resumeAt``).
    """

    def __init__(self, client: Client, job: str, name: str) -> None:
        self.client = client
        self.job = job
        self.name = name

    def __repr__(self) -> str:
        return f"Run({self.job!r}, {self.name!r})"

    def status(self) -> Dict[str, Any]:
        """The run's status (``stepsPerEpoch``, ``epochs``, ``committed``, ``resumeAt``, ...)."""
        return self.client.run_status(self.job, self.name)

    def resume_at(self) -> Step:
        """The step after the last commit: where a (re)started trainer begins."""
        at = self.status()["resumeAt"]
        return Step(int(at["epoch"]), int(at["step"]))

    def batch(
        self,
        epoch: int,
        step: int,
        rank: int = 0,
        world_size: int = 1,
        *,
        columns: Columns = None,
        format: str = "json",
        wait_ms: Optional[int] = 1000,
        stop: Optional[threading.Event] = None,
    ) -> Dict[str, Any]:
        """The rank's batch of ``(epoch, step)``, waiting while a live step is not full yet
        (the server holds each request up to ``wait_ms``, then says when to ask again)."""
        while True:
            answer = self.client.run_batch(
                self.job, self.name, epoch, step, rank, world_size, columns=columns, format=format, wait_ms=wait_ms
            )
            records = answer.get("records")
            if records is not None and len(records) > 0:
                return answer
            if "retryAfterMs" not in answer:
                return answer  # a full step of no records cannot be, but do not loop on one
            delay = (answer.get("retryAfterMs") or 100) / 1000.0
            log.debug("run %s/%s: step %d.%d not full yet; asking again in %.2f s", self.job, self.name, epoch, step, delay)
            if stop is not None:
                if stop.wait(delay):
                    raise InterruptedError("stopped while waiting for a step")
            else:
                time.sleep(delay)

    def batches(
        self,
        rank: int = 0,
        world_size: int = 1,
        *,
        start: Optional[Step] = None,
        end_of_epoch: bool = False,
        columns: Columns = None,
        format: str = "json",
        wait_ms: Optional[int] = 1000,
    ) -> Iterator[Dict[str, Any]]:
        """The rank's batches, one a step, from ``start`` (default: ``resumeAt``) to the job's last
        epoch (or the end of ``start``'s epoch with ``end_of_epoch``). A live run's one epoch never ends."""
        status = self.status()
        steps_per_epoch = status.get("stepsPerEpoch")
        epochs = int(status.get("epochs") or 1)
        position = start if start is not None else Step(int(status["resumeAt"]["epoch"]), int(status["resumeAt"]["step"]))
        first_epoch = position.epoch
        while position.epoch < epochs and (not end_of_epoch or position.epoch == first_epoch):
            yield self.batch(position.epoch, position.step, rank, world_size, columns=columns, format=format, wait_ms=wait_ms)
            position = step_after(position, steps_per_epoch)

    def commit(self, epoch: int, step: int, checkpoint: Optional[str] = None) -> Dict[str, Any]:
        """Commits ``(epoch, step)`` (durable once answered); returns the run's status. Backwards is 409."""
        return self.client.commit(self.job, self.name, epoch, step, checkpoint)

    def rewind(self, checkpoint: Optional[str] = None, *, epoch: Optional[int] = None, step: Optional[int] = None) -> Dict[str, Any]:
        """Rewinds to an earlier commit (by checkpoint name, or epoch and step); returns the run's status."""
        return self.client.rewind(self.job, self.name, checkpoint, epoch=epoch, step=step)

    def delete(self) -> None:
        """Deletes the run."""
        self.client.delete_run(self.job, self.name)
