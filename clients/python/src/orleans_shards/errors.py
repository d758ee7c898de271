"""The one exception type of the package: an error answer of the server, or a server out of reach."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional


class ShardsError(Exception):
    """An error answer of the OrleansShards server (an RFC 9457 ProblemDetails), or a server that
    could not be reached after the client's retries.

    Attributes:
        status: the HTTP status (400 bad input, 404 unknown, 409 conflict, 503 the cluster is
            recovering, ...), or ``None`` when no answer arrived (connection refused, timeout).
        title: the ProblemDetails ``title`` (``"Bad Request"``, ...), when the server sent one.
        detail: the ProblemDetails ``detail``: names the field or place and the reason.
        field: the ProblemDetails ``field`` extension: the request field at fault, when one is.
        problem: the whole ProblemDetails document as received (other extensions included),
            or ``{}`` when the answer held none.
        method: the request's HTTP method.
        url: the request's URL.
    """

    def __init__(
        self,
        status: Optional[int],
        detail: str,
        *,
        title: Optional[str] = None,
        field: Optional[str] = None,
        problem: Optional[Mapping[str, Any]] = None,
        method: Optional[str] = None,
        url: Optional[str] = None,
    ) -> None:
        super().__init__(f"HTTP {status}: {detail}" if status is not None else detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.problem: dict[str, Any] = dict(problem or {})
        self.method = method
        self.url = url

    @classmethod
    def from_response(
        cls, status: int, reason: str, body: bytes, *, method: Optional[str] = None, url: Optional[str] = None
    ) -> "ShardsError":
        """Builds the error from an answer's status and body (a ProblemDetails when the server sent one)."""
        text = body.decode("utf-8", "replace")
        problem: dict[str, Any] = {}
        try:
            parsed = json.loads(text) if text else None
            if isinstance(parsed, dict):
                problem = parsed
        except ValueError:
            pass
        detail = problem.get("detail") or problem.get("title") or text.strip() or reason or f"HTTP {status}"
        field = problem.get("field")
        title = problem.get("title")
        return cls(
            status,
            str(detail),
            title=str(title) if title is not None else None,
            field=str(field) if field is not None else None,
            problem=problem,
            method=method,
            url=url,
        )

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keeps the attributes when the error crosses a process boundary (DataLoader workers re-raise it in the main process).
        return (_rebuild, (self.status, self.detail, self.title, self.field, self.problem, self.method, self.url))


def _rebuild(status, detail, title, field, problem, method, url):  # type: ignore[no-untyped-def]
    return ShardsError(status, detail, title=title, field=field, problem=problem, method=method, url=url)
