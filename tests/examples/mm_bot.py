"""A small market-making bot written only against OCX's HTTP API, the way a user of ocx-sim would
write the client they want to test: it knows URLs and JSON, nothing of ocx_sim.

Every `step` it reads the mark and replaces its pair of quotes (one bulk quote with
`cancelAll`): a bid and an ask `half_spread_bps` around the mark, both shifted against its
position so that fills lean it back toward flat. It never holds more than `max_position`.

The kill switch: when a request fails in a way the bot cannot read — a 5xx, a timeout, a
dropped connection — it does not know what the exchange did, so it pulls everything it has
on the market (`POST /perps/orders/cancel-all`) and stops quoting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import httpx

BPS = Decimal(10_000)


class ExchangeUnreadable(Exception):
    """The exchange's answer cannot be trusted: a 5xx, a timeout or no answer at all."""


@dataclass
class MarketMaker:
    http: httpx.Client
    api_key: str
    market: str
    size: Decimal
    tick: Decimal
    half_spread_bps: Decimal = Decimal(20)
    skew_bps_per_unit: Decimal = Decimal(50)
    """How far both quotes move against each unit of position."""
    max_position: Decimal = Decimal("0.5")
    killed: bool = False
    kill_reason: str | None = None
    quotes_sent: int = 0
    cancelled_on_kill: list[str] = field(default_factory=list)

    def step(self) -> None:
        """One look at the market: requote, or pull everything if the exchange misbehaves."""
        if self.killed:
            return
        try:
            mark = Decimal(self._get("/perps/market-stats", marketId=self.market)["markPrice"])
            position = self.position()
            self._quote(mark, position)
        except ExchangeUnreadable as failure:
            self._kill(str(failure))

    def position(self) -> Decimal:
        return sum(
            (
                Decimal(p["quantity"]) * (1 if p["side"] == "long" else -1)
                for p in self._get("/perps/positions")
                if p["marketId"] == self.market
            ),
            Decimal(0),
        )

    def equity(self) -> Decimal:
        return Decimal(self._get("/perps/balances")["equity"])

    def _quote(self, mark: Decimal, position: Decimal) -> None:
        center = mark * (1 - position * self.skew_bps_per_unit / BPS)
        offset = center * self.half_spread_bps / BPS
        quotes = []
        if position < self.max_position:
            bid = ((center - offset) / self.tick).to_integral_value(ROUND_FLOOR) * self.tick
            quotes.append({"side": "buy", "price": str(bid), "quantity": str(self.size)})
        if position > -self.max_position:
            ask = ((center + offset) / self.tick).to_integral_value(ROUND_CEILING) * self.tick
            quotes.append({"side": "sell", "price": str(ask), "quantity": str(self.size)})
        self._post(
            "/perps/quotes/bulk",
            {"marketId": self.market, "cancelAll": True, "quotes": quotes},
        )
        self.quotes_sent += 1

    def _kill(self, reason: str) -> None:
        self.killed, self.kill_reason = True, reason
        # The cancel itself may fail too; a real bot would retry, this one tries a few times.
        for _ in range(3):
            try:
                answer = self._post("/perps/orders/cancel-all", {"marketId": self.market})
            except ExchangeUnreadable:
                continue
            self.cancelled_on_kill = list(answer["cancelled"])
            return

    def _get(self, path: str, **params: str) -> Any:
        return self._send("GET", path, params=params or None)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("POST", path, json=body)

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self.http.request(
                method, path, headers={"Authorization": f"Bearer {self.api_key}"}, **kwargs
            )
        except httpx.TransportError as error:
            raise ExchangeUnreadable(f"{method} {path}: {type(error).__name__}") from error
        if answer.status_code >= 500:
            raise ExchangeUnreadable(f"{method} {path}: {answer.status_code}")
        answer.raise_for_status()
        return answer.json()
