"""A subscriber's frames as an SSE response, framed by sse-starlette.

sse-starlette writes the frames (`id:`, `event:`, `data:` lines) and notices a client that went
away; ocx-sim hands it the frames in order, and sends the `:heartbeat` comment itself after
every 15 s of wall-clock time without a frame, whatever the simulated clock does (not
sse-starlette's own ping, which runs beside the frames and would go on through a
`stream_stall`: a stall sends nothing, heartbeats included).

The response is the gateway's `Streaming` answer (gateway/endpoint.py): the gateway hands it
the stream fault the request hit (applied by the subscriber, streams/hub.py) and asks to hear,
with the number of frames sent, when the stream ends, for the journal's entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from ocx_sim.gateway.endpoint import Streaming
from ocx_sim.streams.hub import SEQ, Frame, Subscriber, join
from ocx_sim.worlds.faults import FaultAction

HEARTBEAT_SECONDS = 15.0

BURST_SECONDS = 0.02
"""Frames that come faster than one per this on a connection are a burst (`Batching`)."""

MOST_BATCHING_SECONDS = 0.2
"""The longest a frame waits for the frames after it, in the longest burst."""

IN_PROCESS = "ocx_sim.in_process"
"""The ASGI scope extension of a transport with no socket (the test fixtures' in-process
client): a write costs it nothing, so frames are written as they come (no `Batching`), and a
frame made by a command is there as soon as the command returns."""


def heartbeat() -> ServerSentEvent:
    return ServerSentEvent(comment="heartbeat")


def encode(frames: list[Frame]) -> bytes:
    """The frames as SSE, each framed by sse-starlette once for its whole group
    (hub.Envelope); then each subscriber's copy is a join with its `eventSeq`."""
    out = []
    for envelope, seq in frames:
        framed = envelope.framed
        if framed is None:
            data = SEQ.join(envelope.parts).decode()
            marker = None if seq is None else SEQ.decode()
            event = ServerSentEvent(data, event=envelope.event, id=marker)
            framed = envelope.framed = tuple(event.encode().split(SEQ))
        out.append(join(framed, seq))
    return b"".join(out)


class Batching:
    """How long a connection lets frames gather before it writes them, by how fast they come.

    Frames stay exactly what the hub made them (one per command with a manual clock); this
    decides only how many of them one socket write carries. A write costs tens of
    microseconds per connection whatever it carries, so writing each frame apart, an order
    flow with hundreds of subscribers spends most of its time writing (bench/streams.py).
    Frames that come slower than one per `BURST_SECONDS` are written at once. Faster, each
    write doubles the wait before the next (from `BURST_SECONDS`, up to `most`), so the
    faster frames come, the more each write carries; once they come slower again, the wait is
    gone."""

    def __init__(self, most: float = MOST_BATCHING_SECONDS) -> None:
        self.most = most
        self.wait = 0.0
        """Seconds after the last write before the next one."""
        self.last: float | None = None
        """When the last write went (event-loop time)."""

    def due(self, now: float) -> float:
        """Seconds to wait before writing what is queued now."""
        return 0.0 if self.last is None else max(0.0, self.last + self.wait - now)

    def wrote(self, frames: int, now: float) -> None:
        if self.last is not None and frames * BURST_SECONDS > now - self.last:
            self.wait = min(self.most, max(BURST_SECONDS, 2 * self.wait))
        else:
            self.wait = 0.0
        self.last = now


class StreamResponse(EventSourceResponse, Streaming):
    """One connection's stream."""

    def __init__(self, subscriber: Subscriber) -> None:
        self.subscriber = subscriber
        self._done: list[Callable[[int], None]] = []
        self._batching = Batching()
        # ping=0: no ping task (the heartbeat is ours, above).
        super().__init__(self._events(), ping=0, sep="\n")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if IN_PROCESS in scope.get("extensions", {}):
            self._batching = Batching(most=0.0)
        await super().__call__(scope, receive, send)

    def inject(self, action: FaultAction) -> None:
        self.subscriber.inject(action)

    def when_done(self, callback: Callable[[int], None]) -> None:
        self._done.append(callback)

    async def _events(self) -> AsyncIterator[ServerSentEvent | bytes]:
        """The connection's writes: each carries every frame queued when it goes (`Batching`
        decides when)."""
        subscriber, batching = self.subscriber, self._batching
        loop = asyncio.get_running_loop()
        sent = 0
        try:
            while True:
                stalled = subscriber.held_for()
                if stalled > 0:
                    await asyncio.sleep(stalled)
                    continue
                if not subscriber.ready.is_set():
                    # `asyncio.timeout` starts no task (`wait_for` does one per wait): it
                    # runs once per frame per connection.
                    try:
                        async with asyncio.timeout(HEARTBEAT_SECONDS):
                            await subscriber.ready.wait()
                    except TimeoutError:
                        yield heartbeat()
                        continue
                wait = batching.due(loop.time())
                if wait > 0:
                    await asyncio.sleep(wait)
                frames = subscriber.take()
                if frames:
                    yield encode(frames)
                    batching.wrote(len(frames), loop.time())
                    sent += len(frames)
                if subscriber.closed and not subscriber.queue:
                    return
        finally:
            # The client went away, or the stream ended: the group forgets it.
            subscriber.close()
            for callback in self._done:
                callback(sent)


def response(subscriber: Subscriber) -> StreamResponse:
    return StreamResponse(subscriber)
