"""Hashing (splitmix64, vectorised over numpy arrays): every user attribute and every seed of the demo is a hash."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import orjson

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MULTIPLIER_1 = np.uint64(0xBF58476D1CE4E5B9)
_MULTIPLIER_2 = np.uint64(0x94D049BB133111EB)
_SHIFT_30, _SHIFT_27, _SHIFT_31, _SHIFT_11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def _salt(name: str) -> int:
    return zlib.crc32(name.encode()) | (len(name) << 32)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + _GAMMA
    x = (x ^ (x >> _SHIFT_30)) * _MULTIPLIER_1
    x = (x ^ (x >> _SHIFT_27)) * _MULTIPLIER_2
    return x ^ (x >> _SHIFT_31)


def hash64(*parts: Any) -> np.ndarray:
    """Vectorised hash of ints / int arrays (broadcast) -> uint64 array."""
    with np.errstate(over="ignore"):
        h = np.atleast_1d(np.uint64(0x2545F4914F6CDD1D))
        for p in parts:
            if isinstance(p, str):
                p = _salt(p)
            h = _splitmix64(h ^ np.asarray(p).astype(np.uint64))
        return h


def uniform(*parts: Any) -> np.ndarray:
    """Vectorised hash -> float64 in [0, 1) (53 bits)."""
    return (hash64(*parts) >> _SHIFT_11).astype(np.float64) * (1.0 / 9007199254740992.0)


def pick_weighted(u: np.ndarray, weights) -> np.ndarray:
    """Index of the weight each uniform ``u`` falls on."""
    cdf = np.cumsum(np.asarray(weights, dtype=float))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


def seed_of(*parts: Any) -> int:
    return int(hash64(*parts)[0])


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_POS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def uuid4_strings(h1: np.ndarray, h2: np.ndarray) -> list[bytes]:
    """uuid4-formatted strings from two uint64 hash arrays."""
    n = len(h1)
    raw = np.empty((n, 2), dtype=np.uint64)
    raw[:, 0] = h1
    raw[:, 1] = h2
    b = raw.view(np.uint8).reshape(n, 16).copy()
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hx = np.empty((n, 32), dtype=np.uint8)
    hx[:, 0::2] = _HEX[b >> 4]
    hx[:, 1::2] = _HEX[b & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, _UUID_POS] = hx
    return out.view("S36").ravel().tolist()


_EVENT_NAME_JSON: dict[str, bytes] = {}


def event_name_json(t: str) -> bytes:
    b = _EVENT_NAME_JSON.get(t)
    if b is None:
        b = _EVENT_NAME_JSON[t] = orjson.dumps(t)
    return b
