"""Client: errors mapped from ProblemDetails, the retry policy, jobs, checkpoints, specs from files."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from conftest import NUMBERS_ROWS, unique, write_json
from helpers import ScriptedServer, problem
from orleans_shards import Client, LeaseWorker, ShardsError


def csv_spec(job: str, **more: object) -> dict:
    spec = {"id": job, "source": {"kind": "csv", "paths": ["numbers.csv"]}, "shardSize": 100, "epochs": 1}
    spec.update(more)
    return spec


# -- errors ------------------------------------------------------------------------------------

def test_an_unknown_job_is_a_404_with_the_servers_detail(client: Client) -> None:
    with pytest.raises(ShardsError) as caught:
        client.job("no-such-job")
    error = caught.value
    assert error.status == 404
    assert error.detail == "job 'no-such-job' does not exist"
    assert str(error) == "HTTP 404: job 'no-such-job' does not exist"
    assert error.problem["status"] == 404
    assert error.method == "GET" and error.url is not None and error.url.endswith("/v1/jobs/no-such-job")


def test_a_bad_spec_is_a_400_naming_the_field(client: Client) -> None:
    with pytest.raises(ShardsError) as caught:
        client.create_job(csv_spec(unique("bad"), shardSize=0))
    error = caught.value
    assert error.status == 400
    assert error.field == "shardSize"
    assert "shardSize" in error.detail
    assert error.title


def test_an_id_reused_with_another_spec_is_a_409(client: Client) -> None:
    job = unique("conflict")
    client.create_job(csv_spec(job))
    assert client.create_job(csv_spec(job))["id"] == job  # the same spec again is fine
    with pytest.raises(ShardsError) as caught:
        client.create_job(csv_spec(job, shardSize=50))
    assert caught.value.status == 409
    assert caught.value.detail


def test_errors_survive_pickling_with_their_fields() -> None:
    import pickle

    error = ShardsError(400, "shardSize must be 1 or more", title="Bad Request", field="shardSize", problem={"status": 400})
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status, copy.detail, copy.title, copy.field, copy.problem) == (400, error.detail, "Bad Request", "shardSize", {"status": 400})
    assert str(copy) == str(error)


# -- retries -----------------------------------------------------------------------------------

def test_a_503_is_retried_after_retry_after_and_then_succeeds() -> None:
    server = ScriptedServer([
        (503, {"Retry-After": "1"}, problem(503, "the cluster is recovering; retry the same request")),
        (200, {}, {"jobs": []}),
    ])
    try:
        started = time.monotonic()
        assert Client(server.url, retries=3, backoff=0.01).jobs() == []
        assert [r[0:2] for r in server.requests] == [("GET", "/v1/jobs"), ("GET", "/v1/jobs")]
        # Retry-After: 1 was honoured, not the 10 ms back-off.
        assert server.requests[1][3] - server.requests[0][3] >= 0.95
        assert time.monotonic() - started >= 0.95
    finally:
        server.close()


def test_a_retried_post_sends_the_same_body_so_a_lease_keeps_its_request_id() -> None:
    server = ScriptedServer([(502, {}, b"bad gateway"), (200, {}, {"leases": [], "state": "running"})])
    try:
        Client(server.url, retries=2, backoff=0.01).lease("j", "w1", 1)
        bodies = [r[2] for r in server.requests]
        assert len(bodies) == 2 and bodies[0] == bodies[1] and b'"requestId"' in bodies[0]
    finally:
        server.close()


def test_5xx_that_outlasts_the_retries_raises_the_last_answer() -> None:
    server = ScriptedServer([(500, {}, problem(500, "boom"))])
    try:
        with pytest.raises(ShardsError) as caught:
            Client(server.url, retries=2, backoff=0.01).job("j")
        assert caught.value.status == 500 and caught.value.detail == "boom"
        assert len(server.requests) == 3  # the first try and two retries
    finally:
        server.close()


@pytest.mark.parametrize("status", [400, 401, 404, 409, 429])
def test_4xx_is_never_retried(status: int) -> None:
    server = ScriptedServer([(status, {"Retry-After": "1"}, problem(status, "no", "field1")), (200, {}, {})])
    try:
        with pytest.raises(ShardsError) as caught:
            Client(server.url, retries=5, backoff=0.01).job("j")
        assert caught.value.status == status and caught.value.field == "field1"
        assert len(server.requests) == 1
    finally:
        server.close()


def test_a_server_out_of_reach_is_retried_then_raised_with_no_status() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again at once: nothing listens there
    started = time.monotonic()
    with pytest.raises(ShardsError) as caught:
        Client(f"http://127.0.0.1:{port}", retries=3, backoff=0.05).jobs()
    assert caught.value.status is None
    assert "cannot reach" in str(caught.value)
    # Three back-offs of 50, 100 and 200 ms with jitter in [½, 1]: at least 175 ms.
    assert time.monotonic() - started >= 0.17


def test_the_token_is_sent_as_a_bearer_header_with_a_user_agent() -> None:
    server = ScriptedServer([(200, {}, {"jobs": []})])
    try:
        Client(server.url, token="t0ken-of-sixteen-chars").jobs()
        Client(server.url).jobs()
        assert server.headers[0]["Authorization"] == "Bearer t0ken-of-sixteen-chars"
        assert server.headers[0]["User-Agent"].startswith("orleans-shards-python/")
        assert "Authorization" not in server.headers[1]
    finally:
        server.close()


# -- jobs --------------------------------------------------------------------------------------

def test_jobs_create_status_list_pause_resume_cancel(client: Client) -> None:
    job = unique("life")
    created = client.create_job(csv_spec(job))
    assert created["id"] == job and created["state"] == "running"
    assert created["shards"]["total"] == NUMBERS_ROWS // 100
    assert job in [j["id"] for j in client.jobs()]
    assert client.pause(job)["state"] == "paused"
    assert client.resume(job)["state"] == "running"
    assert client.cancel(job)["state"] == "cancelled"
    assert client.job(job)["state"] == "cancelled"
    client.delete_job(job)
    with pytest.raises(ShardsError) as caught:
        client.job(job)
    assert caught.value.status == 404


def test_a_spec_from_a_json_file_and_from_a_yaml_file(client: Client, tmp_path) -> None:
    job = unique("json-file")
    assert client.create_job(write_json(tmp_path / "spec.json", csv_spec(job)))["id"] == job
    yaml = pytest.importorskip("yaml")
    yaml_job = unique("yaml-file")
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(csv_spec(yaml_job)), encoding="utf-8")
    status = client.create_job(str(path))
    assert status["id"] == yaml_job and status["spec"]["shardSize"] == 100


def test_a_yaml_spec_without_pyyaml_says_what_to_install(client: Client, tmp_path, monkeypatch) -> None:
    path = tmp_path / "spec.yml"
    path.write_text("id: x\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml now raises ImportError
    with pytest.raises(ImportError, match="PyYAML"):
        client.create_job(path)


def test_a_checkpoint_exported_and_imported_under_another_id_continues_the_job(client: Client, tmp_path) -> None:
    job = unique("ckpt")
    client.create_job(csv_spec(job))
    with LeaseWorker(client, job, max_tasks=1) as worker:
        first = next(worker)
        list(first.records())
        first.done()
    path = tmp_path / "ckpt.json"
    document = client.export_checkpoint(job, path)
    assert path.exists() and document
    copy = unique("ckpt-copy")
    imported = client.import_checkpoint(path, job=copy)
    assert imported["id"] == copy
    assert imported["shards"]["done"] == 1
    assert imported["shards"]["total"] == NUMBERS_ROWS // 100


# -- Arrow -------------------------------------------------------------------------------------

def test_arrow_pages_come_as_an_ipc_stream_and_say_what_is_missing_without_pyarrow(client: Client) -> None:
    from orleans_shards.arrow import has_pyarrow

    job = unique("arrow")
    client.create_job(csv_spec(job))
    lease = client.lease(job, "arrow-worker", 1)["leases"][0]
    page = client.arrow_bytes(job, lease["taskId"], limit=30)
    assert page.records[:4] == b"\xff\xff\xff\xff"  # an Arrow IPC stream starts with a continuation marker
    assert page.next_offset == 30
    if has_pyarrow():
        table = client.records(job, lease["taskId"], limit=30, format="arrow").records
        assert table.num_rows == 30
    else:
        with pytest.raises(ImportError, match="pyarrow"):
            client.records(job, lease["taskId"], format="arrow")
        with pytest.raises(ImportError, match="format='json'"):
            LeaseWorker(client, job, format="arrow")
    client.release(job, "arrow-worker", [lease["leaseId"]])
