"""A synchronous in-process client: calls the ASGI app directly, without sockets or threads.

Starlette's TestClient runs the app in a worker thread through a portal; this one drives the
app's coroutine on a private event loop in the calling thread, which is all a handler that
never waits on I/O needs, and far cheaper per request.

A connection a fault drops (gateway/endpoint.py `Dropped`) raises `httpx.RemoteProtocolError`,
as httpx does against a real server, so client code handles it the same way in both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import Any, Self
from urllib.parse import urlencode

import httpx
import orjson
from starlette.types import ASGIApp, Message

from ocx_sim.gateway.endpoint import ConnectionDropped
from ocx_sim.streams.sse import IN_PROCESS
from ocx_sim.testing.streams import InProcessStream, Refused

DISCONNECTED = "Server disconnected without sending a response."
"""httpx's message when a server closes the connection before a status line."""


class Response:
    """A finished answer: status, headers (lower-case names), body."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = status
        self.header_list = headers
        self.headers = dict(headers)
        self.content = body

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode()

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies this answer sets (name → value; an empty value clears)."""
        jar: SimpleCookie = SimpleCookie()
        for name, value in self.header_list:
            if name == "set-cookie":
                jar.load(value)
        return {name: morsel.value for name, morsel in jar.items()}

    def set_cookie_headers(self) -> list[str]:
        return [value for name, value in self.header_list if name == "set-cookie"]

    def __repr__(self) -> str:
        return f"<Response {self.status_code} {self.content[:200]!r}>"


def encode_request(
    path: str,
    *,
    json: Any = None,
    content: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    cookies: Mapping[str, str] | None = None,
) -> tuple[str, bytes, dict[str, str]]:
    """A request as every client here sends it: the path with `params` added to its query
    (None values left out, sequences repeated), the body (`json` encoded with its content
    type, else `content`, else empty) and the headers, names in lower case, `cookies` as one
    Cookie header."""
    sent = {name.lower(): value for name, value in (headers or {}).items()}
    body = b""
    if json is not None:
        body = orjson.dumps(json)
        sent.setdefault("content-type", "application/json")
    elif content is not None:
        body = content.encode() if isinstance(content, str) else content
    if cookies:
        sent["cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    if params:
        query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        if query:
            path = f"{path}{'&' if '?' in path else '?'}{query}"
    return path, body, sent


class InProcessClient:
    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "testserver",
        client_ip: str = "127.0.0.1",
        scheme: str = "http",
    ) -> None:
        self.app = app
        self.host = host
        self.client_ip = client_ip
        self.scheme = scheme
        """The connection's scheme the app sees (`https`: as if reached over TLS)."""
        self._loop = asyncio.new_event_loop()

    def close(self) -> None:
        """Close the private event loop (and the sockets it holds); the client is done. Tasks
        an answer left behind (sse-starlette watches for a server shutdown from one task per
        loop) are cancelled first, so none is destroyed pending."""
        loop = self._loop
        pending = asyncio.all_tasks(loop)
        if pending:

            async def cancelled() -> None:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)

            loop.run_until_complete(cancelled())
        loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        cookies: Mapping[str, str] | None = None,
        client_ip: str | None = None,
    ) -> Response:
        path, body, sent = encode_request(
            path, json=json, content=content, headers=headers, params=params, cookies=cookies
        )
        sent.setdefault("host", self.host)
        sent["content-length"] = str(len(body))
        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": self.scheme,
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in sent.items()],
            "client": (client_ip or self.client_ip, 50000),
            "server": (self.host, 443 if self.scheme == "https" else 80),
        }
        return self._loop.run_until_complete(self._call(scope, body))

    async def _call(self, scope: dict[str, Any], body: bytes) -> Response:
        delivered = False
        status = 500
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.extend((k.decode().lower(), v.decode()) for k, v in message["headers"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(DISCONNECTED) from None
        return Response(status, headers, b"".join(chunks))

    def stream(
        self, path: str, *, headers: Mapping[str, str] | None = None, refused: Refused
    ) -> InProcessStream:
        """`GET path` left running on this client's loop (testing/streams.py); `refused`
        makes the error raised when the answer is not a stream."""
        path, _, sent = encode_request(path, headers=headers)
        sent.setdefault("host", self.host)
        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": self.scheme,
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in sent.items()],
            "client": (self.client_ip, 50000),
            "server": (self.host, 443 if self.scheme == "https" else 80),
            "extensions": {IN_PROCESS: {}},
        }
        return InProcessStream(self._loop, self.app, scope, refused)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)
