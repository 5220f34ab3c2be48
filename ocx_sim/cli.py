"""`ocx-sim`: the command line.

- `serve`: the default world over HTTP (`--scenario` loads a scenario into it; `--log-events`
  prints a line per notable event);
- `run SCENARIO`: replay a scenario headless on a manual clock, a progress bar on stderr, then
  its expectations and the digest (`--json`: one JSON object instead; `--trace FILE`: the
  event log as JSON lines; `--report FILE`: an HTML report); exit 1 when one fails or is not
  reached, 2 when it does not load;
- `validate SCENARIO…`: each file ok, or its errors (file, line, path); exit 1 if any fails;
- `scenarios`: the bundled scenarios, one line each;
- `siwe`: sign in as a wallet (the body for `POST /auth/siwe`).
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

import httpx
from eth_account import Account

from ocx_sim.app import VERSION, create_app
from ocx_sim.auth.keys import Scope
from ocx_sim.auth.policy import Profile
from ocx_sim.auth.ratelimit import DEFAULT_LIMIT
from ocx_sim.auth.siwe import DEFAULT_CHAIN_IDS, prepare_message, sign_message
from ocx_sim.clock import format_ms, parse_iso, real_seconds
from ocx_sim.control.clock import EARLIEST_MS
from ocx_sim.control.worlds import LATEST_START_MS, MAX_SPEED, SEED_HIGH, SEED_LOW
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.errors import OcxError
from ocx_sim.outputs.event_printer import EventPrinter
from ocx_sim.outputs.report import report
from ocx_sim.outputs.samples import Sampler, sample_interval
from ocx_sim.outputs.summary import summary
from ocx_sim.outputs.trace import Trace
from ocx_sim.scenarios.library import descriptions, find
from ocx_sim.scenarios.model import Scenario, ScenarioError
from ocx_sim.scenarios.player import Run
from ocx_sim.server import HTTP_CHOICES, MAX_CONNECTIONS, is_loopback, serve
from ocx_sim.worlds import (
    AccountRequest,
    ClockMode,
    KeyRequest,
    NewAccount,
    World,
    WorldConfig,
    Worlds,
    persistence,
)
from ocx_sim.worlds.config import (
    DEFAULT_RETENTION_MS,
    SHORTEST_RETENTION_MS,
    START_NOW,
    Network,
    Start,
    proxy_networks,
)
from ocx_sim.worlds.persistence import Keeper

DEMO_BALANCES = {Bucket.WALLET: Decimal(50_000), Bucket.PERPS: Decimal(50_000)}
DEMO_ACCOUNT = AccountRequest(
    balances=tuple(DEMO_BALANCES.items()), api_keys=(KeyRequest("demo", Scope.TRADE),)
)
"""The account `serve` prints; part of the default world's config, so a reset makes it again."""
DEFAULT_SAVE_EVERY_S = 30.0
T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocx-sim", description="A simulator of the OCX exchange API."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the default world over HTTP")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument(
        "--seed",
        type=int,
        help="seed of ids and random draws (default: the scenario's meta.seed, else 0)",
    )
    serve_cmd.add_argument(
        "--scenario",
        metavar="NAME|PATH",
        help="load a scenario into the default world: a bundled name (ocx-sim scenarios) "
        "or a YAML file",
    )
    serve_cmd.add_argument(
        "--clock",
        choices=[m.value for m in ClockMode],
        default=ClockMode.MANUAL.value,
        help="manual: time moves only through /_sim/clock/advance; realtime: it runs",
    )
    serve_cmd.add_argument("--speed", type=float, default=1.0, help="realtime clock speed")
    serve_cmd.add_argument(
        "--start",
        metavar="ISO|now",
        help="the default world's first instant, and new worlds' default: an ISO-8601 instant "
        "or now (the wall clock's, in whole seconds); default: the scenario's meta.start, else "
        "2026-01-02T00:00:00Z on a manual clock and now on a realtime one",
    )
    serve_cmd.add_argument(
        "--profile",
        choices=[p.value for p in Profile],
        default=Profile.STRICT.value,
        help="which endpoints accept API keys, and the error shape (docs/fidelity.md)",
    )
    serve_cmd.add_argument(
        "--no-control", action="store_true", help="switch the /_sim control API off"
    )
    secret_source = serve_cmd.add_mutually_exclusive_group()
    secret_source.add_argument(
        "--random-secrets",
        dest="random_secrets",
        action="store_const",
        const=True,
        help="session-signing key, API-key secrets, nonces and generated keys from the "
        "system's randomness (the default with --no-control)",
    )
    secret_source.add_argument(
        "--deterministic-secrets",
        dest="random_secrets",
        action="store_const",
        const=False,
        help="secrets from the seed, replayable byte for byte (the default with the control API)",
    )
    serve_cmd.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_LIMIT,
        help="order-path requests per user per minute (default 120, as OCX)",
    )
    serve_cmd.add_argument("--access-log", action="store_true", help="log every request")
    serve_cmd.add_argument(
        "--log-events",
        action="store_true",
        help="print a line on stdout for each fill, liquidation, funding payment, expiry and "
        "settlement, withdrawal status and fault hit of the default world",
    )
    serve_cmd.add_argument(
        "--retention",
        type=_retention,
        default=DEFAULT_RETENTION_MS,
        metavar="HOURS",
        help="simulated hours every world keeps an order that ended, a fill, a ledger entry "
        "and an event before forgetting it (at least 24; `forever` keeps everything; "
        "default: 24)",
    )
    serve_cmd.add_argument(
        "--journal-bodies",
        action="store_true",
        help="the journal (GET /_sim/journal) keeps each request's and answer's JSON body, "
        "credentials redacted; new worlds too unless they say otherwise",
    )
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
        "--state-dir",
        metavar="DIR",
        type=Path,
        help="keep every world in DIR: restored from it on start, saved to it every "
        "--save-every seconds and on shutdown (docs/quickstart.md)",
    )
    serve_cmd.add_argument(
        "--save-every",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_SAVE_EVERY_S,
        help=f"with --state-dir: seconds between saves (default {DEFAULT_SAVE_EVERY_S:g})",
    )
    serve_cmd.add_argument(
        "--trusted-proxies",
        metavar="ADDRESSES",
        type=_trusted_proxies,
        default=(),
        help="comma list of proxy addresses and networks (127.0.0.1,10.0.0.0/8) whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed (default: none)",
    )
    serve_cmd.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        help=f"open connections before the server answers 503 (default {MAX_CONNECTIONS})",
    )
    serve_cmd.add_argument(
        "--http",
        choices=HTTP_CHOICES,
        default="auto",
        help="uvicorn's HTTP implementation: h11 bounds a request's head, httptools is faster; "
        "auto: httptools on loopback, h11 beyond it",
    )
    serve_cmd.add_argument(
        "--scenario-dir",
        metavar="DIR",
        type=Path,
        help="let POST /_sim/worlds and /_sim/scenarios read YAML files inside DIR by path "
        "(default: bundled names and inline YAML only)",
    )

    run_cmd = commands.add_parser(
        "run",
        help="replay a scenario headless and check its expectations",
        description="Replay a scenario on a manual clock from its start to its end (its "
        "meta.duration, else its last step), with a progress bar on stderr; print each "
        "expectation and the event log's digest. Exit 1 when an expectation fails (or an "
        "action is refused), 2 when the scenario does not load.",
    )
    run_cmd.add_argument("scenario", metavar="SCENARIO", help="a bundled name or a YAML file")
    run_cmd.add_argument("--seed", type=int, help="default: the scenario's meta.seed, else 0")
    run_cmd.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON object on stdout instead of the lines",
    )
    run_cmd.add_argument(
        "--trace",
        metavar="FILE",
        type=Path,
        help="write every event of the run as a JSON line (as GET /_sim/events shows it), "
        "as the run advances",
    )
    run_cmd.add_argument(
        "--report",
        metavar="FILE",
        type=Path,
        help="write a self-contained HTML report: charts of marks, indexes, funding and "
        "equity, liquidations, the results and the digest",
    )
    validate_cmd = commands.add_parser(
        "validate",
        help="check scenario files: each ok, or its errors with file, line and path",
    )
    validate_cmd.add_argument("scenarios", metavar="SCENARIO", nargs="+")
    commands.add_parser("scenarios", help="list the bundled scenarios")

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


def _restore(worlds: Worlds, state_dir: Path) -> int:
    """The worlds a previous server kept in `state_dir`, in place of the fresh ones; how many
    (0: none kept there yet)."""
    try:
        return persistence.load(worlds, state_dir, worlds.real_time, worlds.wall_time)
    except (OSError, ValueError, pickle.UnpicklingError) as error:
        raise SystemExit(
            f"ocx-sim: cannot restore the worlds kept in {state_dir}: {error}"
        ) from None


def _secrets_lines(config: WorldConfig, args: argparse.Namespace) -> list[str]:
    """Where the secrets come from, and a warning when the control API is open beyond this
    machine (docs/fidelity.md "Sign-in, sessions and keys")."""
    if config.random_secrets:
        lines = [f"secrets: random ({_random_because(args)})"]
    else:
        lines = [
            f"secrets: seeded from {config.seed} (deterministic replays; anyone who reaches this "
            "server can sign in as anyone)"
        ]
    if not args.no_control and not is_loopback(args.host):
        lines.append(
            f"warning: {args.host} is reachable from other machines and the control API is on: "
            "anyone who reaches this server can sign in as anyone and drive the world "
            "(--no-control for a shared sandbox)"
        )
    return lines


def _random_because(args: argparse.Namespace) -> str:
    if args.random_secrets:
        return "--random-secrets"
    return "--no-control" if args.no_control and args.random_secrets is None else "as saved"


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


def _trusted_proxies(text: str) -> tuple[Network, ...]:
    try:
        return proxy_networks(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _retention(text: str) -> int | None:
    """`--retention`: hours (at least 24) as milliseconds, or None for `forever`."""
    if text == "forever":
        return None
    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give hours (at least 24) or `forever`") from None
    if not (math.isfinite(hours) and hours * 3_600_000 >= SHORTEST_RETENTION_MS):
        raise argparse.ArgumentTypeError("the window is at least 24 hours")
    return round(hours * 3_600_000)


def _config(args: argparse.Namespace) -> WorldConfig:
    """The default world's config; the same bounds as `POST /_sim/worlds`."""
    _check_seed(args.seed)
    if not (math.isfinite(args.speed) and 0 < args.speed <= MAX_SPEED):
        raise SystemExit(f"--speed must be greater than 0 and at most {MAX_SPEED:g}")
    if args.rate_limit < 1:
        raise SystemExit("--rate-limit must be at least 1")
    if args.max_connections < 1:
        raise SystemExit("--max-connections must be at least 1")
    if args.scenario_dir is not None and not args.scenario_dir.is_dir():
        raise SystemExit(f"--scenario-dir {args.scenario_dir} is not a directory")
    return WorldConfig(
        seed=0 if args.seed is None else args.seed,
        clock=ClockMode(args.clock),
        speed=args.speed,
        start=_start(args.start),
        profile=Profile(args.profile),
        siwe_domain=args.siwe_domain,
        chain_ids=tuple(args.chain_ids or DEFAULT_CHAIN_IDS),
        invite_codes=None if args.invite_codes is None else tuple(args.invite_codes),
        trusted_proxies=args.trusted_proxies,
        order_rate_limit=args.rate_limit,
        journal_bodies=args.journal_bodies,
        retention_ms=args.retention,
        random_secrets=args.no_control if args.random_secrets is None else args.random_secrets,
        accounts=(DEMO_ACCOUNT,),
        scenario_dir=args.scenario_dir,
    )


def _start(text: str | None) -> Start:
    """`--start`: "now", or an instant in the range `POST /_sim/worlds` accepts."""
    if text is None:
        return None
    if text == START_NOW:
        return START_NOW
    try:
        start = parse_iso(text)
    except ValueError:
        raise SystemExit("--start must be an ISO-8601 instant or now") from None
    if not EARLIEST_MS <= start <= LATEST_START_MS:
        raise SystemExit(
            "--start must be between 1970-01-01T00:00:00Z and 9998-12-31T23:59:59.999Z"
        )
    return start


def _check_seed(seed: int | None) -> None:
    if seed is not None and not SEED_LOW <= seed <= SEED_HIGH:
        raise SystemExit("--seed must be a signed 64-bit integer")


class _NotLoaded(Exception):
    """A scenario that does not load; the text names file, line and path of each problem."""


def _open(reference: str) -> Scenario:
    try:
        return find(reference)
    except ScenarioError as error:
        raise _NotLoaded(str(error)) from None


def _scenario_config(
    config: WorldConfig, reference: str, seed: int | None, start: Start = None
) -> WorldConfig:
    """`config` for a world built from the scenario: its meta seed and start unless `--seed`
    and `--start` (the order of `with_scenario`, worlds/scenario_run.py)."""
    meta = _open(reference).meta
    if start is None and meta.start_ms is not None:
        if meta.start_ms > LATEST_START_MS:
            raise _NotLoaded(f"{reference}: meta.start must be at most 9998-12-31T23:59:59.999Z")
        start = meta.start_ms
    return replace(
        config,
        scenario=reference,
        seed=seed if seed is not None else meta.seed if meta.seed is not None else config.seed,
        start=config.start if start is None else start,
    )


def _build(build: Callable[[], T]) -> T:
    """Build a world (or worlds) whose config names a scenario: what the world refuses of it
    (an unknown market, an undeclared account, …) as `_NotLoaded`, one problem a line."""
    try:
        return build()
    except OcxError as error:
        problems = error.details.get("problems")
        if isinstance(problems, list):
            lines = [_problem_line(p) for p in problems if isinstance(p, dict)]
            raise _NotLoaded("\n".join(lines)) from None
        raise _NotLoaded(error.message) from None


def _problem_line(problem: dict[str, object]) -> str:
    where = f"{problem['source']}" + ("" if problem["line"] is None else f":{problem['line']}")
    return (
        f"{where}: {problem['path']}: {problem['message']}"
        if problem["path"]
        else (f"{where}: {problem['message']}")
    )


def _serve(args: argparse.Namespace) -> int:
    config = _config(args)
    scenario = ""
    if args.scenario is not None:
        config = _scenario_config(config, args.scenario, args.seed, config.start)
        scenario = f", scenario {_open(args.scenario).meta.name}"
    worlds = _build(partial(Worlds, config))
    state_dir: Path | None = args.state_dir
    restored = 0 if state_dir is None else _restore(worlds, state_dir)
    # The demo account is the default world's (its config makes it), restored with it.
    demo = next(iter(worlds.default.initial_accounts), None)
    base = f"http://{args.host}:{args.port}"
    # Flushed at once: the server runs on, and a log or a pipe must see the banner now.
    print(
        f"ocx-sim: the default world (seed {config.seed}, {args.clock} clock{scenario}) on {base}"
    )
    if restored:
        print(f"restored {restored} worlds from {state_dir}, as last saved")
    # The default world's own config: a restored world keeps the secrets it was saved with.
    print("\n".join(_secrets_lines(worlds.default.config, args)))
    if demo is not None:
        print(_demo(demo, base))
    pages = "" if args.no_control else f"dashboard: {base}/_sim/ui/   "
    print(f"{pages}API reference: {base}/docs", flush=True)
    if args.log_events:
        EventPrinter.attach(worlds.default, sys.stdout)
    keeper = None if state_dir is None else Keeper(state_dir, args.save_every)
    app = create_app(worlds, control=not args.no_control, keeper=keeper)
    serve(
        app,
        host=args.host,
        port=args.port,
        access_log=args.access_log,
        max_connections=args.max_connections,
        http=None if args.http == "auto" else args.http,
    )
    return 0


PROGRESS_WIDTH = 30
PROGRESS_CHUNKS = 100
"""`run` advances the clock in this many steps at most, drawing the bar after each."""


def _progress(done: float, now_ms: int) -> None:
    filled = round(done * PROGRESS_WIDTH)
    bar = "#" * filled + "." * (PROGRESS_WIDTH - filled)
    sys.stderr.write(f"\r[{bar}] {done:4.0%} {format_ms(now_ms)}")
    sys.stderr.flush()


def _run(args: argparse.Namespace) -> int:
    _check_seed(args.seed)
    # A run keeps everything: its summary, trace and report read the whole history.
    config = _scenario_config(WorldConfig(retention_ms=None), args.scenario, args.seed)
    started = real_seconds()
    world = _build(partial(World, "run", config))
    run = world.scenarios.runs[0]
    exchange, start, end = world.exchange, run.origin_ms, run.end_ms
    step = max(1, -(-(end - start) // PROGRESS_CHUNKS))
    sampler = None
    if args.report is not None:
        # The report's series are sampled between advance steps, on the simulated clock.
        sampler = Sampler(exchange, run)
        step = min(step, sample_interval(end - start))
        sampler.sample()
    # A terminal sees the bar move; a log or a pipe only its last state.
    moving = sys.stderr.isatty()
    with ExitStack() as files:
        # Both files are opened before the run, so a path that cannot be written is said at once.
        trace = None
        if args.trace is not None:
            trace = Trace(exchange.events, files.enter_context(_create(args.trace)))
            trace.write_new()
        page = None if sampler is None else files.enter_context(_create(args.report))
        while exchange.now_ms < end:
            exchange.advance_to(min(end, exchange.now_ms + step))
            if trace is not None:
                trace.write_new()
            if sampler is not None:
                sampler.sample()
            if moving:
                _progress((exchange.now_ms - start) / (end - start), exchange.now_ms)
        _progress(1.0, end)
        sys.stderr.write("\n")
        result = summary(run, config.seed, exchange.events, real_seconds() - started)
        if page is not None and sampler is not None:
            page.write(report(result, sampler).encode())
    if args.json:
        print(json.dumps(result))
    else:
        _print_result(run, result)
    return 1 if result["failed"] or result["pending"] else 0


def _create(path: Path) -> BinaryIO:
    try:
        return path.open("wb")
    except OSError as error:
        raise SystemExit(f"cannot write {path}: {error.strerror}") from None


def _print_result(run: Run, result: dict[str, Any]) -> None:
    scenario = run.scenario
    print(
        f"scenario {run.name}: {scenario.steps} steps, {scenario.expectations} expectations, "
        f"{result['start']} to {result['end']} (seed {result['seed']})"
    )
    for r in result["results"]:
        mark = "ok  " if r["ok"] else "FAIL"
        print(f"  {mark} {r['at']}  {r['what']}: {r['detail']}")
    summary_line = f"{result['passed']} passed, {result['failed']} failed"
    if result["pending"]:
        summary_line += f", {result['pending']} not reached (after the run's end)"
    print(summary_line)
    print(f"digest {result['digest']}")


def _validate(args: argparse.Namespace) -> int:
    bad = 0
    for reference in args.scenarios:
        try:
            config = _scenario_config(WorldConfig(), reference, None)
            world = _build(partial(World, "validate", config))
        except _NotLoaded as error:
            bad += 1
            print(f"{reference}: invalid")
            print("\n".join(f"  {line}" for line in str(error).splitlines()))
            continue
        scenario = world.scenarios.runs[0].scenario
        print(f"{reference}: ok ({scenario.steps} steps, {scenario.expectations} expectations)")
    return 1 if bad else 0


def _scenarios() -> int:
    listed = descriptions()
    width = max((len(name) for name, _ in listed), default=0)
    for name, description in listed:
        print(f"{name:<{width}}  {description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "siwe":
            _siwe(args)
        elif args.command == "serve":
            return _serve(args)
        elif args.command == "run":
            return _run(args)
        elif args.command == "validate":
            return _validate(args)
        elif args.command == "scenarios":
            return _scenarios()
    except _NotLoaded as error:
        print(f"ocx-sim: the scenario does not load:\n{error}", file=sys.stderr)
        return 2
    return 0
