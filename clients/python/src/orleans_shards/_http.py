"""HTTP transport on the standard library's http.client: one keep-alive connection per thread (and
per process: a connection inherited over fork is never reused), retries with exponential back-off
and jitter on 5xx answers and connection errors, never on 4xx, honouring ``Retry-After``."""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import os
import random
import socket
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Tuple, Union

from .errors import ShardsError

log = logging.getLogger("orleans_shards")

JsonBody = Union[bytes, Any]
Query = Optional[Mapping[str, Any]]

# A connection the server closed while it sat idle in our pool fails at once with one of these
# on its next use; the request was not processed, so it is sent again on a new connection.
_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Response:
    """A complete answer: status, headers and body."""

    __slots__ = ("status", "reason", "headers", "body")

    def __init__(self, status: int, reason: str, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is empty (204)."""
        return json.loads(self.body) if self.body else None


def retry_after_seconds(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Parses a ``Retry-After`` header: delay-seconds or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.fromtimestamp(now if now is not None else time.time(), timezone.utc)
    return max(0.0, (when - current).total_seconds())


class Transport:
    """Sends requests to one server. Thread-safe: each thread (and each process) has its own connection."""

    def __init__(
        self,
        base_url: str,
        token: Optional[str] = None,
        *,
        timeout: float = 60.0,
        retries: int = 6,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        max_retry_after: float = 60.0,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url if "://" in base_url else "http://" + base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url '{base_url}' is not an http:// or https:// URL")
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.base_url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._local = threading.local()
        self._random = random.Random()

    # -- connections -------------------------------------------------------------------------

    def new_connection(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        """A new connection to the server (for a stream that keeps it, or for the pool)."""
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _pooled(self, timeout: Optional[float]) -> Tuple[http.client.HTTPConnection, bool]:
        local = self._local
        pid = os.getpid()
        connection = getattr(local, "connection", None)
        if connection is not None and getattr(local, "pid", None) == pid:
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
            return connection, True
        # None yet, or inherited from the parent process over fork: that socket is the parent's.
        connection = self.new_connection(timeout)
        local.connection = connection
        local.pid = pid
        return connection, False

    def _discard(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None and getattr(self._local, "pid", None) == os.getpid():
            connection.close()

    def close(self) -> None:
        """Closes the calling thread's connection (others close when their thread ends)."""
        self._discard()

    # -- requests ----------------------------------------------------------------------------

    def url(self, path: str, query: Query = None) -> str:
        """The full URL of ``path`` (which starts with '/') with ``query`` (``None`` values left out)."""
        return self.base_url + self.target(path, query)[len(self._prefix):]

    def target(self, path: str, query: Query = None) -> str:
        """The request target (path and query) of ``path`` under the base URL's path."""
        target = self._prefix + path
        if query:
            pairs = [(k, _query_value(v)) for k, v in query.items() if v is not None]
            if pairs:
                target += "?" + urllib.parse.urlencode(pairs)
        return target

    def headers(self, accept: str = "application/json", extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
        """The headers every request carries: Accept, the bearer token, the user agent."""
        from ._version import __version__

        headers = {"Accept": accept, "User-Agent": f"orleans-shards-python/{__version__}"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if extra:
            headers.update(extra)
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = None,
        json_body: JsonBody = None,
        accept: str = "application/json",
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        """Sends one request and returns its 2xx answer, retrying 5xx answers and connection errors.

        Raises ShardsError for a 4xx answer (at once), for a 5xx answer or a connection error
        that outlasted the retries.
        """
        target = self.target(path, query)
        url = self.base_url + target[len(self._prefix):]
        body: Optional[bytes] = None
        all_headers = self.headers(accept, headers)
        if json_body is not None:
            body = json_body if isinstance(json_body, bytes) else json.dumps(json_body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        wait_timeout = self.timeout if timeout is None else timeout
        attempt = 0
        while True:
            try:
                response = self._send(method, target, body, all_headers, wait_timeout)
            except (OSError, http.client.HTTPException) as error:
                if attempt >= self.retries:
                    raise ShardsError(
                        None, f"cannot reach {self.base_url} ({method} {target}): {_describe(error)}", method=method, url=url
                    ) from error
                delay = self._backoff(attempt)
                log.warning("%s %s: cannot reach the server (%s); retry %d of %d in %.2f s",
                            method, url, _describe(error), attempt + 1, self.retries, delay)
            else:
                if response.status < 400:
                    return response
                if response.status < 500 or attempt >= self.retries:
                    raise ShardsError.from_response(response.status, response.reason, response.body, method=method, url=url)
                hinted = retry_after_seconds(response.headers.get("Retry-After"))
                delay = min(hinted, self.max_retry_after) if hinted is not None else self._backoff(attempt)
                log.info("%s %s: HTTP %d; retry %d of %d in %.2f s", method, url, response.status, attempt + 1, self.retries, delay)
            time.sleep(delay)
            attempt += 1

    def _send(self, method: str, target: str, body: Optional[bytes], headers: Mapping[str, str], timeout: float) -> Response:
        connection, reused = self._pooled(timeout)
        try:
            try:
                connection.request(method, target, body=body, headers=dict(headers))
                answer = connection.getresponse()
            except _STALE_CONNECTION:
                if not reused:
                    raise
                # The server closed the idle connection: the request never reached it, send it again.
                self._discard()
                connection, _ = self._pooled(timeout)
                connection.request(method, target, body=body, headers=dict(headers))
                answer = connection.getresponse()
            data = answer.read()
            if answer.will_close:
                self._discard()
            return Response(answer.status, answer.reason, answer.headers, data)
        except BaseException:
            # Whatever state the connection is in now (half a request, a timeout, Ctrl+C), it cannot be reused.
            self._discard()
            raise

    def _backoff(self, attempt: int) -> float:
        # Exponential back-off with jitter in [½, 1] of the step, so that many workers do not retry in lockstep.
        step = min(self.max_backoff, self.backoff * (2 ** attempt))
        return float(step * (0.5 + 0.5 * self._random.random()))

    def backoff_delay(self, attempt: int) -> float:
        """The delay before retry number ``attempt + 1`` of a failed connection (used by streams)."""
        return self._backoff(attempt)

    # Pickling (a Client crossing into a spawned DataLoader worker): the configuration, not the connections.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_local"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _describe(error: BaseException) -> str:
    if isinstance(error, socket.timeout) or isinstance(error, TimeoutError):
        return "timed out"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
