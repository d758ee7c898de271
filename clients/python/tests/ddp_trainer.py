"""One rank of a DDP trainer (gloo, CPU) on a RunDataset, started by test_runs.py as torchrun would
start it (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment).

Trains a linear model on the ``id`` column one pass (the rest of the current epoch, or
``--max-steps`` steps), saving a checkpoint and committing each step on rank 0 after the save.
Writes ``[epoch, step, ids]`` of every batch it trained on to ``--out``."""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

try:
    from orleans_shards.torch import RunDataset
except ImportError:  # not installed: the package's source beside these tests
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    from orleans_shards.torch import RunDataset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--checkpoints", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-steps", type=int, default=0)
    args = parser.parse_args()

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = DistributedDataParallel(torch.nn.Linear(1, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    dataset = RunDataset(args.server, args.job, args.run, columns=["id"])  # rank and world size from torch.distributed
    assert (dataset.rank, dataset.world_size) == (rank, dist.get_world_size())

    trained = []
    for batch in DataLoader(dataset, batch_size=None, num_workers=0):
        x = batch["id"].to(torch.float32).unsqueeze(1) / 1000.0
        loss = ((model(x) - 2 * x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()  # DDP all-reduces the gradients: every rank must take part in every step
        optimizer.step()
        trained.append([batch["epoch"], batch["step"], batch["id"].tolist()])
        if rank == 0:
            name = f"e{batch['epoch']}-s{batch['step']}"
            torch.save({"model": model.module.state_dict(), "data": dataset.state_dict()}, os.path.join(args.checkpoints, name + ".pt"))
            dataset.commit(batch["epoch"], batch["step"], name)  # after the checkpoint is durable
        dist.barrier()
        if args.max_steps and len(trained) == args.max_steps:
            break
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(trained, out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
