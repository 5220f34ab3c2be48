"""Accounts and money (docs/control-api.md "Accounts and money"): ready-to-trade users and
simulated on-chain deposits.

`POST /_sim/accounts` makes a user with funded buckets, a real session (the same a SIWE sign-in
gives) and API keys; without a `walletAddress` the key pair is generated from the world's seed
and its `privateKey` answered (null otherwise: every field is always present). Balances arrive
as ledger entries (a deposit, then transfers), so the ledger stays conserved.

`POST /_sim/deposits` is a transfer seen on chain (docs/fidelity.md "Wallet"): the settlement is
`pending` until 2 confirmations, one every 2 s of simulated time, then `confirmed` and credited
once per txHash; a known txHash answers its existing record.

The whole body is read before anything changes, so a refusal (400 naming the field, with the
index inside `apiKeys`) creates no user, key or ledger entry.

`GET /_sim/accounts` and `GET /_sim/accounts/{userId}` are reads for a dashboard (the one at
`/_sim/ui/`) or a test: every user of the world, house accounts included, with its equity; and
one user (by userId or wallet address) with the very bodies its own REST reads answer
(`/portfolio/balances`, `/perps/balances`, positions, open orders, ledger), rendered by the
same functions, so the two never disagree. Reads change nothing: no event, no id drawn.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ocx_sim.auth.keys import MAX_EXPIRY_DAYS, MAX_NAME_LENGTH, Scope, normalize_ips
from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.accounts import INSURANCE_FUND_ADDRESS, Bucket, User, checksum_address
from ocx_sim.engine.core.money import usdc_amount
from ocx_sim.engine.exchange import Exchange
from ocx_sim.engine.sim import HOUSE_ADDRESS, LIQUIDITY_ADDRESS, TAKERS_ADDRESS
from ocx_sim.errors import ErrorCode, OcxError, invalid
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import (
    ADDRESS,
    DECIMAL,
    ULID,
    USDC_AMOUNT,
    USDC_BALANCE,
    Schema,
    array,
    enum,
    nullable,
    obj,
    ref,
    text,
)
from ocx_sim.worlds import KeyRequest, NewAccount

TX_HASH_MAX_LENGTH = 128
LEDGER_LIMIT_DEFAULT = 100
LEDGER_LIMIT_MAX = 500
HOUSE_ADDRESSES = frozenset({HOUSE_ADDRESS, LIQUIDITY_ADDRESS, TAKERS_ADDRESS})
"""The simulator's own traders (engine/sim.py): the sandbox's market makers and takers."""
KINDS = ("user", "house", "insurance")
_ADDRESS = re.compile(r"0[xX][0-9a-fA-F]{40}")


def _balances(body: dict[str, Any]) -> dict[Bucket, Decimal]:
    """`balances: {wallet?, perps?, options?, spot?}`: USDC amounts, zero or more, at most
    6 decimal places."""
    raw = body.get("balances")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid("balances", 'must be an object such as {"perps": "10000"}')
    out: dict[Bucket, Decimal] = {}
    for bucket in Bucket:
        name = f"balances.{bucket.value}"
        amount = parse.optional_decimal(raw, bucket.value, "balances.", positive=False)
        if amount is None:
            continue
        out[bucket] = usdc_amount(amount, name, zero_ok=True)
    return out


def _key_requests(body: dict[str, Any]) -> list[KeyRequest]:
    """`apiKeys: [{name, scope, allowedIps?, expiresInDays?}]`, each field named with its index
    (`apiKeys[1].scope`)."""
    if body.get("apiKeys") is None:
        return []
    out = []
    for i, item in enumerate(parse.objects(body, "apiKeys")):
        prefix = f"apiKeys[{i}]."
        name = parse.string(item, "name", prefix, max_length=MAX_NAME_LENGTH)
        scope = parse.choice(item, "scope", Scope, prefix)
        ips = item.get("allowedIps")
        if ips is None:
            ips = []
        if not isinstance(ips, list) or not all(isinstance(ip, str) for ip in ips):
            raise invalid(prefix + "allowedIps", "must be a list of strings")
        try:
            allowed = normalize_ips(ips)
        except OcxError as error:
            raise invalid(prefix + str(error.details["field"]), error.message) from None
        days = parse.integer(item, "expiresInDays", low=1, high=MAX_EXPIRY_DAYS, prefix=prefix)
        out.append(KeyRequest(name, scope, allowed, days))
    return out


async def create_account(call: Call) -> Any:
    """A funded user with a session and API keys, in this world."""
    body = call.body
    wallet = parse.optional_string(body, "walletAddress", max_length=64)
    if wallet is not None:
        checksum_address(wallet)
    balances = _balances(body)
    keys = _key_requests(body)
    return account_view(call.world.create_account(wallet, balances, keys))


def account_view(account: NewAccount) -> dict[str, Any]:
    """A user made ready to trade, as `POST /_sim/accounts` answers (`SimAccount`); the
    scenario endpoints show their accounts the same way."""
    return {
        "userId": account.user_id,
        "walletAddress": account.wallet_address,
        "privateKey": account.private_key,
        "sessionToken": account.session_token,
        "apiKeys": [
            {"id": key.id, "name": key.name, "scope": key.scope.value, "secret": secret}
            for key, secret in account.api_keys
        ],
    }


async def submit_deposit(call: Call) -> Any:
    """A deposit seen on chain from `walletAddress` (its user is created if new): pending, then
    credited after its confirmations; a known txHash answers its existing record."""
    body = call.body
    wallet = parse.string(body, "walletAddress", max_length=64)
    amount = parse.decimal(body, "amount")
    tx_hash = parse.optional_string(body, "txHash", max_length=TX_HASH_MAX_LENGTH)
    record = call.exchange.sim.submit_deposit(wallet, amount, tx_hash)
    return render.settlement(record)


def find_account(exchange: Exchange, reference: str) -> User | None:
    """The user a userId or a wallet address (any letter case) names, or None."""
    if exchange.has_user(reference):
        return exchange.user(reference)
    if _ADDRESS.fullmatch(reference):
        return exchange.find_user(reference.lower())
    return None


def account_kind(user: User) -> str:
    """`house` for the simulator's own traders, `insurance` for the insurance fund (both
    hold money a dashboard should not mistake for a client's), `user` for everyone else."""
    if user.wallet_address in HOUSE_ADDRESSES:
        return "house"
    if user.wallet_address == INSURANCE_FUND_ADDRESS:
        return "insurance"
    return "user"


def account_summary(exchange: Exchange, user: User) -> dict[str, Any]:
    """`{userId, walletAddress, kind, equity}` (`equity` as `/portfolio/me` answers it)."""
    return {
        "userId": user.user_id,
        "walletAddress": user.wallet_address,
        "kind": account_kind(user),
        "equity": render.usdc(render.portfolio_equity(exchange, user.user_id)),
    }


async def list_accounts(call: Call) -> Any:
    """Every user of the world, in the order they registered."""
    exchange = call.exchange
    return {"accounts": [account_summary(exchange, user) for user in exchange.users]}


async def get_account(call: Call) -> Any:
    """One user's money, positions, open orders and latest ledger entries, as its own REST
    reads answer them; 404 naming `userId` for a user the world does not have."""
    limit = parse.query_int(
        call.query,
        "ledgerLimit",
        default=LEDGER_LIMIT_DEFAULT,
        low=1,
        high=LEDGER_LIMIT_MAX,
    )
    reference = call.path_param("userId")
    exchange = call.exchange
    user = find_account(exchange, reference)
    if user is None:
        raise OcxError(ErrorCode.NOT_FOUND, f"Unknown account {reference!r}", {"userId": reference})
    user_id = user.user_id
    return {
        **account_summary(exchange, user),
        "balances": render.portfolio_balances(exchange, user_id),
        "perps": render.perps_balances(exchange, user_id),
        "positions": [render.position(exchange, p) for p in exchange.positions(user_id)],
        "openOrders": [render.order(exchange, o) for o in exchange.open_orders(user_id)],
        "ledger": [
            render.ledger_entry(exchange, e) for e in exchange.ledger_entries(user_id, limit)
        ],
    }


_SUMMARY: dict[str, Schema] = {
    "userId": ULID,
    "walletAddress": {"type": "string"},
    "kind": {
        **enum(*KINDS),
        "description": "house: the simulator's market makers and takers; insurance: the "
        "insurance fund",
    },
    "equity": DECIMAL,
}
COMPONENTS: dict[str, Schema] = {
    "SimAccountSummary": obj(_SUMMARY),
    "SimAccountDetail": obj(
        {
            **_SUMMARY,
            "balances": ref("PortfolioBalances"),
            "perps": ref("PerpsBalances"),
            "positions": array(ref("Position")),
            "openOrders": array(ref("Order")),
            "ledger": array(ref("LedgerEntry")),
        }
    ),
    "SimAccount": obj(
        {
            "userId": ULID,
            "walletAddress": {"type": "string"},
            "privateKey": {
                **nullable({"type": "string", "pattern": "^0x[0-9a-f]{64}$"}),
                "description": "the generated key pair's private key; null when the request "
                "named a walletAddress",
            },
            "sessionToken": {"type": "string"},
            "apiKeys": array(
                obj(
                    {
                        "id": ULID,
                        "name": {"type": "string"},
                        "scope": enum(*(scope.value for scope in Scope)),
                        "secret": {"type": "string", "pattern": "^ocx_sk_"},
                    }
                )
            ),
        }
    ),
}
CREATE_ACCOUNT: Schema = obj(
    {
        "walletAddress": ADDRESS,
        "balances": obj(
            {bucket.value: USDC_BALANCE for bucket in Bucket},
            optional=tuple(bucket.value for bucket in Bucket),
        ),
        "apiKeys": array(
            obj(
                {
                    "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
                    "scope": enum(*(scope.value for scope in Scope)),
                    "allowedIps": array({"type": "string"}),
                    "expiresInDays": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_EXPIRY_DAYS,
                    },
                },
                optional=("allowedIps", "expiresInDays"),
            )
        ),
    },
    optional=("walletAddress", "balances", "apiKeys"),
)
DEPOSIT: Schema = obj(
    {
        "walletAddress": ADDRESS,
        "amount": USDC_AMOUNT,
        "txHash": text(TX_HASH_MAX_LENGTH),
    },
    optional=("txHash",),
)
ENDPOINTS = [
    Endpoint(
        "GET",
        "/_sim/accounts",
        list_accounts,
        Access.PUBLIC,
        "Every account of the world with its kind and equity, in registration order",
        response=obj({"accounts": array(ref("SimAccountSummary"))}),
        tag="control",
    ),
    Endpoint(
        "GET",
        "/_sim/accounts/{userId}",
        get_account,
        Access.PUBLIC,
        "One account (by userId or wallet address): balances, positions, open orders, ledger",
        response=ref("SimAccountDetail"),
        query={
            "ledgerLimit": {
                "type": "integer",
                "minimum": 1,
                "maximum": LEDGER_LIMIT_MAX,
                "default": LEDGER_LIMIT_DEFAULT,
            }
        },
        tag="control",
    ),
    Endpoint(
        "POST",
        "/_sim/accounts",
        create_account,
        Access.PUBLIC,
        "Create a funded account with a session and API keys",
        response=ref("SimAccount"),
        request=CREATE_ACCOUNT,
        body_optional=True,
        tag="control",
        status=201,
    ),
    Endpoint(
        "POST",
        "/_sim/deposits",
        submit_deposit,
        Access.PUBLIC,
        "Simulate an on-chain deposit: pending until 2 confirmations 2 s apart",
        response=ref("Settlement"),
        request=DEPOSIT,
        tag="control",
        status=201,
    ),
]
