"""Strong convergence against exact solutions: errors on nested grids read from one fine path.

The finest increments ``(dW, H)`` are drawn once; coarser grids combine them exactly (sums of
``dW``; the space-time Lévy area of a union from ``∫(W_r - W_s) dr = Σ h_k (dW_k/2 + H_k + W_before_k)``),
so every step size sees the same Brownian path.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from stochflow.sde.brownian import draw_increments
from stochflow.sde.solve import solve

Levy = namedtuple("Levy", ["W", "H"])


def given_increments(dw: Any, h: Any, t1: float) -> Any:
    """The Brownian path over the uniform grid of ``[0, t1]`` with the given finest increments ``dw``
    (and space-time Lévy areas ``h``, or ``None``): ``stochflow.sde.BrownianPath.from_increments``, whose ``grid_increments`` returns the exact
    combinations on any coarser grid made of its points."""
    from stochflow.sde.brownian import BrownianPath  # noqa: PLC0415

    return BrownianPath.from_increments(np.linspace(0.0, float(t1), dw.shape[0] + 1), dw, h)


def coarsen(dw: Any, h: Any, h_fine: float, factor: int) -> Levy:
    """Exact ``(dW, H)`` over blocks of ``factor`` consecutive fine steps of length ``h_fine``
    (the combination rule of :func:`stochflow.sde.brownian.levy.concat_matrices`)."""
    from stochflow.sde.brownian.levy import concat_matrices  # noqa: PLC0415

    n = dw.shape[0] // factor
    shape = tuple(dw.shape[1:])
    blocks = dw.reshape(n, factor, *shape)
    w = blocks.sum(1)
    if h is None:
        return Levy(w, None)
    g = concat_matrices(np.arange(factor) / factor, np.full(factor, 1.0 / factor), 2)
    hb = h.reshape(n, factor, *shape)
    hc = sum(float(g[k, 1, 0]) * blocks[:, k] + float(g[k, 1, 1]) * hb[:, k] for k in range(factor))
    return Levy(w, hc)


def strong_errors(process: Any, solver: str, y0: Any, t1: float, levels: list[int], *, seed: int = 0,
                  reference_solver: str | None = None, reference_level: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute terminal error ``E|Y_N - Y_T|`` for steps ``dt = t1 * 2^-k``, ``k`` in ``levels``.

    The reference is ``process.exact(y0, t1, W_T)`` when the process has one, else ``reference_solver``
    on the finest grid ``2^-reference_level``. Returns ``(dts, errors)``.
    """
    fine = reference_level or max(levels)
    n_fine = 2**fine
    grid = np.linspace(0.0, t1, n_fine + 1)
    dw, h, _ = draw_increments(grid, tuple(y0.shape), seed, like=y0, levy_area="space-time")
    bm = given_increments(dw, h, t1)
    ts = np.array([0.0, t1])
    if hasattr(process, "exact"):
        ref = process.exact(y0, t1, dw.sum(0))
    else:
        ref = solve(process, y0, ts, solver=reference_solver, dt=t1 / n_fine, brownian=bm)[-1]
    dts, errs = [], []
    for k in levels:
        y = solve(process, y0, ts, solver=solver, dt=t1 * 2.0**-k, brownian=bm)[-1]
        dts.append(t1 * 2.0**-k)
        errs.append(float(abs(y - ref).mean()))
    return np.asarray(dts), np.asarray(errs)


def fitted_order(dts: np.ndarray, errors: np.ndarray) -> float:
    """Least-squares slope of ``log error`` against ``log dt``."""
    return float(np.polyfit(np.log(dts), np.log(errors), 1)[0])


__all__ = ["Levy", "coarsen", "given_increments", "fitted_order", "strong_errors"]
