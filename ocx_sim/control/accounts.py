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
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ocx_sim.auth.keys import MAX_EXPIRY_DAYS, MAX_NAME_LENGTH, Scope, normalize_ips
from ocx_sim.auth.policy import Access
from ocx_sim.engine.core.accounts import Bucket, checksum_address
from ocx_sim.engine.core.money import usdc_amount
from ocx_sim.errors import OcxError, invalid
from ocx_sim.gateway import parse, render
from ocx_sim.gateway.endpoint import Call, Endpoint
from ocx_sim.gateway.schemas import DECIMAL, ULID, Schema, array, enum, nullable, obj, ref
from ocx_sim.worlds import KeyRequest, NewAccount

TX_HASH_MAX_LENGTH = 128


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


COMPONENTS: dict[str, Schema] = {
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
        "walletAddress": {"type": "string"},
        "balances": obj(
            {bucket.value: DECIMAL for bucket in Bucket},
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
    {"walletAddress": {"type": "string"}, "amount": DECIMAL, "txHash": {"type": "string"}},
    optional=("txHash",),
)
ENDPOINTS = [
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
