#!/usr/bin/env python3
"""A PyTorch DistributedDataParallel trainer fed by an OrleansShards run (docs/http-api.md, "Runs").

Every rank fetches its own batch of each step over HTTP (the orleans_shards package: the standard library only): exactly G/W
records, positions [s*G + r*G/W, s*G + (r+1)*G/W) of the epoch's global order, so all ranks take
the same number of steps and the collectives never hang. After the checkpoint that holds step s is
durable (torch.save to a temporary file, fsync, rename, fsync of the directory), rank 0 commits
(epoch, s, checkpoint name). On start the trainer reads the run's resumeAt and its last commit's
checkpoint, loads it, and goes on from there, with any world size that divides G: the steps are
the same whatever W is.

    /usr/bin/python3 ddp_train.py --server http://127.0.0.1:5080 --job JOB --run RUN \
        --world-size 2 --checkpoint-dir ckpt [--global-batch-size 24] [--log-dir logs]

gloo on CPU, ranks started with torch.multiprocessing.spawn on 127.0.0.1. The model is a tiny
linear regression of --label-column on --feature-columns; replace `Model` and `train_step` with
yours. With --log-dir every rank writes one JSON line a step: {"rank", "worldSize", "epoch",
"step", "ids", "loss"}; rank 0 also writes {"commit": [epoch, step], "checkpoint"} after each
commit.
"""

import argparse
import concurrent.futures
import json
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

try:
    import orleans_shards  # noqa: F401
except ImportError:  # not installed: the package's source in this repository (clients/python)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python", "src"))
from orleans_shards import Client, ShardsError  # noqa: E402

ApiError = ShardsError


class Run:
    """The run routes a trainer needs, on the package's client (retries on 5xx and connection errors)."""

    def __init__(self, client, job, run):
        self.client = client
        self.job = job
        self.run = run

    def create(self, global_batch_size, drop_remainder=None):
        return self.client.create_run(self.job, self.run, global_batch_size, drop_remainder)

    def status(self):
        return self.client.run_status(self.job, self.run)

    def commit(self, epoch, step, checkpoint):
        return self.client.commit(self.job, self.run, epoch, step, checkpoint)

    def batch(self, epoch, step, rank, world_size, columns=None):
        """Rank's records of a step; for a live step that is not full yet, waits as the server says and asks again."""
        while True:
            answer = self.client.run_batch(self.job, self.run, epoch, step, rank, world_size, columns=columns)
            records = (answer or {}).get("records") or []
            if records:
                return records
            # 200 {"records": [], "retryAfterMs"} (or 204): the step of a live run is not full yet.
            time.sleep(max(0.05, (answer or {}).get("retryAfterMs", 200) / 1000.0))


class Model(torch.nn.Module):
    def __init__(self, features):
        super().__init__()
        self.linear = torch.nn.Linear(features, 1)

    def forward(self, x):
        return self.linear(x)


def durable_save(state, directory, name):
    """torch.save that survives a crash: a temporary file, fsync, rename over the name, fsync of the directory."""
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, name)
    temporary = final + ".tmp"
    with open(temporary, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, final)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def steps(status, start_epoch, start_step, max_steps):
    """(epoch, step) from the resume point to the end of the job; a live run's one epoch never ends."""
    per_epoch = status["stepsPerEpoch"]
    taken = 0
    epoch, step = start_epoch, start_step
    while epoch < status["epochs"]:
        while per_epoch is None or step < per_epoch:
            if max_steps is not None and taken >= max_steps:
                return
            yield epoch, step
            taken += 1
            step += 1
        epoch, step = epoch + 1, 0


def rank_main(rank, args, status):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(args.master_port)
    dist.init_process_group("gloo", rank=rank, world_size=args.world_size)
    torch.manual_seed(args.seed)
    run = Run(Client(args.server, args.token), args.job, args.run)
    features = args.feature_columns.split(",")
    columns = [args.id_column, *features, args.label_column]

    model = Model(len(features))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    committed = status.get("committed")
    if committed and committed.get("checkpoint"):
        state = torch.load(os.path.join(args.checkpoint_dir, committed["checkpoint"]))
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    ddp = DistributedDataParallel(model)
    loss_fn = torch.nn.MSELoss()

    resume = status["resumeAt"]
    log = open(os.path.join(args.log_dir, f"rank{rank}.jsonl"), "a", encoding="utf-8") if args.log_dir else None
    per_epoch = status["stepsPerEpoch"]
    order = steps(status, resume["epoch"], resume["step"], args.max_steps)

    # One request in flight ahead: the next batch travels while this one trains.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as fetcher:
        def fetch(position):
            return position, fetcher.submit(run.batch, position[0], position[1], rank, args.world_size, columns)

        upcoming = next(order, None)
        pending = fetch(upcoming) if upcoming else None
        while pending:
            (epoch, step), future = pending
            records = future.result()
            upcoming = next(order, None)
            pending = fetch(upcoming) if upcoming else None

            x = torch.tensor([[float(r[c]) for c in features] for r in records], dtype=torch.float32)
            y = torch.tensor([[float(r[args.label_column])] for r in records], dtype=torch.float32)
            if log:
                log.write(json.dumps({"rank": rank, "worldSize": args.world_size, "epoch": epoch, "step": step,
                                      "ids": [r[args.id_column] for r in records]}) + "\n")
                log.flush()
            optimizer.zero_grad()
            loss = loss_fn(ddp(x), y)
            loss.backward()
            optimizer.step()
            if args.step_seconds:
                time.sleep(args.step_seconds)

            last_of_epoch = per_epoch is not None and step == per_epoch - 1
            if rank == 0 and ((step + 1) % args.checkpoint_every == 0 or last_of_epoch):
                name = f"ckpt-e{epoch}-s{step}.pt"
                durable_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, "step": step},
                             args.checkpoint_dir, name)
                run.commit(epoch, step, name)
                if log:
                    log.write(json.dumps({"commit": [epoch, step], "checkpoint": name, "loss": loss.item()}) + "\n")
                    log.flush()

    if log:
        log.close()
    dist.barrier()
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=os.environ.get("SHARDS_SERVER", "http://127.0.0.1:5080"))
    parser.add_argument("--token", default=os.environ.get("SHARDS_TOKEN"))
    parser.add_argument("--job", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--world-size", type=int, default=2)
    parser.add_argument("--global-batch-size", type=int, help="create the run with this G if it does not exist (idempotent)")
    parser.add_argument("--checkpoint-dir", required=True)
    parser.add_argument("--checkpoint-every", type=int, default=1, help="save and commit every N steps (and at each epoch's end)")
    parser.add_argument("--log-dir", help="one JSON line a step per rank: the record ids it trained on")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps of this attempt")
    parser.add_argument("--step-seconds", type=float, default=0.0, help="extra time a step takes (to watch it, or to kill it)")
    parser.add_argument("--id-column", default="id")
    parser.add_argument("--feature-columns", default="x1,x2")
    parser.add_argument("--label-column", default="y")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)

    run = Run(Client(args.server, args.token), args.job, args.run)
    try:
        if args.global_batch_size:
            run.create(args.global_batch_size)
        status = run.status()
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    resume = status["resumeAt"]
    if status.get("finished"):
        print(f"run {args.run} of job {args.job} is finished", file=sys.stderr)
        return 0
    if status["globalBatchSize"] % args.world_size:
        print(f"error: world size {args.world_size} does not divide the run's global batch size {status['globalBatchSize']}", file=sys.stderr)
        return 1
    committed = status.get("committed")
    print(f"run {args.run}: {args.world_size} ranks resume at epoch {resume['epoch']} step {resume['step']}"
          + (f" from checkpoint {committed.get('checkpoint')}" if committed else " (nothing committed)"), file=sys.stderr)
    args.master_port = free_port()
    mp.spawn(rank_main, args=(args, status), nprocs=args.world_size, join=True)
    after = run.status()
    done = after.get("committed") or {}
    print(f"run {args.run}: committed epoch {done.get('epoch')} step {done.get('step')}"
          + (" (finished)" if after.get("finished") else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
