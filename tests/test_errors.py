"""The error catalog: every code with its status, and `OcxError`."""

from __future__ import annotations

import pytest

from ocx_sim.errors import CATALOG, ErrorCode, OcxError, invalid

# The catalog written out by hand, status → codes, so that a change to a code's status shows up
# as a changed line here. A wrong method is 405; a 500 is always a bug.
STATUS_CODES: dict[int, list[str]] = {
    400: [
        "VALIDATION_ERROR",
        "INSUFFICIENT_BALANCE",
        "INVALID_SIWE_MESSAGE",
        "NONCE_MISMATCH",
        "NONCE_EXPIRED",
    ],
    401: [
        "UNAUTHENTICATED",
        "INVALID_SIGNATURE",
        "SESSION_EXPIRED",
        "API_KEY_INVALID",
        "API_KEY_EXPIRED",
        "API_KEY_REVOKED",
    ],
    403: ["INSUFFICIENT_SCOPE", "IP_NOT_ALLOWED", "API_KEY_NOT_ACCEPTED", "INVITE_REQUIRED"],
    404: ["UNKNOWN_MARKET", "ORDER_NOT_FOUND", "NOT_FOUND"],
    405: ["METHOD_NOT_ALLOWED"],
    409: [
        "DUPLICATE_CLIENT_ORDER_ID",
        "MARKET_HALTED",
        "MARKET_EXPIRED",
        "ORDER_NOT_OPEN",
        "SNAPSHOT_LIMIT",
        "WORLD_RESET",
    ],
    413: ["PAYLOAD_TOO_LARGE"],
    415: ["UNSUPPORTED_MEDIA_TYPE"],
    422: [
        "INSUFFICIENT_MARGIN",
        "POST_ONLY_WOULD_TAKE",
        "REDUCE_ONLY_WOULD_INCREASE",
        "PRICE_OUT_OF_BAND",
        "NO_LIQUIDITY",
        "STRATEGY_NOT_FILLED",
        "SELF_TRADE",
        "TOO_MANY_OPEN_ORDERS",
    ],
    429: ["ORDER_RATE_LIMIT"],
    499: ["CLIENT_CLOSED_REQUEST"],
    500: ["INTERNAL_ERROR"],
    503: ["UPSTREAM_DEGRADED"],
}
EXPECTED_STATUS = {code: status for status, codes in STATUS_CODES.items() for code in codes}


@pytest.mark.parametrize(("code", "status"), sorted(EXPECTED_STATUS.items()))
def test_catalog_gives_each_decisions_code_its_status(code: str, status: int) -> None:
    error_code = ErrorCode(code)
    assert CATALOG[error_code].status == status
    assert OcxError(error_code).status == status


def test_error_codes_are_exactly_the_decisions_table() -> None:
    assert sorted(c.value for c in ErrorCode) == sorted(EXPECTED_STATUS)


def test_every_error_code_has_a_catalog_entry_with_a_message() -> None:
    assert set(CATALOG) == set(ErrorCode)
    for code in ErrorCode:
        assert CATALOG[code].message.strip(), code
        assert CATALOG[code].family.strip(), code


def test_error_code_values_are_their_wire_strings() -> None:
    for code in ErrorCode:
        assert code.value == code.name
        assert str(code) == code.name


def test_catalog_cannot_be_modified() -> None:
    with pytest.raises(TypeError):
        CATALOG[ErrorCode.NOT_FOUND] = CATALOG[ErrorCode.VALIDATION_ERROR]  # type: ignore[index]


def test_ocx_error_defaults_its_message_from_the_catalog() -> None:
    error = OcxError(ErrorCode.MARKET_HALTED)
    assert error.code is ErrorCode.MARKET_HALTED
    assert error.status == 409
    assert error.message == CATALOG[ErrorCode.MARKET_HALTED].message
    assert error.details == {}
    assert isinstance(error, Exception)


def test_ocx_error_carries_a_given_message_and_details() -> None:
    details = {"requiredIm": "340.00", "availableIm": "100.00"}
    error = OcxError(ErrorCode.INSUFFICIENT_MARGIN, "Not enough margin", details)
    assert error.code is ErrorCode.INSUFFICIENT_MARGIN
    assert error.status == 422
    assert error.message == "Not enough margin"
    assert error.details == details
    assert "INSUFFICIENT_MARGIN" in str(error)
    assert "Not enough margin" in str(error)


def test_ocx_error_keeps_an_empty_message_when_one_is_given() -> None:
    assert OcxError(ErrorCode.NOT_FOUND, "").message == ""


def test_ocx_error_details_are_its_own_copy() -> None:
    details: dict[str, object] = {"orderId": "01J0000000000000000000000"}
    error = OcxError(ErrorCode.DUPLICATE_CLIENT_ORDER_ID, details=details)
    details["orderId"] = "changed"
    assert error.details == {"orderId": "01J0000000000000000000000"}


def test_ocx_error_can_be_raised_and_caught_with_its_fields() -> None:
    with pytest.raises(OcxError) as caught:
        raise OcxError(ErrorCode.ORDER_NOT_FOUND, details={"orderId": "x"})
    assert caught.value.status == 404
    assert caught.value.details == {"orderId": "x"}


def test_invalid_is_a_400_validation_error_naming_the_field() -> None:
    error = invalid("price", "is not a multiple of the tick size 0.01")
    assert error.code is ErrorCode.VALIDATION_ERROR
    assert error.status == 400
    assert error.details == {"field": "price"}
    assert "price" in error.message
    assert "is not a multiple of the tick size 0.01" in error.message
