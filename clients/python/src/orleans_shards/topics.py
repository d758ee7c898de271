"""Following a topic partition over Server-Sent Events, resuming after a disconnect with Last-Event-ID."""

from __future__ import annotations

import http.client
import json
import logging
import time
from typing import Iterator, List, Optional, Tuple

from ._http import Transport
from .client import TopicRecord
from .errors import ShardsError

log = logging.getLogger("orleans_shards")


def follow(transport: Transport, path: str, offset: int, *, reconnect: bool, idle_timeout: float) -> Iterator[TopicRecord]:
    """Yields the partition's records from ``offset`` as the server pushes them (see Client.follow)."""
    if offset < 0:
        raise ValueError("offset must be 0 or more")
    last: Optional[int] = None  # the offset of the last record yielded: the Last-Event-ID of a reconnect
    failures = 0
    while True:
        headers = transport.headers("text/event-stream", {"Cache-Control": "no-cache"})
        if last is None:
            target = transport.target(path, {"from": offset})
        else:
            target = transport.target(path)
            headers["Last-Event-ID"] = str(last)
        url = transport.url(path, {"from": offset} if last is None else None)
        connection = transport.new_connection(idle_timeout)
        try:
            try:
                connection.request("GET", target, headers=headers)
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                failures = _failed(transport, url, failures, error, reconnect)
                continue
            if response.status >= 500:
                body = response.read()
                if not reconnect or failures >= transport.retries:
                    raise ShardsError.from_response(response.status, response.reason, body, method="GET", url=url)
                failures += 1
                time.sleep(transport.backoff_delay(failures - 1))
                continue
            if response.status >= 400:
                raise ShardsError.from_response(response.status, response.reason, response.read(), method="GET", url=url)
            try:
                for event, event_id, data in _events(response):
                    failures = 0
                    if event == "truncated":
                        detail = json.loads(data) if data else {}
                        raise ShardsError(
                            410,
                            f"retention removed records this follower had not read; the first retained offset is {detail.get('firstRetained')}",
                            title="truncated", field="from", problem=detail, method="GET", url=url,
                        )
                    if event != "message" or event_id is None:
                        continue
                    record = TopicRecord(int(event_id), json.loads(data))
                    last = record.offset
                    yield record
            except (OSError, http.client.HTTPException) as error:
                failures = _failed(transport, url, failures, error, reconnect)
                continue
            # The server ended the stream (a restart, a proxy's limit): follow on from the last record.
            if not reconnect:
                return
            log.info("GET %s: the stream ended; reconnecting after offset %s", url, last)
        finally:
            connection.close()


def _failed(transport: Transport, url: str, failures: int, error: BaseException, reconnect: bool) -> int:
    if not reconnect or failures >= transport.retries:
        raise ShardsError(None, f"cannot follow {url}: {type(error).__name__}: {error}", method="GET", url=url) from error
    delay = transport.backoff_delay(failures)
    log.warning("GET %s: the stream broke (%s: %s); reconnecting in %.2f s", url, type(error).__name__, error, delay)
    time.sleep(delay)
    return failures + 1


def _events(response: http.client.HTTPResponse) -> Iterator[Tuple[str, Optional[str], str]]:
    """Parses Server-Sent Events (the WHATWG event-stream format): yields (event, id, data) per event."""
    event = "message"
    event_id: Optional[str] = None
    data: List[str] = []
    while True:
        raw = response.readline()
        if not raw:
            return  # the server closed the stream
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data or event != "message":
                yield event, event_id, "\n".join(data)
            event, data = "message", []
            event_id = None
            continue
        if line.startswith(":"):
            continue  # a comment: the server's keep-alive
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            event_id = value
