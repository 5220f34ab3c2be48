"""A world with a long event log: its digest and its events are read a slice at a time, so the
server's other worlds keep answering meanwhile (docs/control-api.md "GET /_sim/digest",
"GET /_sim/events"), and the digest stays exact however it was caught up."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, MutableMapping
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from ocx_sim.app import create_app
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.control import pieces
from ocx_sim.engine.core.events import Event, EventLog, IndexSet, canonical, code_of
from ocx_sim.gateway.render import event_view
from ocx_sim.worlds import WorldConfig, Worlds
from ocx_sim.worlds.journal import parse_body

LONG = 100_000


def _pad(log: EventLog, count: int) -> None:
    """`count` more index moves at the end of the log, as the emitters would append them."""
    code = code_of(IndexSet)
    start = log.last_seq
    ts = log.rows[-1][2] if log.rows else DEFAULT_START_MS  # a world's first instant
    for seq in range(start + 1, start + count + 1):
        log.rows.append((code, seq, ts, "BTC", Decimal(68_000 + seq % 100)))


def _full_hash(log: EventLog) -> str:
    h = hashlib.sha256()
    for event in log:
        h.update(canonical(event).encode() + b"\n")
    return h.hexdigest()


def test_the_digest_caught_up_in_pieces_is_the_digest_of_the_whole_log() -> None:
    log = EventLog()
    _pad(log, 25)
    first = log.digest()
    _pad(log, 10)
    assert not log.hash_some(4)  # part of what is new
    assert log.hashed == 29

    assert log.digest() == _full_hash(log) != first
    assert log.hashed == 35


def test_a_restored_log_goes_on_hashing_from_where_its_digest_was() -> None:
    import pickle

    log = EventLog()
    _pad(log, 40)
    before = log.digest()

    copy = pickle.loads(pickle.dumps(log))
    assert (copy.hashed, copy.digest()) == (40, before)

    _pad(log, 5)
    _pad(copy, 5)
    assert copy.digest() == log.digest() == _full_hash(log) != before


def test_events_page_forward_with_since_and_limit() -> None:
    worlds = Worlds(WorldConfig())
    _pad(worlds.default.exchange.events, 30)

    async def pages() -> list[list[int]]:
        transport = httpx.ASGITransport(app=create_app(worlds))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            out = []
            for since in (0, 12, 24):
                answer = await http.get("/_sim/events", params={"since": since, "limit": 12})
                out.append([event["seq"] for event in answer.json()["events"]])
            refused = await http.get("/_sim/events", params={"limit": 0})
            assert refused.status_code == 400
            assert refused.json()["details"]["field"] == "limit"
            return out

    assert asyncio.run(pages()) == [list(range(1, 13)), list(range(13, 25)), list(range(25, 31))]


def _race(
    path: str, progress: Callable[[EventLog], int], method: str = "GET"
) -> tuple[list[str], int]:
    """Which finished first, `path` in a world with a long log or another world's market list
    asked for just after it; and how far the long read had got (`progress`) when the other
    answer came."""
    worlds = Worlds(WorldConfig())
    busy = worlds.create(WorldConfig())
    log = busy.exchange.events
    _pad(log, LONG)
    finished: list[str] = []
    got_to: list[int] = []

    async def run() -> None:
        transport = httpx.ASGITransport(app=create_app(worlds))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:

            async def ask(name: str, url: str) -> None:
                answer = await http.request(method if name == "long" else "GET", url)
                assert answer.status_code in (200, 201), answer.text
                finished.append(name)

            long = asyncio.create_task(ask("long", f"/w/{busy.world_id}{path}"))
            await asyncio.sleep(0)  # the long read has started
            await ask("other", "/perps/markets")
            got_to.append(progress(log))
            await long

    asyncio.run(run())
    return finished, got_to[0]


def test_another_world_answers_while_a_long_logs_digest_is_taken() -> None:
    finished, hashed = _race("/_sim/digest", lambda log: log.hashed)

    assert finished == ["other", "long"]
    assert hashed < LONG


def test_another_world_answers_while_a_long_logs_events_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered = 0

    def counting(event: Event) -> dict[str, Any]:
        nonlocal rendered
        rendered += 1
        return event_view(event)

    monkeypatch.setattr(pieces, "event_view", counting)

    finished, so_far = _race("/_sim/events", lambda log: rendered)

    assert finished == ["other", "long"]
    assert so_far < LONG


def test_another_world_answers_while_a_long_logs_snapshot_is_taken() -> None:
    finished, _ = _race("/_sim/snapshot", lambda log: 0, method="POST")

    assert finished == ["other", "long"]


def test_a_snapshot_taken_aside_restores_the_world_as_it_was() -> None:
    worlds = Worlds(WorldConfig())
    world = worlds.default
    _pad(world.exchange.events, 1_000)
    digest = world.exchange.digest()

    async def snapshot_then_restore() -> None:
        transport = httpx.ASGITransport(app=create_app(worlds))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            taken = (await http.post("/_sim/snapshot")).json()["snapshotId"]
            _pad(world.exchange.events, 10)
            restored = await http.post("/_sim/restore", json={"snapshotId": taken})
            assert restored.status_code == 200

    asyncio.run(snapshot_then_restore())

    assert world.exchange.events.last_seq == 1_000
    assert world.exchange.digest() == digest


def test_a_long_answer_of_events_is_written_a_piece_at_a_time_between_other_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a long advance answers and a whole log's page are written by `events_json`: with
    no time allowed per piece, other work runs between every two pieces."""
    monkeypatch.setattr(pieces, "SLICE_SECONDS", 0.0)
    log = EventLog()
    _pad(log, 1_000)
    ticks = 0

    async def other_work() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async def write() -> list[bytes]:
        ticking = asyncio.create_task(other_work())
        await asyncio.sleep(0)
        written = await pieces.events_json(log, 0, log.last_seq)
        ticking.cancel()
        return written

    written = asyncio.run(write())

    assert [e["seq"] for e in orjson.loads(b"".join(written))] == list(range(1, 1_001))
    assert ticks >= 1_000 // pieces.PIECE


def test_a_long_advances_answer_goes_out_in_parts_and_whole_into_the_journal() -> None:
    """A long advance's answer is never joined into one string (copying tens of MiB would hold
    the event loop): its parts go out one by one under one Content-Length, and a journal that
    keeps bodies notes the whole answer (by its size: it is over the journal's bound)."""
    worlds = Worlds(WorldConfig(journal_bodies=True))
    world = worlds.default
    world.exchange.sim.start_sandbox(options=True, everywhere=True)
    messages: list[dict[str, Any]] = []
    body = orjson.dumps({"ms": 60_000})
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/_sim/clock/advance",
        "raw_path": b"/_sim/clock/advance",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"sim"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50_000),
        "server": ("sim", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(dict(message))

    asyncio.run(create_app(worlds)(scope, receive, send))

    start, *parts = messages
    headers = dict(start["headers"])
    written = b"".join(part["body"] for part in parts)
    answer = orjson.loads(written)
    assert start["status"] == 200
    assert int(headers[b"content-length"]) == len(written)
    assert len(answer["events"]) > 1_000
    assert len([part for part in parts if part["body"]]) > len(answer["events"]) // pieces.PIECE
    request_kept, answer_kept = world.journal.entries()[-1].bodies or (None, None)
    assert request_kept == {"ms": 60_000}
    assert answer_kept == parse_body(written)
    assert f"({len(written)} bytes" in answer_kept
