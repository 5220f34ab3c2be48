"""`ocx-sim`: the command line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
from eth_account import Account

from ocx_sim.app import create_app
from ocx_sim.auth.keys import Scope
from ocx_sim.auth.policy import Profile
from ocx_sim.auth.ratelimit import DEFAULT_LIMIT
from ocx_sim.auth.siwe import DEFAULT_CHAIN_IDS, prepare_message, sign_message
from ocx_sim.clock import parse_iso
from ocx_sim.control.worlds import MAX_SPEED, SEED_HIGH, SEED_LOW
from ocx_sim.engine.accounts import Bucket
from ocx_sim.server import serve
from ocx_sim.worlds import ClockMode, KeyRequest, NewAccount, WorldConfig, Worlds

DEMO_BALANCES = {Bucket.WALLET: Decimal(50_000), Bucket.PERPS: Decimal(50_000)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocx-sim", description="A simulator of the OCX exchange API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the default world over HTTP")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--seed", type=int, default=0, help="seed of ids and random draws")
    serve_cmd.add_argument(
        "--clock",
        choices=[m.value for m in ClockMode],
        default=ClockMode.MANUAL.value,
        help="manual: time moves only through /_sim/clock/advance; realtime: it runs",
    )
    serve_cmd.add_argument("--speed", type=float, default=1.0, help="realtime clock speed")
    serve_cmd.add_argument(
        "--profile",
        choices=[p.value for p in Profile],
        default=Profile.STRICT.value,
        help="which endpoints accept API keys, and the error shape (docs/fidelity.md)",
    )
    serve_cmd.add_argument(
        "--no-control", action="store_true", help="switch the /_sim control API off"
    )
    serve_cmd.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_LIMIT,
        help="order-path requests per user per minute (default 120, as OCX)",
    )
    serve_cmd.add_argument("--access-log", action="store_true", help="log every request")
    serve_cmd.add_argument(
        "--siwe-domain", help="the domain sign-in messages must name (default: the Host header)"
    )
    serve_cmd.add_argument(
        "--chain-id",
        type=int,
        action="append",
        dest="chain_ids",
        help="a chain id sign-in messages may name; repeat for several (default 84532, 8453)",
    )
    serve_cmd.add_argument(
        "--invite-code",
        action="append",
        dest="invite_codes",
        help="turn invite gating on: trading needs POST /auth/redeem-invite with this code; "
        "repeat for several",
    )
    serve_cmd.add_argument(
        "--trusted-proxies",
        action="store_true",
        help="take the client's address from X-Forwarded-For (only behind your own proxy)",
    )

    siwe_cmd = commands.add_parser(
        "siwe",
        help="sign in as a wallet: print the JSON body for POST /auth/siwe",
        description="Write the EIP-4361 message for a sandbox and sign it with a private key, "
        "as a wallet would; print the body to POST to /auth/siwe. The nonce is --nonce, or "
        "else the answer of POST /auth/nonce piped in on standard input. Issued At is the "
        "sandbox's simulated now (GET /_sim/clock) unless --issued-at is given.",
    )
    siwe_cmd.add_argument("--private-key", required=True, help="0x-prefixed hex")
    siwe_cmd.add_argument("--url", default="http://127.0.0.1:8000", help="the sandbox's base URL")
    siwe_cmd.add_argument("--nonce", help="the nonce from POST /auth/nonce")
    siwe_cmd.add_argument("--issued-at", help="ISO-8601 instant (default: the sandbox's now)")
    siwe_cmd.add_argument("--chain-id", type=int, default=DEFAULT_CHAIN_IDS[0])
    siwe_cmd.add_argument("--domain", help="default: the host and port of --url")
    return parser


def _demo(account: NewAccount, base: str) -> str:
    key, secret = account.api_keys[0]
    return (
        f"demo account (funded: 50,000 USDC in wallet and 50,000 in perps)\n"
        f"  wallet address : {account.wallet_address}\n"
        f"  private key    : {account.private_key}\n"
        f"  session token  : {account.session_token}\n"
        f"  trade API key  : {secret}  (id {key.id})\n"
        f"try: curl -s {base}/wallet/balance -H 'Authorization: Bearer {account.session_token}'"
    )


def _siwe(args: argparse.Namespace) -> None:
    try:
        account = Account.from_key(args.private_key)
    except Exception:
        raise SystemExit("--private-key must be 32 bytes of 0x-prefixed hex") from None
    nonce = args.nonce or _piped_nonce()
    base = args.url.rstrip("/")
    if args.issued_at is not None:
        try:
            issued_at = parse_iso(args.issued_at)
        except ValueError:
            raise SystemExit("--issued-at must be an ISO-8601 instant") from None
    else:
        issued_at = _sandbox_now(base)
    text = prepare_message(
        args.domain or urlsplit(base).netloc,
        account.address,
        nonce,
        issued_at,
        chain_id=args.chain_id,
        uri=base,
    )
    print(json.dumps({"message": text, "signature": sign_message(args.private_key, text)}))


def _piped_nonce() -> str:
    if sys.stdin.isatty():
        raise SystemExit("pass --nonce, or pipe in the answer of POST /auth/nonce")
    try:
        nonce = json.loads(sys.stdin.read())["nonce"]
    except (ValueError, TypeError, KeyError):
        raise SystemExit("standard input is not an answer of POST /auth/nonce") from None
    if not isinstance(nonce, str):
        raise SystemExit("standard input is not an answer of POST /auth/nonce")
    return nonce


def _sandbox_now(base: str) -> int:
    """The sandbox's simulated now: a message is checked against it, not against this
    machine's clock (a manual clock may sit months away)."""
    try:
        answer = httpx.get(f"{base}/_sim/clock", timeout=10)
    except httpx.HTTPError as error:
        raise SystemExit(f"cannot read the sandbox's clock at {base}: {error}") from None
    if answer.status_code != 200:
        raise SystemExit(
            f"GET {base}/_sim/clock answered {answer.status_code} (is the control API off?); "
            "pass --issued-at"
        )
    return int(answer.json()["nowMs"])


def _config(args: argparse.Namespace) -> WorldConfig:
    """The default world's config; the same bounds as `POST /_sim/worlds`."""
    if not SEED_LOW <= args.seed <= SEED_HIGH:
        raise SystemExit("--seed must be a signed 64-bit integer")
    if not (math.isfinite(args.speed) and 0 < args.speed <= MAX_SPEED):
        raise SystemExit(f"--speed must be greater than 0 and at most {MAX_SPEED:g}")
    if args.rate_limit < 1:
        raise SystemExit("--rate-limit must be at least 1")
    return WorldConfig(
        seed=args.seed,
        clock=ClockMode(args.clock),
        speed=args.speed,
        profile=Profile(args.profile),
        siwe_domain=args.siwe_domain,
        chain_ids=tuple(args.chain_ids or DEFAULT_CHAIN_IDS),
        invite_codes=None if args.invite_codes is None else tuple(args.invite_codes),
        trusted_proxies=args.trusted_proxies,
        order_rate_limit=args.rate_limit,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "siwe":
        _siwe(args)
    elif args.command == "serve":
        config = _config(args)
        worlds = Worlds(config)
        demo = worlds.default.create_account(
            balances=DEMO_BALANCES, api_keys=[KeyRequest("demo", Scope.TRADE)]
        )
        base = f"http://{args.host}:{args.port}"
        # Flushed at once: the server runs on, and a log or a pipe must see the banner now.
        print(f"ocx-sim: the default world (seed {args.seed}, {args.clock} clock) on {base}")
        print(_demo(demo, base), flush=True)
        app = create_app(worlds, control=not args.no_control)
        serve(app, host=args.host, port=args.port, access_log=args.access_log)
    return 0
