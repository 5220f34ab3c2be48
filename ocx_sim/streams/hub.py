"""The hub: one world's open streams, grouped so that each frame is built once per group.

A stream is a channel (what it shows: a book, an account's events, …) with its parameters. The
subscribers of one channel and parameters form a group; the group keeps the view it last sent
and, when the world may have changed (`World.changed`, after every request), builds the new
view, and if it differs, one payload, serialised once, which every subscriber's connection
wraps in its own envelope (docs/fidelity.md "Streams"):

    {eventId: "{token}-{eventSeq}-{engineTs}", eventType, eventSeq, engineTs, sourceTs,
     correlationId, causationId, payload}

`eventSeq` counts one connection's frames (the snapshot is 1), so the envelope is per
subscriber; the payload's bytes are spliced in, never re-serialised. With a manual clock a
request that changes a stream's view sends exactly one frame on it, and nothing is sent
otherwise. With a realtime clock a group sends at most one frame per `intervalMs` of wall
time: a change that comes sooner waits, the group arming a flush on the running event loop
(`call_later`) for when the interval is up, and the changes made meanwhile go out as one
frame (the difference between the view last sent and the view then); with no running loop
the next `changed` (a request, the realtime ticker) sends it. A newcomer to a group flushes it
at once, interval or not, so that its snapshot and its fellows' frames agree. Wall time is
read from the world's realtime clock, so a test that fakes it (`FakeRealTime`) decides when
a frame is due. Frames wait in the subscriber's queue until its connection (or an in-process
iterator) takes them; a queue that grows past `MAX_QUEUED` frames is cut off with
`SLOW_CONSUMER` instead of growing without bound.

Stream faults (worlds/faults.py, docs/control-api.md "Faults") act here, on one subscriber's
frames, so the SSE response and an in-process reader see the same thing: the snapshot is
always queued whole and once; `stream_gap` drops the first frame after it (its `eventSeq` is
consumed, so the client sees 1, 3, 4, …); `stream_duplicate` queues that frame twice, byte for
byte; `stream_drop` ends the stream, with no `event: error`, right after the `afterFrames`-th
frame queued (the snapshot is the first); `stream_stall` holds back every frame after the
snapshot for `ms` real milliseconds from the moment the snapshot is taken.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from ocx_sim.clock import RealTimeSource, WallClock, real_seconds
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import OcxError
from ocx_sim.worlds.faults import FaultAction, FaultType

MAX_QUEUED = 1_000
"""Frames a subscriber may leave untaken before it is cut off."""


class Channel(Protocol):
    """What one stream shows, for one set of parameters."""

    @property
    def token(self) -> str:
        """The `eventId` prefix (`book`, `user`, …)."""

    @property
    def snapshot_type(self) -> str: ...

    @property
    def update_type(self) -> str: ...

    @property
    def update_event(self) -> str:
        """The SSE `event:` of a frame after the snapshot: `update` or `delta`."""

    def view(self, exchange: Exchange) -> Any:
        """The state the stream shows, comparable with `==`."""

    def snapshot(self, exchange: Exchange, view: Any) -> dict[str, Any]:
        """The snapshot payload of `view`."""

    def update(self, exchange: Exchange, before: Any, after: Any) -> dict[str, Any] | None:
        """The payload of the change from `before` to `after` (they differ), or None when
        nothing the stream shows changed (a view may be coarser than what it shows: an
        account's fill count moves on a fill of a market the stream leaves out)."""


@dataclass(frozen=True, slots=True)
class Frame:
    event: str
    """The SSE `event:` line: `snapshot`, `update`, `delta` or `error`."""
    seq: int | None
    """The SSE `id:` line (the envelope's `eventSeq`); None for an error."""
    data: bytes


@dataclass(eq=False)
class Subscriber:
    """One connection's end of a group: its frames, in order, and whether it is over."""

    group: Group
    seq: int = 0
    queue: deque[Frame] = field(default_factory=deque)
    closed: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set whenever a frame arrives or the stream ends (the SSE response waits on it)."""
    queued: int = 0
    """Frames queued for the client so far (a duplicate counts twice, a gap not at all)."""
    taken: int = 0
    """Frames taken by the connection so far (the journal's `frames`)."""
    gap: bool = False
    """A `stream_gap` waiting for the first frame after the snapshot."""
    duplicate: bool = False
    """A `stream_duplicate` waiting for the first frame after the snapshot."""
    drop_after: int | None = None
    """A `stream_drop`: the stream ends once this many frames are queued."""
    stall_ms: int | None = None
    """A `stream_stall` that starts when the snapshot is taken."""
    held_until: float | None = None
    """While a stall runs: the `clock` reading at which it ends."""
    clock: RealTimeSource = real_seconds
    """Real seconds (a stall is real time, whatever the simulated clock does)."""

    def inject(self, action: FaultAction) -> None:
        """Apply a stream fault to this connection (module docstring); others are ignored."""
        kind = action.type
        if kind is FaultType.STREAM_GAP:
            self.gap = True
        elif kind is FaultType.STREAM_DUPLICATE:
            self.duplicate = True
        elif kind is FaultType.STREAM_STALL:
            self.stall_ms = action.ms
        elif kind is FaultType.STREAM_DROP:
            self.drop_after = action.after_frames or 1
            self._maybe_drop()

    def _maybe_drop(self) -> None:
        if self.drop_after is not None and self.queued >= self.drop_after and not self.closed:
            self.close()

    def held_for(self) -> float:
        """Real seconds a running stall still holds frames back (0 when none runs)."""
        if self.held_until is None:
            return 0.0
        left = self.held_until - self.clock()
        if left <= 0:
            self.held_until = None
            return 0.0
        return left

    def push(self, event: str, event_type: str, engine_ts: int, payload: bytes) -> None:
        if self.closed:
            return
        if len(self.queue) >= MAX_QUEUED:
            self.fail("SLOW_CONSUMER", "The stream fell too far behind and was closed", True)
            return
        self.seq += 1
        token = self.group.channel.token
        envelope = b"".join(
            (
                b'{"eventId":"%s-%d-%d","eventType":"%s","eventSeq":%d,"engineTs":%d,'
                % (token.encode(), self.seq, engine_ts, event_type.encode(), self.seq, engine_ts),
                b'"sourceTs":null,"correlationId":null,"causationId":null,"payload":',
                payload,
                b"}",
            )
        )
        frame = Frame(event, self.seq, envelope)
        if self.seq > 1 and self.gap:
            self.gap = False  # skipped: its eventSeq is spent
            return
        self._queue(frame)
        if self.seq > 1 and self.duplicate:
            self.duplicate = False
            self._queue(frame)

    def _queue(self, frame: Frame) -> None:
        if self.closed:
            return
        self.queue.append(frame)
        self.queued += 1
        self.ready.set()
        self._maybe_drop()

    def fail(self, code: str, message: str, retryable: bool) -> None:
        """`event: error`, then the end of the stream."""
        if self.closed:
            return
        body = {"code": code, "message": message, "retryable": retryable}
        self.queue.append(Frame("error", None, orjson.dumps(body)))
        self.close()

    def close(self) -> None:
        self.closed = True
        self.group.leave(self)
        self.ready.set()

    def take(self) -> list[Frame]:
        """Every frame waiting, oldest first; none while a stall holds them back (and only
        the snapshot when taking it starts one)."""
        if self.held_for() > 0:
            return []
        if self.stall_ms is not None and self.queue and self.queue[0].event == "snapshot":
            self.held_until = self.clock() + self.stall_ms / 1000
            self.stall_ms = None
            frames = [self.queue.popleft()]
            if not self.queue:
                self.ready.clear()
        else:
            frames = list(self.queue)
            self.queue.clear()
            self.ready.clear()
        self.taken += len(frames)
        return frames


@dataclass(eq=False)
class Group:
    hub: Hub
    key: Hashable
    channel: Channel
    last: Any = None
    subscribers: list[Subscriber] = field(default_factory=list)
    interval_ms: int | None = None
    """Realtime clocks only: the least wall time between two frames (module docstring)."""
    sent_at: float | None = None
    """The wall time (realtime clock's real seconds) of the last frame; None before one."""
    flush: asyncio.TimerHandle | None = None
    """A flush armed on the event loop for when the interval is up."""

    def leave(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)
        if not self.subscribers:
            if self.hub.groups.get(self.key) is self:
                del self.hub.groups[self.key]
            if self.flush is not None:
                self.flush.cancel()
                self.flush = None

    def publish(self, exchange: Exchange, *, force: bool = False) -> None:
        clock = exchange.clock
        real_now = clock.real_now() if isinstance(clock, WallClock) else None
        if real_now is not None and self.interval_ms and self.sent_at is not None and not force:
            wait = self.sent_at + self.interval_ms / 1000 - real_now
            if wait > 0:
                self._arm(wait)
                return
        try:
            view = self.channel.view(exchange)
        except OcxError:
            # What the stream shows cannot be had now (an index withdrawn): nothing is sent
            # until it can, and then what changed meanwhile.
            return
        if view == self.last:
            return
        if self.flush is not None:
            self.flush.cancel()
            self.flush = None
        update = self.channel.update(exchange, self.last, view)
        self.last = view
        if update is None:
            return
        if real_now is not None:
            self.sent_at = real_now
        payload = orjson.dumps(update)
        now = exchange.now_ms
        event, event_type = self.channel.update_event, self.channel.update_type
        for subscriber in list(self.subscribers):
            subscriber.push(event, event_type, now, payload)

    def _arm(self, wait: float) -> None:
        """Flush once `wait` real seconds are up, if an event loop runs (else the next
        `changed` does)."""
        if self.flush is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.flush = loop.call_later(wait, self._flushed)

    def _flushed(self) -> None:
        self.flush = None
        if self.hub.groups.get(self.key) is self:
            self.publish(self.hub.exchange())


class Hub:
    """One world's streams (module docstring)."""

    def __init__(self, exchange: Callable[[], Exchange]) -> None:
        self._exchange = exchange
        """The world's exchange, read anew each time: a restore replaces it."""
        self.groups: dict[Hashable, Group] = {}

    def exchange(self) -> Exchange:
        return self._exchange()

    def subscribe(
        self, key: Hashable, channel: Channel, *, interval_ms: int | None = None
    ) -> Subscriber:
        """A new connection to `channel`: its snapshot is its first frame. A group new to
        the hub starts from the view its snapshot shows. `interval_ms`: the least wall time
        between two of the group's frames on a realtime clock (part of `key`)."""
        exchange = self._exchange()
        group = self.groups.get(key)
        view = channel.view(exchange)
        if group is None:
            group = self.groups[key] = Group(self, key, channel, view, interval_ms=interval_ms)
        else:
            # The group's subscribers already have every change up to now: bring the view
            # they share up to date first, so the newcomer's snapshot and their frames agree.
            group.publish(exchange, force=True)
        subscriber = Subscriber(group)
        group.subscribers.append(subscriber)
        payload = orjson.dumps(channel.snapshot(exchange, view))
        subscriber.push("snapshot", channel.snapshot_type, exchange.now_ms, payload)
        return subscriber

    def changed(self) -> None:
        """The world may have changed: every group sends what changed in its view."""
        if not self.groups:
            return
        exchange = self._exchange()
        for group in list(self.groups.values()):
            group.publish(exchange)

    def end(self, code: str, message: str, retryable: bool) -> None:
        """Every stream gets `event: error` and closes (the world was deleted or reset)."""
        for group in list(self.groups.values()):
            for subscriber in list(group.subscribers):
                subscriber.fail(code, message, retryable)
            if group.flush is not None:
                group.flush.cancel()
                group.flush = None
        self.groups.clear()
