"""Worlds: seeded, isolated simulated exchanges, and the accounts the control API makes in them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from ocx_sim.auth.keys import Scope
from ocx_sim.auth.policy import Profile
from ocx_sim.clock import DEFAULT_START_MS, SimClock
from ocx_sim.engine.core.accounts import Bucket
from ocx_sim.engine.core.ledger import EntryType
from ocx_sim.errors import ErrorCode, OcxError
from ocx_sim.ids import is_ulid
from ocx_sim.testing.builders import FakeRealTime
from ocx_sim.worlds import (
    DEFAULT_WORLD_ID,
    ClockMode,
    KeyRequest,
    NewAccount,
    World,
    WorldConfig,
    Worlds,
)

FUNDS = {Bucket.WALLET: Decimal(100), Bucket.PERPS: Decimal(250), Bucket.SPOT: Decimal("0.5")}
KEYS = (KeyRequest("bot", Scope.TRADE), KeyRequest("reader", Scope.READ, ("10.0.0.0/8",), 30))


def account_in(world: World) -> NewAccount:
    return world.create_account(balances=FUNDS, api_keys=KEYS)


def fingerprint(account: NewAccount) -> tuple[object, ...]:
    return (
        account.user_id,
        account.wallet_address,
        account.private_key,
        account.session_token,
        tuple((key.id, secret) for key, secret in account.api_keys),
    )


def refusal(action: object) -> OcxError:
    assert callable(action)
    with pytest.raises(OcxError) as caught:
        action()
    return caught.value


# -- seeds ------------------------------------------------------------------------------------


def test_the_same_seed_makes_the_same_accounts_keys_and_sessions() -> None:
    first = account_in(World(DEFAULT_WORLD_ID, WorldConfig(seed=11)))
    second = account_in(World(DEFAULT_WORLD_ID, WorldConfig(seed=11)))

    assert fingerprint(first) == fingerprint(second)


def test_another_seed_makes_other_ids_addresses_and_secrets() -> None:
    first = account_in(World(DEFAULT_WORLD_ID, WorldConfig(seed=11)))
    second = account_in(World(DEFAULT_WORLD_ID, WorldConfig(seed=12)))

    assert first.user_id != second.user_id
    assert first.wallet_address != second.wallet_address
    assert first.private_key != second.private_key
    assert first.api_keys[0][1] != second.api_keys[0][1]


def test_world_ids_come_from_the_servers_seed_and_leave_worlds_streams_alone() -> None:
    plain = Worlds(WorldConfig(seed=5))
    busy = Worlds(WorldConfig(seed=5))
    created = [busy.create(WorldConfig(seed=9)) for _ in range(3)]
    again = [Worlds(WorldConfig(seed=5)).create(WorldConfig(seed=9))]

    assert all(is_ulid(w.world_id) for w in created)
    assert len({w.world_id for w in created}) == 3
    assert again[0].world_id == created[0].world_id
    assert fingerprint(account_in(plain.default)) == fingerprint(account_in(busy.default))


def test_a_world_starts_at_its_configured_instant_on_a_manual_clock() -> None:
    world = World("w", WorldConfig(start=DEFAULT_START_MS + 5_000))

    assert isinstance(world.clock, SimClock)
    assert world.now_ms == world.exchange.now_ms == DEFAULT_START_MS + 5_000


# -- the registry -----------------------------------------------------------------------------


def test_the_registry_finds_lists_and_deletes_worlds() -> None:
    worlds = Worlds(WorldConfig())
    other = worlds.create(WorldConfig(seed=1, profile=Profile.GITBOOK))

    assert worlds.get(DEFAULT_WORLD_ID) is worlds.default
    assert worlds.get(other.world_id) is other
    assert other.config.profile is Profile.GITBOOK
    assert worlds.all() == [worlds.default, other]
    assert worlds.delete(other.world_id)
    assert not worlds.delete(other.world_id)
    assert not worlds.delete(DEFAULT_WORLD_ID)
    assert worlds.get(other.world_id) is None
    assert worlds.all() == [worlds.default]


def test_the_default_world_lives_at_the_root_and_the_others_under_w() -> None:
    worlds = Worlds(WorldConfig())
    other = worlds.create(WorldConfig())

    assert (worlds.default.base_url, worlds.default.cookie_path) == ("", "/")
    assert other.base_url == other.cookie_path == f"/w/{other.world_id}"


# -- isolation --------------------------------------------------------------------------------


@pytest.fixture
def pair() -> tuple[World, World]:
    worlds = Worlds(WorldConfig(seed=1))
    return worlds.default, worlds.create(WorldConfig(seed=2))


def test_an_account_of_one_world_is_unknown_in_another(pair: tuple[World, World]) -> None:
    a, b = pair
    account = account_in(a)

    assert a.exchange.has_user(account.user_id)
    assert not b.exchange.has_user(account.user_id)
    assert b.exchange.find_user(account.wallet_address) is None


def test_a_key_of_one_world_is_invalid_in_another(pair: tuple[World, World]) -> None:
    a, b = pair
    secret = account_in(a).api_keys[0][1]

    assert refusal(lambda: b.keys.authenticate(secret, None, b.now_ms)).code is (
        ErrorCode.API_KEY_INVALID
    )


def test_a_session_of_one_world_is_invalid_in_another(pair: tuple[World, World]) -> None:
    a, b = pair
    token = account_in(a).session_token

    assert refusal(lambda: b.sessions.verify(token, b.now_ms)).code is ErrorCode.UNAUTHENTICATED


def test_a_session_of_one_world_is_invalid_in_another_on_the_same_seed() -> None:
    worlds = Worlds(WorldConfig(seed=3))
    a, b = worlds.create(WorldConfig(seed=3)), worlds.create(WorldConfig(seed=3))
    token = account_in(a).session_token
    account_in(b)

    assert refusal(lambda: b.sessions.verify(token, b.now_ms)).code is ErrorCode.UNAUTHENTICATED


# -- accounts ---------------------------------------------------------------------------------


def test_funding_arrives_as_one_deposit_then_a_transfer_per_bucket() -> None:
    world = World(DEFAULT_WORLD_ID, WorldConfig(seed=4))

    account = account_in(world)

    exchange = world.exchange
    entries = list(reversed(exchange.ledger_entries(account.user_id)))
    assert [(e.type, e.bucket, e.amount) for e in entries] == [
        (EntryType.DEPOSIT, "wallet", Decimal("350.5")),
        (EntryType.TRANSFER_OUT, "wallet", Decimal(-250)),
        (EntryType.TRANSFER_IN, "perps", Decimal(250)),
        (EntryType.TRANSFER_OUT, "wallet", Decimal("-0.5")),
        (EntryType.TRANSFER_IN, "spot", Decimal("0.5")),
    ]
    balances = exchange.balances(account.user_id)
    assert (balances.wallet, balances.perps, balances.spot, balances.options) == (
        Decimal(100),
        Decimal(250),
        Decimal("0.5"),
        Decimal(0),
    )


def test_an_account_without_balances_has_no_ledger_entries() -> None:
    world = World(DEFAULT_WORLD_ID, WorldConfig())

    account = world.create_account(balances={Bucket.PERPS: Decimal(0)})

    assert world.exchange.ledger_entries(account.user_id) == []


def test_a_generated_key_pair_signs_for_its_address() -> None:
    world = World(DEFAULT_WORLD_ID, WorldConfig(seed=6))

    account = world.create_account()

    assert account.private_key is not None
    assert Account.from_key(account.private_key).address == account.wallet_address
    signed = Account.sign_message(encode_defunct(text="hello"), account.private_key)
    assert Account.recover_message(encode_defunct(text="hello"), signature=signed.signature) == (
        account.wallet_address
    )


def test_an_account_for_a_given_address_is_checksummed_and_has_no_private_key() -> None:
    world = World(DEFAULT_WORLD_ID, WorldConfig())
    address = Account.create().address

    account = world.create_account(wallet_address=address.lower())

    assert account.private_key is None
    assert account.wallet_address == address
    assert world.exchange.find_user(address) is not None
    assert world.create_account(wallet_address=address).user_id == account.user_id


def test_an_accounts_session_and_keys_authenticate_as_it() -> None:
    world = World(DEFAULT_WORLD_ID, WorldConfig())

    account = account_in(world)

    assert world.sessions.verify(account.session_token, world.now_ms)[0] == account.user_id
    (trade, trade_secret), (read, read_secret) = account.api_keys
    assert (trade.name, trade.scope, trade.allowed_ips) == ("bot", Scope.TRADE, ())
    assert (read.scope, read.allowed_ips) == (Scope.READ, ("10.0.0.0/8",))
    assert read.expires_at == world.now_ms + 30 * 86_400_000
    assert world.keys.authenticate(trade_secret, None, world.now_ms) is trade
    assert world.keys.authenticate(read_secret, "10.0.0.1", world.now_ms) is read


def test_each_sign_in_is_a_session_of_its_own() -> None:
    world = World(DEFAULT_WORLD_ID, WorldConfig())
    account = account_in(world)

    second = world.sign_in(account.user_id)
    _, first_session = world.sessions.verify(account.session_token, world.now_ms)
    _, second_session = world.sessions.verify(second, world.now_ms)
    world.sessions.revoke(first_session)

    assert first_session != second_session
    assert is_ulid(second_session)
    assert world.sessions.verify(second, world.now_ms) == (account.user_id, second_session)


# -- time -------------------------------------------------------------------------------------

ADDRESS = "0x" + "ab" * 20


def realtime_worlds(real: FakeRealTime, speed: float = 1.0) -> Worlds:
    """Realtime worlds from 2026-01-02T00:00:00Z (a funding boundary every 5 minutes on)."""
    config = WorldConfig(clock=ClockMode.REALTIME, speed=speed, start=DEFAULT_START_MS)
    return Worlds(config, real_time=real)


def test_a_realtime_world_confirms_a_deposit_once_real_time_reaches_each_confirmation() -> None:
    real = FakeRealTime()
    world = realtime_worlds(real).default
    deposit = world.exchange.sim.submit_deposit(ADDRESS, Decimal(100))

    real.now += 1.9
    assert world.keep_time() == pytest.approx(0.1)  # the first confirmation is 0.1 s away
    assert deposit.confirmations == 0

    real.now += 0.1
    assert world.keep_time() == pytest.approx(2.0)
    assert (deposit.confirmations, deposit.status.value) == (1, "pending")

    real.now += 2.0
    # Nothing left to fire but the clockwork: the first funding boundary, at 00:05:00.
    assert world.keep_time() == pytest.approx(296.0)
    assert (deposit.confirmations, deposit.status.value) == (2, "confirmed")


def test_a_realtime_world_at_speed_ten_confirms_ten_times_sooner() -> None:
    real = FakeRealTime()
    world = realtime_worlds(real, speed=10).default
    deposit = world.exchange.sim.submit_deposit(ADDRESS, Decimal(100))

    real.now += 0.4
    world.keep_time()

    assert deposit.status.value == "confirmed"


def test_a_manual_world_never_moves_its_own_time() -> None:
    world = Worlds(WorldConfig()).default
    deposit = world.exchange.sim.submit_deposit(ADDRESS, Decimal(100))

    assert world.keep_time() is None
    assert (world.now_ms, deposit.confirmations) == (DEFAULT_START_MS, 0)


def test_the_registry_keeps_every_realtime_worlds_time_and_names_the_soonest_timer() -> None:
    real = FakeRealTime()
    worlds = realtime_worlds(real)
    other = worlds.create(WorldConfig(clock=ClockMode.REALTIME, speed=4))
    first = worlds.default.exchange.sim.submit_deposit(ADDRESS, Decimal(1))
    second = other.exchange.sim.submit_deposit(ADDRESS, Decimal(1))

    assert worlds.keep_time() == pytest.approx(0.5)  # speed 4: 2 s of simulated time

    real.now += 1.0
    assert worlds.keep_time() == pytest.approx(1.0)  # the default world's first, still 1 s off
    assert (first.status.value, second.status.value) == ("pending", "confirmed")


def test_a_world_id_is_never_also_an_id_in_the_default_world() -> None:
    # Both are drawn from the server's seed at the same instant; the registry's own stream
    # keeps the first world's id from being the default world's first userId.
    worlds = Worlds(WorldConfig(seed=0))
    user = worlds.default.create_account().user_id
    created = [worlds.create(WorldConfig()).world_id for _ in range(3)]
    assert user not in created
    assert len(set(created)) == 3
