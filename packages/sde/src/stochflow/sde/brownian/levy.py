"""The linear algebra of Brownian increments and their Lévy areas (numpy, float64, no backend).

Over an interval ``[s, s + h]`` the carried quantities are ``Y = (W, H, K)`` (the first ``m`` of them):

* ``W = W_{s+h} - W_s`` ~ N(0, h);
* the space-time Lévy area ``H = (1/h) ∫ (W_{s,u} - (u-s)/h W) du`` ~ N(0, h/12);
* the space-time-time Lévy area ``K = (1/h²) ∫ (W_{s,u} - (u-s)/h W)(h/2 - (u-s)) du`` ~ N(0, h/720);

all three independent (they are the first coefficients of the path in a polynomial basis). The raw
moments ``μ = (W, ∫ W_{s,u} du, ∫ (u-s) W_{s,u} du)`` are a lower-triangular linear map ``R(h)`` of
``Y``, and the moments of a union of adjacent pieces are a linear map of the pieces' moments. Hence
the quantities of any interval tiled by pieces are ``Σ_p G_p Y_p`` (:func:`concat_matrices`), and
the law of the two halves of an interval given the whole is Gaussian with a closed-form mean and
covariance (:func:`split_coefficients`). Every map is scale-free: positions enter only as ratios,
and all quantities scale as ``sqrt(h)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from stochflow.core.errors import InputError

LEVY_AREAS = ("none", "space-time", "space-time-time")
"""Accepted ``levy_area`` values; ``None`` means ``"none"``."""

VARIANCES = (1.0, 1.0 / 12.0, 1.0 / 720.0)
"""Variances of ``(W, H, K)`` over an interval of unit length."""


class LevyIncrement(NamedTuple):
    """A Brownian increment over ``[s, t]`` with its Lévy areas (a named tuple, so a JAX pytree).

    Attributes
    ----------
    W
        ``W_t - W_s``, shape ``(*shape)`` (or ``(n_steps, *shape)`` from ``grid_increments``).
    H
        Space-time Lévy area (``N(0, (t-s)/12)``, independent of ``W``), or ``None``.
    K
        Space-time-time Lévy area (``N(0, (t-s)/720)``), or ``None``.
    """

    W: Any
    H: Any = None
    K: Any = None


def missing_levy_area() -> InputError:
    """The error for a Lévy area asked of a Brownian object built without it (one message for all)."""
    return InputError("the space-time Lévy area was asked for (levy=True, or a solver that reads it such as "
                      "'srk' or 'sra1'), but this Brownian object was built without it: build it with "
                      "levy_area='space-time' (or 'space-time-time'), or let solve draw its default path "
                      "(brownian=None)")


def n_quantities(levy_area: str | None) -> int:
    """``1``, ``2`` or ``3``: how many of ``(W, H, K)`` a ``levy_area`` setting carries."""
    key = "none" if levy_area is None else levy_area
    if key not in LEVY_AREAS:
        raise InputError(f"levy_area must be one of {LEVY_AREAS} (or None), got {levy_area!r}")
    return LEVY_AREAS.index(key) + 1


def moment_map(h: np.ndarray | float, m: int) -> np.ndarray:
    """``R(h)`` with ``μ = R(h) Y`` (shape ``(..., m, m)``, lower triangular)."""
    h = np.asarray(h, dtype=np.float64)
    r = np.zeros((*h.shape, 3, 3))
    r[..., 0, 0] = 1.0
    r[..., 1, 0], r[..., 1, 1] = h / 2, h
    r[..., 2, 0], r[..., 2, 1], r[..., 2, 2] = h**2 / 3, h**2 / 2, -(h**2)
    return r[..., :m, :m]


def concat_matrices(starts: Any, lengths: Any, m: int, xp: Any = np) -> Any:
    """Matrices ``G_p`` with ``Y_[0,1] = Σ_p G_p Y_p`` for pieces tiling the unit interval.

    Parameters
    ----------
    starts, lengths
        Start and length of each piece, as fractions of the whole (``Σ lengths = 1``).
    m
        Number of carried quantities.
    xp
        Array namespace (``numpy``, float64; or ``jax.numpy`` for traced positions, in their dtype).

    Returns
    -------
    array
        Shape ``(P, m, m)``.
    """
    if xp is np:
        starts, lengths = np.asarray(starts, dtype=np.float64), np.asarray(lengths, dtype=np.float64)
    c = xp.reshape(starts, (-1,))
    h = xp.reshape(lengths, (-1,))
    e = c + h
    one, zero = xp.ones_like(c), xp.zeros_like(c)
    # R(1)^-1 E_p R(h_p) written out (R(1)^-1 = [[1, 0, 0], [-1/2, 1, 0], [1/12, 1/2, -1]])
    g = xp.stack([
        xp.stack([one, zero, zero], -1),
        xp.stack([0.5 - e + h / 2, h, zero], -1),
        xp.stack([1 / 12 - e / 2 + h / 4 + e * e / 2 - c * h / 2 - h * h / 3, h / 2 - c * h - h * h / 2, h * h], -1),
    ], -2)
    return g[:, :m, :m]


@dataclass(frozen=True)
class Split:
    """Coefficients of the midpoint split of ``[0, 1]`` (all ``(m, m)``).

    Given the whole ``Y`` and ``m`` standard normals ``z``, the halves are
    ``Y_left = ML Y + sqrt(h) LL z`` and ``Y_right = PR Y + QR Y_left`` (exact conditional law;
    ``Y_right`` is what the constraint ``G_left Y_left + G_right Y_right = Y`` leaves).
    """

    ML: np.ndarray
    LL: np.ndarray
    PR: np.ndarray
    QR: np.ndarray


def _pieces(alpha: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    flat = alpha.reshape(-1)
    g = concat_matrices(np.stack([np.zeros_like(flat), flat], 1).reshape(-1),
                        np.stack([flat, 1 - flat], 1).reshape(-1), m).reshape(len(flat), 2, m, m)
    return g[:, 0], g[:, 1]


@lru_cache(maxsize=8)
def midpoint_split(m: int) -> Split:
    """The midpoint :class:`Split`, computed once (the tree's only internal split)."""
    a_left, a_right = (x[0] for x in _pieces(np.array([0.5]), m))
    var = np.asarray(VARIANCES[:m])
    s_left = 0.5 * var
    ml = s_left[:, None] * a_left.T / var[None, :]
    cov = np.diag(s_left) - ml @ (a_left * s_left[None, :])
    ll = np.linalg.cholesky(0.5 * (cov + cov.T))
    pr = np.linalg.inv(a_right)
    return Split(ml, ll, pr, -pr @ a_left)


@dataclass(frozen=True)
class Bridge:
    """Coefficients of a cut of ``[0, 1]`` at ``alpha`` (Matheron's rule; ``(..., m, m)`` and
    ``(..., m, 2m)``): with ``2m`` standard normals ``z``, ``Y_left = ML Y + sqrt(h) NL z`` and
    ``Y_right = MR Y + sqrt(h) NR z``, jointly the exact conditional law given the whole ``Y``,
    continuous in ``alpha`` for fixed ``z`` and well conditioned at any ``alpha`` in ``[0, 1]``."""

    ML: np.ndarray
    NL: np.ndarray
    MR: np.ndarray
    NR: np.ndarray


def bridge_coefficients(alpha: Any, m: int, xp: Any = np) -> Bridge:
    """:class:`Bridge` coefficients for each ``alpha`` (an array gives stacked coefficients;
    ``xp=jax.numpy`` for traced ``alpha``)."""
    a = xp.clip(np.asarray(alpha, dtype=np.float64) if xp is np else alpha, 0.0, 1.0)
    flat = xp.reshape(a, (-1,))
    n = flat.shape[0]
    g = concat_matrices(xp.concatenate([xp.zeros_like(flat), flat]), xp.concatenate([flat, 1 - flat]), m, xp)
    a_left, a_right = g[:n], g[n:]
    var = np.asarray(VARIANCES[:m])
    ratio = var[:, None] / var[None, :]  # var_i / var_j
    m_left = flat[:, None, None] * ratio * xp.swapaxes(a_left, 1, 2)
    m_right = (1 - flat)[:, None, None] * ratio * xp.swapaxes(a_right, 1, 2)
    d_left = xp.sqrt(flat[:, None] * var)[:, None, :]
    d_right = xp.sqrt((1 - flat)[:, None] * var)[:, None, :]
    eye = np.eye(m)
    n_left = xp.concatenate([(eye - m_left @ a_left) * d_left, -(m_left @ a_right) * d_right], 2)
    n_right = xp.concatenate([-(m_right @ a_left) * d_left, (eye - m_right @ a_right) * d_right], 2)
    shape = tuple(a.shape)
    return Bridge(xp.reshape(m_left, (*shape, m, m)), xp.reshape(n_left, (*shape, m, 2 * m)),
                  xp.reshape(m_right, (*shape, m, m)), xp.reshape(n_right, (*shape, m, 2 * m)))


def _g_rows(c: float, h: float, m: int) -> list[list[float]]:
    """One ``G`` of :func:`concat_matrices` in plain floats (the hot path of single queries)."""
    e = c + h
    g = [[1.0, 0.0, 0.0], [0.5 - e + h / 2, h, 0.0],
         [1 / 12 - e / 2 + h / 4 + e * e / 2 - c * h / 2 - h * h / 3, h / 2 - c * h - h * h / 2, h * h]]
    return [row[:m] for row in g[:m]]


def concat_rows(starts: list[float], lengths: list[float], m: int) -> list[list[float]]:
    """``[G_1 | G_2 | ...]`` (``m`` rows of ``P m`` floats): :func:`concat_matrices` side by side."""
    out: list[list[float]] = [[] for _ in range(m)]
    for c, h in zip(starts, lengths):
        for i, row in enumerate(_g_rows(c, h, m)):
            out[i].extend(row)
    return out


def _mm(a: list, b: list) -> list:
    return [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]


@lru_cache(maxsize=4096)
def bridge_rows(alpha: float, m: int) -> tuple[tuple[float, ...], ...]:
    """:func:`bridge_coefficients` for one ``alpha`` as ``2m`` rows ``[ML | NL]`` then ``[MR | NR]``
    (each of ``3m`` floats, the ``N`` part to be scaled by ``sqrt(h)``); plain floats, cached."""
    a = min(max(float(alpha), 0.0), 1.0)
    var = VARIANCES[:m]
    a_left, a_right = _g_rows(0.0, a, m), _g_rows(a, 1.0 - a, m)
    rows = []
    for frac, a_own, a_other, own_first in ((a, a_left, a_right, True), (1.0 - a, a_right, a_left, False)):
        mat = [[frac * var[i] / var[j] * a_own[j][i] for j in range(m)] for i in range(m)]
        own, other = _mm(mat, a_own), _mm(mat, a_other)
        d_own = [math.sqrt(frac * v) for v in var]
        d_other = [math.sqrt((1.0 - frac) * v) for v in var]
        for i in range(m):
            n_own = [((i == j) - own[i][j]) * d_own[j] for j in range(m)]
            n_other = [-other[i][j] * d_other[j] for j in range(m)]
            rows.append((*mat[i], *(n_own + n_other if own_first else n_other + n_own)))
    return tuple(rows)


def within_matrices(alpha_s: Any, alpha_t: Any, m: int, xp: Any = np) -> tuple[Any, Any]:
    """``(A, B)`` with ``Y_[s,t] = A Y_[a,t] + B Y_[a,s]`` for ``a < s < t`` (``alpha`` = ratios of
    ``s - a`` and ``t - a`` to any common length): the increment between two points of one leaf."""
    r = alpha_s / alpha_t
    g = concat_matrices(xp.stack([r * 0.0, r]), xp.stack([r, 1.0 - r]), m, xp)
    inv = _lower_inverse(g[1], m, xp)
    return inv, -inv @ g[0]


def _lower_inverse(a: Any, m: int, xp: Any) -> Any:
    """Inverse of a lower-triangular ``(m, m)`` matrix by forward substitution (elementwise ops only:
    cheap to compile under ``jax.jit``)."""
    inv = [[a[0, 0] * 0.0] * m for _ in range(m)]
    for i in range(m):
        inv[i][i] = 1.0 / a[i, i]
        for j in range(i):
            inv[i][j] = -sum(a[i, k] * inv[k][j] for k in range(j, i)) / a[i, i]
    return xp.stack([xp.stack(row) for row in inv])


def unit_scale(m: int) -> np.ndarray:
    """Standard deviations of ``(W, H, K)`` over a unit interval (first ``m``)."""
    return np.sqrt(np.asarray(VARIANCES[:m]))


__all__ = ["LEVY_AREAS", "VARIANCES", "LevyIncrement", "Bridge", "Split", "bridge_coefficients", "bridge_rows", "concat_matrices", "concat_rows",
           "midpoint_split", "moment_map", "n_quantities", "unit_scale", "within_matrices"]

