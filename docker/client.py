"""compose.yaml's client: a service that reaches the sandbox by its service name.

It makes a funded account of its own through the control API, rests a bid on BTC-PERP at the
bottom of its price band with the session token it got back, cancels it, and prints what the
sandbox answered; it exits 1 when a request fails.
"""

from __future__ import annotations

import os
import sys

import httpx


def main() -> int:
    base = os.environ.get("OCX_BASE_URL", "http://sandbox:8000")
    with httpx.Client(base_url=base, timeout=30) as http:
        markets = http.get("/perps/markets")
        markets.raise_for_status()
        [btc] = [m for m in markets.json() if m["marketId"] == "BTC-PERP"]
        print(f"{base}: BTC-PERP marked at {btc['markPrice']}")
        account = http.post("/_sim/accounts", json={"balances": {"perps": "10000"}})
        account.raise_for_status()
        http.headers["Authorization"] = f"Bearer {account.json()['sessionToken']}"
        bid = {
            "marketId": "BTC-PERP",
            "side": "buy",
            "price": btc["priceBandLow"],
            "quantity": "0.0100",
            "postOnly": True,
        }
        placed = http.post("/perps/orders", json=bid)
        placed.raise_for_status()
        order = placed.json()
        what = f"{order['side']} {order['quantity']} at {order['price']}"
        print(f"order {order['id']}: {what}, {order['status']}")
        cancelled = http.post(f"/perps/orders/{order['id']}/cancel")
        cancelled.raise_for_status()
        print(f"order {order['id']}: {cancelled.json()['status']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
