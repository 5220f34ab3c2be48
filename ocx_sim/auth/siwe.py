"""Sign-In with Ethereum (EIP-4361): the message format, its checks, and the signer; and the
wallet's half, `prepare_message` and `sign_message`, for `ocx-sim siwe` and client tests.

The message is parsed here (the `siwe` package pulls in web3 and pins an older eth-account);
the `personal_sign` (EIP-191) signature is recovered with eth-account. The checks are
docs/fidelity.md "Sign-in, sessions and keys", on the simulated clock:

- the nonce was issued by this server to that address, is unused and younger than 5 minutes
  (400 NONCE_MISMATCH, 400 NONCE_EXPIRED);
- the domain is the configured one (default: the request's Host), the chain id is in the
  configured set (default 84532 and 8453), `Version` is 1, `Expiration Time` (if any) is in
  the future and at most 7 days ahead, `Not Before` (if any) has passed, `Issued At` is not
  more than 5 minutes in the future (400 INVALID_SIWE_MESSAGE);
- the signer is the message's address (401 INVALID_SIGNATURE).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.messages import encode_defunct

from ocx_sim.clock import format_ms, parse_iso
from ocx_sim.engine.core.accounts import checksum_address
from ocx_sim.errors import ErrorCode, OcxError

NONCE_TTL_MS = 5 * 60_000
MAX_OUTSTANDING = 100_000
"""Nonces a world keeps at once; beyond them a new one makes the oldest unusable."""
MAX_EXPIRY_AHEAD_MS = 7 * 86_400_000
ISSUED_AT_SKEW_MS = 5 * 60_000
DEFAULT_CHAIN_IDS = (84532, 8453)
"""Base Sepolia (the testnet OCX documents) and Base mainnet."""

_HEADER = re.compile(
    r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?(\S+) wants you to sign in with your Ethereum account:$"
)
_FIELDS = {
    "URI": "uri",
    "Version": "version",
    "Chain ID": "chain_id",
    "Nonce": "nonce",
    "Issued At": "issued_at",
    "Expiration Time": "expiration_time",
    "Not Before": "not_before",
    "Request ID": "request_id",
}
_REQUIRED = ("URI", "Version", "Chain ID", "Nonce", "Issued At")


@dataclass(frozen=True, slots=True)
class SiweMessage:
    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at_ms: int
    expiration_ms: int | None = None
    not_before_ms: int | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default=())


def _malformed(reason: str) -> OcxError:
    return OcxError(ErrorCode.INVALID_SIWE_MESSAGE, f"Malformed SIWE message: {reason}")


def parse_message(text: str) -> SiweMessage:
    """Parse an EIP-4361 message; 400 INVALID_SIWE_MESSAGE naming what is wrong."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) < 2:
        raise _malformed("too short")
    header = _HEADER.match(lines[0])
    if header is None:
        raise _malformed(
            "the first line must be '<domain> wants you to sign in with your Ethereum account:'"
        )
    address_text = lines[1].strip()
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address_text):
        raise _malformed("the second line must be a 0x address")
    rest = lines[2:]
    i = 0
    while i < len(rest) and rest[i] == "":
        i += 1
    statement = None
    if i < len(rest) and not rest[i].startswith("URI: "):
        statement = rest[i]
        i += 1
        while i < len(rest) and rest[i] == "":
            i += 1
    values: dict[str, str] = {}
    resources: list[str] = []
    while i < len(rest):
        line = rest[i]
        i += 1
        if line == "" and i == len(rest):
            break
        if line == "Resources:":
            while i < len(rest) and rest[i].startswith("- "):
                resources.append(rest[i][2:])
                i += 1
            continue
        key, sep, value = line.partition(": ")
        if not sep or key not in _FIELDS:
            raise _malformed(f"unexpected line {line!r}")
        if key in values:
            raise _malformed(f"{key!r} appears twice")
        values[key] = value
    missing = [key for key in _REQUIRED if key not in values]
    if missing:
        raise _malformed(f"missing {', '.join(missing)}")
    order = [key for key in _FIELDS if key in values]
    if list(values) != order:
        raise _malformed(f"fields must come in the order {', '.join(order)}")
    if re.fullmatch(r"[0-9]+", values["Chain ID"]) is None:
        raise _malformed("Chain ID must be a decimal integer")
    chain_id = int(values["Chain ID"])
    return SiweMessage(
        domain=header.group(1),
        address=address_text,
        statement=statement,
        uri=values["URI"],
        version=values["Version"],
        chain_id=chain_id,
        nonce=values["Nonce"],
        issued_at_ms=_instant(values["Issued At"], "Issued At"),
        expiration_ms=_instant(values["Expiration Time"], "Expiration Time")
        if "Expiration Time" in values
        else None,
        not_before_ms=_instant(values["Not Before"], "Not Before")
        if "Not Before" in values
        else None,
        request_id=values.get("Request ID"),
        resources=tuple(resources),
    )


def _instant(text: str, name: str) -> int:
    try:
        return parse_iso(text)
    except ValueError:
        raise _malformed(f"{name} must be an ISO-8601 instant") from None


STATEMENT = "Sign in to OCX to continue."
"""The statement of OCX's own sign-in message (GitBook's example,
https://ocx.gitbook.io/ocx-doc/ocx/authentication/siwe)."""


def prepare_message(
    domain: str,
    address: str,
    nonce: str,
    issued_at_ms: int,
    *,
    chain_id: int = DEFAULT_CHAIN_IDS[0],
    uri: str | None = None,
    statement: str | None = STATEMENT,
) -> str:
    """The EIP-4361 text a wallet signs, laid out as the `siwe` npm package's
    `prepareMessage()` lays it out (URI defaults to `https://<domain>`)."""
    lines = [f"{domain} wants you to sign in with your Ethereum account:", address, ""]
    lines += [statement, ""] if statement is not None else [""]
    lines += [
        f"URI: {uri or 'https://' + domain}",
        "Version: 1",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {format_ms(issued_at_ms)}",
    ]
    return "\n".join(lines)


def sign_message(private_key: str, text: str) -> str:
    """What a wallet's `personal_sign` (EIP-191) answers for `text`: 0x-prefixed hex."""
    signed = Account.sign_message(encode_defunct(text=text), private_key=private_key)
    return "0x" + bytes(signed.signature).hex()


def recover_signer(text: str, signature: str) -> str:
    """The checksummed address that `personal_sign`ed `text`; 401 INVALID_SIGNATURE when the
    signature cannot be recovered at all."""
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception as error:  # eth-account raises several types for malformed signatures
        raise OcxError(ErrorCode.INVALID_SIGNATURE, "Signature cannot be verified") from error


@dataclass(slots=True)
class _Nonce:
    address: str
    issued_ms: int
    used: bool = False


class Nonces:
    """Nonces issued per address: single use, valid for 5 minutes of simulated time, at most
    `MAX_OUTSTANDING` at once (docs/fidelity.md "Sign-in, sessions and keys")."""

    def __init__(self, most: int = MAX_OUTSTANDING) -> None:
        self._issued: dict[str, _Nonce] = {}
        self._most = most

    def __len__(self) -> int:
        return len(self._issued)

    def issue(self, nonce: str, address: str, now_ms: int) -> None:
        # `POST /auth/nonce` is public: the table must not grow without bound, nor its upkeep
        # cost more as it grows. Nonces that can no longer be used go first, oldest first (the
        # dict keeps them in the order issued); on a clock that stands still none expires, so
        # beyond the most kept the oldest goes, used or not.
        issued = self._issued
        while issued:
            oldest = next(iter(issued))
            record = issued[oldest]
            fresh = now_ms - record.issued_ms < NONCE_TTL_MS and not record.used
            if fresh and len(issued) < self._most:
                break
            del issued[oldest]
        issued[nonce] = _Nonce(checksum_address(address), now_ms)

    def consume(self, nonce: str, address: str, now_ms: int) -> None:
        record = self._issued.get(nonce)
        if record is None or record.used or record.address != checksum_address(address):
            raise OcxError(
                ErrorCode.NONCE_MISMATCH, "Nonce was not issued to this address or was already used"
            )
        if now_ms - record.issued_ms >= NONCE_TTL_MS:
            raise OcxError(
                ErrorCode.NONCE_EXPIRED, "Nonce is older than 5 minutes; request a new one"
            )
        record.used = True


def verify(
    message: SiweMessage,
    signature_text: str,
    signature: str,
    *,
    domain: str,
    chain_ids: tuple[int, ...],
    nonces: Nonces,
    now_ms: int,
) -> str:
    """Run every check on a parsed message and its signature; the signer's checksummed address.
    The nonce is consumed only when everything else holds."""
    signer = recover_signer(signature_text, signature)
    if signer != checksum_address(message.address, "message"):
        raise OcxError(
            ErrorCode.INVALID_SIGNATURE, "Signature does not match the message's address"
        )
    if message.domain != domain:
        raise OcxError(ErrorCode.INVALID_SIWE_MESSAGE, f"domain must be {domain!r}")
    if message.chain_id not in chain_ids:
        raise OcxError(
            ErrorCode.INVALID_SIWE_MESSAGE,
            f"Chain ID {message.chain_id} is not accepted ({', '.join(map(str, chain_ids))})",
        )
    if message.version != "1":
        raise OcxError(ErrorCode.INVALID_SIWE_MESSAGE, "Version must be 1")
    if message.issued_at_ms > now_ms + ISSUED_AT_SKEW_MS:
        raise OcxError(ErrorCode.INVALID_SIWE_MESSAGE, "Issued At is in the future")
    if message.expiration_ms is not None:
        if message.expiration_ms <= now_ms:
            raise OcxError(ErrorCode.INVALID_SIWE_MESSAGE, "the message has expired")
        if message.expiration_ms > now_ms + MAX_EXPIRY_AHEAD_MS:
            raise OcxError(
                ErrorCode.INVALID_SIWE_MESSAGE, "Expiration Time is more than 7 days ahead"
            )
    if message.not_before_ms is not None and message.not_before_ms > now_ms:
        raise OcxError(ErrorCode.INVALID_SIWE_MESSAGE, "the message is not valid yet (Not Before)")
    nonces.consume(message.nonce, message.address, now_ms)
    return signer
