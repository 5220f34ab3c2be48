"""The client's address and scheme behind trusted proxies (docs/fidelity.md "Sign-in, sessions
and keys", the client address).

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the connection's peer is one
of the world's trusted proxies (`WorldConfig.trusted_proxies`); from any other peer they are
ignored. Each proxy appends the address it was reached from, so only the right end of
`X-Forwarded-For` was written by proxies; its left end is whatever the client sent. The client
is therefore the right-most hop that is not itself a trusted proxy, found walking from the
right; an entry that is not an address stops the walk at the proxy to its right, and when
every hop is trusted the left-most one is the client. The scheme is the right-most
`X-Forwarded-Proto` entry, the one the trusted peer wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address

from ocx_sim.worlds.config import Network


def is_trusted(address: str | None, trusted: Sequence[Network]) -> bool:
    """Whether `address` is inside one of the trusted networks."""
    if address is None or not trusted:
        return False
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    # A dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d; the list names it as a.b.c.d.
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in trusted)


def client_address(
    peer: str | None, forwarded: str | None, trusted: Sequence[Network]
) -> str | None:
    """The client's address: `peer`, or behind a trusted peer the right-most untrusted hop of
    `X-Forwarded-For` (module docstring)."""
    if not forwarded or not is_trusted(peer, trusted):
        return peer
    client = peer
    for hop in reversed([entry.strip() for entry in forwarded.split(",")]):
        try:
            client = str(ip_address(hop))
        except ValueError:
            return client
        if not is_trusted(client, trusted):
            return client
    return client


def scheme(
    connection_scheme: str, peer: str | None, forwarded: str | None, trusted: Sequence[Network]
) -> str:
    """The scheme the client used: the connection's, or behind a trusted peer the right-most
    `X-Forwarded-Proto` entry."""
    if not forwarded or not is_trusted(peer, trusted):
        return connection_scheme
    return forwarded.split(",")[-1].strip().lower() or connection_scheme
