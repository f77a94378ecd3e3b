"""``VirtualBrownianTree``: a whole Brownian path (and its Lévy areas) from one seed.

The construction is the single-seed virtual Brownian tree of Jelinčič, Foster, Kidger et al.
(arXiv 2405.06464): ``[t0, t1]`` is halved ``depth`` times (leaves no longer than ``tol``); the root
carries ``(W, H, K)`` over ``[t0, t1]`` and each node's halves are drawn from their exact
conditional law given the node (:func:`~stochflow.sde.brownian.levy.midpoint_split`), with normals
keyed on the node's address. A query ``[s, t]`` is tiled by at most two leaf pieces (a Brownian
bridge cut of a leaf, :func:`~stochflow.sde.brownian.levy.bridge_coefficients`) and the canonical
dyadic nodes between them; the result is the exact linear combination of the pieces
(:func:`~stochflow.sde.brownian.levy.concat_matrices`). So:

* the path is a function of the seed only: the same whatever the order of queries, across calls
  and instances;
* increments and Lévy areas have their exact joint law at query times whose leaves differ (times
  at least ``tol`` apart); inside one leaf the path is a fixed Brownian-bridge interpolation;
* memory is constant (a bounded cache), and a query costs ``O(log((t1 - t0)/tol))`` node splits at
  worst. Nodes are cached (least recently used), so sequential stepping reuses the path walked by the
  previous step and a step on a dyadic grid costs about one split;
* on JAX, traced query times (inside ``jax.jit``, ``lax.scan``, ``vmap``) are answered by a jittable
  descent over the same nodes, split matrices and keyed normals (:meth:`VirtualBrownianTree._traced_query`):
  both root-to-leaf paths walked in a ``lax.fori_loop``, the same numbers as the eager plan to rounding.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np

from stochflow.core.errors import InputError, InputTypeError
from stochflow.sde.brownian._backend import (
    address_hash,
    check_shape,
    flat_size,
    keyed_normal,
    level_hash,
    make_ops,
    mix_limbs,
)
from stochflow.sde.brownian._common import as_time, check_grid, check_interval, check_query
from stochflow.sde.brownian.levy import (
    LEVY_AREAS,
    LevyIncrement,
    bridge_coefficients,
    bridge_rows,
    concat_matrices,
    concat_rows,
    midpoint_split,
    missing_levy_area,
    n_quantities,
    unit_scale,
    within_matrices,
)

_ROOT, _SPLIT, _LEAF = 0, 1, 2
_NODE, _LEFT, _RIGHT = 0, 1, 2
MAX_DEPTH = 40


class VirtualBrownianTree:
    """A Brownian motion on ``[t0, t1]`` queried by interval, reproducible from one seed.

    Parameters
    ----------
    t0, t1
        The interval.
    shape
        Shape of the Brownian motion (e.g. ``(batch, d)``).
    seed
        Non-negative int (or a JAX PRNG key, which selects the JAX backend).
    dtype
        Floating dtype of the outputs (torch or JAX dtype, or a name such as ``"float32"``).
    device
        Torch device (torch backend only).
    tol
        Largest leaf length; increments are exact in law between times at least ``tol`` apart.
        Default ``(t1 - t0) * 2**-20``.
    levy_area
        ``"none"``, ``"space-time"`` (carry ``H``, needed by ``srk``/``sra1``) or
        ``"space-time-time"`` (carry ``H`` and ``K``). The path depends on this setting.
    backend
        ``"torch"``, ``"jax"`` or a JAX PRNG key.
    cache_size
        Nodes kept in the cache (default: up to 64 root-to-leaf paths within ~128 MB, at least two paths).

    Examples
    --------
    >>> import torch
    >>> bm = VirtualBrownianTree(0.0, 1.0, shape=(3, 2), seed=0, levy_area="space-time")
    >>> w = bm(0.25, 0.5)
    >>> (w.shape, torch.equal(w, bm(0.25, 0.5)))
    (torch.Size([3, 2]), True)
    >>> inc = bm(0.0, 1.0, levy=True)
    >>> bool(torch.allclose(inc.W, bm(0.0, 0.5) + bm(0.5, 1.0)))
    True
    """

    def __init__(self, t0: float = 0.0, t1: float = 1.0, shape: Any = (1,), seed: Any = 0,
                 dtype: Any = "float64", device: Any = None, tol: float | None = None,
                 levy_area: str | None = "none", backend: Any = "torch", cache_size: int | None = None) -> None:
        self.t0, self.t1 = check_interval(t0, t1)
        self.shape = check_shape(shape)
        self.m = n_quantities(levy_area)
        self.levy_area = LEVY_AREAS[self.m - 1]
        span = self.t1 - self.t0
        if tol is None:
            tol = span * 2.0**-20
        tol = as_time(tol, "tol")
        if tol <= 0:
            raise InputError(f"tol must be positive, got {tol}")
        depth = max(0, math.ceil(math.log2(span / tol) - 1e-12)) if tol < span else 0
        if depth > MAX_DEPTH:
            raise InputError(f"tol={tol} asks for {depth} levels of halving; use tol >= (t1 - t0) * 2**-{MAX_DEPTH}")
        self.tol, self.depth = tol, depth
        self._ops = make_ops(seed, dtype, device, backend)
        self.backend = self._ops.name
        self.dtype = self._ops.dtype
        self.device = getattr(self._ops, "device", None)
        self._n = flat_size(self.shape)
        self._leaves = 2**depth
        self._snap = max(1e-9, 64 * 2.0**-52 * self._leaves)
        per_node = self.m * self._n * 8
        if cache_size is None:
            cache_size = max(2 * (depth + 1), min(64 * (depth + 1), (128 << 20) // per_node))
        if not isinstance(cache_size, int) or cache_size < 1:
            raise InputError(f"cache_size must be a positive int, got {cache_size!r}")
        self._cache_size = cache_size
        self._cache: OrderedDict = OrderedDict()

    # -- the tree ---------------------------------------------------------------------------------

    def _remember(self, key: Any, value: Any) -> None:
        if self._ops.is_concrete(value if not isinstance(value, tuple) else value[0]):
            self._cache[key] = value
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _node(self, level: int, index: int) -> Any:
        """Values ``(m, N)`` of node ``(level, index)``."""
        key = (level, index)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        ops = self._ops
        if level == 0:
            scale = ops.asarray(unit_scale(self.m).reshape(-1, 1) * math.sqrt(self.t1 - self.t0), key="root")
            value = ops.normals(_ROOT, 0, 0, self.m, self._n) * scale
            self._remember(key, value)
            return value
        parent = self._node(level - 1, index >> 1)
        both = ops.mix(self._split_matrix(level - 1), parent, (_SPLIT, level - 1, index >> 1), self.m)
        left, right = ops.halves(both, self.m)
        self._remember((level, index & ~1), left)
        self._remember((level, index | 1), right)
        return right if index & 1 else left

    def _split_matrix(self, level: int) -> Any:
        """``[[ML, sqrt(h) LL], [PR + QR ML, sqrt(h) QR LL]]``: both halves of a level-``level`` node
        from ``[Y; z]`` in one product."""
        key = ("split", level)
        if key not in self._ops._mats:
            sp = midpoint_split(self.m)
            root_h = math.sqrt((self.t1 - self.t0) * 2.0**-level)
            mat = np.block([[sp.ML, root_h * sp.LL], [sp.PR + sp.QR @ sp.ML, root_h * sp.QR @ sp.LL]])
            self._ops.asarray(mat, key=key)
        return self._ops._mats[key]

    def _leaf_piece(self, index: int, alpha: float, side: int) -> Any:
        """The left (``[a, r]``) or right (``[r, b]``) piece of leaf ``index`` cut at ratio ``alpha``."""
        key = ("cut", index, alpha)
        hit = self._cache.get(key)
        if hit is None:
            ops = self._ops
            y = self._node(self.depth, index)
            mat = np.array(bridge_rows(alpha, self.m))
            mat[:, self.m:] *= math.sqrt((self.t1 - self.t0) / self._leaves)
            both = ops.mix(ops.asarray(mat), y, (_LEAF, self.depth, index), 2 * self.m)
            hit = ops.halves(both, self.m)
            self._remember(key, hit)
        else:
            self._cache.move_to_end(key)
        return hit[0] if side == _LEFT else hit[1]

    def _locate(self, u: float) -> tuple[int, float, bool]:
        """Leaf coordinate ``u`` -> ``(leaf or boundary index, ratio in the leaf, is a boundary)``."""
        r = round(u)
        if abs(u - r) <= self._snap:
            return int(r), 0.0, True
        f = min(int(math.floor(u)), self._leaves - 1)
        return f, u - f, False

    def _plan(self, s: float, t: float) -> list[tuple[int, int, int, float, np.ndarray]]:
        """Pieces ``(kind, level, index, alpha, G)`` with ``Y_[s,t] = Σ G Y_piece``."""
        scale = self._leaves / (self.t1 - self.t0)
        us, ut = (s - self.t0) * scale, (t - self.t0) * scale
        i_s, a_s, s_b = self._locate(us)
        i_t, a_t, t_b = self._locate(ut)
        d = self.depth
        if not s_b and not t_b and i_s == i_t:
            a, b = within_matrices(a_s, a_t, self.m)
            return [(_LEFT, d, i_t, a_t, a), (_LEFT, d, i_s, a_s, b)]
        pieces, starts, ends = [], [], []
        lo = i_s if s_b else i_s + 1
        hi = i_t
        if not s_b:
            pieces.append((_RIGHT, d, i_s, a_s))
            starts.append(us)
            ends.append(float(lo))
        i = lo
        while i < hi:
            size = (i & -i) if i else self._leaves
            while size > hi - i:
                size >>= 1
            pieces.append((_NODE, d - size.bit_length() + 1, i // size, 0.0))
            starts.append(float(i))
            ends.append(float(i + size))
            i += size
        if not t_b:
            pieces.append((_LEFT, d, i_t, a_t))
            starts.append(float(hi))
            ends.append(ut)
        span = ut - us
        rows = concat_rows([(a - us) / span for a in starts], [(b - a) / span for a, b in zip(starts, ends)], self.m)
        m = self.m
        return [(*p, [r[k * m:(k + 1) * m] for r in rows]) for k, p in enumerate(pieces)]

    def _piece(self, kind: int, level: int, index: int, alpha: float) -> Any:
        return self._node(level, index) if kind == _NODE else self._leaf_piece(index, alpha, kind)

    def _out(self, y: Any, levy: bool) -> Any:
        rows = [y[k].reshape(self.shape) for k in range(self.m)]
        if not levy:
            return rows[0]
        return LevyIncrement(rows[0], rows[1] if self.m > 1 else None, rows[2] if self.m > 2 else None)

    def _check_levy(self, levy: bool) -> None:
        if levy and self.m == 1:
            raise missing_levy_area()

    # -- queries ----------------------------------------------------------------------------------

    def __call__(self, s: Any, t: Any = None, levy: bool = False) -> Any:
        """The increment ``W_t - W_s`` (``bm(t)`` is ``W_t - W_{t0}``).

        With ``levy=True`` returns a :class:`LevyIncrement` ``(W, H, K)`` (``K`` only with
        ``levy_area="space-time-time"``). On the JAX backend the times may be traced (inside
        ``jax.jit``, ``lax.scan``, ``vmap``): the tree is then walked by a jittable fixed-depth descent
        giving the same numbers as concrete times (to float rounding). Traced times cannot be checked
        before the run: they are clipped into ``[t0, t1]`` and ``s > t`` gives NaN.
        """
        self._check_levy(levy)
        if t is None:
            s, t = self.t0, s
        if self.backend == "jax" and (self._ops.is_traced(s) or self._ops.is_traced(t)):
            return self._out(self._traced_query(s, t), levy)
        s, t = check_query(as_time(s, "s"), as_time(t, "t"), self.t0, self.t1)
        return self._out(self._query(s, t), levy)

    def _query(self, s: float, t: float) -> Any:
        """Values ``(m, N)`` over ``[s, t]`` (checked times)."""
        if s == t:
            return self._ops.zeros((self.m, self._n))
        plan = self._plan(s, t)
        if not plan:  # both ends snap to the same leaf boundary
            return self._ops.zeros((self.m, self._n))
        if len(plan) == 1 and plan[0][0] == _NODE:
            return self._piece(*plan[0][:4])
        ops = self._ops
        coef = np.concatenate([np.asarray(p[4]) for p in plan], axis=1)
        return ops.combine(ops.asarray(coef), [self._piece(*p[:4]) for p in plan])

    # -- traced queries (JAX) ----------------------------------------------------------------------

    def _check_traced(self, x: Any, name: str) -> Any:
        """A traced scalar time as an array of the widest float JAX has (errors at trace time)."""
        import jax  # noqa: PLC0415
        import jax.numpy as jnp  # noqa: PLC0415

        if isinstance(x, (int, float)) and not isinstance(x, bool):
            x = as_time(x, name)
        x = jnp.asarray(x)
        if x.shape != ():
            raise InputError(f"{name} must be a scalar time, got an array of shape {x.shape}; "
                             "use jax.vmap over the tree's call for many queries")
        if not (jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer)):
            raise InputTypeError(f"{name} must be a real number, got a traced {x.dtype} value")
        x64 = jax.config.jax_enable_x64
        if not x64 and self.depth > 30:
            raise InputError(f"traced query times with depth {self.depth} > 30 need 64-bit indices: set "
                             "jax.config.update('jax_enable_x64', True) or use a larger tol")
        return x.astype(jnp.float64 if x64 else jnp.float32)

    def _traced_tables(self) -> tuple:
        """Constants of the descent: split matrices per level, hash halves per level, root values' key."""
        key = ("traced",)
        if key not in self._ops._mats:
            d, m = self.depth, self.m
            split = np.stack([np.asarray(self._split_matrix(level)) for level in range(max(d, 1))])
            hashes = np.array([level_hash(0, _SPLIT, level) for level in range(max(d, 1))], dtype=object)
            hi = np.array([int(h) >> 32 for h in hashes], dtype=np.uint32)
            lo = np.array([int(h) & 0xFFFFFFFF for h in hashes], dtype=np.uint32)
            leaf = level_hash(0, _LEAF, d)
            root = address_hash(0, _ROOT, 0, 0)
            scale = np.asarray(unit_scale(m).reshape(-1, 1) * math.sqrt(self.t1 - self.t0), dtype=np.dtype(self.dtype))
            self._ops._mats[key] = (split, hi, lo, (leaf >> 32, leaf & 0xFFFFFFFF), (root >> 32, root & 0xFFFFFFFF),
                                    scale)
        return self._ops._mats[key]

    def _traced_query(self, s: Any, t: Any) -> Any:
        """Values ``(m, N)`` over ``[s, t]`` for traced times: the eager plan, walked as a jittable descent.

        The pieces of the eager plan (:meth:`_plan`) are the cut of the leaf holding ``s``, the cut of
        the leaf holding ``t`` and the maximal dyadic nodes between them; every such node is a child of
        a node on the root-to-leaf path of ``s`` or of ``t``. So both paths are walked from the root,
        one level per step of a ``lax.fori_loop`` (node values from the same split matrices and the same
        keyed normals as the eager tree), adding ``G_p Y_p`` for each child that is covered by the query
        while its parent is not; the leaf cuts use the same bridge coefficients at traced ratios.
        """
        import jax.numpy as jnp  # noqa: PLC0415
        from jax import lax  # noqa: PLC0415

        s, t = self._check_traced(s, "s"), self._check_traced(t, "t")
        ops, d, m, n, leaves = self._ops, self.depth, self.m, self._n, self._leaves
        dt = np.dtype(self.dtype)
        wide, itype = s.dtype, jnp.int64 if s.dtype == jnp.float64 else jnp.int32
        split, h_hi, h_lo, leaf_hash, root_hash, root_scale = self._traced_tables()
        split, h_hi, h_lo = jnp.asarray(split), jnp.asarray(h_hi), jnp.asarray(h_lo)
        bad = s > t
        s = jnp.clip(s, self.t0, self.t1)
        t = jnp.clip(jnp.maximum(t, s), self.t0, self.t1)
        scale = leaves / (self.t1 - self.t0)
        us, ut = (s - self.t0) * scale, (t - self.t0) * scale

        def locate(u):
            r = jnp.round(u)
            on = jnp.abs(u - r) <= self._snap
            f = jnp.minimum(jnp.floor(u), leaves - 1)
            return jnp.where(on, r, f).astype(itype), jnp.where(on, 0.0, u - f), on

        i_s, a_s, s_b = locate(us)
        i_t, a_t, t_b = locate(ut)
        same = ~s_b & ~t_b & (i_s == i_t)
        lo, hi = jnp.where(s_b, i_s, i_s + 1), i_t
        ls = jnp.clip(i_s, 0, leaves - 1)
        lt = jnp.clip(jnp.where(t_b, i_t - 1, i_t), 0, leaves - 1)
        span = jnp.where(ut > us, ut - us, 1.0)

        def gmats(starts, lengths):
            """``G`` of pieces at leaf coordinates ``[start, start + length]`` (stacked)."""
            return concat_matrices((starts - us) / span, lengths / span, m, jnp).astype(dt)

        def normals(h_hi_, h_lo_, index, rows):
            i_hi = (index >> 32).astype(jnp.uint32) if itype == jnp.int64 else jnp.uint32(0)
            a, b = mix_limbs(h_hi_ ^ i_hi, h_lo_ ^ index.astype(jnp.uint32))
            return keyed_normal(ops.key, a, b, rows, n, dt)

        def covered(level, index):
            size = jnp.left_shift(jnp.asarray(1, itype), jnp.asarray(d - level, itype))
            start = index * size
            size = jnp.broadcast_to(size, start.shape)
            return (lo <= start) & (start + size <= hi), start.astype(wide), size.astype(wide)

        root = keyed_normal(ops.key, np.uint32(root_hash[0]), np.uint32(root_hash[1]), m, n, dt) * root_scale
        whole, start0, size0 = covered(0, jnp.asarray(0, itype))
        acc = jnp.where(whole, gmats(start0[None], size0[None])[0] @ root, 0.0).astype(dt)

        def level_step(level, carry):
            ys, yt, acc = carry
            shift = jnp.asarray(d - level, itype)
            ps, pt = ls >> (shift + 1), lt >> (shift + 1)
            mat = split[level - 1]

            def children(y, p):
                z = normals(h_hi[level - 1], h_lo[level - 1], p, m)
                return jnp.matmul(mat, jnp.concatenate([y, z]))

            both_s = children(ys, ps)
            both_t = lax.cond(ps == pt, lambda: both_s, lambda: children(yt, pt))
            # the four children of the two path nodes; a child counts when covered and its parent is not
            # (the t-path's children only when its node differs from the s-path's)
            take, starts, sizes = covered(level, jnp.stack([2 * ps, 2 * ps + 1, 2 * pt, 2 * pt + 1]))
            parent_s, parent_t = covered(level - 1, jnp.stack([ps, pt]))[0]
            skip = jnp.stack([parent_s, parent_s, parent_t | (ps == pt), parent_t | (ps == pt)])
            kids = jnp.stack([both_s[:m], both_s[m:], both_t[:m], both_t[m:]])
            g = jnp.where((take & ~skip)[:, None, None], gmats(starts, sizes), 0.0)
            acc = acc + jnp.einsum("kij,kjn->in", g, kids)
            bit_s, bit_t = (ls >> shift) & 1, (lt >> shift) & 1
            return (jnp.where(bit_s == 1, both_s[m:], both_s[:m]), jnp.where(bit_t == 1, both_t[m:], both_t[:m]), acc)

        ys, yt, acc = lax.fori_loop(1, d + 1, level_step, (root, root, acc)) if d else (root, root, acc)

        # leaf cuts (the eager tree's bridge rows at traced ratios, same leaf normals): the right piece of
        # the s leaf, the left piece of the t leaf, and for both ends in one leaf the left piece at s
        safe_s, safe_t = jnp.where(same, a_s, 0.5), jnp.where(same, a_t, 1.0)
        br = bridge_coefficients(jnp.stack([a_s, jnp.where(t_b, 1.0, a_t), safe_s]), m, jnp)
        root_h = math.sqrt((self.t1 - self.t0) / leaves)
        mats = jnp.concatenate([jnp.stack([br.MR[0], br.ML[1], br.ML[2]]),
                                root_h * jnp.stack([br.NR[0], br.NL[1], br.NL[2]])], 2).astype(dt)
        z_s = normals(np.uint32(leaf_hash[0]), np.uint32(leaf_hash[1]), ls, 2 * m)
        z_t = normals(np.uint32(leaf_hash[0]), np.uint32(leaf_hash[1]), lt, 2 * m)
        right_s = jnp.matmul(mats[0], jnp.concatenate([ys, z_s]))
        left_t = jnp.matmul(mats[1], jnp.concatenate([yt, z_t]))
        left_s = jnp.matmul(mats[2], jnp.concatenate([ys, z_s]))  # used only when the leaves agree
        g = gmats(jnp.stack([us, hi.astype(wide)]), jnp.stack([lo.astype(wide) - us, ut - hi.astype(wide)]))
        acc = jnp.where(s_b, acc, acc + g[0] @ right_s)
        acc = jnp.where(t_b, acc, acc + g[1] @ left_t)
        wa, wb = within_matrices(safe_s, safe_t, m, jnp)
        inside = wa.astype(dt) @ left_t + wb.astype(dt) @ left_s
        out = jnp.where(same, inside, acc)
        out = jnp.where(us == ut, jnp.zeros_like(out), out)
        return jnp.where(bad, jnp.full_like(out, jnp.nan), out)

    def grid_increments(self, grid: Any, levy: bool = False) -> Any:
        """All increments over consecutive times of ``grid`` at once, shape ``(len(grid) - 1, *shape)``.

        The same numbers (to rounding) as ``[bm(a, b) for a, b in zip(grid[:-1], grid[1:])]``: for small
        torch arrays the tree is walked level by level for all steps at once, otherwise step by step
        through the node cache. With ``levy=True`` returns a :class:`LevyIncrement` of stacked arrays.
        """
        self._check_levy(levy)
        g = check_grid(grid, self.t0, self.t1)
        if self.backend == "jax" or self.m * self._n > 1 << 14:
            # one cached walk per step: fixed shapes (a handful of compiled kernels on JAX) and, for large
            # arrays, less memory traffic than gathering whole levels
            outs = [self._ops.stack([self._query(float(a), float(b)) for a, b in zip(g[:-1], g[1:])])]
        else:
            plans = [self._plan(float(a), float(b)) for a, b in zip(g[:-1], g[1:])]
            budget = max(1, (1 << 24) // (self.m * self._n))
            chunks, start, used = [], 0, 0
            for k, p in enumerate(plans):
                cost = len(p) + self.depth + 2
                if used and used + cost > budget:
                    chunks.append((start, k))
                    start, used = k, 0
                used += cost
            chunks.append((start, len(plans)))
            outs = [self._batch(plans[a:b]) for a, b in chunks]
        y = outs[0] if len(outs) == 1 else self._ops.cat(outs)
        n = len(g) - 1
        rows = [y[:, k].reshape(n, *self.shape) for k in range(self.m)]
        if not levy:
            return rows[0]
        return LevyIncrement(rows[0], rows[1] if self.m > 1 else None, rows[2] if self.m > 2 else None)

    def _batch(self, plans: list) -> Any:
        """Values ``(len(plans), m, N)`` of planned intervals, the tree walked level by level."""
        ops, d, m, n = self._ops, self.depth, self.m, self._n
        need: list[set] = [set() for _ in range(d + 1)]
        for plan in plans:
            for _kind, level, index, _, _ in plan:
                need[level].add(index)
        for level in range(d, 0, -1):
            need[level - 1].update(i >> 1 for i in need[level])
        idx = [np.array(sorted(s), dtype=np.int64) for s in need]
        vals = [None] * (d + 1)
        vals[0] = self._node(0, 0)[None]
        for level in range(1, d + 1):
            if not len(idx[level]):
                break
            parents, inverse = np.unique(idx[level] >> 1, return_inverse=True)
            y = ops.take(vals[level - 1], np.searchsorted(idx[level - 1], parents))
            z = ops.normals_many(_SPLIT, level - 1, parents, m, n)
            both = ops.take(ops.bmm(self._split_matrix(level - 1), ops.cat([y, z], 1)), inverse)
            vals[level] = ops.where(idx[level] & 1 == 1, both[:, m:], both[:, :m])
        flat = [(j, *p) for j, plan in enumerate(plans) for p in plan]
        kinds = np.array([f[1] for f in flat])
        owner = np.array([f[0] for f in flat])
        coef = np.stack([np.asarray(f[5]) for f in flat])
        parts, order = [], []
        node_rows = np.flatnonzero(kinds == _NODE)
        for level in range(d + 1):
            rows = node_rows[[flat[r][2] == level for r in node_rows]] if len(node_rows) else node_rows
            if len(rows):
                pos = np.searchsorted(idx[level], [flat[r][3] for r in rows])
                parts.append(ops.take(vals[level], pos))
                order.append(rows)
        cut_rows = np.flatnonzero(kinds != _NODE)
        if len(cut_rows):
            leaves = np.array([flat[r][3] for r in cut_rows])
            alphas = np.array([flat[r][4] for r in cut_rows])
            uniq, inv = np.unique(leaves, return_inverse=True)
            y = ops.take(ops.take(vals[d], np.searchsorted(idx[d], uniq)), inv)
            z = ops.take(ops.normals_many(_LEAF, d, uniq, 2 * m, n), inv)
            b = bridge_coefficients(alphas, m)
            is_left = (kinds[cut_rows] == _LEFT)[:, None, None]
            mm_, nn_ = np.where(is_left, b.ML, b.MR), np.where(is_left, b.NL, b.NR)
            root_h = math.sqrt((self.t1 - self.t0) / self._leaves)
            parts.append(ops.bmm(ops.asarray(mm_), y) + root_h * ops.bmm(ops.asarray(nn_), z))
            order.append(cut_rows)
        values = parts[0] if len(parts) == 1 else ops.cat(parts)
        perm = np.concatenate(order)
        weighted = ops.bmm(ops.asarray(coef[perm]), values)
        return ops.segment_sum(weighted, owner[perm], len(plans))

    def __repr__(self) -> str:
        return (f"VirtualBrownianTree(t0={self.t0}, t1={self.t1}, shape={self.shape}, levy_area={self.levy_area!r}, "
                f"tol={self.tol:g}, depth={self.depth}, backend={self.backend!r})")
