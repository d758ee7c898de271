"""LeaseWorker against a real silo: every record once, reports on moving on, failures with the
exception's text, releases on break and Ctrl+C, heartbeats, a fresh requestId per lease request."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from conftest import NUMBERS_ROWS, unique
from helpers import Proxy
from orleans_shards import Client, LeaseWorker, ShardsError


def create(client: Client, shard_size: int = 100, **more: object) -> str:
    job = unique("lease")
    spec = {"id": job, "source": {"kind": "csv", "paths": ["numbers.csv"]}, "shardSize": shard_size, "epochs": 1}
    spec.update(more)
    client.create_job(spec)
    return job


def test_two_workers_see_every_record_once_and_the_job_completes(client: Client) -> None:
    job = create(client, shuffle=True, seed=5)
    seen: dict = {"a": [], "b": []}

    def work(name: str) -> None:
        with LeaseWorker(client, job, worker_id=name, max_tasks=2, page_size=37) as worker:
            for task in worker:
                seen[name].extend(int(r["id"]) for r in task.records())

    threads = [threading.Thread(target=work, args=(name,)) for name in seen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(seen["a"] + seen["b"]) == list(range(NUMBERS_ROWS))
    status = client.job(job)
    assert status["state"] == "completed"
    assert status["shards"]["done"] == NUMBERS_ROWS // 100


def test_the_task_in_hand_is_reported_only_when_the_worker_moves_on(client: Client) -> None:
    job = create(client)
    with LeaseWorker(client, job) as worker:
        first = next(worker)
        list(first.records())
        assert client.job(job)["shards"]["done"] == 0
        second = next(worker)
        assert first.outcome == "done"
        assert client.job(job)["shards"]["done"] == 1
        assert second.task_id != first.task_id
        worker.close()
    assert client.job(job)["shards"]["doing"] == 0


def test_an_exception_reports_the_task_failed_with_its_text(client: Client) -> None:
    job = create(client, maxAttempts=1)
    with pytest.raises(RuntimeError):
        with LeaseWorker(client, job) as worker:
            for task in worker:
                failed = task.task_id
                raise RuntimeError("the model diverged on this shard")
    status = client.job(job)
    letters = {letter["taskId"]: letter for letter in status["deadLetters"]}
    assert letters[failed]["lastError"] == "RuntimeError: the model diverged on this shard"
    assert status["shards"]["doing"] == 0


def test_break_and_ctrl_c_release_the_leases_at_once(client: Client) -> None:
    job = create(client, leaseTimeoutSeconds=300)
    with LeaseWorker(client, job, max_tasks=3) as worker:
        for task in worker:
            break
    assert client.job(job)["shards"]["doing"] == 0  # released, not waiting 300 s for expiry
    assert task.outcome == "released"

    with pytest.raises(KeyboardInterrupt):
        with LeaseWorker(client, job, max_tasks=3) as worker:
            for task in worker:
                next(task.records())
                raise KeyboardInterrupt
    status = client.job(job)
    assert status["shards"]["doing"] == 0
    assert status["shards"]["failed"] == 0  # Ctrl+C is not the task's fault
    assert status["shards"]["done"] == 0


def test_heartbeats_keep_a_slow_workers_lease_alive(client: Client) -> None:
    job = create(client, shard_size=500, leaseTimeoutSeconds=2)
    with LeaseWorker(client, job, max_tasks=1, page_size=250) as worker:
        for task in worker:
            for _ in task.pages():
                time.sleep(2.5)  # two pages: 5 s, more than twice the lease
            task.done()
            assert task.outcome == "done"
            break
    status = client.job(job)
    assert sum(epoch["leasesExpired"] for epoch in status["epochHistory"]) == 0
    assert status["shards"]["done"] == 1


def test_every_lease_request_carries_a_fresh_request_id(silo, client: Client) -> None:
    job = create(client, shard_size=250)
    proxy = Proxy(silo.port)
    try:
        with LeaseWorker(Client(proxy.url), job, max_tasks=1) as worker:
            for task in worker:
                list(task.records())
        sent = proxy.requests_text()
    finally:
        proxy.close()
    lease_requests = re.findall(r"POST /v1/jobs/[^/ ]+/leases HTTP/1.1\r\n.*?\r\n\r\n(\{.*?\})", sent, re.S)
    ids = [json.loads(body)["requestId"] for body in lease_requests]
    assert len(ids) == 5  # four tasks, and the request that found the job completed
    assert len(set(ids)) == len(ids) and all(ids)


def test_a_worker_on_an_unknown_job_raises_a_404(client: Client) -> None:
    with pytest.raises(ShardsError) as caught:
        LeaseWorker(client, "no-such-job")
    assert caught.value.status == 404


def test_the_package_writes_nothing_to_stdout(client: Client, capfd) -> None:
    job = create(client, leaseTimeoutSeconds=1)
    import logging

    logging.getLogger("orleans_shards").setLevel(logging.DEBUG)
    try:
        with LeaseWorker(client, job, max_tasks=2, heartbeat_interval=0.2) as worker:
            for task in worker:
                list(task.records())
                time.sleep(0.3)
    finally:
        logging.getLogger("orleans_shards").setLevel(logging.NOTSET)
    out, _ = capfd.readouterr()
    assert out == ""


class InterruptedAfterAnswer(Client):
    """A client whose next lease or report is interrupted (as by Ctrl+C) after the server answered it."""

    interrupt: str = ""

    def lease(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        answer = super().lease(*args, **kwargs)
        if self.interrupt == "lease":
            self.interrupt = ""
            raise KeyboardInterrupt
        return answer

    def report(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        answer = super().report(*args, **kwargs)
        if self.interrupt == "report":
            self.interrupt = ""
            raise KeyboardInterrupt
        return answer


@pytest.mark.parametrize("cut", ["lease", "report"])
def test_a_request_cut_off_by_ctrl_c_is_settled_before_the_leases_are_released(silo, client: Client, cut: str) -> None:
    job = create(client, leaseTimeoutSeconds=300)
    interrupted = InterruptedAfterAnswer(silo.url)
    with pytest.raises(KeyboardInterrupt):
        with LeaseWorker(interrupted, job, max_tasks=1) as worker:
            first = next(worker)
            list(first.records())
            interrupted.interrupt = cut
            next(worker)  # reports the first task, then leases the next: one of them is cut off
    status = client.job(job)
    # The leases the server granted to the cut-off request were learned (same requestId) and released.
    assert status["shards"]["doing"] == 0
    assert status["shards"]["done"] == 1 and first.outcome == "done"
