"""The pytest plugin itself, run through pytester in this process: its fixtures, marker, option
and entry point (the import check and pytest-xdist: test_plugin_processes.py). Inner test files
record what they saw (conftest.py); the outer test reads it back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# pytester's inline runs forget every module they import; importing the server side here once
# keeps each inline run from importing the whole web stack again (~0.8 s a run).
import ocx_sim.testing.sandbox  # noqa: F401
from tests.testing.conftest import seen

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent


def test_each_ocx_test_gets_a_fresh_world_whatever_ran_before(
    pytester: pytest.Pytester, seen_file: Path
) -> None:
    pytester.makepyfile(
        """
        from recorder import record

        def test_busy(ocx):
            for _ in range(3):
                ocx.account(balances={"perps": 100})
            ocx.clock.advance("1h")
            record(test="busy", world=ocx.world_id, user=ocx.account().user_id)

        def test_quiet(ocx):
            record(test="quiet", world=ocx.world_id, user=ocx.account().user_id,
                   now=ocx.clock.iso)
        """
    )

    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)

    busy, quiet = seen(seen_file)
    assert busy["world"] == quiet["world"]
    assert busy["user"] != quiet["user"]
    assert quiet["now"] == "2026-01-02T00:00:00.000Z"
    first_user_alone = quiet["user"]
    pytester.runpytest("-k", "quiet").assert_outcomes(passed=1, deselected=1)
    assert seen(seen_file)[-1]["user"] == first_user_alone


def test_ocx_server_worlds_share_one_server_and_are_deleted_after_each_test(
    pytester: pytest.Pytester, seen_file: Path
) -> None:
    pytester.makepyfile(
        """
        import httpx
        from recorder import record

        def test_first(ocx_server, ocx_sandbox):
            ocx_server.account(balances={"perps": 100})
            record(url=ocx_server.url, root=ocx_sandbox.url)

        def test_second(ocx_server, ocx_sandbox):
            listed = httpx.get(ocx_sandbox.url + "/_sim/worlds").json()["worlds"]
            record(url=ocx_server.url, root=ocx_sandbox.url,
                   listed=[w["worldId"] for w in listed])
        """
    )

    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)

    first, second = seen(seen_file)
    assert first["root"] == second["root"]
    assert first["url"] != second["url"]
    assert second["listed"] == ["default", second["url"].rsplit("/", 1)[1]]


def test_a_deleted_server_world_answers_404_at_its_url(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx

        def test_drop(ocx_sandbox):
            with ocx_sandbox.world({"seed": 3}) as world:
                assert httpx.get(world.url + "/perps/markets").status_code == 200
            gone = httpx.get(world.url + "/perps/markets")
            assert (gone.status_code, gone.json()["code"]) == (404, "NOT_FOUND")
        """
    )

    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("ini", "args", "expected"),
    [
        (None, [], 0),
        (None, ["--ocx-seed", "42"], 42),
        ("7", [], 7),
        ("7", ["--ocx-seed=-3"], -3),
    ],
)
def test_the_seed_comes_from_the_option_then_the_ini_value_then_zero(
    pytester: pytest.Pytester, seen_file: Path, ini: str | None, args: list[str], expected: int
) -> None:
    if ini is not None:
        pytester.makeini(f"[pytest]\nocx_seed = {ini}\n")
    pytester.makepyfile(
        """
        from recorder import record

        def test_seed(ocx, ocx_server, ocx_seed):
            record(fixture=ocx_seed, ocx=ocx.seed, server=ocx_server.seed)
        """
    )

    pytester.runpytest(*args).assert_outcomes(passed=1)

    # Only the seeds: the recorder's `worker` is the outer run's under pytest-xdist (an inline
    # run shares this process and its PYTEST_XDIST_WORKER), and says nothing about seeds.
    assert [{key: row[key] for key in ("fixture", "ocx", "server")} for row in seen(seen_file)] == [
        {"fixture": expected, "ocx": expected, "server": expected}
    ]


def test_a_seed_that_is_not_an_integer_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_seed(ocx): pass")

    result = pytester.runpytest("--ocx-seed", "abc")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ocx-seed*invalid int value*"])


def test_an_ini_seed_that_is_not_an_integer_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nocx_seed = seven\n")
    pytester.makepyfile("def test_seed(ocx): pass")

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ocx_seed must be an integer, not 'seven'*"])


def test_the_marker_is_registered_so_strict_markers_accept_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ocx_scenario("default")
        def test_marked():
            pass
        """
    )

    assert pytester.runpytest("--strict-markers").ret == pytest.ExitCode.OK
    pytester.runpytest("--markers").stdout.fnmatch_lines(["@pytest.mark.ocx_scenario(scenario):*"])


def test_a_marked_scenario_file_is_looked_up_beside_the_test_file(
    pytester: pytest.Pytester, seen_file: Path
) -> None:
    suite = pytester.mkpydir("suite")
    (suite / "squeeze.yaml").write_text((HERE / "squeeze.yaml").read_text())
    (suite / "test_marked.py").write_text(
        "import pytest\n"
        "from recorder import record\n\n"
        'pytestmark = pytest.mark.ocx_scenario("squeeze.yaml")\n\n'
        "def test_in_process(ocx):\n"
        '    ocx.scenario_account("whale")\n'
        '    record(loaded=ocx.scenario["scenario"])\n\n'
        "def test_on_the_server(ocx_server):\n"
        '    record(loaded=ocx_server.scenario["scenario"])\n\n'
        "def test_without_a_world():\n"
        "    record(loaded=None)\n"
    )

    pytester.runpytest("suite", "-p", "no:randomly").assert_outcomes(passed=3)

    assert [row["loaded"] for row in seen(seen_file)] == ["plugin-squeeze", "plugin-squeeze", None]


def test_a_marked_scenario_file_that_is_not_there_is_an_error_naming_it(
    pytester: pytest.Pytester,
) -> None:
    suite = pytester.mkpydir("suite")
    (suite / "test_marked.py").write_text(
        "import pytest\n\n"
        '@pytest.mark.ocx_scenario("missing.yaml")\n'
        "def test_marked(ocx):\n"
        "    pass\n"
    )

    result = pytester.runpytest("suite")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*FileNotFoundError: no scenario file 'missing.yaml'*"])


def test_a_marked_bundled_scenario_is_loaded_by_name(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ocx_scenario("sandbox")
        def test_marked(ocx):
            assert ocx.scenario["scenario"] == "sandbox"

        @pytest.mark.ocx_scenario("no-such-scenario")
        def test_unknown(ocx):
            pass
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*OcxSimError: POST /_sim/scenarios answered 400*(field name)*"])


@pytest.mark.parametrize("arguments", ["", '"a.yaml", "b.yaml"', 'scenario="a.yaml"', "42"])
def test_a_marker_without_exactly_one_scenario_is_an_error_saying_how_to_use_it(
    pytester: pytest.Pytester, arguments: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.ocx_scenario({arguments})
        def test_marked(ocx):
            pass
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ocx_scenario takes one scenario*"])


def test_the_plugin_can_be_switched_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses(ocx): pass")

    result = pytester.runpytest("-p", "no:ocx_sim")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'ocx' not found*"])


def test_the_entry_point_names_the_plugin_module() -> None:
    from importlib.metadata import entry_points

    [entry] = [e for e in entry_points(group="pytest11") if e.name == "ocx_sim"]
    assert entry.value == "ocx_sim.testing.plugin"
    assert sys.modules.get("ocx_sim.testing.plugin") is not None
