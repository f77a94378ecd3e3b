"""``BrownianPath``: the fast path for fixed-grid solves; ``draw_increments`` for given times.

On torch every increment is drawn in one call. On JAX step ``k`` reads its own normals, keyed by
``fold_in(key, k)``: the jitted ``solve`` driver draws them inside its ``lax.scan`` for large problems
(nothing of size ``steps x shape`` is materialised) or in one vectorised call for small ones, and
``grid_increments`` draws the same numbers for all steps at once. Either way the path is a function of the seed, the grid and the shape only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stochflow.core.errors import InputError, InputTypeError
from stochflow.sde.brownian._backend import check_shape, dtype_name, flat_size, jax_normal, make_ops
from stochflow.sde.brownian._common import as_time, check_grid, check_query
from stochflow.sde.brownian.levy import (
    LEVY_AREAS,
    LevyIncrement,
    concat_matrices,
    missing_levy_area,
    n_quantities,
    unit_scale,
)


class BrownianPath:
    """A Brownian motion known on a fixed grid: increments (and Lévy areas) of every step drawn at once.

    Parameters
    ----------
    grid
        Strictly increasing times.
    shape
        Shape of the Brownian motion.
    seed
        Non-negative int, or a JAX PRNG key (selects JAX).
    dtype, device, backend
        As for :class:`~stochflow.sde.brownian.VirtualBrownianTree`.
    levy_area
        ``None``/``"none"``, ``"space-time"`` or ``"space-time-time"``.

    Notes
    -----
    With standard normals ``Z`` from the seed, step ``k`` has ``dW = sqrt(dt_k) Z[0, k]``,
    ``H = sqrt(dt_k / 12) Z[1, k]``, ``K = sqrt(dt_k / 720) Z[2, k]``. On torch ``Z`` has shape
    ``(m, n_steps, *shape)`` and is drawn in one call from a generator seeded with ``seed``; on JAX
    ``Z[:, k] = jax.random.normal(fold_in(key, k), (m * size,)).reshape(m, *shape)`` (drawn step by
    step inside the jitted ``solve``; ``size`` is the number of elements of ``shape``). Queries must fall on grid points; coarser grids made of grid points get the
    exact combined increments and Lévy areas. For queries anywhere use :class:`VirtualBrownianTree`.
    :meth:`from_increments` wraps increments drawn elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> bm = BrownianPath(np.linspace(0, 1, 9), (4, 2), seed=0)
    >>> bm.grid_increments(np.linspace(0, 1, 9)).shape
    torch.Size([8, 4, 2])
    """

    def __init__(self, grid: Any, shape: Any, seed: Any = 0, dtype: Any = "float64", device: Any = None,
                 backend: Any = "torch", levy_area: str | None = None) -> None:
        self.shape = check_shape(shape)
        self.m = n_quantities(levy_area)
        self.levy_area = LEVY_AREAS[self.m - 1]
        self._ops = make_ops(seed, dtype, device, backend)
        g = check_grid(grid, -math.inf, math.inf)
        self.grid, self.t0, self.t1 = g, float(g[0]), float(g[-1])
        self.backend, self.dtype = self._ops.name, self._ops.dtype
        self.device = getattr(self._ops, "device", None)
        self._sqrt_dt = np.sqrt(np.diff(g))
        self._lazy_values: list | None = None
        if self.backend == "torch":  # one draw, scaled in place
            n = len(g) - 1
            z = self._ops.normals_flat((self.m, n, *self.shape))
            sq = self._ops.asarray(self._sqrt_dt).reshape(n, *[1] * len(self.shape))
            scale = unit_scale(self.m)
            self._lazy_values = [z[k].mul_(sq) if scale[k] == 1 else z[k].mul_(sq).mul_(float(scale[k]))
                                 for k in range(self.m)]

    @property
    def key(self) -> Any:
        """The JAX PRNG key data the normals are drawn from (``None`` on torch or from given increments)."""
        return self._ops.key if self.backend == "jax" and self._ops is not None else None

    @property
    def _values(self) -> list:
        if self._lazy_values is None:  # JAX: every step drawn at once, the same numbers as in-scan drawing
            z = _jax_all_steps(self.m, self.shape, str(self.dtype))(self._ops.key, self._ops.asarray(self._sqrt_dt))
            self._lazy_values = [z[:, q] for q in range(self.m)]
        return self._lazy_values

    @classmethod
    def from_increments(cls, grid: Any, dW: Any, H: Any = None, K: Any = None) -> BrownianPath:  # noqa: N803
        """A path known by its increments (and Lévy areas) over ``grid``, e.g. from :func:`draw_increments`.

        Parameters
        ----------
        grid
            Strictly increasing times, ``n + 1`` of them.
        dW
            Increments ``W(grid[k+1]) - W(grid[k])``, a torch tensor or JAX array of shape ``(n, *shape)``.
        H, K
            Optional space-time and space-time-time Lévy areas of the same shape (``K`` needs ``H``).

        Returns
        -------
        BrownianPath
            Answers ``grid_increments`` on ``grid`` (and coarser grids made of its points) and
            ``bm(s, t)`` for grid times, so ``solve(..., brownian=BrownianPath.from_increments(ts, dW))``
            integrates with exactly these increments.

        Raises
        ------
        InputError
            Shapes that disagree with the grid or with each other, or ``K`` without ``H``.
        """
        from stochflow.sde._xp import backend_of  # noqa: PLC0415

        g = check_grid(grid, -math.inf, math.inf)
        backend = backend_of(dW)
        if backend == "other":
            raise InputTypeError(f"dW must be a torch.Tensor or a jax.Array, got {type(dW).__name__}")
        n = len(g) - 1
        if dW.ndim < 2 or dW.shape[0] != n:
            raise InputError(f"dW must have shape (len(grid) - 1, *shape) = ({n}, ...), got {tuple(dW.shape)}")
        if K is not None and H is None:
            raise InputError("K (space-time-time Lévy area) needs H (space-time Lévy area) as well")
        values = [dW]
        for name, v in (("H", H), ("K", K)):
            if v is None:
                continue
            if backend_of(v) != backend or tuple(v.shape) != tuple(dW.shape) or v.dtype != dW.dtype:
                raise InputError(f"{name} must be an array like dW (same framework, shape {tuple(dW.shape)}, "
                                 f"dtype {dW.dtype}), got {type(v).__name__} of shape {tuple(v.shape)}")
            values.append(v)
        self = cls.__new__(cls)
        self.shape = tuple(int(s) for s in dW.shape[1:])
        self.m = len(values)
        self.levy_area = LEVY_AREAS[self.m - 1]
        device = dW.device if backend == "torch" else None
        self._ops = make_ops(0, dtype_name(dW.dtype), device, backend)
        self.grid, self.t0, self.t1 = g, float(g[0]), float(g[-1])
        self.backend, self.dtype, self.device = backend, self._ops.dtype, getattr(self._ops, "device", None)
        self._sqrt_dt = np.sqrt(np.diff(g))
        self._lazy_values = values
        self._given = True
        return self

    _given = False

    def _record(self, values: list, levy: bool) -> Any:
        if not levy:
            return values[0]
        if self.m == 1:
            raise missing_levy_area()
        return LevyIncrement(values[0], values[1], values[2] if self.m > 2 else None)

    def _positions(self, times: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(self.grid, times), 0, len(self.grid) - 1)
        near = np.where(np.abs(self.grid[np.maximum(pos - 1, 0)] - times) < np.abs(self.grid[pos] - times),
                        np.maximum(pos - 1, 0), pos)
        if np.any(np.abs(self.grid[near] - times) > 1e-12 * (self.t1 - self.t0)):
            raise InputError("BrownianPath knows its grid points only; query times on its grid (or a coarser grid "
                             "made of its points), or use VirtualBrownianTree for arbitrary times")
        return near

    def grid_increments(self, grid: Any, levy: bool = False) -> Any:
        """Increments over consecutive times of ``grid`` (its own grid or one made of its points).

        Returns ``dW`` of shape ``(len(grid) - 1, *shape)``, or with ``levy=True`` a
        :class:`LevyIncrement` of such arrays.
        """
        if self._same_grid(grid):  # the common case (solve on the path's own grid): no checks to redo
            return self._record(self._values, levy)
        g = check_grid(grid, self.t0, self.t1)
        if len(g) == len(self.grid) and np.allclose(g, self.grid, rtol=0, atol=1e-12 * (self.t1 - self.t0)):
            return self._record(self._values, levy)
        pos = self._positions(g)
        ops, n_fine = self._ops, len(self.grid) - 1
        nc = len(g) - 1
        owner = np.full(n_fine, -1)
        for j in range(nc):
            owner[pos[j]:pos[j + 1]] = j
        rows = np.flatnonzero(owner >= 0)
        if self.m == 1 or not levy:
            dw = ops.segment_sum(ops.take(self._values[0], rows), owner[rows], nc)
            return self._record([dw], levy)
        t_fine = self.grid
        start, length = t_fine[rows] - g[owner[rows]], np.diff(t_fine)[rows]
        span = np.diff(g)[owner[rows]]
        coef = concat_matrices(start / span, length / span, self.m)
        nflat = flat_size(self.shape)
        x = ops.stack([ops.take(v, rows).reshape(len(rows), nflat) for v in self._values])  # (m, P, N)
        x = x.permute(1, 0, 2) if ops.name == "torch" else x.transpose(1, 0, 2)
        y = ops.segment_sum(ops.bmm(ops.asarray(coef), x), owner[rows], nc)
        return self._record([y[:, k].reshape(nc, *self.shape) for k in range(self.m)], levy)

    def __call__(self, s: Any, t: Any = None, levy: bool = False) -> Any:
        """``W_t - W_s`` for grid times ``s <= t`` (``bm(t)`` is ``W_t - W_{t0}``)."""
        if t is None:
            s, t = self.t0, s
        s, t = check_query(as_time(s, "s"), as_time(t, "t"), self.t0, self.t1)
        if s == t:
            zero = self._ops.zeros(self.shape)
            return self._record([zero] * self.m, levy)
        out = self.grid_increments(np.array([s, t]), levy)
        if isinstance(out, LevyIncrement):
            return LevyIncrement(out.W[0], out.H[0], None if out.K is None else out.K[0])
        return out[0]

    def _same_grid(self, grid: Any) -> bool:
        return grid is self.grid or (isinstance(grid, np.ndarray) and grid.shape == self.grid.shape
                                     and np.array_equal(grid, self.grid))

    def in_scan(self, grid: np.ndarray) -> bool:
        """True when a jitted driver on ``grid`` may draw this path's steps itself (:func:`jax_step_values`)."""
        if self.backend != "jax" or self._given or len(grid) != len(self.grid):
            return False
        return self._same_grid(grid) or bool(np.allclose(grid, self.grid, rtol=0, atol=1e-12 * (self.t1 - self.t0)))

    def __repr__(self) -> str:
        return (f"BrownianPath(steps={len(self.grid) - 1}, t0={self.t0}, t1={self.t1}, shape={self.shape}, "
                f"levy_area={self.levy_area!r}, backend={self.backend!r})")


def jax_step_values(key: Any, k: Any, sqrt_dt: Any, m: int, shape: tuple[int, ...], dtype: Any) -> Any:
    """Step ``k`` of a JAX :class:`BrownianPath`: ``(dW, H, K)[:m]`` stacked, shape ``(m, *shape)``.

    ``Z = normal(fold_in(key, k), (m * size,)).reshape(m, *shape)`` scaled row by row by ``sqrt_dt`` and the unit
    standard deviations of ``(W, H, K)``; traceable (the solver's ``lax.scan`` calls it per step).
    """
    return jax_step_flat(key, k, sqrt_dt, m, shape, dtype).reshape(m, *shape)


def jax_step_flat(key: Any, k: Any, sqrt_dt: Any, m: int, shape: tuple[int, ...], dtype: Any) -> Any:
    """:func:`jax_step_values` flattened to shape ``(m * size,)`` (the layout the scan reads fastest)."""
    import jax

    n = flat_size(shape)
    z = jax_normal(jax.random.fold_in(key, k), m * n, dtype) * sqrt_dt.astype(dtype)
    if m > 1:
        z = (z.reshape(m, n) * np.asarray(unit_scale(m), dtype=np.dtype(dtype)).reshape(m, 1)).reshape(-1)
    return z


_JAX_ALL: dict[Any, Any] = {}


def _jax_all_steps(m: int, shape: tuple[int, ...], dtype: str) -> Any:
    """Jitted ``(key, sqrt_dt) -> (n, m, *shape)``: :func:`jax_step_values` for every step at once."""
    fn = _JAX_ALL.get((m, shape, dtype))
    if fn is None:
        import jax

        def run(key, sqrt_dt):
            k = np.arange(sqrt_dt.shape[0], dtype=np.uint32)
            return jax.vmap(lambda i, s: jax_step_values(key, i, s, m, shape, dtype))(k, sqrt_dt)

        fn = _JAX_ALL[(m, shape, dtype)] = jax.jit(run)
    return fn


def draw_increments(ts: Any, shape: Any, seed: Any = 0, *, dtype: Any = "float64", device: Any = None,
                    backend: Any = "torch", levy_area: str | None = None, like: Any = None) -> Any:
    """Brownian increments over consecutive times of ``ts``, drawn from ``seed``.

    The same numbers as ``BrownianPath(ts, shape, seed, ...).grid_increments(ts)``, hence as the
    path ``solve(..., seed=seed)`` draws on the grid ``ts`` (``solve`` with ``dt=None``, or ``ts`` the
    solve's step grid): ``solve(p, y0, ts, seed=s)`` equals
    ``solve(p, y0, ts, brownian=BrownianPath.from_increments(ts, draw_increments(ts, shape, s)))``.

    Parameters
    ----------
    ts
        Strictly increasing times (``n + 1`` of them).
    shape
        Shape of the Brownian motion, e.g. ``(batch, d)``.
    seed
        Non-negative int or a JAX PRNG key (selects JAX).
    dtype, device, backend
        Floating dtype, torch device, ``"torch"`` or ``"jax"``.
    levy_area
        ``None`` for the increments alone, or ``"space-time"``/``"space-time-time"``.
    like
        Optional torch tensor or JAX array whose framework, dtype and device the increments take
        (then ``dtype``, ``device`` and ``backend`` are not read), e.g. the ``y0`` of a solve.

    Returns
    -------
    array or LevyIncrement
        ``dW`` of shape ``(n, *shape)`` (``dW[k] ~ N(0, ts[k+1] - ts[k])``, independent), or with
        ``levy_area`` a :class:`LevyIncrement` of such arrays.

    Examples
    --------
    >>> dw = draw_increments([0.0, 0.5, 1.0], (4, 2), seed=0)
    >>> tuple(dw.shape)
    (2, 4, 2)
    """
    if like is not None:
        from stochflow.sde._xp import backend_of  # noqa: PLC0415

        backend = backend_of(like)
        if backend == "other":
            raise InputTypeError(f"like must be a torch.Tensor or a jax.Array, got {type(like).__name__}")
        dtype, device = like.dtype, (like.device if backend == "torch" else None)
    bm = BrownianPath(ts, shape, seed, dtype=dtype, device=device, backend=backend, levy_area=levy_area)
    return bm.grid_increments(bm.grid, levy=bm.m > 1)
