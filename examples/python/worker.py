#!/usr/bin/env python3
"""An OrleansShards worker in plain Python: the standard library only (urllib, json, threading).

It leases tasks of a job, reads each task's records as JSON pages (following nextOffset), keeps its
leases alive with heartbeats from a background thread while it works, and reports each task done
(or failed, when processing raised). It stops when the job has ended.

    python3 worker.py --server http://127.0.0.1:5080 --job JOB [--ids-out FILE] [--id-column id]

Replace `process_records` with your training step. With --ids-out the worker writes the value of
--id-column of every record it saw, one a line; otherwise it prints them.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ENDED = ("completed", "failed", "cancelled")


class ApiError(Exception):
    """An error answer of the server (a ProblemDetails) or a server that cannot be reached."""

    def __init__(self, status, detail):
        super().__init__(f"HTTP {status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail


class Client:
    """The few routes of HTTP-API.md a worker needs, with retries on 5xx and connection errors."""

    def __init__(self, server, token=None, retries=6):
        self.server = server.rstrip("/")
        self.token = token
        self.retries = retries

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        delay = 0.2
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(self.server + path, data=data, method=method)
            request.add_header("Accept", "application/json")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            if self.token:
                request.add_header("Authorization", "Bearer " + self.token)
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    text = response.read()
                    return json.loads(text) if text else None
            except urllib.error.HTTPError as error:
                text = error.read().decode("utf-8", "replace")
                try:
                    detail = json.loads(text).get("detail") or text
                except ValueError:
                    detail = text or error.reason
                # 4xx is the request's fault: retrying would not help. 5xx may pass.
                if error.code < 500 or attempt == self.retries:
                    raise ApiError(error.code, detail) from None
                retry_after = error.headers.get("Retry-After")
                wait = float(retry_after) if retry_after and retry_after.isdigit() else delay
            except (urllib.error.URLError, ConnectionError, socket.timeout) as error:
                if attempt == self.retries:
                    reason = getattr(error, "reason", error)
                    raise ApiError(None, f"cannot reach {self.server}: {reason}") from None
                wait = delay
            time.sleep(min(wait, 10.0))
            delay *= 2

    def job(self, job_id):
        return f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}"


class Heartbeat(threading.Thread):
    """Renews the leases the worker holds, at a third of the time left before they expire."""

    def __init__(self, client, job_id, worker_id, lease_timeout_seconds):
        super().__init__(daemon=True)
        self.client = client
        self.job_id = job_id
        self.worker_id = worker_id
        self.interval = max(0.2, lease_timeout_seconds / 3.0)
        self.leases = set()
        self.lost = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def hold(self, lease_id):
        with self.lock:
            self.leases.add(lease_id)

    def drop(self, lease_id):
        with self.lock:
            self.leases.discard(lease_id)

    def is_lost(self, lease_id):
        with self.lock:
            return lease_id in self.lost

    def run(self):
        while not self.stopped.wait(self.interval):
            with self.lock:
                held = sorted(self.leases)
            if not held:
                continue
            try:
                answer = self.client.call("POST", self.client.job(self.job_id) + "/heartbeats",
                                          {"workerId": self.worker_id, "leaseIds": held})
            except ApiError as error:
                print(f"heartbeat failed, trying again: {error}", file=sys.stderr)
                continue
            with self.lock:
                for renewal in answer.get("leases", []):
                    if renewal.get("expiresAt") is None:
                        # Expired and handed to another worker: our report will be refused.
                        self.lost.add(renewal["leaseId"])

    def stop(self):
        self.stopped.set()


def read_records(client, job_id, task_id, limit):
    """Yields the task's records page by page, following nextOffset."""
    offset = 0
    while offset is not None:
        query = urllib.parse.urlencode({"offset": offset, "limit": limit, "format": "json"})
        page = client.call("GET", f"{client.job(job_id)}/tasks/{urllib.parse.quote(task_id, safe='')}/records?{query}")
        yield page["records"]
        offset = page.get("nextOffset")


def process_records(records, seen, id_column, work_seconds):
    """The training step. This one notes each record's id (and takes work_seconds a page, to act slow)."""
    for record in records:
        seen.append(record.get(id_column))
    if work_seconds:
        time.sleep(work_seconds)


def main():
    parser = argparse.ArgumentParser(description="An OrleansShards worker in plain Python")
    parser.add_argument("--server", default=os.environ.get("SHARDS_SERVER", "http://127.0.0.1:5080"))
    parser.add_argument("--token", default=os.environ.get("SHARDS_TOKEN"))
    parser.add_argument("--job", required=True, help="the job to work on")
    parser.add_argument("--worker-id", default=f"py-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    parser.add_argument("--max-tasks", type=int, default=2, help="tasks leased with one request")
    parser.add_argument("--batch-size", type=int, default=1000, help="records per page")
    parser.add_argument("--id-column", default="id", help="the column whose values are recorded")
    parser.add_argument("--work-seconds", type=float, default=0.0, help="pretend each page takes this long to train on")
    parser.add_argument("--ids-out", help="write the ids seen to this file, one a line (default: print them)")
    args = parser.parse_args()

    client = Client(args.server, args.token)
    try:
        status = client.call("GET", client.job(args.job))
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    heartbeat = Heartbeat(client, args.job, args.worker_id, status["spec"].get("leaseTimeoutSeconds", 60))
    heartbeat.start()

    seen = []
    done = failed = 0
    try:
        while True:
            # The same requestId on a retried request gets the same leases, not more.
            answer = client.call("POST", client.job(args.job) + "/leases", {
                "workerId": args.worker_id, "maxTasks": args.max_tasks, "requestId": uuid.uuid4().hex})
            leases = answer.get("leases", [])
            if not leases:
                if answer.get("state") in ENDED:
                    break
                time.sleep((answer.get("retryAfterMs") or 1000) / 1000.0)
                continue
            for lease in leases:
                heartbeat.hold(lease["leaseId"])
            for lease in leases:
                if heartbeat.is_lost(lease["leaseId"]):
                    # It expired while earlier tasks of this batch ran: another worker has it now.
                    heartbeat.drop(lease["leaseId"])
                    continue
                outcome, error_text = "done", None
                task_seen = []
                try:
                    for records in read_records(client, args.job, lease["taskId"], args.batch_size):
                        process_records(records, task_seen, args.id_column, args.work_seconds)
                except Exception as error:  # the training step failed: the task is retried elsewhere
                    outcome, error_text = "failed", f"{type(error).__name__}: {error}"
                report = {"taskId": lease["taskId"], "leaseId": lease["leaseId"],
                          "workerId": args.worker_id, "outcome": outcome}
                if error_text:
                    report["error"] = error_text
                try:
                    # Reports are idempotent: a retried report is accepted and changes nothing.
                    client.call("POST", client.job(args.job) + "/reports", report)
                    seen.extend(task_seen)
                    if outcome == "done":
                        done += 1
                    else:
                        failed += 1
                except ApiError as error:
                    if error.status != 409:
                        raise
                    print(f"task {lease['taskId']}: lease lost before the report; another worker has it",
                          file=sys.stderr)
                finally:
                    heartbeat.drop(lease["leaseId"])
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        heartbeat.stop()
        with heartbeat.lock:
            still_held = sorted(heartbeat.leases)
        if still_held:
            # Stopped mid-task (Ctrl+C, an error): give the shards back now instead of at lease expiry.
            try:
                client.call("POST", client.job(args.job) + "/releases",
                            {"workerId": args.worker_id, "leaseIds": still_held})
            except ApiError:
                pass

    lines = "".join(f"{value}\n" for value in seen)
    if args.ids_out:
        with open(args.ids_out, "w", encoding="utf-8") as out:
            out.write(lines)
    else:
        sys.stdout.write(lines)
    print(f"worker {args.worker_id}: job {args.job} is {answer.get('state')}; {done} task(s) done, "
          f"{failed} failed, {len(seen)} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
