"""Fixtures: a real OrleansShards silo (built from this repository, started as a process on free
loopback ports with its state in a temporary directory, stopped by its PID at the end)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[3]

try:
    import orleans_shards  # noqa: F401  (installed: .ci/run tests the package as pip installed it)
except ImportError:  # a developer's checkout: test the source
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
SILO_PROJECT = REPO / "src" / "Silo" / "Silo.csproj"
# SHARDS_SILO_DLL: a silo built elsewhere (another checkout), used as it is.
SILO_DLL = Path(os.environ.get("SHARDS_SILO_DLL") or REPO / "src" / "Silo" / "bin" / "Release" / "net10.0" / "OrleansShards.Silo.dll")
NUMBERS_ROWS = 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _missing(problem: str) -> None:
    # As the .NET tests do: a missing tool skips on a developer machine and fails under CI.
    if os.environ.get("CI"):
        pytest.fail(problem + " (CI is set, so this is a failure, not a skip)")
    pytest.skip(problem)


class Silo:
    """A silo process: its URL, its data directory, its log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir()
        self.log_path = root / "silo.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        arguments = [
            "dotnet", str(SILO_DLL),
            "--urls", self.url,
            f"--Shards:DataDir={self.data}",
            f"--Shards:SiloPort={free_port()}",
            f"--Shards:GatewayPort={free_port()}",
            "--Logging:LogLevel:Default=Warning",
        ]
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.root)
        log.close()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the silo exited with {self.process.returncode} before it answered:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the silo did not answer /readyz within 180 s:\n{self.log_tail()}")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _build_silo() -> None:
    if (os.environ.get("SHARDS_SILO_PREBUILT") or os.environ.get("SHARDS_SILO_DLL")) and SILO_DLL.exists():
        return
    if shutil.which("dotnet") is None:
        _missing("dotnet is not on PATH: the tests need a real silo built from src/Silo")
    build = subprocess.run(
        ["dotnet", "build", "-c", "Release", "--nologo", "-v", "quiet", str(SILO_PROJECT)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO, text=True,
    )
    if build.returncode != 0:
        pytest.fail("dotnet build of src/Silo failed:\n" + build.stdout[-4000:])


@pytest.fixture(scope="session")
def silo() -> Iterator[Silo]:
    """One silo for the session, with numbers.csv (columns id, text; NUMBERS_ROWS rows) in its data directory."""
    _build_silo()
    root = Path(tempfile.mkdtemp(prefix="shards-py-"))
    server = Silo(root)
    with open(server.data / "numbers.csv", "w", encoding="utf-8", newline="") as out:
        out.write("id,text\n")
        for i in range(NUMBERS_ROWS):
            out.write(f'{i},"row {i}, quoted"\n')
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if os.environ.get("SHARDS_KEEP_TEST_DIRS"):
            print(f"silo directory kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def client(silo: Silo):
    from orleans_shards import Client

    with Client(silo.url, retries=2, backoff=0.05) as value:
        yield value


def unique(prefix: str) -> str:
    """A job or topic id no other test uses."""
    return f"{prefix}-{os.getpid()}-{time.monotonic_ns() % 10**9}"


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
