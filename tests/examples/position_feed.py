"""A bot's positions kept from `/perps/stream/user` alone, the way OCX asks market makers to
keep live account state ("prefer the streams"): written against the stream's frames, nothing of
ocx_sim.

A frame is `{event, id, data}` (the SSE event, its `id:` line and the JSON envelope). The feed
trusts a connection only while its `eventSeq`s follow one another:
- a snapshot replaces everything it knows (every connection starts with one);
- a frame whose `eventSeq` it has seen already is a duplicate: ignored;
- a jump in `eventSeq` means a lost frame: what it knows may be wrong, so it reconnects and
  starts again from the new connection's snapshot;
- a connection that ends (dropped, or an `error` frame) is reconnected the same way.

`connect` opens a new connection and answers its frames: an iterable that yields the frames
available now and says `ended` once the server closed it (in CI, `ocx.stream(...)`; against a
live sandbox, an httpx-sse reader wrapped the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


class Connection(Protocol):
    def __iter__(self) -> Any: ...

    @property
    def ended(self) -> bool: ...

    def close(self) -> None: ...


@dataclass
class PositionFeed:
    connect: Callable[[], Connection]
    positions: dict[str, Decimal] = field(default_factory=dict)
    """Signed size per market."""
    fills: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Fills seen, by trade id (a resync's snapshot lists the latest again)."""
    reconnects: int = 0
    duplicates: int = 0
    gaps: int = 0
    _connection: Connection | None = None
    _next_seq: int = 1

    def pump(self) -> None:
        """Read what the connection has; reconnect and resync as often as it needs."""
        while True:
            if self._connection is None:
                self._connection = self.connect()
                self._next_seq = 1
            if self._read(self._connection) and not self._connection.ended:
                return
            self._connection.close()
            self._connection = None
            self.reconnects += 1

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def _read(self, connection: Iterable[dict[str, Any]]) -> bool:
        """Apply the frames there now; False when the connection can no longer be trusted."""
        for frame in connection:
            if frame["event"] == "error":
                return False
            seq = int(frame["id"])
            if seq < self._next_seq:
                self.duplicates += 1
                continue
            if seq > self._next_seq:
                self.gaps += 1
                return False
            self._next_seq = seq + 1
            payload = frame["data"]["payload"]
            if frame["event"] == "snapshot":
                self.positions.clear()
            self._apply(payload)
        return True

    def _apply(self, payload: dict[str, Any]) -> None:
        for trade in payload["trades"]:
            self.fills[trade["tradeId"]] = trade
        for position in payload["positions"]:
            size = Decimal(position["quantity"]) * (1 if position["side"] == "long" else -1)
            if position.get("status") == "closed" or not size:
                self.positions.pop(position["marketId"], None)
            else:
                self.positions[position["marketId"]] = size
        for market_id in payload["removedIds"]:
            self.positions.pop(market_id, None)
