"""The withdrawal keeper's world (docs/control-api.md "Markets"): the vault's liquidity and
failed payouts.

- `vault/liquidity` `{amount}` sets the vault's USDC for withdrawals and answers `{balance}`;
  `amount: null` makes it unlimited again (the default), answered as `balance: null`. Below a
  withdrawal's amount the withdrawal waits `insufficient_liquidity`, retried by every keeper
  run; sending one spends it, and credited deposits add to it. `amount` must be present (a
  missing one is a mistake, not a request for unlimited), zero or more, at most 6 decimals.
- `withdrawals/fail-next` arms one failure: the next withdrawal the keeper tries to send ends
  `failed` and is refunded (`withdraw_refund`). Each call arms one more; it answers `{armed}`,
  how many are armed now.
"""

from __future__ import annotations

from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.errors import invalid
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import DECIMAL, USDC_BALANCE, Schema, nullable, obj, ref


async def set_vault_liquidity(call: Call) -> Any:
    """Set the vault's USDC for withdrawals (null: unlimited)."""
    if "amount" not in call.body:
        raise invalid("amount", 'is required: a decimal string such as "1000", or null')
    amount = parse.optional_decimal(call.body, "amount", positive=False)
    exchange = call.exchange
    exchange.sim.set_vault_liquidity(amount)
    balance = exchange.sim.vault_liquidity()
    return {"balance": None if balance is None else render.usdc(balance)}


async def fail_next_withdrawal(call: Call) -> Any:
    """Arm one failure for the next withdrawal the keeper tries to send."""
    return {"armed": call.exchange.sim.fail_next_withdrawal()}


COMPONENTS: dict[str, Schema] = {
    "SimVaultLiquidity": obj(
        {
            "balance": {
                **nullable(DECIMAL),
                "description": "the vault's USDC left for withdrawals; null when unlimited",
            }
        }
    ),
    "SimWithdrawalFailures": obj(
        {
            "armed": {
                "type": "integer",
                "minimum": 1,
                "description": "how many of the next sends the keeper tries will fail",
            }
        }
    ),
}
LIQUIDITY: Schema = obj({"amount": nullable(USDC_BALANCE)})
"""`amount` present: a USDC amount, zero or more, or null (unlimited)."""
ENDPOINTS = [
    Endpoint(
        "POST",
        "/_sim/vault/liquidity",
        set_vault_liquidity,
        Access.PUBLIC,
        "Set the vault's USDC for withdrawals (null: unlimited)",
        response=ref("SimVaultLiquidity"),
        request=LIQUIDITY,
        tag="control",
    ),
    Endpoint(
        "POST",
        "/_sim/withdrawals/fail-next",
        fail_next_withdrawal,
        Access.PUBLIC,
        "Make the next withdrawal the keeper tries to send fail, refunded",
        response=ref("SimWithdrawalFailures"),
        tag="control",
    ),
]
