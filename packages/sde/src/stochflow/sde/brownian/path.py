"""``BrownianPath``: the fast path for fixed-grid solves, every increment drawn in one call."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stochflow.core.errors import InputError
from stochflow.sde.brownian._backend import check_shape, flat_size, make_ops
from stochflow.sde.brownian._common import as_time, check_grid, check_query
from stochflow.sde.brownian.levy import LEVY_AREAS, LevyIncrement, concat_matrices, n_quantities, unit_scale


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
    With standard normals ``Z`` of shape ``(m, n_steps, *shape)`` from the seed, step ``k`` has
    ``dW = sqrt(dt_k) Z[0, k]``, ``H = sqrt(dt_k / 12) Z[1, k]``, ``K = sqrt(dt_k / 720) Z[2, k]``.
    Queries must fall on grid points; coarser grids made of grid points get the exact combined
    increments and Lévy areas. For queries anywhere use :class:`VirtualBrownianTree`.

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
        n = len(g) - 1
        z = self._ops.normals_flat((self.m, n, *self.shape))
        sq = self._ops.asarray(np.sqrt(np.diff(g))).reshape(n, *[1] * len(self.shape))
        scale = unit_scale(self.m)
        self._values = [z[k] * sq * float(scale[k]) for k in range(self.m)]

    def _record(self, values: list, levy: bool) -> Any:
        if not levy:
            return values[0]
        if self.m == 1:
            raise InputError("levy=True needs the Lévy area: build the path with levy_area='space-time'")
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

    def __repr__(self) -> str:
        return (f"BrownianPath(steps={len(self.grid) - 1}, t0={self.t0}, t1={self.t1}, shape={self.shape}, "
                f"levy_area={self.levy_area!r}, backend={self.backend!r})")
