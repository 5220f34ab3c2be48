"""Tests of ocx_sim.auth, and the EIP-4361 text builder they share with the API tests.

`siwe_message` writes the message the way the `siwe` npm package's `prepareMessage()` does
(EIP-4361's ABNF), so the simulator's parser is tested against the real format rather than
against itself; `sign` is a wallet's `personal_sign`.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from ocx_sim.clock import DEFAULT_START_MS, format_ms

STATEMENT = "Sign in to OCX to continue."


def siwe_message(
    address: str,
    nonce: str,
    *,
    domain: str = "testserver",
    chain_id: int | str = 84532,
    issued_at: int = DEFAULT_START_MS,
    expiration: int | None = None,
    not_before: int | None = None,
    statement: str | None = STATEMENT,
    uri: str | None = None,
    version: str = "1",
    request_id: str | None = None,
    resources: Sequence[str] = (),
) -> str:
    lines = [f"{domain} wants you to sign in with your Ethereum account:", address, ""]
    lines += [statement, ""] if statement is not None else [""]
    lines += [
        f"URI: {uri or 'https://' + domain}",
        f"Version: {version}",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {format_ms(issued_at)}",
    ]
    if expiration is not None:
        lines.append(f"Expiration Time: {format_ms(expiration)}")
    if not_before is not None:
        lines.append(f"Not Before: {format_ms(not_before)}")
    if request_id is not None:
        lines.append(f"Request ID: {request_id}")
    if resources:
        lines.append("Resources:")
        lines += [f"- {resource}" for resource in resources]
    return "\n".join(lines)


def sign(account: LocalAccount, text: str) -> str:
    """The EIP-191 `personal_sign` signature of `text`, as a wallet returns it."""
    return str(account.sign_message(encode_defunct(text=text)).signature.to_0x_hex())
