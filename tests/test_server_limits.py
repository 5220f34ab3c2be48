"""What one client can hold of a shared sandbox, over real sockets (docs/quickstart.md "The
standalone sandbox", docs/fidelity.md "HTTP"): a body over 1 MiB is refused, from its
`Content-Length` before it is read or while a chunked one is read, without the server holding
it; a request head over the bound is refused and the server answers the next one; past
`--max-connections` a request is answered 503."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ocx_sim.app import create_app
from ocx_sim.server import MAX_HEADER_BYTES, ServerThread, http_for, serve_in_thread
from ocx_sim.worlds import WorldConfig, Worlds
from tests.served import ocx_sim_serve

MIB = 1 << 20
CHUNK = b"a" * (64 * 1024)
TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    """A server as one bound beyond loopback runs (h11, which bounds a request's head)."""
    with serve_in_thread(create_app(Worlds(WorldConfig())), http="h11") as running:
        yield running


def test_a_server_others_can_reach_runs_h11_and_one_on_loopback_httptools() -> None:
    assert [http_for(host) for host in ("127.0.0.1", "localhost", "::1")] == ["httptools"] * 3
    assert [http_for(host) for host in ("0.0.0.0", "10.1.2.3", "::", "sandbox.example")] == [
        "h11"
    ] * 4


def head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: sandbox", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_and_body(connection: socket.socket) -> tuple[int, bytes]:
    """The answer's status and whatever of its body came with the first read."""
    connection.settimeout(TIMEOUT_S)
    answer = connection.recv(65536)
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def send_chunked(port: int, total: int) -> tuple[int, bytes]:
    """POST `total` bytes as a chunked body, then read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as connection:
        connection.sendall(
            head(
                "/_sim/accounts",
                {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            )
        )
        for _ in range(total // len(CHUNK)):
            connection.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
        connection.sendall(b"0\r\n\r\n")
        return status_and_body(connection)


def test_a_declared_2_mib_body_is_refused_with_413_before_it_is_sent(
    server: ServerThread,
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S) as connection:
        declared = {"Content-Type": "application/json", "Content-Length": str(2 * MIB)}
        connection.sendall(head("/_sim/accounts", declared))

        status, body = status_and_body(connection)

    assert status == 413
    assert b'"code":"PAYLOAD_TOO_LARGE"' in body


def test_a_chunked_2_mib_body_is_refused_with_413(server: ServerThread) -> None:
    status, body = send_chunked(server.port, 2 * MIB)

    assert status == 413
    assert b'"code":"PAYLOAD_TOO_LARGE"' in body


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_50_mib_chunked_body_leaves_the_servers_memory_where_it_was(tmp_path: Path) -> None:
    with ocx_sim_serve([], tmp_path) as served:
        # Warm up: the first requests import and allocate what every later one reuses.
        for _ in range(3):
            assert send_chunked(served.port, 2 * MIB)[0] == 413
        before = vm_rss_kib(served.process.pid)

        status, _ = send_chunked(served.port, 50 * MIB)

        grown_kib = vm_rss_kib(served.process.pid) - before
    assert status == 413
    assert grown_kib < 4 * 1024, f"the server grew by {grown_kib} KiB"


def test_a_request_head_over_the_bound_is_refused_and_the_server_answers_the_next(
    server: ServerThread,
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S) as connection:
        # A head that has not ended after the bound: uvicorn stops waiting for the rest.
        connection.sendall(b"GET /_sim/clock HTTP/1.1\r\nX-Padding: " + b"a" * MAX_HEADER_BYTES)

        status, _ = status_and_body(connection)

    with httpx.Client(base_url=server.url, timeout=TIMEOUT_S) as http:
        answered = http.get("/_sim/clock")
    assert status in (400, 431)
    assert answered.status_code == 200


def test_past_max_connections_a_request_is_answered_503(tmp_path: Path) -> None:
    with ocx_sim_serve(["--max-connections", "2"], tmp_path) as served:
        address = ("127.0.0.1", served.port)
        with (
            socket.create_connection(address),
            socket.create_connection(address),
            httpx.Client(base_url=served.url, timeout=TIMEOUT_S) as http,
        ):
            crowded = http.get("/_sim/clock")
        with httpx.Client(base_url=served.url, timeout=TIMEOUT_S) as http:
            alone = http.get("/_sim/clock")

    assert crowded.status_code == 503
    assert alone.status_code == 200
