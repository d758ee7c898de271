"""orleans_shards.torch.LeaseDataset with a real DataLoader (worker processes) against a real silo."""

from __future__ import annotations

import os
import re
import socket
from collections import Counter

import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader  # noqa: E402

from conftest import NUMBERS_ROWS, unique  # noqa: E402
from orleans_shards import Client  # noqa: E402
from orleans_shards.torch import LeaseDataset, to_tensors  # noqa: E402


@pytest.mark.parametrize("context, persistent", [("fork", False), ("spawn", True)])
def test_a_dataloader_with_two_workers_delivers_every_id_exactly_once_per_epoch(silo, client: Client, context: str, persistent: bool) -> None:
    job = unique("torch")
    client.create_job({
        "id": job, "source": {"kind": "csv", "paths": ["numbers.csv"]},
        "shardSize": 70, "epochs": 2, "shuffle": True, "seed": 3,
    })
    dataset = LeaseDataset(silo.url, job, columns=["id"])
    loader = DataLoader(dataset, batch_size=64, num_workers=2, multiprocessing_context=context, persistent_workers=persistent)
    for epoch in range(2):
        ids = Counter()
        for batch in loader:
            ids.update(int(i) for i in batch["id"])
        assert sorted(ids) == list(range(NUMBERS_ROWS)), f"pass {epoch}: missing {set(range(NUMBERS_ROWS)) - set(ids)}"
        assert max(ids.values()) == 1, f"pass {epoch}: twice {[i for i, n in ids.items() if n > 1][:10]}"
        status = client.job(job)
        assert status["epochHistory"][epoch]["recordsDelivered"] == NUMBERS_ROWS
    status = client.job(job)
    assert status["state"] == "completed"
    assert status["shards"]["doing"] == 0
    # A pass after the last epoch has nothing left to give.
    assert list(loader) == []


def test_each_worker_process_leases_under_its_own_worker_id(silo, client: Client) -> None:
    job = unique("torch-ids")
    client.create_job({"id": job, "source": {"kind": "csv", "paths": ["numbers.csv"]}, "shardSize": 50, "epochs": 1})
    dataset = LeaseDataset(Client(silo.url), job)
    ids, holders = [], set()
    for record in DataLoader(dataset, batch_size=None, num_workers=2):
        ids.append(int(record["id"]))
        if len(ids) % 25 == 1:
            holders.update(lease["workerId"] for lease in client.leases(job))
    assert sorted(ids) == list(range(NUMBERS_ROWS))
    assert client.job(job)["state"] == "completed"
    host = socket.gethostname()
    parsed = [re.fullmatch(rf"torch-{re.escape(host)}-(\d+)-w(\d)", holder) for holder in holders]
    assert all(parsed), holders
    assert sorted(int(m.group(2)) for m in parsed) == [0, 1]  # one id per DataLoader worker
    pids = {int(m.group(1)) for m in parsed}
    assert len(pids) == 2 and os.getpid() not in pids  # each its own process


def test_a_dataset_without_worker_processes_reads_one_epoch_a_pass(silo, client: Client) -> None:
    job = unique("torch-main")
    client.create_job({"id": job, "source": {"kind": "csv", "paths": ["numbers.csv"]}, "shardSize": 300, "epochs": 2})
    dataset = LeaseDataset(silo.url, job)
    first = [int(r["id"]) for r in dataset]
    second = [int(r["id"]) for r in dataset]
    assert sorted(first) == sorted(second) == list(range(NUMBERS_ROWS))
    assert list(dataset) == []


def test_numeric_columns_become_tensors_and_others_lists() -> None:
    batch = to_tensors([
        {"id": "1", "x": "0.5", "n": 3, "name": "a", "flag": True, "maybe": None},
        {"id": "2", "x": "1e-3", "n": 4, "name": "7", "flag": False, "maybe": 1},
    ])
    assert batch["id"].dtype == torch.int64 and batch["id"].tolist() == [1, 2]
    assert batch["x"].dtype == torch.get_default_dtype() and batch["x"].tolist() == pytest.approx([0.5, 0.001])
    assert batch["n"].dtype == torch.int64 and batch["n"].tolist() == [3, 4]
    assert batch["name"] == ["a", "7"]
    assert batch["flag"] == [True, False]
    assert batch["maybe"] == [None, 1]
    assert to_tensors([{"a": 1}, {"b": "x"}]) == {"a": [1, None], "b": [None, "x"]}
