"""Training runs (issue 14's routes) through the client and RunDataset, and a 2-rank gloo DDP job.

These need the run routes (POST /v1/jobs/{id}/runs, .../batches, .../commits, .../rewind);
against a silo without them they fail with 404/405."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import NUMBERS_ROWS, free_port, unique
from orleans_shards import Client, ShardsError, Step

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader  # noqa: E402

from orleans_shards.torch import RunDataset  # noqa: E402

G = 64
STEPS = NUMBERS_ROWS // G  # dropRemainder: 15 steps of 64, 40 records left out each epoch


def job_with_run(client: Client, run: str = "r", epochs: int = 2) -> str:
    job = unique("runs")
    client.create_job({
        "id": job, "source": {"kind": "csv", "paths": ["numbers.csv"]},
        "shardSize": 64, "epochs": epochs, "shuffle": True, "seed": 7,
    })
    client.create_run(job, run, G)
    return job


def ids(batch: dict) -> list:
    return [int(record["id"]) for record in batch["records"]]


def test_run_dataset_refuses_dataloader_worker_processes() -> None:
    dataset = RunDataset("http://127.0.0.1:9", "job", "run", rank=0, world_size=1)
    with pytest.raises(ValueError, match="num_workers=0"):
        next(iter(DataLoader(dataset, batch_size=None, num_workers=2)))


def test_run_dataset_checks_rank_against_world_size() -> None:
    with pytest.raises(ValueError):
        RunDataset("http://127.0.0.1:9", "job", "run", rank=2, world_size=2)


def test_a_live_step_not_full_yet_is_asked_for_again_after_retry_after_ms() -> None:
    from helpers import ScriptedServer

    full = {"epoch": 0, "step": 7, "rank": 1, "worldSize": 2, "records": [{"id": 1}, {"id": 2}]}
    server = ScriptedServer([
        (200, {}, {"epoch": 0, "step": 7, "rank": 1, "worldSize": 2, "records": [], "retryAfterMs": 50}),
        (204, {"Retry-After": "0"}, b""),  # the other form the contract allows
        (200, {}, full),
    ])
    try:
        batch = Client(server.url).run("live", "r").batch(0, 7, 1, 2, wait_ms=100)
    finally:
        server.close()
    assert batch == full
    assert len(server.requests) == 3
    assert all(path.startswith("/v1/jobs/live/runs/r/batches?") and "epoch=0&step=7&rank=1&worldSize=2&waitMs=100" in path
               for _, path, _, _ in server.requests)
    assert server.requests[1][3] - server.requests[0][3] >= 0.045


def test_run_dataset_reads_one_epoch_a_pass_from_resume_at_with_the_next_step_prefetched() -> None:
    """The dataset's walk over the contract, against scripted answers (the real routes: the tests below)."""
    from helpers import ScriptedServer

    def batch(step: int) -> dict:
        return {"epoch": 0, "step": step, "rank": 0, "worldSize": 1,
                "records": [{"id": str(step * 2), "x": 0.5, "t": "a"}, {"id": str(step * 2 + 1), "x": 1, "t": "b"}]}

    status = {"run": "r", "globalBatchSize": 2, "dropRemainder": True, "stepsPerEpoch": 3, "epochs": 1,
              "committed": {"epoch": 0, "step": 0, "checkpoint": None}, "resumeAt": {"epoch": 0, "step": 1}}
    server = ScriptedServer([(200, {}, status), (200, {}, batch(1)), (200, {}, batch(2)), (200, {}, status)])
    try:
        dataset = RunDataset(server.url, "j", "r", rank=0, world_size=1)
        walk = iter(dataset)
        items = [next(walk)]
        deadline = time.monotonic() + 10
        while len(server.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server.requests) == 3  # step 2 was asked for before the trainer wanted it
        items += list(walk)
        assert list(dataset) == []  # the next pass: epoch 1 of a 1-epoch job, nothing left
    finally:
        server.close()
    assert [(i["epoch"], i["step"]) for i in items] == [(0, 1), (0, 2)]
    assert items[1]["id"].tolist() == [4, 5] and items[1]["id"].dtype == torch.int64
    assert items[1]["x"].tolist() == [0.5, 1.0] and items[1]["t"] == ["a", "b"]
    assert dataset.state_dict() == {"epoch": 0, "step": 2}
    paths = [path for _, path, _, _ in server.requests]
    assert paths == ["/v1/jobs/j/runs/r", "/v1/jobs/j/runs/r/batches?epoch=0&step=1&rank=0&worldSize=1&waitMs=1000",
                     "/v1/jobs/j/runs/r/batches?epoch=0&step=2&rank=0&worldSize=1&waitMs=1000", "/v1/jobs/j/runs/r"]


def test_run_routes_status_batches_commits_rewind(client: Client) -> None:
    job = job_with_run(client)
    status = client.run_status(job, "r")
    assert (status["globalBatchSize"], status["dropRemainder"], status["stepsPerEpoch"], status["epochs"]) == (G, True, STEPS, 2)
    assert status["committed"] is None and status["resumeAt"] == {"epoch": 0, "step": 0}
    assert client.create_run(job, "r", G)["run"] == "r"  # the same spec again
    with pytest.raises(ShardsError) as conflict:
        client.create_run(job, "r", 32)
    assert conflict.value.status == 409
    assert [r["run"] for r in client.runs(job)] == ["r"]

    whole = client.run_batch(job, "r", 0, 3, 0, 1)
    halves = [client.run_batch(job, "r", 0, 3, rank, 2) for rank in (0, 1)]
    assert len(ids(whole)) == G and [len(ids(h)) for h in halves] == [G // 2, G // 2]
    assert ids(halves[0]) + ids(halves[1]) == ids(whole)  # the ranks' batches concatenate to the global batch

    for query, field in [({"world_size": 3}, "worldSize"), ({"rank": 2, "world_size": 2}, "rank")]:
        with pytest.raises(ShardsError) as bad:
            client.run_batch(job, "r", 0, 0, **query)
        assert bad.value.status == 400 and bad.value.field == field
    with pytest.raises(ShardsError) as bad_step:
        client.run_batch(job, "r", 0, STEPS)
    assert bad_step.value.status == 400 and bad_step.value.field == "step"

    run = client.run(job, "r")
    assert run.commit(0, 3, "ck3")["resumeAt"] == {"epoch": 0, "step": 4}
    assert run.commit(0, 5, "ck5")["committed"] == {"epoch": 0, "step": 5, "checkpoint": "ck5"}
    assert run.commit(0, 5, "ck5")["resumeAt"] == {"epoch": 0, "step": 6}  # the same commit again is fine
    with pytest.raises(ShardsError) as backwards:
        run.commit(0, 4)
    assert backwards.value.status == 409
    assert run.rewind("ck3")["resumeAt"] == {"epoch": 0, "step": 4}
    assert run.resume_at() == Step(0, 4)
    assert run.commit(0, STEPS - 1)["resumeAt"] == {"epoch": 1, "step": 0}
    assert run.rewind(epoch=0, step=3)["resumeAt"] == {"epoch": 0, "step": 4}

    batches = list(run.batches(0, 2, end_of_epoch=True))
    assert [(b["epoch"], b["step"]) for b in batches] == [(0, s) for s in range(4, STEPS)]
    assert all(len(b["records"]) == G // 2 for b in batches)

    run.delete()
    with pytest.raises(ShardsError) as gone:
        client.run_status(job, "r")
    assert gone.value.status == 404


def test_run_dataset_passes_state_dict_and_commits(silo, client: Client) -> None:
    job = job_with_run(client)
    dataset = RunDataset(silo.url, job, "r", columns=["id"], rank=1, world_size=2)
    assert dataset.state_dict() == {}
    first = []
    for batch in DataLoader(dataset, batch_size=None, num_workers=0):
        assert batch["id"].dtype == torch.int64 and batch["id"].shape == (G // 2,)
        first.append((batch["epoch"], batch["step"], batch["id"].tolist()))
        if batch["step"] == 2:
            break
    assert dataset.state_dict() == {"epoch": 0, "step": 2}
    assert [s for _, s, _ in first] == [0, 1, 2]
    assert first[2][2] == ids(client.run_batch(job, "r", 0, 2, 1, 2))

    # A new dataset from a saved state starts after it, not at resumeAt (still (0, 0): nothing committed).
    resumed = RunDataset(silo.url, job, "r", rank=1, world_size=2)
    resumed.load_state_dict({"epoch": 0, "step": 2})
    steps = [(b["epoch"], b["step"]) for b in resumed]
    assert steps == [(0, s) for s in range(3, STEPS)]  # one pass: the rest of epoch 0
    assert [(b["epoch"], b["step"]) for b in resumed][:2] == [(1, 0), (1, 1)]  # the next pass: epoch 1
    assert resumed.state_dict() == {"epoch": 1, "step": STEPS - 1}

    # Without a state, iteration starts at resumeAt.
    status = dataset.commit(0, 9, "ck9")
    assert status["resumeAt"] == {"epoch": 0, "step": 10}
    fresh = RunDataset(Client(silo.url), job, "r")
    assert next(iter(fresh))["step"] == 10
    assert fresh.state_dict() == {"epoch": 0, "step": 10}


def test_a_two_rank_gloo_ddp_job_trains_commits_and_resumes_where_it_committed(silo, client: Client, tmp_path: Path) -> None:
    job = job_with_run(client, epochs=1)
    trainer = Path(__file__).with_name("ddp_trainer.py")
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()

    def train(attempt: str, max_steps: int = 0) -> list:
        port = free_port()
        ranks = []
        for rank in range(2):
            env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
            out = tmp_path / f"{attempt}-rank{rank}.json"
            command = [sys.executable, str(trainer), "--server", silo.url, "--job", job, "--run", "r",
                       "--checkpoints", str(checkpoints), "--out", str(out), "--max-steps", str(max_steps)]
            ranks.append((subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), out))
        results = []
        for process, out in ranks:
            stdout, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, stderr[-3000:]
            assert stdout == ""
            results.append(json.loads(out.read_text()))
        return results

    # The first attempt stops (as a crash would) after 6 steps, each committed after its checkpoint.
    first = train("first", max_steps=6)
    status = client.run_status(job, "r")
    assert status["committed"] == {"epoch": 0, "step": 5, "checkpoint": "e0-s5"}
    assert status["resumeAt"] == {"epoch": 0, "step": 6}
    assert (checkpoints / "e0-s5.pt").exists()
    assert torch.load(checkpoints / "e0-s5.pt")["data"] == {"epoch": 0, "step": 5}

    # The second attempt resumes at resumeAt and trains the rest of the epoch.
    second = train("second")
    status = client.run_status(job, "r")
    assert status["resumeAt"] == {"epoch": 1, "step": 0} and status.get("finished") is True

    trained = {}
    for attempt in (first, second):
        rank0, rank1 = attempt
        assert [(e, s) for e, s, _ in rank0] == [(e, s) for e, s, _ in rank1]  # lockstep: the same steps
        for (epoch, step, ids0), (_, _, ids1) in zip(rank0, rank1):
            assert len(ids0) == len(ids1) == G // 2  # equal batches
            assert (epoch, step) not in trained
            trained[(epoch, step)] = ids0 + ids1
    assert sorted(trained) == [(0, s) for s in range(STEPS)]
    for (epoch, step), global_batch in trained.items():
        assert global_batch == ids(client.run_batch(job, "r", epoch, step, 0, 1))
    every = [i for batch in trained.values() for i in batch]
    assert len(every) == len(set(every)) == STEPS * G  # every record of the epoch at most once, ⌊N/G⌋·G in all
