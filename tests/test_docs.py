"""The docs match the code: every control endpoint is in docs/control-api.md with its success
status, every example there answers what it shows, every module is on the architecture map and
every doc is linked from the README.

The control API reference's examples are `$ curl …` lines in `console` blocks, each followed by
the answer it printed. They run in order against the app `ocx-sim serve` builds (seed 0, manual
clock, its demo account), in process; the section about `--no-control` runs against an app
without the control API. Real time is frozen (a realtime clock stands still), the wall clock
reads `WALL_CLOCK` (a world starting "now" starts there, as the reference says), and the one
field that differs between two runs, the journal's `latencyMs`, is left out of the comparison.
After a change the answers are meant to follow, `.venv/bin/python -m tests.test_docs` writes
what the app now answers under each command; read the diff before keeping it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ocx_sim.app import create_app
from ocx_sim.cli import DEMO_ACCOUNT
from ocx_sim.testing.builders import FakeRealTime
from ocx_sim.testing.client import InProcessClient
from ocx_sim.worlds import WorldConfig, Worlds

ROOT = Path(__file__).resolve().parent.parent
CONTROL_API = ROOT / "docs" / "control-api.md"
SERVER = "http://127.0.0.1:8000"
DROPPED = "curl: (52) Empty reply from server"
"""What `curl -sS` prints when the server closes the connection without answering."""
NO_CONTROL = "--no-control"
"""The section whose examples run against `ocx-sim serve --no-control`."""
VOLATILE = "latencyMs"
WALL_CLOCK = 1_796_626_260.75
"""2026-12-07T06:51:00.750Z: the wall clock when the reference's examples were written."""
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class Step:
    section: str
    command: str
    shown: str
    """The output the doc shows under the command (empty for an assignment)."""


def steps(text: str) -> list[Step]:
    """Every `$ …` line of every `console` block, in order, with the lines shown under it."""
    out: list[Step] = []
    for section in re.split(r"\n(?=## )", text):
        title = section.splitlines()[0]
        for block in re.findall(r"```console\n(.*?)```", section, flags=re.S):
            for line in block.splitlines():
                if line.startswith("$ "):
                    out.append(Step(title, line[2:], ""))
                else:
                    last = out[-1]
                    shown = f"{last.shown}\n{line}" if last.shown else line
                    out[-1] = Step(last.section, last.command, shown)
    return out


def sandbox(*, control: bool = True) -> InProcessClient:
    """The app `ocx-sim serve` runs, with its demo account and its secrets (random without the
    control API), on real time that stands still."""
    config = WorldConfig(random_secrets=not control, accounts=(DEMO_ACCOUNT,))
    worlds = Worlds(config, real_time=FakeRealTime(), wall_time=FakeRealTime(WALL_CLOCK))
    return InProcessClient(create_app(worlds, control=control), host="127.0.0.1:8000")


@dataclass(frozen=True, slots=True)
class Curl:
    method: str
    path: str
    body: str | None
    headers: dict[str, str]


def curl(command: str) -> Curl:
    """The request a `curl` line sends; only the options the docs use are understood."""
    argv = shlex.split(command)
    assert argv[0] == "curl", command
    method: str | None = None
    body: str | None = None
    headers: dict[str, str] = {}
    url: str | None = None
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-s", "-sS"):
            continue
        if arg == "-X":
            method = next(args)
        elif arg == "-d":
            body = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg.startswith(SERVER) and url is None:
            url = arg
        else:
            raise AssertionError(f"the docs' curl lines do not use {arg!r}: {command}")
    assert url is not None, command
    chosen = method or ("POST" if body is not None else "GET")
    return Curl(chosen, url.removeprefix(SERVER) or "/", body, headers)


def expand(command: str, variables: dict[str, str]) -> str:
    """`$NAME` and `"$NAME"` as a shell expands them (the docs use no other expansion)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in variables, f"${name} is used before it is set: {command}"
        return variables[name]

    return re.sub(r"\$([A-Z_]+)", value, command)


def replay(
    client: InProcessClient, steps: list[Step], variables: dict[str, str]
) -> Iterator[tuple[Step, str]]:
    """Each command's step and what it printed; an assignment prints nothing and sets one of
    `variables`, which the later commands (and later replays) expand."""
    for step in steps:
        assignment = re.fullmatch(r"([A-Z_]+)=(\S+)", step.command)
        if assignment is not None:
            variables[assignment.group(1)] = assignment.group(2)
            continue
        request = curl(expand(step.command, variables))
        try:
            answer = client.request(
                request.method, request.path, content=request.body, headers=request.headers
            )
        except httpx.RemoteProtocolError:
            yield step, DROPPED
            continue
        yield step, answer.content.decode()


def comparable(output: str) -> Any:
    """An answer as compared: JSON without its volatile fields, or the text."""
    try:
        value = orjson.loads(output)
    except orjson.JSONDecodeError:
        return output

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != VOLATILE}
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node

    return strip(value)


# -- docs/control-api.md ------------------------------------------------------------------------


def control_endpoints() -> list[tuple[str, str, str]]:
    """(method, path, success status) of every endpoint tagged `control` in /openapi.json."""
    client = InProcessClient(create_app())
    try:
        document = client.get("/openapi.json").json()
    finally:
        client.close()
    out = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "control" in operation.get("tags", ()):
                success = next(s for s in operation["responses"] if s.startswith("2"))
                out.append((method.upper(), path, success))
    return out


def test_every_control_endpoint_is_documented_with_its_success_status() -> None:
    text = CONTROL_API.read_text()
    rows = dict(re.findall(r"^\| `([A-Z]+ /_sim/\S*)` \|.*\| (\d{3})\b[^|]*\|$", text, re.M))
    endpoints = control_endpoints()

    assert len(endpoints) > 20  # the document was read, not an empty one
    headings = "\n".join(line for line in text.splitlines() if line.startswith("### "))
    missing = [f"{m} {p}" for m, p, _ in endpoints if f"`{m} {p}`" not in headings]
    assert missing == [], "control endpoints without a section in docs/control-api.md"
    wrong = {f"{m} {p}": s for m, p, s in endpoints if rows.get(f"{m} {p}") != s}
    assert wrong == {}, "the summary table's status (or row) differs from the app's"


def test_the_control_api_reference_documents_no_endpoint_the_app_lacks() -> None:
    text = CONTROL_API.read_text()
    built = {f"{m} {p}" for m, p, _ in control_endpoints()}
    named = set(re.findall(rf"`((?:{'|'.join(METHODS)}) /_sim/[^`\s?]*)", text))

    assert sorted(named - built) == []


def test_every_example_of_the_control_api_reference_answers_what_it_shows() -> None:
    every = steps(CONTROL_API.read_text())
    on = [step for step in every if NO_CONTROL not in step.section]
    off = [step for step in every if NO_CONTROL in step.section]
    assert len(on) > 40 and off  # both sets of examples were found
    wrong = []
    variables: dict[str, str] = {}
    for client, chosen in ((sandbox(), on), (sandbox(control=False), off)):
        try:
            for step, printed in replay(client, chosen, variables):
                if comparable(printed) != comparable(step.shown):
                    wrong.append(f"$ {step.command}\nshown: {step.shown}\ngot:   {printed}")
        finally:
            client.close()

    assert wrong == [], "\n\n".join(wrong)


@pytest.mark.parametrize(
    ("command", "sent"),
    [
        ("curl -s $OCX/_sim/clock", Curl("GET", "/_sim/clock", None, {})),
        (
            """curl -s $OCX/_sim/worlds -H 'content-type: application/json' -d '{"seed": 42}'""",
            Curl("POST", "/_sim/worlds", '{"seed": 42}', {"content-type": "application/json"}),
        ),
        (
            'curl -sS -X DELETE "$OCX/w/1/x" -H "Authorization: Bearer $TOKEN"',
            Curl("DELETE", "/w/1/x", None, {"Authorization": "Bearer t0k"}),
        ),
    ],
)
def test_the_replay_sends_what_the_shell_would(command: str, sent: Curl) -> None:
    assert curl(expand(command, {"OCX": SERVER, "TOKEN": "t0k"})) == sent


def test_the_replay_refuses_a_curl_option_it_does_not_understand() -> None:
    with pytest.raises(AssertionError, match="-i"):
        curl(f"curl -i {SERVER}/_sim/clock")


# -- the other docs -----------------------------------------------------------------------------


def test_every_module_of_the_package_is_on_the_architecture_map() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    modules = sorted(
        path.relative_to(ROOT / "ocx_sim").as_posix()
        for path in (ROOT / "ocx_sim").rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    )

    assert len(modules) > 50
    unnamed = [m for m in modules if f"`{Path(m).name}`" not in text and f"`{m}`" not in text]
    assert unnamed == []


def test_the_readme_links_every_doc() -> None:
    readme = (ROOT / "README.md").read_text()
    docs = sorted(p.name for p in (ROOT / "docs").glob("*.md"))

    assert docs
    assert [d for d in docs if f"](docs/{d})" not in readme] == []


def rewrite(text: str) -> str:
    """`text` with every command's output replaced by what the app answers now."""
    every = steps(text)
    printed: dict[str, list[str]] = {}
    variables: dict[str, str] = {}
    for control in (True, False):
        client = sandbox(control=control)
        chosen = [step for step in every if (NO_CONTROL not in step.section) is control]
        try:
            for step, output in replay(client, chosen, variables):
                printed.setdefault(step.command, []).append(output)
        finally:
            client.close()

    def block(match: re.Match[str]) -> str:
        lines = []
        for line in match.group(1).splitlines():
            if line.startswith("$ "):
                lines.append(line)
                outputs = printed.get(line[2:])
                if outputs:  # an assignment prints nothing
                    lines.append(outputs.pop(0))
        return "```console\n" + "\n".join(lines) + "\n```"

    return re.sub(r"```console\n(.*?)```", block, text, flags=re.S)


def test_rewriting_the_reference_changes_nothing_but_real_time() -> None:
    text = CONTROL_API.read_text()

    def without_latency(doc: str) -> str:
        return re.sub(rf'"{VOLATILE}":[0-9.]+', f'"{VOLATILE}":0', doc)

    assert without_latency(rewrite(text)) == without_latency(text)


if __name__ == "__main__":
    CONTROL_API.write_text(rewrite(CONTROL_API.read_text()))
