"""``MarkovFBM``: Markov-approximate fractional Brownian motion, sampled exactly or used as SDE noise."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stochflow.core.errors import InputError, InputTypeError
from stochflow_fbm.weights import (
    check_hurst,
    fbm_covariance,
    markov_covariance,
    optimal_weights,
    ou_speeds,
    stationary_covariance,
)


def _psd_factor(cov: np.ndarray) -> np.ndarray:
    """``L`` with ``L L^T = cov`` for a (possibly singular) covariance: eigenvalues below zero cut."""
    lam, vec = np.linalg.eigh(0.5 * (cov + cov.T))
    return vec * np.sqrt(np.clip(lam, 0.0, None))


def _times(ts: Any) -> np.ndarray:
    try:
        arr = np.asarray(ts.detach().cpu() if hasattr(ts, "detach") else ts, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001
        raise InputTypeError(f"ts must be a 1-D array of times, got {type(ts).__name__}") from exc
    if arr.ndim != 1 or len(arr) < 1 or not np.all(np.isfinite(arr)) or np.any(arr < 0) \
            or not np.all(np.diff(arr) > 0):
        raise InputError("ts must be a 1-D, finite, non-negative, strictly increasing array of times")
    return arr


class MarkovFBM:
    """Markov approximation ``B̂_t = Σ_k ω_k (Y^k_t - Y^k_0)`` of fractional Brownian motion.

    ``Y^k`` are stationary Ornstein–Uhlenbeck processes ``dY^k = -γ_k Y^k dt + dW`` sharing one
    Brownian motion ``W``, on a geometric grid of speeds; ``ω`` are the weights minimising
    ``∫_0^T E(B^H_t - B̂_t)² dt`` (closed form, :func:`stochflow_fbm.weights.optimal_weights`).

    Parameters
    ----------
    hurst
        Hurst index ``H`` in ``(0, 1)``.
    n_terms
        Number ``K`` of OU processes.
    horizon
        ``T``, the time span the weights are optimised over.
    gammas
        Speeds (default :func:`~stochflow_fbm.weights.ou_speeds`, ``[1e-4, 1e4] / T``).

    Examples
    --------
    >>> fbm = MarkovFBM(hurst=0.7, n_terms=16)
    >>> round(float(fbm.covariance(1.0, 1.0)), 2)  # exact fBM: 1
    1.0
    >>> fbm.sample([0.0, 0.5, 1.0], n_paths=4, seed=0).shape
    torch.Size([3, 4])
    """

    def __init__(self, hurst: float = 0.5, n_terms: int = 16, horizon: float = 1.0, gammas: Any = None) -> None:
        self.hurst = check_hurst(hurst)
        if not isinstance(horizon, (int, float)) or not math.isfinite(horizon) or horizon <= 0:
            raise InputError(f"horizon must be a positive finite number, got {horizon!r}")
        self.horizon = float(horizon)
        if gammas is None:
            self.gammas = ou_speeds(n_terms, horizon, 1e-4 / horizon, 1e4 / horizon)
        else:
            self.gammas = np.asarray(gammas, dtype=np.float64)
        self.weights = optimal_weights(self.hurst, self.gammas, self.horizon)
        self.n_terms = len(self.gammas)

    # -- covariances --------------------------------------------------------------------------------

    def covariance(self, s: Any, t: Any) -> np.ndarray:
        """``E[B̂_s B̂_t]`` in closed form."""
        return markov_covariance(self.gammas, self.weights, s, t)

    def exact_covariance(self, s: Any, t: Any) -> np.ndarray:
        """The fBM covariance ``(s^{2H} + t^{2H} - |t - s|^{2H}) / 2`` it approximates."""
        return fbm_covariance(self.hurst, s, t)

    # -- exact sampling -----------------------------------------------------------------------------

    def sample(self, ts: Any, n_paths: int = 1, seed: int = 0, backend: str = "torch", dtype: Any = "float64",
               device: Any = None) -> Any:
        """Paths of ``B̂`` at the times ``ts`` (exact Gaussian law), shape ``(len(ts), n_paths)``."""
        times = _times(ts)
        if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
            raise InputError(f"n_paths must be a positive int, got {n_paths!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputTypeError(f"seed must be a non-negative int, got {seed!r}")
        factor = _psd_factor(self.covariance(times[:, None], times[None, :]))
        z = _normals(backend, seed, (len(times), int(n_paths)), dtype, device)
        return _matmul(factor, z)

    # -- as the noise of an SDE ---------------------------------------------------------------------

    def driven_sde(self, drift: Any = None, diffusion: Any = None, kind: str = "stratonovich") -> Any:
        """The SDE ``dX = f(t, X) dt + g(t, X) dB̂`` made Markov by carrying the OU components.

        The state has shape ``(..., d, 1 + K)``: ``[..., 0]`` is ``X`` and ``[..., 1:]`` the OU
        processes of each coordinate (built by :meth:`initial_state`); every coordinate has its own
        fractional noise. With ``dB̂ = Σ ω_k (-γ_k Y^k dt + dW)``, the system is
        ``dX = (f - g Σ ω_k γ_k Y^k) dt + g Σ ω_k dW``, ``dY^k = -γ_k Y^k dt + dW``: scalar noise per
        coordinate (``W`` of shape ``(..., d, 1)``), solvable by :func:`stochflow.sde.solve`.
        Explicit solvers need ``dt`` well below ``1 / max(gammas)`` (or build with fewer/slower speeds).

        Parameters
        ----------
        drift, diffusion
            ``f(t, x)`` and ``g(t, x)`` on ``x`` of shape ``(..., d)`` (default ``0`` and ``1``:
            ``X - X_0`` is then ``B̂`` itself).
        kind
            ``"stratonovich"`` (the pathwise limit of smooth noise; default) or ``"ito"``.
        """
        import stochflow.sde as sde

        if drift is not None and not callable(drift) or diffusion is not None and not callable(diffusion):
            raise InputTypeError("drift and diffusion must be callables f(t, x) or None")
        gam, w = self.gammas, self.weights
        w_sum = float(np.sum(w))
        coef = w * gam

        def f(t, y):
            x, ys = y[..., 0], y[..., 1:]
            fx = 0 * x if drift is None else drift(t, x)
            gx = 1 + 0 * x if diffusion is None else diffusion(t, x)
            pull = (ys * _like(coef, ys)).sum(-1)
            return _cat(fx - gx * pull, -ys * _like(gam, ys))

        def g(t, y):
            x = y[..., 0]
            gx = 1 + 0 * x if diffusion is None else diffusion(t, x)
            return _cat(gx * w_sum, 1 + 0 * y[..., 1:])

        return sde.SDE(drift=f, diffusion=g, noise="scalar", kind=kind)

    def initial_state(self, x0: Any, seed: int = 0) -> Any:
        """``x0`` of shape ``(..., d)`` with stationary OU components appended: ``(..., d, 1 + K)``."""
        factor = _psd_factor(stationary_covariance(self.gammas))
        backend = "jax" if type(x0).__module__.startswith("jax") else "torch"
        if backend == "torch" and not type(x0).__module__.startswith("torch"):
            raise InputTypeError(f"x0 must be a torch.Tensor or a jax.Array, got {type(x0).__name__}")
        dtype = x0.dtype
        z = _normals(backend, seed, (int(np.prod(x0.shape)), self.n_terms), dtype,
                     getattr(x0, "device", None) if backend == "torch" else None)
        ys = _matmul(z, factor.T).reshape(*x0.shape, self.n_terms)
        return _cat(x0[..., None], ys)

    def __repr__(self) -> str:
        return f"MarkovFBM(hurst={self.hurst}, n_terms={self.n_terms}, horizon={self.horizon})"


def _normals(backend: str, seed: int, shape: tuple[int, ...], dtype: Any, device: Any) -> Any:
    name = str(dtype).replace("torch.", "")
    if backend == "torch":
        import torch

        dt = getattr(torch, name, None)
        if not isinstance(dt, torch.dtype) or not dt.is_floating_point:
            raise InputError(f"dtype must be a floating dtype, got {dtype!r}")
        gen = torch.Generator(device=device or "cpu").manual_seed(int(seed))
        return torch.randn(shape, generator=gen, dtype=dt, device=device)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        try:
            dt = jnp.dtype(np.dtype(dtype).name if not isinstance(dtype, str) else dtype)
        except TypeError as exc:
            raise InputError(f"dtype must be a floating dtype, got {dtype!r}") from exc
        if not jnp.issubdtype(dt, jnp.floating):
            raise InputError(f"dtype must be a floating dtype, got {dtype!r}")
        return jax.random.normal(jax.random.PRNGKey(int(seed)), shape, dt)
    raise InputError(f"backend must be 'torch' or 'jax', got {backend!r}")


def _matmul(a: Any, b: Any) -> Any:
    """``a @ b`` where one side is a numpy matrix, in the other side's framework and dtype."""
    arr = b if isinstance(a, np.ndarray) else a
    mat = a if isinstance(a, np.ndarray) else b
    if type(arr).__module__.startswith("torch"):
        import torch

        m = torch.as_tensor(mat, dtype=arr.dtype, device=arr.device)
    else:
        import jax.numpy as jnp

        m = jnp.asarray(mat, dtype=arr.dtype)
    return m @ arr if isinstance(a, np.ndarray) else arr @ m


def _like(v: np.ndarray, ref: Any) -> Any:
    if type(ref).__module__.startswith("torch"):
        import torch

        return torch.as_tensor(v, dtype=ref.dtype, device=ref.device)
    import jax.numpy as jnp

    return jnp.asarray(v, dtype=ref.dtype)


def _cat(x: Any, ys: Any) -> Any:
    if type(ys).__module__.startswith("torch"):
        import torch

        if x.ndim < ys.ndim:
            x = x[..., None]
        return torch.cat([x, ys], -1)
    import jax.numpy as jnp

    if x.ndim < ys.ndim:
        x = x[..., None]
    return jnp.concatenate([x, ys], -1)
