"""A subscriber's frames as an SSE response, framed by sse-starlette.

sse-starlette writes the frames (`id:`, `event:`, `data:` lines), sends the `:heartbeat`
comment every 15 s of wall-clock time whatever the simulated clock does, and notices a client
that went away; ocx-sim only hands it the frames in order. Starlette's own streaming response
would have us frame the events and watch for disconnects by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent

from ocx_sim.streams.hub import Subscriber

HEARTBEAT_SECONDS = 15


def heartbeat() -> ServerSentEvent:
    return ServerSentEvent(comment="heartbeat")


async def _events(subscriber: Subscriber) -> AsyncIterator[ServerSentEvent]:
    try:
        while True:
            await subscriber.ready.wait()
            for frame in subscriber.take():
                yield ServerSentEvent(
                    frame.data.decode(),
                    event=frame.event,
                    id=None if frame.seq is None else str(frame.seq),
                )
            if subscriber.closed:
                return
    finally:
        # The client went away, or the stream ended: the group forgets it.
        subscriber.close()


def response(subscriber: Subscriber) -> EventSourceResponse:
    return EventSourceResponse(
        _events(subscriber),
        ping=HEARTBEAT_SECONDS,
        ping_message_factory=heartbeat,
        sep="\n",
    )
