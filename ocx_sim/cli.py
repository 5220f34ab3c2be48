"""`ocx-sim`: the command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ocx_sim.app import create_app
from ocx_sim.engine.exchange import Exchange
from ocx_sim.server import serve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocx-sim", description="A simulator of the OCX exchange API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the default world over HTTP")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--seed", type=int, default=0, help="seed of ids and random draws")
    serve_cmd.add_argument("--access-log", action="store_true", help="log every request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        exchange = Exchange.create(seed=args.seed)
        print(
            f"ocx-sim: default world (seed {args.seed}) on http://{args.host}:{args.port}\n"
            "         built so far: GET /perps/markets (alias /markets/linear); "
            "the rest of the API is listed in the README's status table"
        )
        serve(create_app(exchange), host=args.host, port=args.port, access_log=args.access_log)
    return 0
