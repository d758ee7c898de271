#!/usr/bin/env python3
"""An OrleansShards worker in Python, on the orleans_shards package (clients/python).

It leases tasks of a job, reads each task's records page by page (following nextOffset), keeps its
leases alive with heartbeats from a background thread while it works, and reports each task done
(or failed, with the error's text, when processing raised). It stops when the job has ended. On
Ctrl+C or SIGTERM it releases the leases it holds (their shards go back to the queue at once),
writes out the ids of the tasks it finished, and exits 130 or 143 without a traceback.

    python3 worker.py --server http://127.0.0.1:5080 --job JOB [--ids-out FILE] [--id-column id]

Replace `process_records` with your training step. With --ids-out the worker writes the value of
--id-column of every record of the tasks it reported done, one a line; otherwise it prints them.

The package is used from this repository (clients/python/src) when it is not installed
(`pip install ./clients/python` installs it).
"""

import argparse
import logging
import os
import signal
import sys
import time

try:
    import orleans_shards  # noqa: F401
except ImportError:  # not installed: use the copy in this repository
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python", "src"))
    import orleans_shards  # noqa: F401

from orleans_shards import Client, LeaseWorker, ShardsError, default_worker_id


class Stopped(BaseException):
    """Raised in the main thread by SIGINT or SIGTERM: not an error of the task, so its lease is released."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def on_signal(signum, frame):
    # The first signal stops the worker; more while it releases its leases and writes its output are ignored.
    for handled in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(handled) is on_signal:
            signal.signal(handled, signal.SIG_IGN)
    raise Stopped(signum)


def process_records(records, seen, id_column, work_seconds):
    """The training step. This one notes each record's id (and takes work_seconds a page, to act slow)."""
    for record in records:
        seen.append(record.get(id_column))
    if work_seconds:
        time.sleep(work_seconds)


def write_ids(seen, path):
    lines = "".join(f"{value}\n" for value in seen)
    if path:
        with open(path, "w", encoding="utf-8") as out:
            out.write(lines)
    else:
        sys.stdout.write(lines)
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description="An OrleansShards worker in Python")
    parser.add_argument("--server", default=os.environ.get("SHARDS_SERVER", "http://127.0.0.1:5080"))
    parser.add_argument("--token", default=os.environ.get("SHARDS_TOKEN"))
    parser.add_argument("--job", required=True, help="the job to work on")
    parser.add_argument("--worker-id", default=default_worker_id())
    parser.add_argument("--max-tasks", type=int, default=2, help="tasks leased with one request")
    parser.add_argument("--batch-size", type=int, default=1000, help="records per page")
    parser.add_argument("--id-column", default="id", help="the column whose values are recorded")
    parser.add_argument("--work-seconds", type=float, default=0.0, help="pretend each page takes this long to train on")
    parser.add_argument("--ids-out", help="write the ids seen to this file, one a line (default: print them)")
    parser.add_argument("--log-level", default="WARNING", help="the orleans_shards log level (default WARNING)")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")

    for signum in (signal.SIGINT, signal.SIGTERM):
        # A SIGINT ignored by whoever started us (nohup, a background job) stays ignored.
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, on_signal)

    finished = []  # (task, its ids): the ids count once the task's report went through
    worker = None
    try:
        client = Client(args.server, args.token)
        with LeaseWorker(client, args.job, worker_id=args.worker_id, max_tasks=args.max_tasks, page_size=args.batch_size) as worker:
            for task in worker:
                task_seen = []
                try:
                    for page in task.pages():
                        process_records(page, task_seen, args.id_column, args.work_seconds)
                except Exception as error:  # the training step failed: the task is retried elsewhere
                    task.fail(error)
                    continue
                finished.append((task, task_seen))
                task.done()
    except ShardsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (Stopped, KeyboardInterrupt) as stop:
        # Leaving the with block released the leases (and finished a report the signal cut off).
        signum = stop.signum if isinstance(stop, Stopped) else signal.SIGINT
        seen = reported_ids(finished)
        write_ids(seen, args.ids_out)
        done = worker.tasks_done if worker else 0
        print(f"worker {args.worker_id}: stopped by {signal.Signals(signum).name}; leases released; "
              f"{done} task(s) done, {len(seen)} records", file=sys.stderr)
        return 128 + signum

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    seen = reported_ids(finished)
    write_ids(seen, args.ids_out)
    print(f"worker {args.worker_id}: job {args.job} is {worker.state}; {worker.tasks_done} task(s) done, "
          f"{worker.tasks_failed} failed, {len(seen)} records", file=sys.stderr)
    return 0


def reported_ids(finished):
    """The ids of the tasks reported done ("lost" ones expired and went to another worker)."""
    return [value for task, ids in finished if task.outcome == "done" for value in ids]


if __name__ == "__main__":
    sys.exit(main())
