"""UniPC (Zhao et al. 2023): the unified predictor UniP-p and corrector UniC-p, data prediction.

With ŷ₀ the data prediction, h = λ_t − λ_s and z = −h, the exact PF-ODE step is
``y_t = (σ_t/σ_s) y_s + α_t Σ_{k≥0} h^{k+1} φ_{k+1}(−h) ∂^k_λ ŷ₀(λ_s)`` (:mod:`.phi`). UniPC keeps the
k = 0 term exactly and replaces the rest by one combination of divided differences
``D_m = (ŷ₀(λ_m) − ŷ₀(λ_s))/r_m``, r_m = (λ_m − λ_s)/h, of predictions at other points:

``y_t = (σ_t/σ_s) y_s − α_t (e^{−h} − 1) ŷ₀(λ_s) − α_t B(z) Σ_m a_m D_m``,

with B(z) = z (variant ``"bh1"``) or B(z) = e^z − 1 (``"bh2"``). Matching the Taylor terms gives the
order conditions ``Σ_m a_m r_m^{k−1} = k! z φ_{k+1}(z)/B(z)``, k = 1 … K (K points); with a single
point the paper's choice is its leading-order value a₁ = ½ (both sides are ½ + O(h)).

* UniP-p (predictor) uses the p − 1 previous predictions (r_m < 0): order p.
* UniC-p (corrector) redoes the step that led to y_s with the same p − 1 older points plus the new
  prediction ŷ₀(λ_s) (r = 1), which costs no evaluation: order p + 1. The next predictor starts from
  the corrected value but keeps ŷ₀(λ_s) evaluated at the uncorrected one (so NFE = steps), and the
  corrector is not applied after the last step.

The first steps use the orders the history allows; with ``lower_order_final`` the last steps use at
most the number of steps left (order 1 for the last step, as diffusers' UniPCMultistepScheduler does on
every run length, unlike the < 15-step rule of the DPM-Solver++ samplers).
"""

from __future__ import annotations

import math

import torch

from stochflow.core.errors import InputError, InputTypeError, close_matches_message
from stochflow.diffusion.samplers.phi import phi

VARIANTS = ("bh1", "bh2")


def _b(z: float, variant: str) -> float:
    return z if variant == "bh1" else math.expm1(z)


def unipc_coefficients(rs, z: float, variant: str) -> list[float]:
    """The weights a of UniPC's divided differences for points at ratios ``rs`` and ``z = −h``.

    Solves ``Σ_m a_m r_m^{k−1} = k! z φ_{k+1}(z)/B(z)``, k = 1 … len(rs); a single point gets ½.
    """
    if len(rs) == 1:
        return [0.5]
    bz = _b(z, variant)
    rhs = torch.tensor([math.factorial(k) * z * phi(z, k + 1) / bz for k in range(1, len(rs) + 1)],
                       dtype=torch.float64)
    lhs = torch.tensor([[r ** (k - 1) for r in rs] for k in range(1, len(rs) + 1)], dtype=torch.float64)
    return torch.linalg.solve(lhs, rhs).tolist()


def _update(ev, y, s, t, m0, points, variant):
    """y at t from y at s, given ŷ₀(s) = m0 and other predictions ``points`` = [(λ_m, ŷ₀_m)]."""
    _, sig_s, lam_s = ev.coefs(s)
    a_t, sig_t, lam_t = ev.coefs(t)
    h = lam_t - lam_s
    y_new = (sig_t / sig_s) * y - a_t * torch.expm1(-h) * m0
    if points:
        hf = float(h)
        rs = [float(lam_m - lam_s) / hf for lam_m, _ in points]
        coefs = unipc_coefficients(rs, -hf, variant)
        corr = sum(c * (m - m0) / r for c, r, (_, m) in zip(coefs, rs, points))
        y_new = y_new - a_t * _b(-hf, variant) * corr
    return y_new


def _check(order, variant, corrector):
    if isinstance(order, bool) or not isinstance(order, int):
        raise InputTypeError(f"unipc order must be an int (1, 2 or 3), got {type(order).__name__}")
    if order not in (1, 2, 3):
        raise InputError(f"unipc order must be 1, 2 or 3, got {order}")
    if variant not in VARIANTS:
        raise InputError(close_matches_message("unipc variant", str(variant), VARIANTS))
    if not isinstance(corrector, bool):
        raise InputTypeError(f"unipc corrector must be True or False, got {corrector!r}")


def unipc(ev, y, grid, *, generator=None, lower_order_final=True, order: int = 2, variant: str = "bh2",
          corrector: bool = True):
    """UniPC-p multistep sampler (data prediction); 1 evaluation per step.

    ``order`` is the predictor's p (1, 2 or 3; the corrector raises the order to p + 1),
    ``variant`` is ``"bh2"`` (B(h) = e^h − 1, the default as in diffusers) or ``"bh1"`` (B(h) = h),
    and ``corrector=False`` runs the predictor UniP-p alone.
    """
    _check(order, variant, corrector)
    n = len(grid) - 1
    hist: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (t, λ, ŷ₀), newest last
    y_prev, p_prev = None, 0
    for i in range(n):
        ev.step = i
        s = grid[i]
        lam_s = ev.coefs(s)[2]
        m = ev.data(y, s)
        if corrector and i > 0:  # UniC-p: redo the last step with ŷ₀(s) as an extra point
            t_prev, _, m_prev = hist[-1]
            older = [(lam, mm) for _, lam, mm in hist[len(hist) - p_prev:-1]]
            y = _update(ev, y_prev, t_prev, s, m_prev, older + [(lam_s, m)], variant)
        hist = (hist + [(s, lam_s, m)])[-order:]
        p = min(order, i + 1)
        if lower_order_final:
            p = min(p, n - i)
        older = [(lam, mm) for _, lam, mm in hist[len(hist) - p:-1]]
        y_prev, p_prev = y, p
        y = _update(ev, y, s, grid[i + 1], m, older, variant)
    return y
