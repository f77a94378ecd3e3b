"""``e^x Q(a, x)``, the scaled regularized upper incomplete gamma function, in numpy (no scipy)."""

from __future__ import annotations

import math

import numpy as np


def scaled_upper_gamma(a: float, x: np.ndarray) -> np.ndarray:
    """``e^x Γ(a, x) / Γ(a)`` for ``a > 0`` and ``x >= 0``, finite for every ``x`` (no overflow).

    A power series for ``x < a + 1`` and a continued fraction (modified Lentz) above, both to
    double precision.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = x < a + 1
    xs = x[small]
    if xs.size:  # Q = 1 - P, P = x^a e^-x / Γ(a+1) Σ_n x^n / ((a+1)...(a+n))
        term = np.ones_like(xs)
        total = np.ones_like(xs)
        for n in range(1, 200):
            term = term * xs / (a + n)
            total = total + term
        out[small] = np.exp(xs) - xs**a * total / math.gamma(a + 1)
    xl = x[~small]
    if xl.size:  # Γ(a, x) = e^-x x^a / (x + 1 - a - 1(1-a)/(x + 3 - a - 2(2-a)/(x + 5 - a - ...)))
        tiny = 1e-300
        b = xl + 1 - a
        c = np.full_like(xl, 1 / tiny)
        d = 1 / b
        h = d.copy()
        for i in range(1, 300):
            an = -i * (i - a)
            b = b + 2
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1 / d
            h = h * d * c
        out[~small] = xl**a * h / math.gamma(a)
    return out
