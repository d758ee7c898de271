"""Topics against a real silo: append, read, follow over SSE with a reconnect in the middle."""

from __future__ import annotations

import re
import threading
import time

import pytest

from conftest import unique
from helpers import Proxy
from orleans_shards import Client, ShardsError


def test_append_and_read(client: Client) -> None:
    topic = unique("t")
    client.create_topic(topic, 2)
    assert client.append(topic, 1, [{"n": 0}, {"n": 1}]) == {"firstOffset": 0, "nextOffset": 2}
    assert client.append(topic, 1, [{"n": 2}])["firstOffset"] == 2
    page = client.read(topic, 1, offset=1, limit=10)
    assert [(r["offset"], r["value"]) for r in page["records"]] == [(1, {"n": 1}), (2, {"n": 2})]
    assert page["nextOffset"] == 3 and page["highWatermark"] == 3
    assert client.read(topic, 0)["records"] == []
    assert any((t["name"] if isinstance(t, dict) else t) == topic for t in client.topics())


def test_follow_resumes_after_a_disconnect_from_the_last_record(silo, client: Client) -> None:
    topic = unique("follow")
    client.create_topic(topic, 1)
    client.append(topic, 0, [{"n": i} for i in range(5)])
    proxy = Proxy(silo.port)
    try:
        follower = Client(proxy.url, retries=5, backoff=0.05).follow(topic, 0, offset=2)
        got = [next(follower) for _ in range(3)]  # offsets 2, 3, 4: all there is
        assert [(r.offset, r.value) for r in got] == [(2, {"n": 2}), (3, {"n": 3}), (4, {"n": 4})]
        assert proxy.cut() == 1  # the network drops the stream

        # Records that land while the follower is cut off, and after it is back.
        client.append(topic, 0, [{"n": 5}, {"n": 6}])
        appender = threading.Timer(0.5, lambda: client.append(topic, 0, [{"n": 7}]))
        appender.start()
        got += [next(follower) for _ in range(3)]
        appender.join()
        follower.close()
    finally:
        proxy.close()
    assert [r.offset for r in got] == [2, 3, 4, 5, 6, 7]  # nothing lost, nothing twice
    assert [r.value["n"] for r in got] == [2, 3, 4, 5, 6, 7]
    requests = re.findall(r"GET (\S+) HTTP/1.1\r\n(.*?)\r\n\r\n", proxy.requests_text(), re.S)
    assert len(requests) == 2
    assert requests[0][0].endswith("/stream?from=2") and "Last-Event-ID" not in requests[0][1]
    assert requests[1][0].endswith("/stream") and "Last-Event-ID: 4" in requests[1][1]


def test_follow_an_unknown_topic_is_a_404(client: Client) -> None:
    with pytest.raises(ShardsError) as caught:
        next(client.follow("no-such-topic", 0))
    assert caught.value.status == 404


def test_follow_pushes_records_as_they_land(client: Client) -> None:
    topic = unique("push")
    client.create_topic(topic, 1)
    follower = client.follow(topic, 0)
    threading.Timer(0.3, lambda: client.append(topic, 0, [{"late": True}])).start()
    started = time.monotonic()
    record = next(follower)
    follower.close()
    assert record.offset == 0 and record.value == {"late": True}
    assert time.monotonic() - started < 10
