"""Arrow pages, through pyarrow when it is installed (it is optional: the core needs only the standard library)."""

from __future__ import annotations

from typing import Any

_MISSING = (
    "format='arrow' needs pyarrow, which is not installed in this Python ({where}): install it "
    "(pip install pyarrow, or the distribution's python3-pyarrow where there is one), or use format='json'"
)


def has_pyarrow() -> bool:
    """Whether pyarrow can be imported here."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.ipc  # noqa: F401
    except ImportError:
        return False
    return True


def require_pyarrow() -> None:
    """Raises ImportError, saying what to do, when pyarrow is not installed."""
    if not has_pyarrow():
        import sys

        raise ImportError(_MISSING.format(where=sys.executable))


def read_stream(data: bytes) -> Any:
    """Decodes an Arrow IPC stream (the body of a ``format=arrow`` answer) into a ``pyarrow.Table``."""
    require_pyarrow()
    import pyarrow.ipc

    return pyarrow.ipc.open_stream(data).read_all()


def table_rows(table: Any) -> Any:
    """The rows of a ``pyarrow.Table`` as dicts."""
    return table.to_pylist()
