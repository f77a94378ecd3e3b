"""Snapshot data: reading time courses from AnnData (or arrays), and generating them from known SDEs.

No downloads: :func:`linear_sde_snapshots` simulates a linear (spiralling Ornstein-Uhlenbeck) SDE
with :func:`stochflow.sde.solve` and returns a small single-cell-like AnnData (cells x genes with
``obs["day"]``, the true parameters in ``uns``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stochflow.core.errors import InputError, InputTypeError


def read_snapshots(data: Any, time_key: str = "day", rep: str | None = None,
                   times: Any = None) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Split a time course into sorted snapshots.

    Parameters
    ----------
    data
        An ``anndata.AnnData`` with a numeric time column ``obs[time_key]``, or a list of arrays
        ``(n_k, d)`` (one per time, with ``times``).
    time_key
        Column of ``obs`` holding each cell's time.
    rep
        ``None`` for ``.X``, else a key of ``.obsm`` (e.g. ``"X_pca"``).
    times
        With a list of arrays: their times.

    Returns
    -------
    times, snapshots, indices
        Sorted distinct times (float64), the float64 arrays of each time, and for AnnData the row
        indices of each snapshot's cells (for writing results back).

    Raises
    ------
    InputError
        Missing time key or representation, fewer than two time points, non-finite values.
    """
    if isinstance(data, (list, tuple)):
        if times is None or len(times) != len(data):
            raise InputError("with a list of snapshot arrays pass times=[...] of the same length, one time per array")
        arrs = [np.asarray(x, dtype=np.float64) for x in data]
        t = np.asarray(times, dtype=np.float64)
        if any(a.ndim != 2 for a in arrs) or len({a.shape[1] for a in arrs}) != 1:
            raise InputError(f"snapshots must be 2-D arrays (n_k, d) with one d; got shapes {[a.shape for a in arrs]}")
        order = np.argsort(t)
        t, arrs = t[order], [arrs[i] for i in order]
        if np.any(np.diff(t) <= 0):
            raise InputError(f"snapshot times must be distinct, got {t.tolist()}")
        idx, start = [], 0
        for a in arrs:
            idx.append(np.arange(start, start + len(a)))
            start += len(a)
    else:
        if not hasattr(data, "obs") or not hasattr(data, "obsm"):
            raise InputTypeError(f"data must be an anndata.AnnData or a list of arrays, got {type(data).__name__}")
        if time_key not in data.obs:
            raise InputError(f"adata.obs has no column {time_key!r} (columns: {list(data.obs.columns)}); pass "
                             "time_key=<the column with each cell's time>")
        try:
            cell_t = np.asarray(data.obs[time_key], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"adata.obs[{time_key!r}] must be numeric (e.g. days as numbers)") from exc
        if rep is None:
            X = data.X
            X = X.toarray() if hasattr(X, "toarray") else X
        else:
            if rep not in data.obsm:
                raise InputError(f"adata.obsm has no {rep!r} (keys: {list(data.obsm.keys())}); pass rep=None for .X")
            X = data.obsm[rep]
        X = np.asarray(X, dtype=np.float64)
        t = np.unique(cell_t[np.isfinite(cell_t)])
        idx = [np.flatnonzero(cell_t == ti) for ti in t]
        arrs = [X[i] for i in idx]
    if len(t) < 2:
        raise InputError(f"a time course needs at least two time points, found {len(t)} ({t.tolist()})")
    for ti, a in zip(t, arrs):
        if len(a) < 2:
            raise InputError(f"time {ti:g} has {len(a)} cell(s); each snapshot needs at least two")
        if not np.all(np.isfinite(a)):
            raise InputError(f"the data at time {ti:g} has NaN or infinite values")
    return t, arrs, idx


def spiral_drift(d: int = 2, rate: float = 0.3, omega: float = 1.0) -> np.ndarray:
    """A drift matrix ``B = -rate I + omega J`` rotating the first two coordinates (``J`` the 90° rotation)."""
    B = -rate * np.eye(d)
    B[0, 1], B[1, 0] = -omega, omega
    return B


def linear_sde_snapshots(n_cells: int = 150, times: Any = None, dim: int = 2, B: Any = None, c: Any = None,
                         sigma: float = 0.3, x0_mean: Any = None, x0_std: float = 0.2, seed: int = 0,
                         time_key: str = "day", dt: float = 0.01, dtype: str = "float64") -> Any:
    """Snapshots of ``dX = (B X + c) dt + sigma dW`` (fresh cells each time), as an AnnData.

    Each time point is an independent population of ``n_cells`` cells (as in single-cell assays, which
    destroy what they measure), simulated by Euler-Maruyama (:func:`stochflow.sde.solve`).

    Parameters
    ----------
    n_cells
        Cells per time point.
    times
        Measurement times (default ``0, 0.5, ..., 6``).
    dim
        State dimension (the number of "genes").
    B, c
        Drift matrix and offset (default a damped spiral, :func:`spiral_drift`, and zero).
    sigma
        Diffusion coefficient.
    x0_mean, x0_std
        The initial population ``N(x0_mean, x0_std^2 I)`` (default mean ``(2, 0, ..., 0)``).
    seed
        Seed of the initial states and of the Brownian paths.
    time_key
        Name of the time column in ``obs``.
    dt
        Simulation step.
    dtype
        Of ``X``.

    Returns
    -------
    anndata.AnnData
        ``X`` (cells x genes), ``obs[time_key]``, ``uns["truth"] = {"B", "c", "sigma"}``.
    """
    import anndata
    import pandas as pd
    import torch

    from stochflow.sde import SDE, solve

    times = np.arange(0.0, 6.01, 0.5) if times is None else np.asarray(times, dtype=np.float64)
    B = spiral_drift(dim) if B is None else np.asarray(B, dtype=np.float64)
    c = np.zeros(dim) if c is None else np.asarray(c, dtype=np.float64)
    m0 = np.eye(dim)[0] * 2.0 if x0_mean is None else np.asarray(x0_mean, dtype=np.float64)
    if B.shape != (dim, dim) or c.shape != (dim,) or m0.shape != (dim,):
        raise InputError(f"B, c, x0_mean must have shapes ({dim}, {dim}), ({dim},), ({dim},)")
    Bt, ct = torch.tensor(B), torch.tensor(c)
    sde = SDE(drift=lambda t, y: y @ Bt.T + ct, diffusion=lambda t, y: sigma * torch.ones_like(y), noise="additive")
    gen = torch.Generator().manual_seed(seed)
    K = len(times)
    y0 = torch.tensor(m0) + x0_std * torch.randn(K * n_cells, dim, generator=gen, dtype=torch.float64)
    grid = np.concatenate([[0.0], times[times > 0]]) if times[0] > 0 else times
    ys = solve(sde, y0, torch.tensor(grid), solver="euler", dt=dt, seed=seed + 1).numpy()
    out_idx = {float(t): i for i, t in enumerate(grid)}
    X = np.concatenate([ys[out_idx[float(t)], k * n_cells:(k + 1) * n_cells] for k, t in enumerate(times)])
    obs = pd.DataFrame({time_key: np.repeat(times, n_cells)}, index=[f"cell{i}" for i in range(len(X))])
    var = pd.DataFrame(index=[f"gene{j}" for j in range(dim)])
    ad = anndata.AnnData(X=X.astype(dtype), obs=obs, var=var)
    ad.uns["truth"] = {"B": B, "c": c, "sigma": float(sigma), "x0_mean": m0, "x0_std": float(x0_std)}
    return ad
