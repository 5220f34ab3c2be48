"""The hub: one world's open streams, grouped so that each frame is built once per group.

A stream is a channel (what it shows: a book, an account's events, …) with its parameters. The
subscribers of one channel and parameters form a group; the group keeps the view it last sent
and, when the world may have changed (`World.changed`, after every request's answer), builds
the new view, and if it differs, one frame (docs/fidelity.md "Streams"):

    {eventId: "{token}-{eventSeq}-{engineTs}", eventType, eventSeq, engineTs, sourceTs,
     correlationId, causationId, payload}

`eventSeq` counts one connection's frames (the snapshot is 1), so each subscriber's copy
differs in it alone: the frame is serialised once per group (`Envelope`, with a marker where
the `eventSeq` goes) and goes into the group's log; a subscriber is a cursor into the log and
stamps its `eventSeq` on the frames it takes. With a manual clock a
request that changes a stream's view sends exactly one frame on it, and nothing is sent
otherwise. With a realtime clock a group sends at most one frame per `intervalMs` of wall
time: a change that comes sooner waits, the group arming a flush on the running event loop
(`call_later`) for when the interval is up, and the changes made meanwhile go out as one
frame (the difference between the view last sent and the view then); with no running loop
the next `changed` (a request, the realtime ticker) sends it. A newcomer to a group flushes it
at once, interval or not, so that its snapshot and its fellows' frames agree. Wall time is
read from the world's realtime clock, so a test that fakes it (`FakeRealTime`) decides when
a frame is due. Frames wait in the log until every subscriber's connection (or an in-process
iterator) has taken them; a subscriber that falls `MAX_QUEUED` frames behind is cut off with
`SLOW_CONSUMER` instead of growing the log without bound.

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
from functools import partial
from itertools import islice
from typing import Any, NamedTuple, Protocol

import orjson

from ocx_sim.clock import RealTimeSource, WallClock, real_seconds
from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import OcxError
from ocx_sim.worlds.faults import FaultAction, FaultType

MAX_QUEUED = 1_000
"""Frames a subscriber may leave untaken before it is cut off."""

WALK_AT_LEAST = 32
"""The shortest log at which a group walks its subscribers (`Group._send`)."""


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


SEQ = b"\x00"
"""Stands where a subscriber's `eventSeq` goes in a frame's shared bytes. orjson escapes every
control character and the rest of the envelope is ours, so this byte occurs nowhere else."""


class Envelope:
    """One frame's bytes for every subscriber of its group, less the `eventSeq`: built and
    serialised once, and split where each subscriber's `eventSeq` goes (in `eventId`,
    `eventSeq` and the SSE `id:` line), so that a subscriber's frame is a single join."""

    __slots__ = ("event", "framed", "parts")

    def __init__(self, event: str, parts: tuple[bytes, ...]) -> None:
        self.event = event
        """The SSE `event:` line: `snapshot`, `update`, `delta` or `error`."""
        self.parts = parts
        """The envelope's JSON, split at each `SEQ` (one part for an error)."""
        self.framed: tuple[bytes, ...] | None = None
        """The SSE layer's encoding of it, split likewise, once the first connection wrote
        it (streams/sse.py): the frame is encoded once for its whole group too."""

    @classmethod
    def of(
        cls, event: str, token: str, event_type: str, engine_ts: int, payload: bytes
    ) -> Envelope:
        head = b'{"eventId":"%s-\x00-%d","eventType":"%s","eventSeq":\x00,"engineTs":%d,' % (
            token.encode(),
            engine_ts,
            event_type.encode(),
            engine_ts,
        )
        tail = b'"sourceTs":null,"correlationId":null,"causationId":null,"payload":'
        return cls(event, tuple(b"".join((head, tail, payload, b"}")).split(SEQ)))


class Frame(NamedTuple):
    """A frame as one subscriber gets it: its group's envelope with its own `eventSeq` (a
    tuple: one is made per subscriber per frame, and a tuple is the cheapest to make)."""

    envelope: Envelope
    seq: int | None
    """The SSE `id:` line (the envelope's `eventSeq`); None for an error."""

    @property
    def event(self) -> str:
        return self.envelope.event

    @property
    def data(self) -> bytes:
        """The envelope's JSON, as the SSE `data:` line carries it."""
        return join(self.envelope.parts, self.seq)


_make_frame = partial(tuple.__new__, Frame)
"""`(envelope, seq)` as a `Frame`, made in C (a NamedTuple's own constructor is Python code,
and a frame is made per subscriber per frame)."""


def join(parts: tuple[bytes, ...], seq: int | None) -> bytes:
    """Shared bytes with `seq` where `SEQ` stood."""
    return parts[0] if seq is None else (b"%d" % seq).join(parts)


@dataclass(eq=False)
class Subscriber:
    """One connection's end of a group: its frames, in order, and whether it is over.

    The group's frames are not copied to each subscriber when they are published: the
    subscriber keeps a cursor into the group's log and makes its own frames of them (its
    `eventSeq`, its faults) when it takes them, so that publishing costs a group the same
    whatever its number of subscribers, but for waking them."""

    group: Group
    cursor: int = 0
    """The next of the group's frames this connection has not had (an index into the
    group's log, which counts from the group's first frame)."""
    seq: int = 0
    queue: deque[Frame] = field(default_factory=deque)
    """Frames made for this connection and not taken yet: its snapshot, its error, and the
    group's frames while it takes them. At most two frames wait here between takes."""
    closed: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set whenever a frame arrives or the stream ends (the SSE response waits on it)."""
    queued: int = 0
    """Frames made for the client so far (a duplicate counts twice, a gap not at all)."""
    gap: bool = False
    """A `stream_gap` waiting for the first frame after the snapshot."""
    duplicate: bool = False
    """A `stream_duplicate` waiting for the first frame after the snapshot."""
    drop_after: int | None = None
    """A `stream_drop`: the stream ends once this many frames are made."""
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

    def backlog(self, end: int) -> int:
        """Frames waiting for the connection, with the group's log ending at `end`."""
        return len(self.queue) + end - self.cursor

    def push(self, envelope: Envelope) -> None:
        """Make this connection's frame of `envelope` (its next `eventSeq`, its faults)."""
        if self.closed:
            return
        self.seq += 1
        frame = Frame(envelope, self.seq)
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

    def _catch_up(self) -> None:
        """Make this connection's frames of the group's frames it has not had."""
        group = self.group
        end = group.end
        if not self.closed and self.cursor < end:
            pending = list(islice(group.log, self.cursor - group.first, None))
            if self.gap or self.duplicate or self.drop_after is not None:
                for envelope in pending:  # a fault acts frame by frame
                    self.push(envelope)
            else:
                first = self.seq + 1
                seqs = range(first, first + len(pending))
                self.queue.extend(map(_make_frame, zip(pending, seqs, strict=True)))
                self.seq += len(pending)
                self.queued += len(pending)
        self.cursor = end

    def fail(self, code: str, message: str, retryable: bool) -> None:
        """`event: error` after every frame the connection has not had, then the end of the
        stream."""
        if self.closed:
            return
        self._catch_up()
        body = {"code": code, "message": message, "retryable": retryable}
        self.queue.append(Frame(Envelope("error", (orjson.dumps(body),)), None))
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
            if not self.backlog(self.group.end):
                self.ready.clear()
                self.group.wait(self)
            return frames
        self._catch_up()
        frames = list(self.queue)
        self.queue.clear()
        self.ready.clear()
        if not self.closed:
            self.group.wait(self)
        return frames


@dataclass(eq=False)
class Group:
    hub: Hub
    key: Hashable
    channel: Channel
    last: Any = None
    subscribers: list[Subscriber] = field(default_factory=list)
    log: deque[Envelope] = field(default_factory=deque)
    """The group's frames that some subscriber has not had yet, oldest first."""
    first: int = 0
    """The index of `log[0]` among every frame the group ever published."""
    waiting: dict[Subscriber, None] = field(default_factory=dict)
    """The subscribers that have had every frame, in the order they caught up."""
    walk_at: int = 0
    """The log's length at which the next frame walks the subscribers (`_send`)."""
    interval_ms: int | None = None
    """Realtime clocks only: the least wall time between two frames (module docstring)."""
    sent_at: float | None = None
    """The wall time (realtime clock's real seconds) of the last frame; None before one."""
    flush: asyncio.TimerHandle | None = None
    """A flush armed on the event loop for when the interval is up."""

    @property
    def end(self) -> int:
        """The index the group's next frame gets (a newcomer's cursor)."""
        return self.first + len(self.log)

    def leave(self, subscriber: Subscriber) -> None:
        self.waiting.pop(subscriber, None)
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)
        if not self.subscribers:
            if self.hub.groups.get(self.key) is self:
                del self.hub.groups[self.key]
            if self.flush is not None:
                self.flush.cancel()
                self.flush = None

    def _send(self, envelope: Envelope) -> None:
        """Add `envelope` to the log and wake the subscribers waiting for it (one that is
        behind was woken when it fell behind). Now and then (`_walk`) the log is cut to
        what some subscriber has not had, and one that would have `MAX_QUEUED` frames
        waiting gets `SLOW_CONSUMER` instead: a subscriber has at most one frame of its own
        waiting (its snapshot) and the group's it has not had are in the log, so none can
        come near that before the log does, and from then on every frame walks."""
        if len(self.log) >= min(self.walk_at, MAX_QUEUED - 1):
            self._walk()
        for subscriber in self.waiting:
            subscriber.ready.set()
        self.waiting.clear()
        self.log.append(envelope)

    def _walk(self) -> None:
        end = self.end
        oldest = end
        for subscriber in list(self.subscribers):
            if subscriber.backlog(end) >= MAX_QUEUED:
                subscriber.fail(
                    "SLOW_CONSUMER", "The stream fell too far behind and was closed", True
                )
            else:
                oldest = min(oldest, subscriber.cursor)
        for _ in range(oldest - self.first):
            self.log.popleft()
        self.first = oldest
        # The next walk when the log has doubled: walks cost O(subscribers) per O(log).
        self.walk_at = max(WALK_AT_LEAST, 2 * len(self.log))

    def wait(self, subscriber: Subscriber) -> None:
        """`subscriber` has had every frame: the next one wakes it."""
        self.waiting[subscriber] = None

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
        channel = self.channel
        envelope = Envelope.of(
            channel.update_event,
            channel.token,
            channel.update_type,
            exchange.now_ms,
            orjson.dumps(update),
        )
        self._send(envelope)

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
        subscriber = Subscriber(group, cursor=group.end)
        group.subscribers.append(subscriber)
        group.wait(subscriber)
        payload = orjson.dumps(channel.snapshot(exchange, view))
        subscriber.push(
            Envelope.of("snapshot", channel.token, channel.snapshot_type, exchange.now_ms, payload)
        )
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
