"""Snapshot data: reading time courses from AnnData (or arrays), and generating them from known SDEs.

No downloads: each generator simulates a known SDE with :func:`stochflow.sde.solve` (Euler-Maruyama,
seeded) and returns a single-cell-like AnnData: cells x genes, each cell's time in ``obs[time_key]``,
the true parameters in ``uns["truth"]``. Every time point is a fresh population (measuring destroys
the cell), all started from the same initial distribution.

- :func:`linear_sde_snapshots`: a damped spiral ``dX = (B X + c) dt + sigma dW``.
- :func:`lotka_volterra_snapshots`: predator-prey with multiplicative noise,
  ``dx = (alpha x - beta x y) dt + sigma x dW_1``, ``dy = (delta x y - gamma y) dt + sigma y dW_2``.
- :func:`repressilator_snapshots`: three genes in a repression ring with multiplicative noise,
  ``dx_i = (beta / (1 + (x_{i-1}/k)^n) - gamma x_i) dt + sigma x_i dW_i``.
- :func:`branching_snapshots`: a bifurcating differentiation process in 10-50 genes: latent
  ``ds = dt + sigma dW_1``, ``dz = lam (s z - z^3) dt + sigma dW_2`` embedded by a fixed random map with
  orthonormal columns, ``x = Q (s, z) + noise``.
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


def _simulate(drift: Any, diffusion: Any, noise: str, y0: Any, times: np.ndarray, n_cells: int, dt: float,
              seed: int) -> np.ndarray:
    """Simulate ``len(times) * n_cells`` independent paths from ``y0`` with Euler-Maruyama; block ``k`` of
    ``n_cells`` paths is read at ``times[k]`` (fresh cells per time). Returns ``(len(times) * n_cells, d)``."""
    import torch

    from stochflow.sde import SDE, solve

    if isinstance(n_cells, bool) or not isinstance(n_cells, int) or n_cells < 1:
        raise InputError(f"n_cells must be a positive int, got {n_cells!r}")
    if times.ndim != 1 or len(times) < 1 or np.any(np.diff(times) <= 0) or times[0] < 0:
        raise InputError(f"times must be increasing and non-negative, got {times.tolist()}")
    sde = SDE(drift=lambda t, y: drift(y), diffusion=diffusion, noise=noise)
    grid = np.concatenate([[0.0], times[times > 0]]) if times[0] > 0 else times
    with torch.no_grad():
        ys = solve(sde, y0, torch.tensor(grid), solver="euler", dt=dt, seed=seed + 1).numpy()
    out_idx = {float(t): i for i, t in enumerate(grid)}
    return np.concatenate([ys[out_idx[float(t)], k * n_cells:(k + 1) * n_cells] for k, t in enumerate(times)])


def _anndata(X: np.ndarray, times: np.ndarray, n_cells: int, time_key: str, dtype: str, truth: dict,
             gene: str = "gene") -> Any:
    import anndata
    import pandas as pd

    obs = pd.DataFrame({time_key: np.repeat(times, n_cells)}, index=[f"cell{i}" for i in range(len(X))])
    var = pd.DataFrame(index=[f"{gene}{j}" for j in range(X.shape[1])])
    ad = anndata.AnnData(X=X.astype(dtype), obs=obs, var=var)
    ad.uns["truth"] = truth
    return ad


def _initial(gen: Any, n: int, mean: np.ndarray, std: float, positive: bool = False) -> Any:
    """``n`` draws of ``N(mean, std^2 I)`` (or, with ``positive``, ``mean * exp(std N(0, I))``: log-normal)."""
    import torch

    z = torch.randn(n, len(mean), generator=gen, dtype=torch.float64)
    m = torch.tensor(mean, dtype=torch.float64)
    return m * torch.exp(std * z) if positive else m + std * z


def _times(times: Any, default: np.ndarray) -> np.ndarray:
    return default if times is None else np.atleast_1d(np.asarray(times, dtype=np.float64))


def _multiplicative(drift: Any, n_cells: int, times: Any, sigma: float, x0_mean: Any, x0_std: float, seed: int,
                    time_key: str, dt: float, dtype: str) -> Any:
    """Snapshots of ``dX = f(X) dt + sigma X dW`` (coordinatewise) from a log-normal start, as an AnnData."""
    import torch

    times = _times(times, np.arange(0.0, 10.01, 1.0))
    m0 = np.asarray(x0_mean, dtype=np.float64)
    if m0.shape != (drift.dim,) or np.any(m0 <= 0):
        raise InputError(f"x0_mean must be {drift.dim} positive numbers, got {x0_mean!r}")
    gen = torch.Generator().manual_seed(seed)
    y0 = _initial(gen, len(times) * n_cells, m0, x0_std, positive=True)
    X = _simulate(drift, lambda t, y: sigma * y, "diagonal", y0, times, n_cells, dt, seed)
    return _anndata(X, times, n_cells, time_key, dtype, {**drift.values(), "sigma": float(sigma), "noise":
                    "multiplicative", "x0_mean": m0, "x0_std": float(x0_std)})


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
    import torch

    times = _times(times, np.arange(0.0, 6.01, 0.5))
    B = spiral_drift(dim) if B is None else np.asarray(B, dtype=np.float64)
    c = np.zeros(dim) if c is None else np.asarray(c, dtype=np.float64)
    m0 = np.eye(dim)[0] * 2.0 if x0_mean is None else np.asarray(x0_mean, dtype=np.float64)
    if B.shape != (dim, dim) or c.shape != (dim,) or m0.shape != (dim,):
        raise InputError(f"B, c, x0_mean must have shapes ({dim}, {dim}), ({dim},), ({dim},)")
    Bt, ct = torch.tensor(B), torch.tensor(c)
    gen = torch.Generator().manual_seed(seed)
    y0 = _initial(gen, len(times) * n_cells, m0, x0_std)
    X = _simulate(lambda y: y @ Bt.T + ct, lambda t, y: sigma * torch.ones_like(y), "additive", y0, times,
                  n_cells, dt, seed)
    return _anndata(X, times, n_cells, time_key, dtype,
                    {"B": B, "c": c, "sigma": float(sigma), "x0_mean": m0, "x0_std": float(x0_std)})


def lotka_volterra_snapshots(n_cells: int = 200, times: Any = None, alpha: float = 1.0, beta: float = 0.4,
                             gamma: float = 0.4, delta: float = 0.1, sigma: float = 0.02, x0_mean: Any = (5.0, 2.0),
                             x0_std: float = 0.2, seed: int = 0, time_key: str = "day", dt: float = 0.01,
                             dtype: str = "float64") -> Any:
    """Snapshots of the stochastic Lotka-Volterra system with multiplicative noise, as an AnnData.

    ``dx = (alpha x - beta x y) dt + sigma x dW_1``, ``dy = (delta x y - gamma y) dt + sigma y dW_2``
    (Itô; prey ``x``, predators ``y``), the test system of Shen, Berlinghieri & Broderick (defaults: their
    parameters and 11 snapshots ``t = 0, 1, ..., 10``, 200 cells each; one cycle takes about 10 time
    units). The initial population is log-normal, ``x0_mean * exp(x0_std N(0, I))``.

    Parameters
    ----------
    n_cells
        Cells (particles) per time point.
    times
        Measurement times (default ``0, 1, ..., 10``).
    alpha, beta, gamma, delta
        The drift's parameters (:class:`~stochflow.bridge.systems.LotkaVolterraDrift`).
    sigma
        Relative noise level.
    x0_mean, x0_std
        Median and log-scale spread of the initial population.
    seed, time_key, dt, dtype
        Seed of initial states and Brownian paths, name of the time column, Euler step, dtype of ``X``.

    Returns
    -------
    anndata.AnnData
        ``X`` (cells x 2: prey, predator), ``obs[time_key]``, ``uns["truth"]`` with the parameters.
    """

    from stochflow.bridge.systems import LotkaVolterraDrift

    ad = _multiplicative(LotkaVolterraDrift(alpha, beta, gamma, delta), n_cells, times, sigma, x0_mean, x0_std, seed,
                         time_key, dt, dtype)
    ad.var_names = ["prey", "predator"]
    return ad


def repressilator_snapshots(n_cells: int = 200, times: Any = None, beta: float = 10.0, n: float = 3.0,
                            k: float = 1.0, gamma: float = 1.0, sigma: float = 0.05,
                            x0_mean: Any = (1.0, 1.5, 4.0), x0_std: float = 0.2, seed: int = 0,
                            time_key: str = "day", dt: float = 0.01, dtype: str = "float64") -> Any:
    """Snapshots of the stochastic repressilator with multiplicative noise, as an AnnData.

    ``dx_i = (beta / (1 + (x_{i-1} / k)^n) - gamma x_i) dt + sigma x_i dW_i`` for three genes in a ring
    (``x_0 := x_3``; Itô). Defaults: ``beta = 10, n = 3, k = 1, gamma = 1`` (Shen, Berlinghieri &
    Broderick's parameters; a limit cycle of period about 5), snapshots ``t = 0, 1, ..., 10``; the
    initial population is log-normal, ``x0_mean * exp(x0_std N(0, I))``.

    Parameters
    ----------
    n_cells
        Cells per time point.
    times
        Measurement times (default ``0, 1, ..., 10``).
    beta, n, k, gamma
        The drift's parameters (:class:`~stochflow.bridge.systems.RepressilatorDrift`).
    sigma
        Relative noise level.
    x0_mean, x0_std
        Median and log-scale spread of the initial population.
    seed, time_key, dt, dtype
        Seed, name of the time column, Euler step, dtype of ``X``.

    Returns
    -------
    anndata.AnnData
        ``X`` (cells x 3 genes), ``obs[time_key]``, ``uns["truth"]`` with the parameters.
    """

    from stochflow.bridge.systems import RepressilatorDrift

    return _multiplicative(RepressilatorDrift(beta, n, k, gamma), n_cells, times, sigma, x0_mean, x0_std, seed,
                           time_key, dt, dtype)


def branching_snapshots(n_cells: int = 200, times: Any = None, dim: int = 20, lam: float = 2.0,
                        sigma: float = 0.15, s0: float = -1.0, x0_std: float = 0.1, obs_noise: float = 0.05,
                        seed: int = 0, time_key: str = "day", dt: float = 0.01, dtype: str = "float64") -> Any:
    """Snapshots of a branching differentiation process in ``dim`` genes, as an AnnData.

    A latent pseudotime ``s`` and fate coordinate ``z`` follow

        ds = dt + sigma dW_1,     dz = lam (s z - z^3) dt + sigma dW_2

    (:class:`~stochflow.bridge.systems.PitchforkDrift`): cells start undecided near ``(s0, 0)``, and once
    ``s > 0`` the state ``z = 0`` turns unstable and the population splits into two branches
    ``z = +-sqrt(s)``. Genes are ``x = Q (s, z) + obs_noise * N(0, I_dim)`` with ``Q`` a fixed random
    ``dim x 2`` matrix with orthonormal columns (so latent distances are kept), drawn from ``seed``.

    Parameters
    ----------
    n_cells
        Cells per time point.
    times
        Measurement times (default ``0, 0.5, ..., 4``).
    dim
        Number of genes (10-50 is typical; at least 2).
    lam, sigma
        Commitment rate and latent noise level.
    s0, x0_std
        Initial latent state ``N((s0, 0), x0_std^2 I)``.
    obs_noise
        Measurement noise added to every gene.
    seed, time_key, dt, dtype
        Seed, name of the time column, Euler step, dtype of ``X``.

    Returns
    -------
    anndata.AnnData
        ``X`` (cells x genes), ``obs[time_key]``, ``obs["branch"]`` (``"root"`` while ``|z| < 0.3``, else
        ``"up"``/``"down"``), ``obsm["X_latent"]`` (``(s, z)``), ``uns["truth"]`` (``Q``, parameters).
    """
    import torch

    from stochflow.bridge.systems import PitchforkDrift

    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
        raise InputError(f"dim must be an int >= 2, got {dim!r}")
    if not obs_noise >= 0:
        raise InputError(f"obs_noise must be non-negative, got {obs_noise!r}")
    times = _times(times, np.arange(0.0, 4.01, 0.5))
    drift = PitchforkDrift(lam)
    gen = torch.Generator().manual_seed(seed)
    y0 = _initial(gen, len(times) * n_cells, np.array([s0, 0.0]), x0_std)
    Z = _simulate(drift, lambda t, y: sigma * torch.ones_like(y), "additive", y0, times, n_cells, dt, seed)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(dim, 2)))
    X = Z @ Q.T + obs_noise * rng.normal(size=(len(Z), dim))
    ad = _anndata(X, times, n_cells, time_key, dtype, {"lam": float(lam), "sigma": float(sigma), "s0": float(s0),
                  "x0_std": float(x0_std), "obs_noise": float(obs_noise), "Q": Q})
    ad.obsm["X_latent"] = Z
    ad.obs["branch"] = np.where(np.abs(Z[:, 1]) < 0.3, "root", np.where(Z[:, 1] > 0, "up", "down"))
    return ad
