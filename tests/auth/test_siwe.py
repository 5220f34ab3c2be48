"""EIP-4361 parsing, every sign-in check, and single-use nonces on the simulated clock."""

from __future__ import annotations

from typing import Any, cast

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ocx_sim.auth.siwe import (
    DEFAULT_CHAIN_IDS,
    ISSUED_AT_SKEW_MS,
    MAX_EXPIRY_AHEAD_MS,
    NONCE_TTL_MS,
    Nonces,
    parse_message,
    recover_signer,
    verify,
)
from ocx_sim.clock import DEFAULT_START_MS
from ocx_sim.errors import ErrorCode, OcxError
from tests.auth import STATEMENT, sign, siwe_message

NOW = DEFAULT_START_MS
NONCE = "0123456789abcdef"


@pytest.fixture(scope="module")
def wallet() -> LocalAccount:
    return cast(LocalAccount, Account.create())


@pytest.fixture(scope="module")
def stranger() -> LocalAccount:
    return cast(LocalAccount, Account.create())


def error_of(action: Any) -> OcxError:
    with pytest.raises(OcxError) as caught:
        action()
    return caught.value


# -- parsing ----------------------------------------------------------------------------------


def test_a_full_message_parses_into_every_field(wallet: LocalAccount) -> None:
    text = siwe_message(
        wallet.address,
        NONCE,
        domain="api.ocx.global",
        chain_id=8453,
        issued_at=NOW,
        expiration=NOW + 60_000,
        not_before=NOW - 60_000,
        request_id="req-1",
        resources=("https://api.ocx.global/a", "ipfs://b"),
    )

    message = parse_message(text)

    assert message.domain == "api.ocx.global"
    assert message.address == wallet.address
    assert message.statement == STATEMENT
    assert message.uri == "https://api.ocx.global"
    assert message.version == "1"
    assert message.chain_id == 8453
    assert message.nonce == NONCE
    assert message.issued_at_ms == NOW
    assert message.expiration_ms == NOW + 60_000
    assert message.not_before_ms == NOW - 60_000
    assert message.request_id == "req-1"
    assert message.resources == ("https://api.ocx.global/a", "ipfs://b")


def test_a_message_without_a_statement_or_optional_fields_parses(wallet: LocalAccount) -> None:
    message = parse_message(siwe_message(wallet.address, NONCE, statement=None))

    assert message.statement is None
    assert message.expiration_ms is None
    assert message.not_before_ms is None
    assert message.request_id is None
    assert message.resources == ()


def test_a_scheme_before_the_domain_and_crlf_line_ends_are_accepted(wallet: LocalAccount) -> None:
    text = siwe_message(wallet.address, NONCE, domain="api.ocx.global")
    text = "https://" + text.replace("\n", "\r\n") + "\r\n"

    message = parse_message(text)

    assert message.domain == "api.ocx.global"
    assert message.nonce == NONCE


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: "hello", "too short"),
        (lambda t: t.replace("wants you to sign in", "would like you to sign in"), "first line"),
        (lambda t: t.replace("\n0x", "\nnot-an-address-", 1), "second line"),
        (lambda t: t.replace("Version: 1", "Version: 1\nColour: blue"), "unexpected line"),
        (lambda t: t.replace("Version: 1", "Version: 1\nVersion: 1"), "appears twice"),
        (lambda t: t.replace(f"Nonce: {NONCE}\n", ""), "missing Nonce"),
        (lambda t: t.replace("Chain ID: 84532", "Chain ID: base"), "Chain ID"),
        (lambda t: t.replace("Issued At: 2026", "Issued At: yesterday 2026"), "Issued At"),
    ],
)
def test_a_malformed_message_is_invalid_siwe_message_saying_why(
    wallet: LocalAccount, mangle: Any, reason: str
) -> None:
    text = mangle(siwe_message(wallet.address, NONCE))

    error = error_of(lambda: parse_message(text))

    assert error.code is ErrorCode.INVALID_SIWE_MESSAGE
    assert error.status == 400
    assert reason in error.message


def test_a_bad_expiration_time_is_invalid_siwe_message(wallet: LocalAccount) -> None:
    text = siwe_message(wallet.address, NONCE) + "\nExpiration Time: soon"

    error = error_of(lambda: parse_message(text))

    assert error.code is ErrorCode.INVALID_SIWE_MESSAGE
    assert "Expiration Time" in error.message


# -- signatures -------------------------------------------------------------------------------


def test_the_signer_of_a_personal_sign_signature_is_recovered(wallet: LocalAccount) -> None:
    assert recover_signer("hello", sign(wallet, "hello")) == wallet.address


@pytest.mark.parametrize("signature", ["0x", "0x1234", "not hex", "0x" + "00" * 65])
def test_an_unrecoverable_signature_is_invalid_signature(signature: str) -> None:
    error = error_of(lambda: recover_signer("hello", signature))

    assert error.code is ErrorCode.INVALID_SIGNATURE
    assert error.status == 401


# -- verify -----------------------------------------------------------------------------------


def check(
    wallet: LocalAccount,
    nonces: Nonces,
    *,
    signer: LocalAccount | None = None,
    now: int = NOW,
    expected_domain: str = "testserver",
    **fields: Any,
) -> str:
    """Sign a message of `wallet` with `fields` and verify it as a server of
    `expected_domain` would."""
    text = siwe_message(wallet.address, NONCE, **fields)
    return verify(
        parse_message(text),
        text,
        sign(signer or wallet, text),
        domain=expected_domain,
        chain_ids=DEFAULT_CHAIN_IDS,
        nonces=nonces,
        now_ms=now,
    )


@pytest.fixture
def nonces(wallet: LocalAccount) -> Nonces:
    issued = Nonces()
    issued.issue(NONCE, wallet.address, NOW)
    return issued


def test_a_good_sign_in_answers_the_checksummed_signer(
    wallet: LocalAccount, nonces: Nonces
) -> None:
    assert check(wallet, nonces) == wallet.address


def test_both_base_chains_are_accepted_by_default(wallet: LocalAccount) -> None:
    for chain_id in (84532, 8453):
        issued = Nonces()
        issued.issue(NONCE, wallet.address, NOW)
        assert check(wallet, issued, chain_id=chain_id) == wallet.address


def test_a_signature_by_another_key_is_invalid_signature(
    wallet: LocalAccount, stranger: LocalAccount, nonces: Nonces
) -> None:
    error = error_of(lambda: check(wallet, nonces, signer=stranger))

    assert error.code is ErrorCode.INVALID_SIGNATURE
    assert error.status == 401


@pytest.mark.parametrize(
    "fields",
    [
        {"domain": "evil.example"},
        {"chain_id": 1},
        {"version": "2"},
        {"issued_at": NOW + ISSUED_AT_SKEW_MS + 1},
        {"expiration": NOW},
        {"expiration": NOW - 1},
        {"expiration": NOW + MAX_EXPIRY_AHEAD_MS + 1},
        {"not_before": NOW + 1},
    ],
    ids=[
        "other-domain",
        "other-chain",
        "version-2",
        "issued-in-the-future",
        "expires-now",
        "expired",
        "expires-beyond-7-days",
        "not-yet-valid",
    ],
)
def test_a_message_that_fails_a_check_is_invalid_siwe_message(
    wallet: LocalAccount, nonces: Nonces, fields: dict[str, Any]
) -> None:
    error = error_of(lambda: check(wallet, nonces, **fields))

    assert error.code is ErrorCode.INVALID_SIWE_MESSAGE
    assert error.status == 400


def test_the_edges_of_the_time_windows_are_accepted(wallet: LocalAccount) -> None:
    edges: list[dict[str, Any]] = [
        {"issued_at": NOW + ISSUED_AT_SKEW_MS},
        {"expiration": NOW + MAX_EXPIRY_AHEAD_MS},
        {"expiration": NOW + 1},
        {"not_before": NOW},
    ]
    for fields in edges:
        issued = Nonces()
        issued.issue(NONCE, wallet.address, NOW)
        assert check(wallet, issued, **fields) == wallet.address


def test_a_failed_check_does_not_use_up_the_nonce(wallet: LocalAccount, nonces: Nonces) -> None:
    error_of(lambda: check(wallet, nonces, chain_id=1))

    assert check(wallet, nonces) == wallet.address


def test_a_nonce_is_good_for_one_sign_in_only(wallet: LocalAccount, nonces: Nonces) -> None:
    check(wallet, nonces)

    error = error_of(lambda: check(wallet, nonces))

    assert error.code is ErrorCode.NONCE_MISMATCH


# -- nonces -----------------------------------------------------------------------------------


def test_a_nonce_never_issued_is_a_mismatch(wallet: LocalAccount) -> None:
    error = error_of(lambda: Nonces().consume(NONCE, wallet.address, NOW))

    assert error.code is ErrorCode.NONCE_MISMATCH
    assert error.status == 400


def test_a_nonce_issued_to_another_address_is_a_mismatch_and_stays_usable(
    wallet: LocalAccount, stranger: LocalAccount, nonces: Nonces
) -> None:
    error = error_of(lambda: nonces.consume(NONCE, stranger.address, NOW))

    assert error.code is ErrorCode.NONCE_MISMATCH
    nonces.consume(NONCE, wallet.address, NOW)


def test_the_address_of_a_nonce_is_compared_in_checksum_form(wallet: LocalAccount) -> None:
    issued = Nonces()
    issued.issue(NONCE, wallet.address.lower(), NOW)

    issued.consume(NONCE, wallet.address, NOW)


def test_a_nonce_older_than_five_minutes_is_expired(wallet: LocalAccount, nonces: Nonces) -> None:
    error = error_of(lambda: nonces.consume(NONCE, wallet.address, NOW + NONCE_TTL_MS + 1))

    assert error.code is ErrorCode.NONCE_EXPIRED
    assert error.status == 400


def test_a_nonce_younger_than_five_minutes_is_accepted(
    wallet: LocalAccount, nonces: Nonces
) -> None:
    nonces.consume(NONCE, wallet.address, NOW + NONCE_TTL_MS - 1)


def test_issuing_a_nonce_to_a_malformed_address_names_wallet_address() -> None:
    error = error_of(lambda: Nonces().issue(NONCE, "0x1234", NOW))

    assert error.code is ErrorCode.VALIDATION_ERROR
    assert error.details == {"field": "walletAddress"}


def test_expired_and_used_nonces_are_forgotten_as_new_ones_are_issued(
    wallet: LocalAccount,
) -> None:
    issued = Nonces()
    for n in range(5):
        issued.issue(f"old{n:05d}", wallet.address, NOW)
    issued.consume("old00000", wallet.address, NOW)

    issued.issue("newnonce1", wallet.address, NOW + NONCE_TTL_MS)

    assert len(issued) == 1  # the four unused ones expired, the used one went before them


def test_on_a_clock_that_stands_still_the_oldest_nonce_goes_beyond_the_most_kept(
    wallet: LocalAccount,
) -> None:
    issued = Nonces(most=3)
    for n in range(5):
        issued.issue(f"nonce{n:04d}", wallet.address, NOW)

    assert len(issued) == 3
    error = error_of(lambda: issued.consume("nonce0001", wallet.address, NOW))
    assert error.code is ErrorCode.NONCE_MISMATCH
    issued.consume("nonce0004", wallet.address, NOW)  # the newest is still good
