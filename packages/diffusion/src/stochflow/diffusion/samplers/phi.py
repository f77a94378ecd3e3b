"""The φ functions of exponential integrators, evaluated without cancellation.

``φ_0(z) = e^z`` and ``φ_{k+1}(z) = (φ_k(z) − 1/k!)/z``, i.e. ``φ_k(z) = Σ_{j≥0} z^j/(j+k)!`` and
``φ_k(z) = ∫_0^1 e^{(1−u)z} u^{k−1}/(k−1)! du`` for k ≥ 1. With ``z = −h`` (h the log-SNR step) the
data-prediction PF-ODE step integrates ``σ_t ∫ e^λ ŷ₀(λ) dλ`` term by term of the Taylor series of
ŷ₀ in λ: the k-th derivative's weight is ``α_t h^{k+1} φ_{k+1}(−h)``.
"""

from __future__ import annotations

import math

_SERIES_BELOW = 0.5  # |z| under which the recursion would divide a cancelled difference by z


def phi(z: float, k: int) -> float:
    """φ_k(z) for a real scalar ``z`` and ``k >= 0`` (float64 accuracy for every z).

    Parameters
    ----------
    z
        The argument (for a log-SNR step h of a data-prediction solver, ``z = −h``).
    k
        The index; ``phi(z, 0) = e^z`` and ``phi(0, k) = 1/k!``.
    """
    z = float(z)
    if abs(z) < _SERIES_BELOW:
        term = 1.0 / math.factorial(k)
        total = term
        for j in range(1, 40):
            term *= z / (j + k)
            total += term
            if abs(term) < 1e-18 * abs(total):
                break
        return total
    value = math.exp(z)
    for i in range(k):
        value = (value - 1.0 / math.factorial(i)) / z
    return value
