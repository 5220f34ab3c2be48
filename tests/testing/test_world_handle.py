"""The world handle's own parts: durations and instants, the world client, accounts' keys,
scenario bodies, the httpx transport that runs client code in process, and how a handle is
made from a config and closed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from ocx_sim.app import create_app
from ocx_sim.auth.sessions import COOKIE_NAME
from ocx_sim.testing import OcxSimError, OcxWorld, in_process_world, parse_duration
from ocx_sim.testing.client import InProcessClient
from ocx_sim.testing.client import Response as InProcessResponse
from ocx_sim.testing.streams import Refused, Stream
from ocx_sim.testing.transport import InProcessTransport
from ocx_sim.testing.wire import Answer, InProcessBackend, WorldClient
from ocx_sim.testing.world import instant_ms, scenario_body
from ocx_sim.worlds import WorldConfig, Worlds

# -- durations and instants -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("5m", 300_000),
        ("90s", 90_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("1w", 604_800_000),
        ("250ms", 250),
        ("1.5s", 1_500),
        ("1h30m", 5_400_000),
        ("1h 30m", 5_400_000),
        ("0s", 0),
        (1_234, 1_234),
        (timedelta(minutes=2, milliseconds=5), 120_005),
    ],
)
def test_a_duration_is_read_as_whole_milliseconds(text: str | int | timedelta, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["5", "5 minutes", "m5", "-5m", "", "1.5ms", "5M", "1e3s"])
def test_a_duration_that_is_not_one_is_a_value_error_showing_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match="is not"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1, ValueError),
        (timedelta(microseconds=1), ValueError),
        (True, TypeError),
        (1.5, TypeError),
    ],
)
def test_a_negative_fractional_or_mistyped_duration_is_refused(
    value: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        parse_duration(value)


def test_an_instant_is_read_from_iso_text_a_datetime_or_milliseconds() -> None:
    expected = 1_767_312_000_000  # 2026-01-02T00:00:00.000Z

    assert instant_ms("2026-01-02T00:00:00.000Z") == expected
    assert instant_ms(datetime(2026, 1, 2, tzinfo=UTC)) == expected
    assert instant_ms(datetime(2026, 1, 2)) == expected
    assert instant_ms(datetime(2026, 1, 2, 1, tzinfo=timezone(timedelta(hours=1)))) == expected
    assert instant_ms(expected) == expected
    with pytest.raises(TypeError):
        instant_ms(1.5)  # type: ignore[arg-type]


# -- the world client -------------------------------------------------------------------------


class Recorder:
    """A backend that answers nothing and remembers what it was asked to send."""

    root_url = "http://recorded"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, bytes | None, dict[str, str]]] = []

    def send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        self.sent.append((method, path, body, dict(headers)))
        return InProcessResponse(204, [], b"")

    def httpx_client(self, base_url: str, headers: Mapping[str, str]) -> httpx.Client:
        return httpx.Client(base_url=base_url, headers=headers)

    def stream(self, path: str, headers: Mapping[str, str], refused: Refused) -> Stream:
        raise NotImplementedError


def test_the_world_client_adds_the_prefix_the_query_cookies_and_its_credentials() -> None:
    backend = Recorder()
    client = WorldClient(backend, "/w/abc", {"Authorization": "Bearer t"})

    client.post(
        "/perps/orders?x=1",
        json={"side": "buy"},
        params={"marketId": "BTC-PERP", "limit": None, "id": ["a", "b"]},
        cookies={"astra_session": "s"},
        headers={"X-Extra": "1"},
    )
    client.with_headers({"Authorization": "Bearer u"}).get("/perps/markets")

    (method, path, body, headers), second = backend.sent
    assert (method, path) == ("POST", "/w/abc/perps/orders?x=1&marketId=BTC-PERP&id=a&id=b")
    assert body == b'{"side":"buy"}'
    # Header names go out in lower case, as ASGI hands them to the app either way.
    assert headers == {
        "authorization": "Bearer t",
        "x-extra": "1",
        "content-type": "application/json",
        "cookie": "astra_session=s",
    }
    assert second == ("GET", "/w/abc/perps/markets", None, {"authorization": "Bearer u"})


def test_the_session_cookie_authenticates_like_the_header(ocx: OcxWorld) -> None:
    trader = ocx.account(balances={"perps": 100})

    by_cookie = ocx.client.get("/perps/balances", cookies={COOKIE_NAME: trader.session_token})
    by_header = trader.client.get("/perps/balances")
    anonymous = ocx.client.get("/perps/balances")

    assert by_cookie.status_code == by_header.status_code == 200
    assert by_cookie.content == by_header.content
    assert anonymous.status_code == 401


def test_a_path_without_a_leading_slash_is_refused_before_anything_is_sent(
    ocx: OcxWorld,
) -> None:
    with pytest.raises(ValueError, match="starting with '/'"):
        ocx.client.get("perps/markets")


def test_a_control_error_names_the_call_status_code_and_field(ocx: OcxWorld) -> None:
    with pytest.raises(OcxSimError) as refused:
        ocx.control("POST", "/_sim/clock/advance", {"ms": -1})

    assert str(refused.value) == (
        "POST /_sim/clock/advance answered 400: VALIDATION_ERROR: "
        f"{refused.value.body['message']} (field ms)"
    )


def test_an_error_without_a_json_body_keeps_its_text() -> None:
    error = OcxSimError("GET", "/x", 502, "Bad Gateway")

    assert (error.status, error.body, str(error)) == (
        502,
        "Bad Gateway",
        "GET /x answered 502: Bad Gateway",
    )


# -- accounts ---------------------------------------------------------------------------------


def test_an_account_finds_its_keys_by_name_and_says_which_it_has(ocx: OcxWorld) -> None:
    trader = ocx.account(api_keys=["read", {"name": "bot", "scope": "trade"}])

    assert [(k.name, k.scope) for k in trader.api_keys] == [("read", "read"), ("bot", "trade")]
    assert trader.key() == trader.api_keys[0]
    assert trader.key("bot").secret.startswith("ocx_sk_")
    with pytest.raises(KeyError, match="has: read, bot"):
        trader.key("other")
    assert trader.private_key is not None and trader.private_key.startswith("0x")


def test_an_account_for_a_given_wallet_has_no_private_key(ocx: OcxWorld) -> None:
    trader = ocx.account(wallet_address=f"0x{5:040x}")

    assert trader.private_key is None
    assert trader.wallet_address.lower() == f"0x{5:040x}"


@pytest.mark.parametrize(("amount", "error"), [(1.5, TypeError), ("ten", ValueError)])
def test_a_balance_that_is_not_a_decimal_string_or_number_is_refused_in_python(
    ocx: OcxWorld, amount: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        ocx.account(balances={"perps": amount})


# -- scenarios --------------------------------------------------------------------------------


def test_a_scenario_name_is_sent_by_name_and_a_path_as_its_text_and_name(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("meta: {name: mine}\n")
    sent = {"yaml": "meta: {name: mine}\n", "source": str(mine)}

    assert scenario_body("funding-squeeze") == {"name": "funding-squeeze"}
    assert scenario_body("mine.yaml", relative_to=tmp_path) == sent
    assert scenario_body(mine) == sent
    with pytest.raises(FileNotFoundError, match=r"no scenario file 'other\.yml'"):
        scenario_body("other.yml", relative_to=tmp_path)


# -- client code in process -------------------------------------------------------------------


def test_httpx_through_the_in_process_transport_sees_what_the_raw_client_sees() -> None:
    app = create_app(Worlds(WorldConfig(seed=3)))
    raw = InProcessClient(app)
    token = raw.post("/_sim/accounts", json={"balances": {"perps": "100"}}).json()["sessionToken"]
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(transport=InProcessTransport(raw), base_url="http://testserver") as http:
        via_httpx = http.post("/auth/logout", headers=auth)
        book = http.get("/perps/orderbook/BTC-PERP", params={"depth": 5})
    direct = raw.get("/perps/orderbook/BTC-PERP?depth=5")
    raw.close()

    assert via_httpx.status_code == 200
    assert via_httpx.headers.get_list("set-cookie") != []
    assert (book.status_code, book.content) == (direct.status_code, direct.content)


def test_the_httpx_clients_a_world_made_are_closed_with_it() -> None:
    with in_process_world({"seed": 1}) as world:
        http = world.httpx_client()
        assert http.get("/perps/markets").status_code == 200

    assert http.is_closed


# -- making and closing a handle --------------------------------------------------------------


def test_the_in_process_world_is_the_default_world_of_a_registry_of_its_own() -> None:
    with in_process_world({"seed": 4}) as world:
        assert (world.world_id, world.base, world.url) == ("default", "", "http://testserver")
        assert world.seed == 4
        world.close()
        world.close()


def test_a_config_beyond_the_seed_is_read_by_the_control_api() -> None:
    config = {"seed": 2, "start": "2027-01-01T00:00:00Z", "clock": "manual", "profile": "gitbook"}
    with in_process_world(config) as world:
        assert world.clock.iso == "2027-01-01T00:00:00.000Z"
        assert world.seed == 2


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"profile": "lenient"}, "profile"),
        ({"seed": "seven"}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"start": "yesterday"}, "start"),
        ({"speed": 0}, "speed"),
    ],
)
def test_a_config_the_control_api_refuses_is_refused_naming_the_field(
    config: dict[str, Any], field: str
) -> None:
    with pytest.raises(OcxSimError) as refused, in_process_world(config):
        pass

    assert (refused.value.status, refused.value.body["code"]) == (400, "VALIDATION_ERROR")
    assert refused.value.body["details"]["field"] == field


def test_closing_a_world_on_a_server_deletes_it() -> None:
    app = create_app(Worlds(WorldConfig()))
    raw = InProcessClient(app)
    world = OcxWorld.create(InProcessBackend(raw), {"seed": 1})
    assert world.base == f"/w/{world.world_id}"
    world.close()

    listed = raw.get("/_sim/worlds").json()["worlds"]
    assert [w["worldId"] for w in listed] == ["default"]
    raw.close()


def test_the_testing_package_names_load_on_first_use() -> None:
    import ocx_sim.testing as testing

    for name in testing.__all__:
        assert getattr(testing, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = testing.Nothing
