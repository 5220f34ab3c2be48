"""`ocx-sim`: the command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from decimal import Decimal

from ocx_sim.app import create_app
from ocx_sim.auth.keys import Scope
from ocx_sim.auth.policy import Profile
from ocx_sim.auth.ratelimit import DEFAULT_LIMIT
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        if not args.speed > 0:
            raise SystemExit("--speed must be positive")
        if args.rate_limit < 1:
            raise SystemExit("--rate-limit must be at least 1")
        config = WorldConfig(
            seed=args.seed,
            clock=ClockMode(args.clock),
            speed=args.speed,
            profile=Profile(args.profile),
            order_rate_limit=args.rate_limit,
        )
        worlds = Worlds(config)
        demo = worlds.default.create_account(
            balances=DEMO_BALANCES, api_keys=[KeyRequest("demo", Scope.TRADE)]
        )
        base = f"http://{args.host}:{args.port}"
        print(f"ocx-sim: the default world (seed {args.seed}, {args.clock} clock) on {base}")
        print(_demo(demo, base))
        app = create_app(worlds, control=not args.no_control)
        serve(app, host=args.host, port=args.port, access_log=args.access_log)
    return 0
