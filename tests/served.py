"""`ocx-sim serve` in a child process on a free port, as a user starts it: for the tests that
need the CLI's own foreground server (uvicorn.run), not the pytest plugin's threaded one."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BANNER_LINES = 8
"""What `ocx-sim serve` prints before uvicorn's log: the world, where its secrets come from, the
demo account, a curl line."""
START_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Served:
    port: int
    banner: list[str]
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def demo(self, label: str) -> str:
        """A value the banner prints for the demo account (`session token`, `trade API key`,
        `wallet address`, `private key`), without what follows it."""
        for line in self.banner:
            name, _, value = line.partition(":")
            if name.strip() == label:
                return value.split()[0]
        raise KeyError(label)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def ocx_sim_serve(
    args: Sequence[str], cwd: Path, banner_lines: int = BANNER_LINES
) -> Iterator[Served]:
    """`python -m ocx_sim serve --port P *args` until the block ends; yields once the port
    accepts connections, with the first `banner_lines` lines it printed."""
    port = free_port()
    # The `with` closes the server's stdout pipe once it has exited.
    with subprocess.Popen(
        [sys.executable, "-m", "ocx_sim", "serve", "--port", str(port), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            banner = [server.stdout.readline().rstrip("\n") for _ in range(banner_lines)]
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert server.poll() is None, f"ocx-sim serve exited: {banner}"
                    assert time.monotonic() < deadline, "ocx-sim serve did not start"
                    time.sleep(0.05)
            yield Served(port, banner, server)
        finally:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=10)
