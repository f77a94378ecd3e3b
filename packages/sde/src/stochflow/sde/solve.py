"""``solve``: integrate an SDE (or ODE) on torch or JAX.

On a fixed grid, the grid is every output time in ``ts`` with each interval cut into equal steps no
longer than ``dt``. Brownian increments over the whole grid are read in one call
(``grid_increments``), then a thin driver applies the method's single step definition: a Python
loop for torch (autograd records it), a ``jax.lax.scan`` under ``jax.jit`` for JAX. Adaptive
stepping lives in :mod:`stochflow.sde.adaptive`, the ODE adjoint in :mod:`stochflow.sde.adjoint`.
"""

from __future__ import annotations

import math
import types
import weakref
from collections import OrderedDict
from typing import Any

import numpy as np

from stochflow.core.errors import InputError, InputTypeError
from stochflow.sde._xp import backend_of, namespace
from stochflow.sde.brownian.levy import missing_levy_area
from stochflow.sde.methods import Method, check_applies, get_method
from stochflow.sde.processes import SDE


def make_grid(ts: np.ndarray, dt: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Cut each interval of ``ts`` into equal steps no longer than ``dt``.

    Returns
    -------
    grid
        All step boundaries (float64), starting at ``ts[0]`` and containing every ``ts[i]``.
    out_index
        Positions of ``ts`` in ``grid``.
    """
    if dt is None:
        return ts.copy(), np.arange(len(ts))
    pieces, out = [ts[:1]], [0]
    for a, b in zip(ts[:-1], ts[1:]):
        n = max(1, int(math.ceil((b - a) / dt - 1e-9)))
        pieces.append(np.linspace(a, b, n + 1)[1:])
        out.append(out[-1] + n)
    return np.concatenate(pieces), np.asarray(out)


def noise_shape(sde: SDE, y_shape: tuple[int, ...], g_shape: tuple[int, ...] | None) -> tuple[int, ...]:
    """Shape of the Brownian motion driving ``sde`` for a state of shape ``y_shape``."""
    if sde.is_ode:
        return tuple(y_shape)
    if sde.noise == "scalar":
        return (*y_shape[:-1], 1)
    if sde.noise == "general" or (sde.noise == "additive" and len(g_shape) == len(y_shape) + 1):
        return (*y_shape[:-1], g_shape[-1])
    return tuple(y_shape)


_CHECKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check_shapes(sde: SDE, y0: Any, t0: float) -> tuple[int, ...]:
    """Evaluate drift and diffusion once on ``y0`` (shapes only on JAX) and return the noise shape;
    remembered per process, state shape and dtype, so repeated solves do not pay for it again."""
    key = (tuple(y0.shape), y0.dtype, str(getattr(y0, "device", "")))
    try:
        seen = _CHECKED.setdefault(sde, {})
    except TypeError:  # not weak-referenceable: check every time
        seen = {}
    if key not in seen:
        if backend_of(y0) == "jax":
            import jax

            spec = jax.ShapeDtypeStruct(y0.shape, y0.dtype)
            seen[key] = _check_shapes_of(sde, spec, t0, lambda fn, y: jax.eval_shape(fn, y))
        else:
            seen[key] = _check_shapes_of(sde, y0, t0, lambda fn, y: fn(y))
    return seen[key]


def _check_shapes_of(sde: SDE, y0: Any, t0: float, evaluate: Any) -> tuple[int, ...]:
    fy = evaluate(lambda y: sde.f(t0, y), y0)
    if tuple(fy.shape) != tuple(y0.shape):
        raise InputError(f"drift(t, y) returned shape {tuple(fy.shape)} for y0 of shape {tuple(y0.shape)}; "
                         "the drift must return an array of y's shape")
    if sde.is_ode:
        return tuple(y0.shape)
    gy = evaluate(lambda y: sde.g(t0, y), y0)
    ys, gs = tuple(y0.shape), tuple(gy.shape)
    matrix = sde.noise == "general" or (sde.noise == "additive" and len(gs) == len(ys) + 1)
    if matrix:
        if len(gs) != len(ys) + 1 or gs[:-1] != ys:
            raise InputError(f"{sde.noise} noise: diffusion(t, y) must have shape (*y.shape, m) = "
                             f"({', '.join(map(str, ys))}, m), got {gs}")
    elif gs != ys:
        raise InputError(f"{sde.noise} noise: diffusion(t, y) must have y's shape {ys}, got {gs}"
                         + ("; for a matrix diffusion use noise='general'" if len(gs) == len(ys) + 1 else ""))
    return noise_shape(sde, ys, gs)


def _default_path(grid: np.ndarray, shape: tuple[int, ...], seed: Any, like: Any, levy: bool) -> Any:
    from stochflow.sde.brownian import BrownianPath  # noqa: PLC0415

    backend = backend_of(like)
    return BrownianPath(grid, shape, seed, dtype=like.dtype, device=like.device if backend == "torch" else None,
                        backend=backend, levy_area="space-time" if levy else None)


def read_increments(brownian: Any, grid: np.ndarray, levy: bool) -> tuple[Any, Any]:
    """Increments ``(dW, H)`` of a Brownian object over ``grid``, in one call where it offers one."""
    if hasattr(brownian, "grid_increments"):
        out = brownian.grid_increments(grid, levy=levy)
        return (out.W, out.H) if levy else (out, None)
    if levy:
        raise missing_levy_area()
    import torch

    return torch.stack([brownian(float(a), float(b)) for a, b in zip(grid[:-1], grid[1:])]), None


def _torch_drive(sde, method, y0, steps, dw, h):
    xp = namespace("torch")
    ts = steps.grid.tolist()
    out = set(steps.out_index.tolist())
    step = method.step
    state = y0 if method.init is None else method.init(sde, ts[0], y0, xp)
    read = method.read or (lambda s: s)
    ys = [y0]
    dws = dw.unbind(0)  # one call for all per-step views
    hs = [None] * len(dws) if h is None else h.unbind(0)
    for k in range(len(ts) - 1):
        state = step(sde, ts[k], ts[k + 1] - ts[k], state, dws[k], hs[k], xp)
        if k + 1 in out:
            ys.append(read(state))
    import torch

    return torch.stack(ys)


class _Steps:
    """The step grid of one ``(ts, dt)`` and the arrays the drivers read, built once and cached.

    ``slot[k]`` is the output row step ``k`` writes (``n_out + 1``, a spare row, when none); ``per``
    is the number of steps of every output interval when they are all equal, else ``0``.
    """

    def __init__(self, times: np.ndarray, dt: float | None) -> None:
        self.grid, self.out_index = make_grid(times, dt)
        n = len(self.grid) - 1
        self.n_out = len(self.out_index) - 1
        counts = np.diff(self.out_index)
        self.per = int(counts[0]) if np.all(counts == counts[0]) else 0
        self.slot = np.full(n, self.n_out + 1, dtype=np.int32)
        self.slot[self.out_index[1:] - 1] = np.arange(1, self.n_out + 1, dtype=np.int32)
        self.sqrt_dt = np.sqrt(np.diff(self.grid))
        self._jax: dict[Any, tuple] = {}

    def jax_arrays(self, dtype: Any, traced: bool) -> tuple:
        """``(t, dt, step numbers, sqrt(dt), slot)`` for the JAX driver in ``dtype``: device arrays made
        once (numpy constants while an outer ``jax.jit`` traces, so no tracer is kept)."""
        got = self._jax.get(dtype)
        if got is None:
            dt = np.dtype(dtype)
            got = (self.grid[:-1].astype(dt), np.diff(self.grid).astype(dt),
                   np.arange(len(self.grid) - 1, dtype=np.uint32), self.sqrt_dt.astype(dt), self.slot)
            if traced:
                return got
            import jax  # noqa: PLC0415

            got = self._jax[dtype] = tuple(jax.device_put(a) for a in got)
        return got


_CACHE_SIZE = 64
_STEPS: OrderedDict[Any, _Steps] = OrderedDict()
_JAX_CACHE: OrderedDict[Any, Any] = OrderedDict()


def _cached(cache: OrderedDict, key: Any, build: Any) -> Any:
    """``cache[key]``, built by ``build()`` when missing; the least recently used entry goes past
    ``_CACHE_SIZE`` (the grids of :func:`_steps` and the compiled programs of :func:`_jax_program`)."""
    got = cache.get(key)
    if got is not None:
        cache.move_to_end(key)
        return got
    got = cache[key] = build()
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return got


def _steps(times: np.ndarray, dt: float | None) -> _Steps:
    return _cached(_STEPS, (times.tobytes(), dt), lambda: _Steps(times, dt))
JAX_DRAW_ALL_LIMIT = 1 << 21
"""Steps x normals per step up to which the JAX driver draws a seeded path's normals in one vectorised
call before its scan (fastest for small problems); above it each step draws inside the scan. The
numbers are the same either way."""


_PLAIN = (bool, int, float, complex, str, type(None))


def _fingerprint(sde: SDE) -> tuple:
    """The SDE's class and attributes as a hashable key, so a changed parameter (``gbm.sigma = 0.3``)
    or a replaced callable gets a fresh compiled driver, and a new object equal to a cached one
    (``solve(sde.GBM(0.5, 0.8), ...)`` in a loop) reuses it. Plain values count by value; a Python
    function by its code and what its closure holds (the SDE itself, as the built-in processes'
    lambdas do, plain values, or identities); anything else by identity. The cache keeps the first
    such object alive, hence everything compared by identity, so no identity is reused by another
    object while its entry exists."""
    return (type(sde),) + tuple((k, _value_key(v, sde)) for k, v in vars(sde).items())


def _value_key(v: Any, sde: SDE) -> Any:
    if isinstance(v, _PLAIN):
        return v
    if v is sde:
        return "<the SDE>"
    if isinstance(v, types.FunctionType):
        try:
            cells = tuple(_value_key(c.cell_contents, sde) for c in v.__closure__ or ())
        except ValueError:  # an empty cell: fall back to identity
            return id(v)
        defaults = tuple(_value_key(d, sde) for d in v.__defaults__ or ())
        return (v.__code__, cells, defaults)
    return id(v)


def _jax_program(sde, method, levy, draw, in_scan):
    """The jitted ``lax.scan`` driver for one SDE (and its parameters), method and noise source,
    built once: a repeat ``solve`` is one dispatch of it."""
    key = (_fingerprint(sde), method.name, levy, draw, in_scan)
    return _cached(_JAX_CACHE, key, lambda: _build_jax_program(sde, method, levy, draw, in_scan))[1]


def _build_jax_program(sde, method, levy, draw, in_scan):
    import jax
    import jax.numpy as jnp

    from stochflow.sde.brownian.path import jax_step_flat  # noqa: PLC0415

    xp = namespace("jax")
    step = method.step
    read = method.read or (lambda s: s)

    def run(y0, t, dt, noise, slot, rng, n_out, per):
        # The scan carries every state leaf flattened to 1-D and the step sees the true shapes
        # (reshapes are free): XLA's CPU loops over (B, d) carries with a small d run ~2x slower.
        state0 = y0 if method.init is None else method.init(sde, t[0], y0, xp)
        shapes = jax.tree_util.tree_map(jnp.shape, state0)
        flat = lambda s: jax.tree_util.tree_map(jnp.ravel, s)  # noqa: E731
        unflat = lambda s: jax.tree_util.tree_map(jnp.reshape, s, shapes)  # noqa: E731

        if draw is not None and not in_scan:  # small: every step's normals in one vectorised draw first
            noise = jax.vmap(lambda k, sq: jax_step_flat(rng, k, sq, *draw))(*noise)

        def one(state, inp):
            t, dt, noise = inp
            if draw is None:
                dw, h = noise
            else:  # a seeded path: each step draws its normals here (large) or reads the vectorised draw
                z = (jax_step_flat(rng, *noise, *draw) if in_scan else noise).reshape(draw[0], *draw[1])
                dw, h = z[0], (z[1] if levy else None)
            return flat(step(sde, t, dt, unflat(state), dw, h, xp)), None

        if per:  # every output interval has `per` steps: an inner scan per interval, outputs as scan ys
            xs = jax.tree_util.tree_map(lambda a: a.reshape(n_out, per, *a.shape[1:]), (t, dt, noise))

            def interval(state, inp):
                state = jax.lax.scan(one, state, inp)[0]
                return state, read(unflat(state)).ravel()

            ys = jax.lax.scan(interval, flat(state0), xs)[1]
            return jnp.concatenate([y0.reshape(1, -1), ys]).reshape(n_out + 1, *y0.shape)
        buf = jnp.zeros((n_out + 2, y0.size), y0.dtype).at[0].set(y0.ravel())

        def body(carry, inp):  # uneven intervals: write each step's state to its slot (a spare row if none)
            state, buf = carry
            state = one(state, inp[:3])[0]
            return (state, jax.lax.dynamic_update_index_in_dim(buf, read(unflat(state)).ravel(), inp[3], 0)), None

        buf = jax.lax.scan(body, (flat(state0), buf), (t, dt, noise, slot))[0][1]
        return buf[:-1].reshape(n_out + 1, *y0.shape)

    return sde, jax.jit(run, static_argnums=(6, 7))  # the entry holds the SDE the program closes over


def _jax_drive(sde, method, y0, steps, dw, h, *, key=None, m=1, shape=None, path=None):
    """Run the jitted ``lax.scan`` driver over ``steps`` (a :class:`_Steps`) with the increments
    ``dw``/``h``, or, given ``key`` (and ``m``, ``shape``), with the JAX ``BrownianPath`` of that key on
    this grid: step ``k`` draws ``normal(fold_in(key, k), (m * size,))``
    (:func:`~stochflow.sde.brownian.path.jax_step_flat`), in the scan or in one vectorised draw before
    it. ``path``: a JAX ``BrownianPath`` built on its own (equal) grid, whose dtype and step roots
    the draws then use."""
    dtype = y0.dtype
    t, dt, k, sq, slot = steps.jax_arrays(dtype, _is_traced(y0))
    if key is None:
        fn = _jax_program(sde, method, h is not None, None, False)
        return fn(y0, t, dt, (dw, h), slot, None, steps.n_out, steps.per)
    n = len(steps.grid) - 1
    in_scan = n * m * math.prod(shape) > JAX_DRAW_ALL_LIMIT
    if path is not None:
        dtype = np.dtype(path.dtype)
        sq = path._sqrt_dt.astype(dtype)
    fn = _jax_program(sde, method, method.levy, (m, shape, dtype), in_scan)
    return fn(y0, t, dt, (k, sq), slot, key, steps.n_out, steps.per)


def _as_times(ts: Any) -> np.ndarray:
    try:
        arr = np.asarray(ts.detach().cpu() if hasattr(ts, "detach") else ts, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001
        raise InputTypeError(f"ts must be a 1-D array of times (concrete, not traced), got {type(ts).__name__}") from exc
    if arr.ndim != 1 or len(arr) < 2:
        raise InputError(f"ts must be 1-D with at least two times, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or not np.all(np.diff(arr) > 0):
        raise InputError("ts must be finite and strictly increasing; sort it and drop duplicates")
    return arr


def solve(process: SDE, y0: Any, ts: Any, solver: str = "euler", dt: float | None = None, *,
          brownian: Any = None, seed: int = 0, adaptive: bool = False, rtol: float = 1e-3,
          atol: float = 1e-6, controller: Any = None, adjoint: bool = False,
          adjoint_params: Any = None) -> Any:
    """Solve an SDE (or ODE) from ``y0`` and return the states at the times ``ts``.

    Parameters
    ----------
    process
        A :class:`~stochflow.sde.SDE` (or built-in process).
    y0
        Initial state, a ``torch.Tensor`` or ``jax.Array`` of shape ``(..., d)``. The output follows
        its framework, dtype and device.
    ts
        Strictly increasing output times (1-D; concrete values, also under ``jax.jit``).
    solver
        Method name (see :data:`stochflow.sde.methods.METHODS` or ``stochflow list solvers``).
    dt
        Largest step; each interval of ``ts`` is cut into equal steps. ``None`` steps on ``ts``.
    brownian
        A Brownian object (``BrownianPath``, ``VirtualBrownianTree``) to read increments from; by
        default a fixed-grid path is drawn from ``seed`` in one call.
    seed
        Seed of the default Brownian path.
    adaptive, rtol, atol, controller
        With ``adaptive=True`` the step size follows a PID controller
        (:class:`~stochflow.sde.adaptive.PIDController`, default per ODE/SDE) so that each step's
        error estimate, scaled by ``atol + rtol |y|``, stays below one; ``dt`` is then the first
        step (optional) and ``ts`` are hit exactly. ``dopri5`` uses its embedded estimate, other
        methods step doubling. SDEs need ``brownian=`` answering arbitrary queries ``bm(s, t)``
        (a ``VirtualBrownianTree``; one is built from ``seed`` when omitted), so that rejected
        steps reuse the same path. See :func:`stochflow.sde.adaptive.solve_adaptive` for step counts.
    adjoint, adjoint_params
        ODEs on torch only: ``adjoint=True`` computes gradients by integrating the adjoint ODE
        backwards instead of storing the forward graph (memory independent of the number of
        steps). Gradients flow to ``y0`` and to ``adjoint_params`` (default: the parameters of the
        drift when it is a ``torch.nn.Module``).

    Returns
    -------
    array
        Shape ``(len(ts), *y0.shape)``.

    Raises
    ------
    InputError
        Bad times or step, non-finite ``y0``, shape mismatches between ``y0``, drift and diffusion,
        or a solver that does not apply to the process (noise type, calculus).
    """
    if not isinstance(process, SDE):
        raise InputTypeError(f"process must be a stochflow.sde.SDE, got {type(process).__name__}; "
                             "wrap callables as SDE(drift=f, diffusion=g, noise=..., kind=...)")
    backend = backend_of(y0)
    if backend == "other":
        raise InputTypeError(f"y0 must be a torch.Tensor or a jax.Array, got {type(y0).__name__}")
    method: Method = get_method(solver)
    check_applies(method, process)
    times = _as_times(ts)
    if dt is not None and (not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0):
        raise InputError(f"dt must be a positive finite number (or None to step on ts), got {dt!r}")
    if adaptive or adjoint:
        _check_tolerances(rtol, atol, controller)
    if adjoint:
        adjoint_params = _check_adjoint(process, y0, adjoint_params)
    if y0.ndim < 1 or not _is_floating(y0):
        raise InputError(f"y0 must be a floating array of shape (..., d), got shape {tuple(y0.shape)}, "
                         f"dtype {y0.dtype}")
    if not _is_traced(y0) and not _all_finite(y0):
        raise InputError("y0 contains NaN or inf; pass finite initial states")
    w_shape = _check_shapes(process, y0, float(times[0]))
    if adjoint:
        from stochflow.sde.adjoint import solve_adjoint  # noqa: PLC0415

        return solve_adjoint(process, method, y0, times, dt, adaptive=adaptive, rtol=rtol, atol=atol,
                             controller=controller, params=adjoint_params)
    if adaptive:
        from stochflow.sde.adaptive import solve_adaptive  # noqa: PLC0415

        if not process.is_ode:
            brownian = _adaptive_brownian(brownian, times, w_shape, seed, y0, method.levy)
        return solve_adaptive(process, method, y0, times, rtol=rtol, atol=atol, dt0=dt, brownian=brownian,
                              controller=controller).ys
    steps = _steps(times, dt)
    grid = steps.grid
    drive = _torch_drive if backend == "torch" else _jax_drive
    if process.is_ode:
        return drive(process, method, y0, steps, _zeros_steps(y0, len(grid) - 1), None)
    if brownian is None and backend == "jax" and _plain_seed(seed):  # the default path, drawn in the driver
        from stochflow.sde.brownian._backend import seed_key  # noqa: PLC0415

        return _jax_drive(process, method, y0, steps, None, None, key=seed_key(int(seed)),
                          m=2 if method.levy else 1, shape=tuple(w_shape))
    if brownian is None:
        brownian = _default_path(grid, w_shape, seed, y0, method.levy)
    elif tuple(getattr(brownian, "shape", w_shape)) != tuple(w_shape):
        raise InputError(f"the Brownian object has shape {tuple(brownian.shape)}, but this SDE needs {w_shape}")
    if backend == "jax" and getattr(brownian, "in_scan", None) is not None and brownian.in_scan(grid):
        if method.levy and brownian.m == 1:
            raise missing_levy_area()
        return _jax_drive(process, method, y0, steps, None, None, key=brownian.key, m=brownian.m,
                          shape=brownian.shape, path=brownian)
    dw, h = read_increments(brownian, grid, method.levy)
    return drive(process, method, y0, steps, dw, h)


def _plain_seed(seed: Any) -> bool:
    return isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0


def _check_tolerances(rtol, atol, controller) -> None:
    from stochflow.sde.adaptive import PIDController  # noqa: PLC0415

    if not isinstance(rtol, (int, float)) or not math.isfinite(rtol) or rtol <= 0:
        raise InputError(f"rtol must be a positive finite number (e.g. 1e-3), got {rtol!r}")
    if not isinstance(atol, (int, float)) or not math.isfinite(atol) or atol < 0:
        raise InputError(f"atol must be a finite number >= 0 (e.g. 1e-6), got {atol!r}")
    if controller is not None and not isinstance(controller, PIDController):
        raise InputTypeError("controller must be a stochflow.sde.adaptive.PIDController, "
                             f"got {type(controller).__name__}")


def _check_adjoint(process, y0, params) -> tuple | None:
    if not process.is_ode:
        raise InputError("adjoint=True supports ODEs only (diffusion=None); for an SDE backpropagate through "
                         "solve (adjoint=False), e.g. with solver='reversible-heun'")
    if backend_of(y0) != "torch":
        raise InputError("adjoint=True is for torch; on JAX differentiate solve with jax.grad (adjoint=False)")
    if params is None:
        return None
    import torch

    if isinstance(params, torch.Tensor) or not hasattr(params, "__iter__"):
        raise InputTypeError("adjoint_params must be an iterable of torch tensors (e.g. module.parameters())")
    params = tuple(params)
    if not all(isinstance(p, torch.Tensor) for p in params):
        raise InputTypeError("adjoint_params must be an iterable of torch tensors (e.g. module.parameters())")
    return params


def _adaptive_brownian(brownian, times, w_shape, seed, y0, levy):
    if brownian is not None:
        if not callable(brownian) or _is_fixed_grid(brownian):
            raise InputError("adaptive SDE stepping queries bm(s, t) over arbitrary intervals; pass a "
                             "VirtualBrownianTree (or any callable Brownian object) as brownian= (a fixed-grid "
                             "BrownianPath answers only its own grid)")
        if tuple(getattr(brownian, "shape", w_shape)) != tuple(w_shape):
            raise InputError(f"the Brownian object has shape {tuple(brownian.shape)}, but this SDE needs {w_shape}")
        return brownian
    if _is_traced(y0):
        raise InputError("adaptive SDE stepping on JAX drives a Python loop (one jitted step each); call solve "
                         "outside jax.jit")
    try:
        from stochflow.sde.brownian import VirtualBrownianTree  # noqa: PLC0415
    except ImportError as exc:
        raise InputError("adaptive SDE stepping needs a Brownian object answering arbitrary queries "
                         "(stochflow.sde.brownian.VirtualBrownianTree), which is not installed; pass dt= for "
                         "a fixed step") from exc
    backend = backend_of(y0)
    kw = {"levy_area": "space-time"} if levy else {}
    if backend == "torch":
        kw.update(dtype=y0.dtype, device=y0.device)
    else:
        kw.update(dtype=y0.dtype, backend="jax")
    return VirtualBrownianTree(t0=float(times[0]), t1=float(times[-1]), shape=tuple(w_shape), seed=seed, **kw)


def _is_fixed_grid(brownian) -> bool:
    try:
        from stochflow.sde.brownian import BrownianPath  # noqa: PLC0415
    except ImportError:
        return False
    return isinstance(brownian, BrownianPath)


def _zeros_steps(y0, n):
    if backend_of(y0) == "torch":
        import torch

        return torch.zeros((n, *y0.shape), dtype=y0.dtype, device=y0.device)
    import jax.numpy as jnp

    return jnp.zeros((n, *y0.shape), y0.dtype)


def _is_floating(y0) -> bool:
    if backend_of(y0) == "torch":
        return y0.is_floating_point()
    import jax.numpy as jnp

    return jnp.issubdtype(y0.dtype, jnp.floating)


def _is_traced(y0) -> bool:
    if backend_of(y0) != "jax":
        return False
    import jax

    return isinstance(y0, jax.core.Tracer)


def _all_finite(y0) -> bool:
    """Whether ``y0`` is finite; a JAX array on the CPU is read through its zero-copy host view (no
    dispatch of a reduction)."""
    if backend_of(y0) == "torch":
        import torch

        return bool(torch.isfinite(y0).all())
    if getattr(y0, "is_fully_addressable", False) and all(d.platform == "cpu" for d in y0.devices()):
        return bool(np.isfinite(np.asarray(y0)).all())
    import jax.numpy as jnp

    return bool(jnp.isfinite(y0).all())
