"""`InProcessTransport`: an httpx transport that hands each request to the app in this thread.

Client code written against `httpx.Client` (a trading bot, an SDK) then runs against an
in-process world unchanged: no socket, no server thread, the same bytes on the wire as over
HTTP. Every request goes through `InProcessClient`, so the app sees the same ASGI scope whether
a test uses the raw client or httpx.
"""

from __future__ import annotations

import httpx

from ocx_sim.testing.client import InProcessClient


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, client: InProcessClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in request.headers.raw
        }
        answer = self.client.request(
            request.method,
            request.url.raw_path.decode("ascii"),
            content=body,
            headers=headers,
        )
        return httpx.Response(
            answer.status_code,
            headers=answer.header_list,
            content=answer.content,
            request=request,
        )
