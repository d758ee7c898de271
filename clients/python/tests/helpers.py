"""Test helpers: a loopback TCP proxy that records what clients send and can cut connections, and a
tiny scripted HTTP server (for the retry policy: answers the tests choose, e.g. 503 then 200)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from typing import List, Optional, Sequence, Tuple


class Proxy:
    """Forwards 127.0.0.1:port to a target port; records the bytes each client connection sent."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.sent: List[bytearray] = []  # per connection, in accept order
        self._open: List[Tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            record = bytearray()
            with self._lock:
                self.sent.append(record)
                self._open.append((downstream, upstream))
            threading.Thread(target=self._pump, args=(downstream, upstream, record), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, None), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, record: Optional[bytearray]) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if record is not None:
                    record.extend(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> int:
        """Closes every open connection (both sides), as a network failure would; returns how many."""
        with self._lock:
            pairs, self._open = self._open, []
        for pair in pairs:
            for end in pair:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
        return len(pairs)

    def requests_text(self) -> str:
        with self._lock:
            return "".join(bytes(r).decode("latin-1") for r in self.sent)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()


class ScriptedServer:
    """An HTTP server on loopback that answers each request with the next scripted answer
    (status, headers, body) and records (method, path, body, time) of every request."""

    def __init__(self, answers: Sequence[Tuple[int, dict, object]]) -> None:
        self.answers = list(answers)
        self.requests: List[Tuple[str, str, bytes, float]] = []
        self.headers: List[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path, body, time.monotonic()))
                outer.headers.append(dict(self.headers.items()))
                status, headers, payload = outer.answers.pop(0) if len(outer.answers) > 1 else outer.answers[0]
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/problem+json" if status >= 400 else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def problem(status: int, detail: str, field: Optional[str] = None) -> dict:
    document = {"type": "https://tools.ietf.org/html/rfc9110", "title": http.HTTPStatus(status).phrase, "status": status, "detail": detail}
    if field is not None:
        document["field"] = field
    return document
