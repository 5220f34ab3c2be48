"""Identifiers, secrets and every other random draw: the only module that touches randomness.

All of it comes from one seed. `Ids(seed, now_ms)` hands out:

- ULIDs (26 Crockford base-32 characters, docs/fidelity.md "Identifiers and time") whose 48-bit
  time part is the simulated clock's instant and whose 80-bit tail is drawn from the seeded stream
  once per millisecond and then counted up by one for each further id in the same millisecond (the
  monotonic-ULID rule). Ids therefore sort in the order they were made, and the same seed and the
  same sequence of calls give the same ids.
- API-key secrets (`ocx_sk_` + 40 url-safe characters), SIWE nonces (16 hex characters) and
  key bytes (session-signing keys, generated private keys): seeded, or, with `random_secrets`,
  from the operating system's randomness (`secrets`) for a server others reach
  (docs/fidelity.md "Sign-in, sessions and keys").
- Named independent streams (`stream("prices")`) for other seeded draws, so that adding a draw
  in one place never shifts the values another place sees.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
HEX = "0123456789abcdef"
SECRET_PREFIX = "ocx_sk_"
SECRET_LENGTH = 40
NONCE_LENGTH = 16

# Two base-32 characters per 10 bits: encoding 80 bits is 8 table lookups instead of 16 divmods.
RandomStream = random.Random
"""The type of a named stream, for modules that may not import `random` themselves."""

_PAIRS = tuple(a + b for a in CROCKFORD for b in CROCKFORD)
_TIME_MAX = (1 << 48) - 1
_TAIL_BITS = 80
_TAIL_MASK = (1 << _TAIL_BITS) - 1
ULID_TAIL_BITS = _TAIL_BITS
# The first tail of a millisecond leaves its top bit clear so counting up within the
# millisecond can never overflow 80 bits.
_FRESH_TAIL_BITS = _TAIL_BITS - 1


def encode_ulid_value(value: int) -> str:
    """Render a 128-bit ULID integer (from `Ids.ulid_value`) as its 26 characters."""
    return encode_ulid(value >> _TAIL_BITS, value & _TAIL_MASK)


def encode_ulid(time_ms: int, tail: int) -> str:
    """Render a 48-bit time and an 80-bit tail as a 26-character ULID."""
    if not 0 <= time_ms <= _TIME_MAX:
        raise ValueError(f"ULID time out of range: {time_ms}")
    if not 0 <= tail <= _TAIL_MASK:
        raise ValueError(f"ULID tail out of range: {tail}")
    return _encode_time(time_ms) + _encode_tail(tail)


def _encode_time(time_ms: int) -> str:
    chars = []
    for _ in range(10):
        time_ms, digit = divmod(time_ms, 32)
        chars.append(CROCKFORD[digit])
    return "".join(reversed(chars))


def _encode_tail(tail: int) -> str:
    pairs = _PAIRS
    return (
        pairs[(tail >> 70) & 1023]
        + pairs[(tail >> 60) & 1023]
        + pairs[(tail >> 50) & 1023]
        + pairs[(tail >> 40) & 1023]
        + pairs[(tail >> 30) & 1023]
        + pairs[(tail >> 20) & 1023]
        + pairs[(tail >> 10) & 1023]
        + pairs[tail & 1023]
    )


def decode_ulid_time(ulid: str) -> int:
    """The unix-ms time part of a ULID (raises ValueError on a malformed one)."""
    if len(ulid) != 26:
        raise ValueError(f"a ULID has 26 characters, got {len(ulid)}")
    value = 0
    for char in ulid[:10].upper():
        index = CROCKFORD.find(char)
        if index < 0:
            raise ValueError(f"not a Crockford base-32 character: {char!r}")
        value = value * 32 + index
    return value


def is_ulid(text: str) -> bool:
    return len(text) == 26 and all(c in CROCKFORD for c in text.upper()) and text[0] in "01234567"


class Ids:
    """Seeded ids, secrets and nonces; time from the `now_ms` callable (the world's clock).
    ULIDs come from the stream named `ulid_stream`: ids made for another purpose on the same
    seed (the registry's world ids) draw from a stream of their own and never repeat these.

    `random_secrets` makes `secret`, `nonce` and `key_bytes` answer the operating system's
    randomness instead of the seed's. They still draw their seeded value, and drop it: the
    seeded `secrets` stream also gives the public `token_bytes` (deposit transaction hashes, in
    the event log), which must not move when secrets turn random."""

    random_secrets: bool = False
    """Also the class's, for generators pickled before the switch existed (`--state-dir`)."""

    def __init__(
        self,
        seed: int,
        now_ms: Callable[[], int],
        ulid_stream: str = "ulid",
        *,
        random_secrets: bool = False,
    ) -> None:
        self.seed = seed
        self.random_secrets = random_secrets
        self._now_ms = now_ms
        self._ulid_rng = self.stream(ulid_stream)
        self._secret_rng = self.stream("secrets")
        self._last_ms = -1
        self._last_tail = 0
        self._prefix_ms = -1
        self._time_prefix = ""

    def stream(self, name: str) -> RandomStream:
        """An independent generator for one purpose, derived from the seed and the name.

        Seeding `random.Random` with a string hashes it with SHA-512, so the stream is the same
        on every run and every machine (no PYTHONHASHSEED dependence).
        """
        return random.Random(f"ocx-sim:{self.seed}:{name}")

    def ulid_value(self, now_ms: int | None = None) -> int:
        """The next ULID as its 128-bit integer, for callers that make many ids and render few
        (ledger entries): `encode_ulid_value` turns it into the string `ulid()` would have
        given. `now_ms` saves a clock read when the caller has the instant already."""
        now = self._now_ms() if now_ms is None else now_ms
        if now > self._last_ms:
            self._last_ms = now
            self._last_tail = self._ulid_rng.getrandbits(_FRESH_TAIL_BITS)
        else:
            # Same millisecond (or a clock that stood still): count up, keeping ids sorted.
            self._last_tail += 1
        return (self._last_ms << _TAIL_BITS) | self._last_tail

    def ulid(self, now_ms: int | None = None) -> str:
        """The next ULID (`now_ms` saves a clock read when the caller has the instant)."""
        value = self.ulid_value(now_ms)
        if self._prefix_ms != self._last_ms:
            self._prefix_ms = self._last_ms
            self._time_prefix = _encode_time(self._last_ms)
        return self._time_prefix + _encode_tail(value & _TAIL_MASK)

    def counted_tails(self, name: str) -> int:
        """A seeded first tail for ULIDs that one owner numbers itself (the ledger: its n-th
        entry made at `t` is `(t << ULID_TAIL_BITS) | (first + n)`), so a hot path needs no
        call per id. The top tail bit is set: `ulid()` tails start each millisecond with it
        clear and would need 2**79 ids in one millisecond to reach it, so the two never meet.
        """
        return (1 << (_TAIL_BITS - 1)) | self.stream(name).getrandbits(_TAIL_BITS - 2)

    def secret(self) -> str:
        """An API-key secret: `ocx_sk_` + 40 url-safe characters (docs/fidelity.md "Identifiers
        and time")."""
        rng = self._secret_rng
        seeded = "".join(rng.choice(URL_SAFE) for _ in range(SECRET_LENGTH))
        if self.random_secrets:
            return SECRET_PREFIX + "".join(secrets.choice(URL_SAFE) for _ in range(SECRET_LENGTH))
        return SECRET_PREFIX + seeded

    def nonce(self) -> str:
        """A SIWE nonce: 16 lowercase hex characters."""
        rng = self._secret_rng
        seeded = "".join(rng.choice(HEX) for _ in range(NONCE_LENGTH))
        if self.random_secrets:
            return secrets.token_hex(NONCE_LENGTH // 2)
        return seeded

    def key_bytes(self, n: int) -> bytes:
        """`n` bytes of key material (session-signing keys, generated private keys): seeded,
        or the system's with `random_secrets`."""
        seeded = self.token_bytes(n)
        return secrets.token_bytes(n) if self.random_secrets else seeded

    def token_bytes(self, n: int) -> bytes:
        """`n` seeded bytes for values that are public and must replay (deposit transaction
        hashes): never random, whatever `random_secrets` says."""
        return self._secret_rng.getrandbits(8 * n).to_bytes(n, "big")
