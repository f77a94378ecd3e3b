"""Deterministic derivation of independent seeds (per component, per rank, per stream)."""

from __future__ import annotations

import hashlib

from stochflow.core.errors import InputTypeError


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed derived from ``seed`` and any keys (e.g. ``derive_seed(0, "rank", 3)``).

    Same inputs, same output, on every platform; different keys give unrelated streams.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputTypeError(f"seed must be an int, got {type(seed).__name__}")
    text = repr((int(seed),) + tuple(keys)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1
