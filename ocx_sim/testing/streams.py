"""`OcxWorld.stream(path, …)`: a stream's frames in a test, in process or over a socket.

A frame is a dict `{"event", "id", "data"}`: the SSE `event:` (`snapshot`, `update`,
`error`, …), the `id:` (the envelope's `eventSeq` as a string; None for an error) and the
`data:` parsed as JSON. Heartbeat comments are not frames.

- In process (`ocx`): the request goes through the app on the in-process client's event loop,
  like every other request of the handle (gateway, credentials, faults, journal), and the
  stream's response stays running on that loop. Iterating yields the frames that are there
  now and stops when none is waiting; no socket, no thread, no wait. A request a test sends
  runs on the same loop, so the frames it causes are there as soon as it returns.
- Over a socket (`ocx_server`): httpx-sse reads the stream; iterating yields frames as they
  arrive, waiting for each (up to the client's timeout), and never stops by itself: take what
  you need (`next(iter(stream))`, `itertools.islice`) and close.

Either way a refused stream (400, 404, 401) raises `OcxSimError` with the status and the JSON
error body, and closing the stream (or leaving its `with` block) disconnects, which ends the
stream and writes its journal entry. A fault that drops the connection raises
`httpx.RemoteProtocolError`, as it does for any request.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, Self

import httpx
import orjson
from httpx_sse import EventSource, connect_sse
from starlette.types import ASGIApp, Message

from ocx_sim.gateway.endpoint import ConnectionDropped

Frame = dict[str, Any]
Refused = Callable[[int, Any], Exception]
"""Makes the error raised for a stream refused with (status, JSON body)."""
_SETTLE_STEPS = 10_000


def frame(event: str | None, event_id: str | None, data: str) -> Frame:
    return {"event": event or "message", "id": event_id or None, "data": orjson.loads(data)}


def parse_frames(text: str) -> tuple[list[Frame], str]:
    """The whole frames at the front of `text`, and what is left of an unfinished one. Lines
    end with CRLF, LF or CR (the SSE grammar); sse-starlette writes CRLF."""
    *blocks, rest = text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")
    frames = []
    for block in blocks:
        fields: dict[str, list[str]] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))
        if "data" in fields:
            event = fields.get("event", [None])[-1]
            event_id = fields.get("id", [None])[-1]
            frames.append(frame(event, event_id, "\n".join(fields["data"])))
    return frames, rest


class Stream(AbstractContextManager["Stream"]):
    """An open stream (module docstring): iterate it for frames; close it when done."""

    status: int

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]:
        """The stream's frames (module docstring: in process, those waiting now)."""

    @property
    @abstractmethod
    def ended(self) -> bool:
        """Whether the server ended the stream (a drop fault, an error frame)."""

    @abstractmethod
    def close(self) -> None:
        """Disconnect: the stream ends and is journalled."""

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class InProcessStream(Stream):
    """The app's stream response running on the in-process client's loop."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, app: ASGIApp, scope: dict[str, Any], refused: Refused
    ) -> None:
        self._loop = loop
        self._text = ""
        self._body = bytearray()
        self._gone = asyncio.Event()
        self._closed = False
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self._gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.headers = [(k.decode().lower(), v.decode()) for k, v in message["headers"]]
            elif message["type"] == "http.response.body":
                self._body += message.get("body", b"")

        async def run() -> None:
            await app(scope, receive, send)

        self._task: asyncio.Task[None] = loop.create_task(run())
        self._settle()
        if self._task.done() and (error := self._task.exception()) is not None:
            if isinstance(error, ConnectionDropped):
                raise httpx.RemoteProtocolError(str(error)) from None
            raise error
        if self.status != 200:
            body = bytes(self._body)
            self._closed = True
            raise refused(self.status, orjson.loads(body) if body else None)

    def _settle(self) -> None:
        """Run the loop until nothing is ready to run: whatever the stream can send, sent."""
        loop, task = self._loop, self._task

        async def settle() -> None:
            idle = 0
            for _ in range(_SETTLE_STEPS):
                await asyncio.sleep(0)
                if task.done():
                    return
                # Nothing scheduled but this coroutine: the stream waits for news.
                idle = idle + 1 if not getattr(loop, "_ready", ()) else 0
                if idle >= 3:
                    return

        loop.run_until_complete(settle())

    def __iter__(self) -> Iterator[Frame]:
        """The frames waiting now, in order; stops when none is."""
        if not self._closed:
            self._settle()
        self._text += self._body.decode()
        self._body.clear()
        frames, self._text = parse_frames(self._text)
        yield from frames

    @property
    def ended(self) -> bool:
        """Whether the server ended the stream (a drop fault, an error frame)."""
        return self._task.done()

    def close(self) -> None:
        """Disconnect: the stream ends and is journalled. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._gone.set()
        if not self._task.done():
            self._loop.run_until_complete(asyncio.wait({self._task}, timeout=5))


class SocketStream(Stream):
    """A stream read with httpx-sse over a real connection."""

    def __init__(self, http: httpx.Client, url: str, headers: Mapping[str, str], refused: Refused):
        self._http = http
        self._context = connect_sse(http, "GET", url, headers=dict(headers))
        source: EventSource = self._context.__enter__()
        self.status = source.response.status_code
        if self.status != 200:
            source.response.read()
            body = source.response.json() if source.response.content else None
            self.close()
            raise refused(self.status, body)
        self._source = source
        self._ended = False

    def __iter__(self) -> Iterator[Frame]:
        """Frames as they arrive, waiting for each; ends only when the server ends the
        stream."""
        for event in self._source.iter_sse():
            yield frame(event.event, event.id, event.data)
        self._ended = True

    @property
    def ended(self) -> bool:
        return self._ended

    def close(self) -> None:
        self._context.__exit__(None, None, None)
        self._http.close()

    def __enter__(self) -> Self:
        return self
