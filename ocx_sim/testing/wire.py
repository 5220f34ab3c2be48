"""How a world handle reaches a server: the `Backend` (in process, or over HTTP) and the
`WorldClient` that sends a world's requests through it.

Invariants: a `WorldClient` adds its world's prefix to every path and encodes every body here,
once, so the in-process and the HTTP backends are handed the same method, path, bytes and
headers; a client never raises on a status (tests assert those themselves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from ocx_sim.testing.client import InProcessClient, encode_request
from ocx_sim.testing.streams import Refused, SocketStream, Stream
from ocx_sim.testing.transport import InProcessTransport


class Answer(Protocol):
    """What both transports answer: `httpx.Response` and the in-process `Response` alike."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def content(self) -> bytes: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


class Backend(Protocol):
    """A way to reach a server: in process (no sockets) or over HTTP."""

    @property
    def root_url(self) -> str: ...
    def send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer: ...
    def httpx_client(self, base_url: str, headers: Mapping[str, str]) -> httpx.Client: ...
    def stream(self, path: str, headers: Mapping[str, str], refused: Refused) -> Stream:
        """`GET path` (with its query) as an open stream (testing/streams.py)."""
        ...


class InProcessBackend:
    """The app called directly in this thread (`InProcessClient`): no socket, no thread."""

    root_url = "http://testserver"

    def __init__(self, client: InProcessClient) -> None:
        self.client = client

    def send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        return self.client.request(method, path, content=body, headers=headers)

    def httpx_client(self, base_url: str, headers: Mapping[str, str]) -> httpx.Client:
        return httpx.Client(
            transport=InProcessTransport(self.client), base_url=base_url, headers=headers
        )

    def stream(self, path: str, headers: Mapping[str, str], refused: Refused) -> Stream:
        return self.client.stream(path, headers=headers, refused=refused)


class HttpBackend:
    """A server over a socket, through one shared `httpx.Client` (keep-alive, no cookie jar)."""

    def __init__(self, http: httpx.Client, root_url: str) -> None:
        self.http = http
        self.root_url = root_url

    def send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        return self.http.request(method, self.root_url + path, content=body, headers=headers)

    def httpx_client(self, base_url: str, headers: Mapping[str, str]) -> httpx.Client:
        return httpx.Client(base_url=base_url, headers=headers, timeout=self.http.timeout)

    def stream(self, path: str, headers: Mapping[str, str], refused: Refused) -> Stream:
        # A client of its own: a stream holds its connection until it is closed.
        http = httpx.Client(timeout=self.http.timeout)
        return SocketStream(http, self.root_url + path, headers, refused)


class WorldClient:
    """Requests to one world by their OCX paths (`/perps/orders`): the world's prefix is added,
    and `headers` (credentials) go with every request. Answers are never raised on."""

    def __init__(
        self, backend: Backend, prefix: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.backend = backend
        self.prefix = prefix
        self.headers = dict(headers or {})

    def with_headers(self, headers: Mapping[str, str]) -> WorldClient:
        return WorldClient(self.backend, self.prefix, {**self.headers, **headers})

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
    ) -> Answer:
        if not path.startswith("/"):
            raise ValueError(f"{path!r}: give the OCX path, starting with '/'")
        path, body, sent = encode_request(
            self.prefix + path,
            json=json,
            content=content,
            headers={**self.headers, **(headers or {})},
            params=params,
            cookies=cookies,
        )
        has_body = json is not None or content is not None
        return self.backend.send(method.upper(), path, body if has_body else None, sent)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Answer:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Answer:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Answer:
        return self.request("DELETE", path, **kwargs)
