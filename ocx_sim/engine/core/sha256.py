"""A SHA-256 whose running state can be saved: the event log's digest (events.py) outlives
the events it covers once a world forgets old ones (retention.py), so a snapshot or a saved
world must carry the hash's state, and `hashlib`'s hash objects do not pickle.

It is OpenSSL's own SHA-256, reached through the library the standard library's `hashlib`
already loaded (`_hashlib` links it): its `SHA256_CTX` is a plain 112-byte structure, which
is the state saved. Where that library does not export the three calls (a Python built
without OpenSSL's shared library), `RESUMABLE` is False and a log never forgets events.
"""

from __future__ import annotations

import ctypes
import hashlib
from typing import Any

_CTX_BYTES = 112
"""`sizeof(SHA256_CTX)`: eight 32-bit words of state, the bit count in two words, a 64-byte
block and two counters (openssl/sha.h)."""


def _openssl() -> tuple[Any, Any, Any] | None:
    try:
        import _hashlib

        library = ctypes.CDLL(_hashlib.__file__)
        calls = library.SHA256_Init, library.SHA256_Update, library.SHA256_Final
    except (ImportError, OSError, AttributeError):
        return None
    init, update, final = calls
    init.argtypes = [ctypes.c_char_p]
    update.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    final.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    for call in calls:
        call.restype = ctypes.c_int
    return init, update, final


_CALLS = _openssl()
RESUMABLE = _CALLS is not None
"""Whether the hash's state can be saved (module docstring)."""


class Sha256:
    """`hashlib.sha256()`'s `update` and `hexdigest`, and a state that pickles. Without
    OpenSSL's calls it is `hashlib`'s hash, and pickling it is refused (`RESUMABLE`)."""

    __slots__ = ("_ctx", "_fallback")

    def __init__(self) -> None:
        self._ctx = ctypes.create_string_buffer(_CTX_BYTES)
        self._fallback: Any = None
        if _CALLS is None:
            self._fallback = hashlib.sha256()
        else:
            _CALLS[0](self._ctx)

    def update(self, data: bytes) -> None:
        if _CALLS is None:
            self._fallback.update(data)
        else:
            _CALLS[1](self._ctx, data, len(data))

    def hexdigest(self) -> str:
        """The digest of what was hashed so far; hashing can go on after it."""
        if _CALLS is None:
            digest: str = self._fallback.hexdigest()
            return digest
        finished = ctypes.create_string_buffer(self._ctx.raw, _CTX_BYTES)
        out = ctypes.create_string_buffer(32)
        _CALLS[2](out, finished)
        return out.raw.hex()

    def __getstate__(self) -> bytes:
        if _CALLS is None:
            raise TypeError("this Python's hashlib cannot save a SHA-256's state")
        return self._ctx.raw

    def __setstate__(self, state: bytes) -> None:
        if _CALLS is None or len(state) != _CTX_BYTES:
            raise TypeError("not a saved SHA-256 state of this Python's OpenSSL")
        self._ctx = ctypes.create_string_buffer(state, _CTX_BYTES)
        self._fallback = None
