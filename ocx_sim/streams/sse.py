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

from ocx_sim.gateway.endpoint import Streaming
from ocx_sim.streams.hub import Subscriber
from ocx_sim.worlds.faults import FaultAction

HEARTBEAT_SECONDS = 15.0


def heartbeat() -> ServerSentEvent:
    return ServerSentEvent(comment="heartbeat")


class StreamResponse(EventSourceResponse, Streaming):
    """One connection's stream."""

    def __init__(self, subscriber: Subscriber) -> None:
        self.subscriber = subscriber
        self._done: list[Callable[[int], None]] = []
        # ping=0: no ping task (the heartbeat is ours, above).
        super().__init__(self._events(), ping=0, sep="\n")

    def inject(self, action: FaultAction) -> None:
        self.subscriber.inject(action)

    def when_done(self, callback: Callable[[int], None]) -> None:
        self._done.append(callback)

    async def _events(self) -> AsyncIterator[ServerSentEvent]:
        subscriber = self.subscriber
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
                for frame in subscriber.take():
                    yield ServerSentEvent(
                        frame.data.decode(),
                        event=frame.event,
                        id=None if frame.seq is None else str(frame.seq),
                    )
                    sent += 1
                if subscriber.closed and not subscriber.queue:
                    return
        finally:
            # The client went away, or the stream ended: the group forgets it.
            subscriber.close()
            for callback in self._done:
                callback(sent)


def response(subscriber: Subscriber) -> StreamResponse:
    return StreamResponse(subscriber)
