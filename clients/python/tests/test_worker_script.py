"""examples/python/worker.py as a process: a clean stop on SIGTERM and Ctrl+C (SIGINT), without a
traceback, its leases released and its output written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, unique
from orleans_shards import Client

WORKER = REPO / "examples" / "python" / "worker.py"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_releases_the_leases_and_writes_the_ids_without_a_traceback(silo, client: Client, tmp_path: Path, signum: int) -> None:
    job = unique("signal")
    client.create_job({"id": job, "source": {"kind": "csv", "paths": ["numbers.csv"]}, "shardSize": 100, "epochs": 1, "leaseTimeoutSeconds": 300})
    out = tmp_path / "ids.txt"
    process = subprocess.Popen(
        [sys.executable, str(WORKER), "--server", silo.url, "--job", job, "--max-tasks", "2",
         "--batch-size", "50", "--work-seconds", "0.4", "--ids-out", str(out), "--log-level", "INFO"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Python ignores SIGINT in a child whose parent ignores it; make sure it is the default here.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shards = client.job(job)["shards"]
            if shards["done"] >= 2 and shards["doing"] > 0:
                break  # mid-job: some tasks reported, some leases held
            time.sleep(0.05)
        assert shards["done"] >= 2 and shards["doing"] > 0, shards
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert f"stopped by {signal.Signals(signum).name}" in stderr
    status = client.job(job)
    assert status["shards"]["doing"] == 0, stderr  # released at once, not after 300 s
    done = status["shards"]["done"]
    ids = out.read_text().split()
    assert done >= 2 and len(ids) == done * 100  # exactly the ids of the tasks reported done
    assert len(set(ids)) == len(ids)
