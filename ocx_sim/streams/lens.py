"""The streams' `StreamLens` for a scenario's `stream` expectation
(ocx_sim/scenarios/stream_expectation.py), installed when the streams load: what a stream shows
is its channel's view (channels.py), and what it sends for a change is its channel's update,
exactly as a subscriber's group computes them (hub.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ocx_sim.engine.exchange import Exchange
from ocx_sim.errors import invalid
from ocx_sim.scenarios import stream_expectation
from ocx_sim.streams import channels
from ocx_sim.streams.hub import Channel


class Lens:
    def private(self, path: str) -> bool:
        entry = channels.STREAMS.get(path)
        if entry is None:
            raise invalid("path", f"is not a stream: one of {', '.join(channels.STREAMS)}")
        return entry[0]

    def view(
        self, exchange: Exchange, path: str, user_id: str | None, query: Mapping[str, str]
    ) -> object:
        return self._channel(exchange, path, user_id, query).view(exchange)

    def change(
        self,
        exchange: Exchange,
        path: str,
        user_id: str | None,
        query: Mapping[str, str],
        before: object,
    ) -> dict[str, Any] | None:
        channel = self._channel(exchange, path, user_id, query)
        after = channel.view(exchange)
        if after == before:
            return None
        payload: dict[str, Any] | None = channel.update(exchange, before, after)
        return payload

    def _channel(
        self, exchange: Exchange, path: str, user_id: str | None, query: Mapping[str, str]
    ) -> Channel:
        self.private(path)
        _, build = channels.STREAMS[path]
        return build(exchange, user_id, query).channel


stream_expectation.install(Lens())
