"""The wallet: buckets, spot assets, transfers, withdrawals, the ledger and the on-chain
settlements.

docs/fidelity.md "Wallet", "Money" and "Sign-in, sessions and keys":
- reads take a session or an API key of scope `read` or `trade`; transfers and withdrawals
  are session-only under the `strict` profile (403 API_KEY_NOT_ACCEPTED for a key);
- USDC amounts keep up to 6 dp and show at least 2; a spot asset other than USDC shows on its
  spot market's size decimals;
- a transfer moves USDC between two distinct buckets (`wallet|perps|options|spot`), amount
  positive and within what the source can give, else 400 (INSUFFICIENT_BALANCE beyond it);
- a withdrawal debits the wallet bucket at once and answers `{withdrawalId}`; its settlement
  record follows the keeper;
- `/wallet/history` and `/wallet/settlements` are newest first; another user's settlement is
  404 NOT_FOUND, exactly like an unknown one.
"""

from __future__ import annotations

from typing import Any

from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.settlements import SettlementKind, SettlementStatus
from ocx_sim.errors import ErrorCode
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import DECIMAL, USDC_AMOUNT, Schema, array, enum, obj, ref

HISTORY_LIMIT_DEFAULT = 100
HISTORY_LIMIT_MAX = 500
SETTLEMENTS_LIMIT_DEFAULT = 50
SETTLEMENTS_LIMIT_MAX = 200


async def get_wallet_balance(call: Call) -> Any:
    summary = call.exchange.wallet_summary(call.user_id)
    balances = render.bucket_balances(summary.balances)
    return {
        "onchainDepositTotal": render.usdc(summary.onchain_deposit_total),
        **balances,
        "pendingWithdrawalTotal": render.usdc(summary.pending_withdrawal_total),
        "tradableBalance": render.usdc(summary.tradable),
    }


async def list_wallet_assets(call: Call) -> Any:
    exchange = call.exchange
    return [render.asset_balance(exchange, row) for row in exchange.spot_assets(call.user_id)]


async def transfer_funds(call: Call) -> Any:
    """Move USDC between two of the caller's buckets; answers the buckets after the move."""
    body = call.body
    source = parse.choice(body, "from", Bucket)
    target = parse.choice(body, "to", Bucket)
    amount = parse.decimal(body, "amount")
    return render.bucket_balances(call.exchange.transfer(call.user_id, source, target, amount))


async def withdraw_funds(call: Call) -> Any:
    """Debit the wallet bucket and queue the on-chain payout."""
    amount = parse.decimal(call.body, "amount")
    record = call.exchange.withdraw(call.user_id, amount)
    return {"withdrawalId": record.id}


async def list_wallet_history(call: Call) -> Any:
    """The caller's ledger entries, newest first."""
    limit = parse.query_int(
        call.query, "limit", default=HISTORY_LIMIT_DEFAULT, low=1, high=HISTORY_LIMIT_MAX
    )
    return [
        render.ledger_entry(call.exchange, e)
        for e in call.exchange.ledger_entries(call.user_id, limit)
    ]


async def list_settlements(call: Call) -> Any:
    """The caller's deposits and withdrawals, newest first."""
    query = call.query
    records = call.exchange.settlements(
        call.user_id,
        kind=parse.query_choice(query, "kind", SettlementKind),
        status=parse.query_choice(query, "status", SettlementStatus),
        limit=parse.query_int(
            query, "limit", default=SETTLEMENTS_LIMIT_DEFAULT, low=1, high=SETTLEMENTS_LIMIT_MAX
        ),
    )
    return [render.settlement(s) for s in records]


async def get_settlement(call: Call) -> Any:
    return render.settlement(call.exchange.settlement(call.user_id, call.path_param("id")))


# -- schemas ----------------------------------------------------------------------------------

_BUCKETS = tuple(b.value for b in Bucket)
_BUCKET = enum(*_BUCKETS)
_BALANCES: Schema = obj(
    {
        "walletBalance": DECIMAL,
        "perpsBalance": DECIMAL,
        "optionsBalance": DECIMAL,
        "spotBalance": DECIMAL,
    }
)

COMPONENTS: dict[str, Schema] = {
    "AssetBalance": obj(
        {
            "asset": {"type": "string"},
            "bucket": {"type": "string"},
            "available": DECIMAL,
            "locked": DECIMAL,
            "total": DECIMAL,
        }
    ),
    "WalletBalance": obj(
        {
            "onchainDepositTotal": DECIMAL,
            "walletBalance": DECIMAL,
            "perpsBalance": DECIMAL,
            "optionsBalance": DECIMAL,
            "spotBalance": DECIMAL,
            "pendingWithdrawalTotal": DECIMAL,
            "tradableBalance": DECIMAL,
        }
    ),
    "BucketBalances": _BALANCES,
}


def _others(bucket: str) -> tuple[str, ...]:
    return tuple(b for b in _BUCKETS if b != bucket)


TRANSFER: Schema = obj({"from": _BUCKET, "to": _BUCKET, "amount": USDC_AMOUNT}) | {
    "anyOf": [
        {"properties": {"from": {"const": source}, "to": enum(*_others(source))}}
        for source in _BUCKETS
    ]
}
"""`to` differs from `from` (engine/commands/wallet.py `transfer`): from each bucket, to any
other."""
ENDPOINTS = [
    Endpoint(
        "GET",
        "/wallet/balance",
        get_wallet_balance,
        Access.READ,
        "Your USDC buckets, credited deposits and withdrawals in flight",
        response=ref("WalletBalance"),
    ),
    Endpoint(
        "GET",
        "/wallet/assets",
        list_wallet_assets,
        Access.READ,
        "Your spot bucket per asset",
        response=array(ref("AssetBalance")),
    ),
    Endpoint(
        "POST",
        "/wallet/transfer",
        transfer_funds,
        Access.SESSION,
        "Move USDC between two of your buckets",
        request=TRANSFER,
        response=ref("BucketBalances"),
        errors=(ErrorCode.INSUFFICIENT_BALANCE,),
    ),
    Endpoint(
        "POST",
        "/wallet/withdraw",
        withdraw_funds,
        Access.SESSION,
        "Withdraw USDC from the wallet bucket to your wallet on chain",
        request=obj({"amount": USDC_AMOUNT}),
        response=obj({"withdrawalId": {"type": "string", "minLength": 26, "maxLength": 26}}),
        errors=(ErrorCode.INSUFFICIENT_BALANCE,),
    ),
    Endpoint(
        "GET",
        "/wallet/history",
        list_wallet_history,
        Access.READ,
        "Your ledger entries, newest first",
        response=array(ref("LedgerEntry")),
        query={
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": HISTORY_LIMIT_MAX,
                "default": HISTORY_LIMIT_DEFAULT,
            }
        },
    ),
    Endpoint(
        "GET",
        "/wallet/settlements",
        list_settlements,
        Access.READ,
        "Your deposits and withdrawals, newest first",
        response=array(ref("Settlement")),
        query={
            "kind": enum(*(k.value for k in SettlementKind)),
            "status": enum(*(s.value for s in SettlementStatus)),
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": SETTLEMENTS_LIMIT_MAX,
                "default": SETTLEMENTS_LIMIT_DEFAULT,
            },
        },
    ),
    Endpoint(
        "GET",
        "/wallet/settlements/{id}",
        get_settlement,
        Access.READ,
        "One of your deposits or withdrawals",
        response=ref("Settlement"),
    ),
]
