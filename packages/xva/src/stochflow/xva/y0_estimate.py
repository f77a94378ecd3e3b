"""``Y_0`` re-estimated by Monte Carlo on fresh paths with a trained ``Z``.

The deep BSDE method learns ``Y_0`` as a parameter beside ``Z``. Given the trained ``Z``, the ``Y_0``
consistent with it solves ``E[Y_N(Y_0) - ξ] = 0`` for the forward scheme
``Y_{n+1} = Y_n - f_n Δt + Z_n·ΔB_n``; on fresh paths this is a Monte Carlo estimate with a standard
error, free of the training's noise in ``Y_0`` (``tilt=False``). It inherits ``Z``'s error at first
order: for ``f = -λ|z|²/2`` it is ``E[ξ] - (λ/2) E∫|Z|² dt``, so ``Z`` too small by ``δ`` moves it by
about ``-λ E∫Z*·δ dt``.

``tilt=True`` evaluates the same scheme under the measure under which ``B`` has the drift
``θ_n = ∂_z f(t_n, X_n, Y_n, Z_n)``: the forward state is re-simulated with the increments
``ΔB_n = ΔB̂_n + θ_n Δt`` (``B̂`` Brownian), so ``Y_{n+1} = Y_n - (f_n - Z_n·θ_n) Δt + Z_n·ΔB̂_n``. With
the exact ``Z`` every ``θ`` gives ``u(0, x_0)`` (the scheme's residual vanishes pathwise in continuous
time); for an approximate ``Z`` Itô's formula for ``u`` along the tilted paths gives the error
``-E∫[f(Z*) - f(Z) - ∂_z f(Z)·(Z* - Z)] dt``, a Bregman remainder, second order in ``Z - Z*``. For the
HJB driver ``f = -λ|z|²/2`` it is ``(λ/2) E∫|Z - Z*|² dt ≥ 0``: the cost of the control ``-√2 λ Z``,
an upper bound (Z 5% too small: 0.25% of the error in ``E∫|Z*|²`` instead of 10%). For drivers linear
in ``z`` (``θ`` constant) nothing changes but the paths.
"""

from __future__ import annotations

import math

import torch

from stochflow.core.errors import InputError
from stochflow.core.seeding import derive_seed
from stochflow.xva import checks
from stochflow.xva.bsde import BSDEProblem
from stochflow.xva.exposure import Estimate
from stochflow.xva.forward import ForwardPaths


def _driver_gradient(problem: BSDEProblem, n, t, x, y, z) -> torch.Tensor:
    """``∂_z f(t_n, X_n, Y_n, Z_n)`` by autograd, shape of ``z`` (zeros where ``f`` does not depend on ``z``)."""
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        f = problem.driver(n, t, x.detach(), y.detach(), zz, None)
        if not f.requires_grad:
            return torch.zeros_like(z)
        (grad,) = torch.autograd.grad(f.sum(), zz, allow_unused=True)
    return torch.zeros_like(z) if grad is None else grad.detach()


def _tilted_residual(model, problem: BSDEProblem, base: ForwardPaths, y0: float) -> torch.Tensor:
    """``Y_N - ξ`` of the scheme on paths re-simulated under the ``∂_z f``-tilted measure, ``(B,)``."""
    t = base.t
    dt = torch.diff(t)
    n_steps = t.shape[0] - 1
    trapezoid = model.driver_rule == "trapezoid"
    x = base.x[0]
    y = torch.full((x.shape[0],), float(y0), dtype=x.dtype, device=x.device)
    z = model.z(problem, t[:1], x[None], first=0)[0]
    xs, dbs = [x], []
    for n in range(n_steps):
        theta = _driver_gradient(problem, n, t[n], x, y, z)
        db = base.dw[n] + theta * dt[n]  # the tilted increment: B̂ Brownian, B = B̂ + ∫θ dt
        f = problem.driver(n, t[n], x, y, z, None)
        noise = (z * db).sum(-1)
        x_next = problem.advance(n, x, db)
        z_next = None
        if trapezoid or n + 1 < n_steps:
            z_next = model.z(problem, t[n + 1:n + 2], x_next[None], first=n + 1)[0]
        if trapezoid:
            f = 0.5 * (f + problem.driver(n + 1, t[n + 1], x_next, y - f * dt[n] + noise, z_next, None))
        y = y - f * dt[n] + noise
        x, z = x_next, z_next
        xs.append(x)
        dbs.append(db)
    paths = ForwardPaths(t=t, x=torch.stack(xs, 0), dw=torch.stack(dbs, 0))
    return y - problem.terminal(paths)


def _plain_residual(model, problem: BSDEProblem, base: ForwardPaths, y0: float) -> torch.Tensor:
    """``Y_N - ξ`` of the scheme (:meth:`DeepBSDEModel.rollout`) started at ``y0``, ``(B,)``."""
    raw = model.y0_raw.detach().clone()
    try:  # roll out from y0 by setting the model's parameter, restored afterwards
        model.y0_raw.copy_((torch.as_tensor(y0, dtype=raw.dtype) - model.y0_offset) / model.y0_scale)
        ys, _ = model.rollout(problem, base)
    finally:
        model.y0_raw.copy_(raw)
    return ys[-1] - problem.terminal(base)


@torch.no_grad()
def estimate_y0(model, problem: BSDEProblem, *, tilt: bool = False, n_paths: int = 65536, chunk: int = 8192,
                seed: int = 0, dtype=torch.float32, device="cpu", max_passes: int = 8) -> Estimate:
    """Monte Carlo estimate of the ``Y_0`` consistent with a trained ``Z`` (see the module docstring).

    ``Y_0`` solves ``mean(Y_N(Y_0) - ξ) = 0`` on ``n_paths`` fresh paths (the same paths in every pass:
    a secant iteration from the learned ``Y_0``, which stops once the mean residual is below 1% of its
    standard error; two passes when ``Y_N`` is linear in ``Y_0`` with slope 1, as for drivers without
    ``y``). The standard error is that of the mean residual over the slope.

    Parameters
    ----------
    model : DeepBSDEModel
        A trained model (``BSDEResult.model``).
    problem : BSDEProblem
        The problem it was trained on. ``tilt=True`` needs :meth:`BSDEProblem.advance` (a
        :class:`~stochflow.xva.bsde.BSDE` on the package's forward models) and a driver that does not
        read its ``paths`` argument.
    tilt : bool
        Evaluate under the measure tilted by ``∂_z f``: first-order insensitive to errors in ``Z``.
    n_paths, chunk
        Fresh paths, simulated ``chunk`` at a time.
    seed : int
        Seeds the paths (stream ``derive_seed(seed, "estimate-y0")``, apart from training and validation).
    dtype, device
        Those of the model.
    max_passes : int
        Passes over the paths at most (secant iteration for ``Y_0``).

    Returns
    -------
    Estimate
        ``value``, ``stderr`` and ``method`` ("deep BSDE, tilted Monte Carlo" or "deep BSDE, Monte Carlo").
    """
    if not isinstance(problem, BSDEProblem):
        raise InputError(f"problem must be a BSDEProblem, got {type(problem).__name__}")
    n_paths = checks.count("n_paths", n_paths, minimum=2)
    chunk = min(checks.count("chunk", chunk, minimum=2), n_paths)
    max_passes = checks.count("max_passes", max_passes, minimum=2)
    sizes = [chunk] * (n_paths // chunk) + ([n_paths % chunk] if n_paths % chunk >= 2 else [])
    n_paths = sum(sizes)
    stream = derive_seed(int(seed), "estimate-y0")
    residual = _tilted_residual if tilt else _plain_residual
    if tilt:  # fail before any work
        probe = problem.sample(2, seed=stream, dtype=dtype, device=device, keys=("probe",))
        problem.advance(0, probe.x[0], probe.dw[0])
        if problem.active(probe) is not None or problem.cashflow(1, probe) is not None:
            raise InputError("estimate_y0(tilt=True) needs a BSDE without stopping (active) or cash flows")

    def one_pass(y0: float) -> tuple[float, float]:
        total, total_sq = 0.0, 0.0
        for k, size in enumerate(sizes):
            base = problem.sample(size, seed=stream, dtype=dtype, device=device, keys=(k,))
            r = residual(model, problem, base, y0).to(torch.float64)
            total += float(r.sum())
            total_sq += float((r * r).sum())
        mean = total / n_paths
        var = max(total_sq / n_paths - mean * mean, 0.0) * n_paths / (n_paths - 1)
        return mean, math.sqrt(var)

    def settled(mean: float, sd: float) -> bool:  # a mean residual of 1% of its standard error: done
        return abs(mean) <= 0.01 * sd / math.sqrt(n_paths)

    slope = 1.0  # d mean(Y_N) / d Y_0: exactly 1 for drivers without y, estimated by secants otherwise
    y_b = float(model.y0)
    m_b, sd = one_pass(y_b)
    for _ in range(max_passes - 1):
        if settled(m_b, sd):
            break
        y_a, m_a = y_b, m_b
        y_b = y_a - m_a / slope
        m_b, sd = one_pass(y_b)
        if settled(m_b, sd) or m_b == m_a:
            break
        slope = (m_b - m_a) / (y_b - y_a)  # the step was at least 1% of a standard error: rounding is far below
    stderr = sd / math.sqrt(n_paths) / abs(slope)
    method = "deep BSDE, tilted Monte Carlo" if tilt else "deep BSDE, Monte Carlo"
    return Estimate(y_b, stderr, method)
