"""Seeded identifiers: ULIDs, API-key secrets, SIWE nonces and named random streams."""

from __future__ import annotations

import itertools
import re

import pytest

from ocx_sim.clock import DEFAULT_START_MS, SimClock
from ocx_sim.ids import Ids, decode_ulid_time, encode_ulid, is_ulid

ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
"""26 Crockford base-32 characters (no I, L, O or U)."""
SECRET = re.compile(r"ocx_sk_[A-Za-z0-9_-]{40}")
NONCE = re.compile(r"[0-9a-f]{16}")
TIME_MAX = 2**48 - 1


def _ids(seed: int = 1, start_ms: int = DEFAULT_START_MS) -> tuple[Ids, SimClock]:
    clock = SimClock(start_ms)
    return Ids(seed, lambda: clock.now_ms), clock


def _session(seed: int) -> list[str]:
    """A fixed sequence of calls on a fresh generator: ids over several ms, secrets, nonces."""
    ids, clock = _ids(seed)
    out = [ids.ulid(), ids.ulid(), ids.secret(), ids.nonce()]
    clock.advance_by(1)
    out += [ids.ulid(), ids.nonce(), ids.secret()]
    clock.advance_by(60_000)
    out += [ids.ulid(), ids.token_bytes(16).hex()]
    return out


def test_ulid_is_26_crockford_base32_characters() -> None:
    ids, clock = _ids()
    for _ in range(50):
        ulid = ids.ulid()
        assert ULID.fullmatch(ulid), ulid
        assert is_ulid(ulid)
        clock.advance_by(7)


def test_ulid_time_part_decodes_to_the_clocks_instant() -> None:
    ids, clock = _ids()
    assert decode_ulid_time(ids.ulid()) == DEFAULT_START_MS
    clock.advance_by(1_234)
    assert decode_ulid_time(ids.ulid()) == DEFAULT_START_MS + 1_234
    assert decode_ulid_time(ids.ulid()) == DEFAULT_START_MS + 1_234


def test_ulid_time_part_follows_the_ulid_spec_encoding() -> None:
    # The example of the ULID spec (github.com/ulid/spec): 1469918176385 → "01ARYZ6S41".
    assert encode_ulid(1_469_918_176_385, 0) == "01ARYZ6S41" + "0" * 16
    assert encode_ulid(TIME_MAX, 2**80 - 1) == "7" + "Z" * 25
    assert decode_ulid_time("01ARYZ6S41" + "0" * 16) == 1_469_918_176_385


def test_same_seed_and_same_calls_give_identical_ids_secrets_and_nonces() -> None:
    assert _session(42) == _session(42)


def test_different_seeds_give_different_ids_secrets_and_nonces() -> None:
    first, second = _session(1), _session(2)
    assert all(a != b for a, b in zip(first, second, strict=True))


def test_ids_made_in_the_same_millisecond_strictly_increase() -> None:
    ids, _clock = _ids()
    made = [ids.ulid() for _ in range(1_000)]
    assert all(a < b for a, b in itertools.pairwise(made))
    assert {decode_ulid_time(u) for u in made} == {DEFAULT_START_MS}


def test_ids_sort_in_creation_order_across_milliseconds() -> None:
    for seed in range(20):
        ids, clock = _ids(seed)
        made: list[str] = []
        for step in range(40):
            made += [ids.ulid() for _ in range(step % 4 + 1)]
            clock.advance_by(step % 3)
        assert sorted(made) == made
        assert len(set(made)) == len(made)


def test_ids_stay_increasing_when_the_clock_stands_still_between_calls() -> None:
    ids, clock = _ids()
    before = ids.ulid()
    clock.advance_by(0)
    assert ids.ulid() > before


def test_secret_is_ocx_sk_and_40_url_safe_characters() -> None:
    ids, _clock = _ids()
    secrets = [ids.secret() for _ in range(50)]
    for secret in secrets:
        assert SECRET.fullmatch(secret), secret
        assert len(secret) == len("ocx_sk_") + 40
    assert len(set(secrets)) == len(secrets)


def test_nonce_is_16_lowercase_hex_characters() -> None:
    ids, _clock = _ids()
    nonces = [ids.nonce() for _ in range(50)]
    for nonce in nonces:
        assert NONCE.fullmatch(nonce), nonce
    assert len(set(nonces)) == len(nonces)


def test_token_bytes_gives_the_requested_length() -> None:
    ids, _clock = _ids()
    assert len(ids.token_bytes(32)) == 32
    assert ids.token_bytes(8) != ids.token_bytes(8)


def test_named_stream_is_reproducible_for_the_same_seed_and_name() -> None:
    first, _ = _ids(9)
    second, _ = _ids(9)
    assert [first.stream("prices").random() for _ in range(3)] == [
        second.stream("prices").random() for _ in range(3)
    ]
    a, b = first.stream("prices"), second.stream("prices")
    assert [a.getrandbits(64) for _ in range(10)] == [b.getrandbits(64) for _ in range(10)]


def test_named_streams_differ_by_name_and_by_seed() -> None:
    ids, _ = _ids(9)
    other_seed, _ = _ids(10)
    prices = ids.stream("prices").getrandbits(64)
    assert prices != ids.stream("agents").getrandbits(64)
    assert prices != other_seed.stream("prices").getrandbits(64)


def test_drawing_from_one_stream_does_not_change_another() -> None:
    quiet, _ = _ids(3)
    expected_stream = quiet.stream("prices")
    expected = [expected_stream.getrandbits(64) for _ in range(20)]

    busy, _ = _ids(3)
    prices = busy.stream("prices")
    agents = busy.stream("agents")
    observed: list[int] = []
    for _ in range(20):
        for _ in range(17):
            agents.getrandbits(64)
        busy.ulid()
        busy.secret()
        busy.nonce()
        observed.append(prices.getrandbits(64))
    assert observed == expected


def test_secrets_and_nonces_do_not_shift_the_ids() -> None:
    plain, plain_clock = _ids(5)
    busy, busy_clock = _ids(5)
    expected: list[str] = []
    observed: list[str] = []
    for _ in range(10):
        expected.append(plain.ulid())
        busy.secret()
        busy.nonce()
        busy.token_bytes(32)
        observed.append(busy.ulid())
        plain_clock.advance_by(3)
        busy_clock.advance_by(3)
    assert observed == expected


def _secret_draws(ids: Ids) -> tuple[list[str], str]:
    """Secrets, nonces and key bytes, then the public bytes drawn after them (a tx hash)."""
    drawn = [ids.secret(), ids.nonce(), ids.key_bytes(32).hex(), ids.secret(), ids.nonce()]
    return drawn, ids.token_bytes(32).hex()


def test_random_secrets_differ_and_leave_the_tx_hash_bytes_and_ids_where_they_were() -> None:
    seeded, _ = _ids(5)
    randoms = [Ids(5, lambda: DEFAULT_START_MS, random_secrets=True) for _ in range(2)]
    runs = [_secret_draws(ids) for ids in (seeded, *randoms)]

    (seeded_secrets, seeded_hash), (first, first_hash), (second, second_hash) = runs
    assert all(a != b != c != a for a, b, c in zip(seeded_secrets, first, second, strict=True))
    assert SECRET.fullmatch(first[0]) and NONCE.fullmatch(first[1]) and len(first[2]) == 64
    assert seeded_hash == first_hash == second_hash
    assert seeded.ulid() == randoms[0].ulid() == randoms[1].ulid()


@pytest.mark.parametrize("time_ms", [-1, TIME_MAX + 1, 2**60])
def test_encode_ulid_rejects_times_outside_48_bits(time_ms: int) -> None:
    with pytest.raises(ValueError):
        encode_ulid(time_ms, 0)


@pytest.mark.parametrize("time_ms", [0, 1, DEFAULT_START_MS, TIME_MAX])
def test_encode_ulid_round_trips_every_48_bit_time(time_ms: int) -> None:
    ulid = encode_ulid(time_ms, 12_345)
    assert ULID.fullmatch(ulid)
    assert decode_ulid_time(ulid) == time_ms


@pytest.mark.parametrize(
    "text", ["", "01ARYZ6S41", "01ARYZ6S41" + "0" * 17, "01ARYZ6S4!" + "0" * 16]
)
def test_decode_ulid_time_rejects_a_malformed_ulid(text: str) -> None:
    with pytest.raises(ValueError):
        decode_ulid_time(text)


def test_is_ulid_rejects_wrong_length_alphabet_and_overflowing_time() -> None:
    assert is_ulid(encode_ulid(TIME_MAX, 0))
    assert not is_ulid("8" + "0" * 25)
    assert not is_ulid("0" * 25)
    assert not is_ulid("0" * 25 + "U")
