"""Adaptive stepping: a PID step-size controller around an error estimate.

The error of a step is an embedded estimate (``dopri5``: the 5th- minus the 4th-order solution)
or, for every other method, step doubling: one step of ``h`` against two of ``h/2`` (the two
half steps are kept). Either is measured in the scaled RMS norm
``sqrt(mean((e / (atol + rtol max(|y0|, |y1|)))^2))`` over the whole state (all paths of a batch
share one step size) and a step is accepted when it is at most 1. On JAX that mean is summed in a
fixed order, so a batch sharded over devices takes exactly the steps it takes on one device.

For SDEs the Brownian increments (and space-time Lévy areas) of a step are queries ``bm(s, t)``
of one Brownian object answering arbitrary intervals (a ``VirtualBrownianTree``): a rejected step
and its smaller retry, and the full and half steps of step doubling, all read the same path.

Drivers: a Python loop (torch, and JAX SDEs, whose attempt is one jitted function) and a
``jax.lax.while_loop`` under ``jax.jit`` for JAX ODEs (so ``solve`` stays jit-compatible there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stochflow.core.errors import InputError
from stochflow.sde._xp import backend_of, namespace
from stochflow.sde.brownian.levy import missing_levy_area
from stochflow.sde.methods import Method, dopri5_step


@dataclass(frozen=True)
class PIDController:
    """Step-size controller ``h_new = h * clip(safety * e_n^-b1 * e_{n-1}^-b2 * e_{n-2}^-b3)``.

    With ``k`` the order of the error estimate plus one, ``b1 = (pcoeff + icoeff + dcoeff) / k``,
    ``b2 = -(pcoeff + 2 dcoeff) / k``, ``b3 = dcoeff / k`` (Söderlind's PID filter in the form
    used by diffrax). ``pcoeff = dcoeff = 0``, ``icoeff = 1`` is the classic I-controller. A
    rejected step shrinks by the I-controller factor, at most ``safety``.

    Parameters
    ----------
    pcoeff, icoeff, dcoeff
        Proportional, integral and derivative coefficients.
    safety
        Factor applied to every proposal.
    factormin, factormax
        Bounds of the change of step size per step.
    dtmin, dtmax
        Bounds of the step size; a step below ``dtmin`` needed to meet the tolerance is an error.
    max_steps
        Most attempted steps (accepted and rejected) before giving up.
    """

    pcoeff: float = 0.0
    icoeff: float = 1.0
    dcoeff: float = 0.0
    safety: float = 0.9
    factormin: float = 0.2
    factormax: float = 10.0
    dtmin: float = 0.0
    dtmax: float = math.inf
    max_steps: int = 100_000

    def __post_init__(self) -> None:
        for name in ("pcoeff", "icoeff", "dcoeff"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(f"{name} must be a finite number, got {v!r}")
        if not 0 < self.safety <= 1:
            raise InputError(f"safety must lie in (0, 1], got {self.safety!r}")
        if not 0 < self.factormin < 1 < self.factormax:
            raise InputError(f"need 0 < factormin < 1 < factormax, got {self.factormin!r}, {self.factormax!r}")
        if not 0 <= self.dtmin < self.dtmax:
            raise InputError(f"need 0 <= dtmin < dtmax, got {self.dtmin!r}, {self.dtmax!r}")
        if not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise InputError(f"max_steps must be a positive integer, got {self.max_steps!r}")

    def factor(self, err: Any, prev: Any, prev2: Any, k: float, accepted: Any, xp: Any) -> Any:
        """Multiplier of the step size after an attempt with scaled error ``err``.

        ``err``, ``prev``, ``prev2`` are the scaled errors of this and the two previously accepted
        steps, ``k`` the controller order (see :func:`estimate_order`); ``xp`` is ``numpy`` or
        ``jax.numpy`` (scalars, traceable under ``jax.lax.while_loop``).
        """
        b1 = (self.pcoeff + self.icoeff + self.dcoeff) / k
        b2 = -(self.pcoeff + 2 * self.dcoeff) / k
        b3 = self.dcoeff / k
        tiny = 1e-10
        e = xp.maximum(err, tiny)
        pid = self.safety * e ** (-b1) * xp.maximum(prev, tiny) ** (-b2) * xp.maximum(prev2, tiny) ** (-b3)
        pid = xp.minimum(xp.maximum(pid, self.factormin), self.factormax)
        shrink = xp.maximum(xp.minimum(self.safety * e ** (-1.0 / k), self.safety), self.factormin)
        return xp.where(accepted, pid, shrink)


SDE_CONTROLLER = PIDController(pcoeff=0.1, icoeff=0.3)
"""Default controller for SDEs (a gentler PI filter, as recommended for noisy error estimates)."""


@dataclass(frozen=True)
class AdaptiveResult:
    """Output of :func:`solve_adaptive`.

    Attributes
    ----------
    ys
        States at the output times, shape ``(len(ts), *y0.shape)``, in ``y0``'s framework.
    n_accepted, n_rejected
        Numbers of accepted and rejected steps (ints; JAX arrays under the JAX ODE driver).
    step_ends
        Right ends of the accepted steps (NumPy, Python-loop driver only; ``None`` otherwise).
    """

    ys: Any
    n_accepted: Any
    n_rejected: Any
    step_ends: np.ndarray | None = None


def error_norm(err: Any, y0: Any, y1: Any, rtol: float, atol: float, xp: Any) -> Any:
    """Scaled RMS norm of a local error estimate (a 0-d array).

    On JAX the mean of squares is summed in a fixed pairwise order (:func:`_ordered_mean_square`),
    so the norm, hence the accepted steps, are the same bits however the batch is sharded."""
    scale = atol + rtol * xp.maximum(xp.abs(y0), xp.abs(y1))
    r = err / scale
    if xp.name == "jax":
        return xp.sqrt(_ordered_mean_square(r))
    return xp.sqrt((r * r).mean())


def _ordered_mean_square(r: Any) -> Any:
    """``mean(r**2)`` of a JAX array summed as a balanced tree of elementwise adds of halves.

    A reduction (``jnp.mean``) of a sharded array is left to XLA, which adds each device's partial
    sum and then combines them, a different order for every sharding; elementwise adds of fixed
    halves are the same operations on any mesh, so the result does not depend on the sharding
    (on one device it differs from ``jnp.mean`` only by rounding)."""
    import jax.numpy as jnp

    s = (r * r).reshape(-1)
    n = s.shape[0]
    width = 1 << max(n - 1, 0).bit_length()
    s = jnp.pad(s, (0, width - n))
    while s.shape[0] > 1:
        half = s.shape[0] // 2
        s = s[:half] + s[half:]
    return s[0] / n


def _read(method: Method, state: Any) -> Any:
    if method.name == "dopri5":  # the adaptive ODE state is (y, f(t, y)), first same as last
        return state[0]
    return state if method.read is None else method.read(state)


def _attempt_ode(sde, method, rtol, atol, xp):
    """``attempt(state, t, h) -> (state_new, err)`` for an ODE (no Brownian input)."""
    if method.name == "dopri5":
        def attempt(state, t, h):
            y, f = state
            y1, e, f1 = dopri5_step(sde, t, h, y, f)
            return (y1, f1), error_norm(e, y, y1, rtol, atol, xp)
        return attempt

    def attempt(state, t, h):
        full = method.step(sde, t, h, state, None, None, xp)
        half = method.step(sde, t, 0.5 * h, state, None, None, xp)
        half = method.step(sde, t + 0.5 * h, 0.5 * h, half, None, None, xp)
        y0, y1 = _read(method, state), _read(method, half)
        return half, error_norm(_read(method, full) - y1, y0, y1, rtol, atol, xp)
    return attempt


def _attempt_sde(sde, method, rtol, atol, xp):
    """``attempt(state, t, h, full, first, second) -> (state_new, err)`` by step doubling, where
    each increment is ``(dW, H)`` over ``[t, t+h]``, ``[t, t+h/2]`` and ``[t+h/2, t+h]``."""
    def attempt(state, t, h, full, first, second):
        y_full = method.step(sde, t, h, state, full[0], full[1], xp)
        half = method.step(sde, t, 0.5 * h, state, first[0], first[1], xp)
        half = method.step(sde, t + 0.5 * h, 0.5 * h, half, second[0], second[1], xp)
        y0, y1 = _read(method, state), _read(method, half)
        return half, error_norm(_read(method, y_full) - y1, y0, y1, rtol, atol, xp)
    return attempt


def _init_state(sde, method, t0, y0, xp):
    if sde.is_ode and method.name == "dopri5":
        return (y0, sde.f(t0, y0))
    return y0 if method.init is None else method.init(sde, t0, y0, xp)


def estimate_order(sde: Any, method: Method) -> float:
    """Order ``k`` of the controller: one plus the order of the local error estimate's leading term.

    ODEs: ``dopri5``'s embedded estimate is ``O(h^5)`` (``k = 5``); step doubling of an order-``p``
    method ``O(h^{p+1})`` (``k = p + 1``). SDEs: a strong order ``p`` method has local errors of
    ``O(h^{p + 1/2})`` (``k = p + 1/2``).
    """
    if sde.is_ode:
        return 5.0 if method.name == "dopri5" else method.weak + 1.0
    return float(method.strong) + 0.5


def initial_step(sde: Any, t0: float, y0: Any, order: float, rtol: float, atol: float) -> float:
    """Hairer–Nørsett–Wanner's starting step for an ODE from a concrete ``y0`` (a float)."""
    xp = namespace(backend_of(y0))
    y0 = y0.detach() if hasattr(y0, "detach") else y0
    f0 = sde.f(t0, y0)
    f0 = f0.detach() if hasattr(f0, "detach") else f0
    scale = atol + rtol * xp.abs(y0)
    d0 = float(xp.sqrt(((y0 / scale) ** 2).mean()))
    d1 = float(xp.sqrt(((f0 / scale) ** 2).mean()))
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    f1 = sde.f(t0 + h0, y0 + h0 * f0)
    f1 = f1.detach() if hasattr(f1, "detach") else f1
    d2 = float(xp.sqrt((((f1 - f0) / scale) ** 2).mean())) / h0
    h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** (1.0 / order)
    return min(100 * h0, h1)


def query(brownian: Any, s: float, t: float, levy: bool) -> tuple[Any, Any]:
    """``(dW, H)`` of ``brownian`` over ``[s, t]`` (``H`` is ``None`` unless ``levy``)."""
    out = brownian(s, t, levy=True) if levy else brownian(s, t)
    w = getattr(out, "W", out)
    h = getattr(out, "H", None)
    if levy and h is None:
        raise missing_levy_area()
    return w, (h if levy else None)


def solve_adaptive(sde: Any, method: Method, y0: Any, times: np.ndarray, *, rtol: float, atol: float,
                   dt0: float | None = None, brownian: Any = None,
                   controller: PIDController | None = None) -> AdaptiveResult:
    """Integrate adaptively from ``y0`` and return the states at ``times`` (hit exactly).

    Inputs are checked by :func:`stochflow.sde.solve`; call that. ``dt0`` is the first step (a
    heuristic for ODEs, ``(t_end - t_0) / 64`` for SDEs, when ``None``).
    """
    if controller is None:
        controller = PIDController() if sde.is_ode else SDE_CONTROLLER
    k = estimate_order(sde, method)
    if sde.is_ode and backend_of(y0) == "jax":
        return _jax_while(sde, method, y0, times, rtol, atol, dt0, controller, k)
    if dt0 is None:
        dt0 = initial_step(sde, float(times[0]), y0, k, rtol, atol) if sde.is_ode else \
            (times[-1] - times[0]) / 64
    return _loop(sde, method, y0, times, rtol, atol, float(dt0), brownian, controller, k)


def _loop(sde, method, y0, times, rtol, atol, dt, brownian, ctrl, k):
    backend = backend_of(y0)
    xp = namespace(backend)
    t = float(times[0])
    state = _init_state(sde, method, t, y0, xp)
    if sde.is_ode:
        attempt = _attempt_ode(sde, method, rtol, atol, xp)
    else:
        attempt = _attempt_sde(sde, method, rtol, atol, xp)
    if backend == "jax":
        import jax.numpy as jnp

        jitted = _jit_cached(sde, method, None, rtol, atol, None, None, attempt)

        def attempt(state, t, h, *incs, _f=jitted):  # noqa: F811 - the jitted form of the same attempt
            return _f(state, jnp.asarray(t, y0.dtype), jnp.asarray(h, y0.dtype), *incs)

    ys, ends = [y0], []
    prev = prev2 = 1.0
    n_acc = n_rej = 0
    i = 1
    span = float(times[-1] - times[0])
    while i < len(times):
        t_out = float(times[i])
        h = min(dt, t_out - t)
        clipped = h < dt or t_out - (t + h) <= 1e-12 * span
        if clipped:
            h = t_out - t
        if sde.is_ode:
            new, err = attempt(state, t, h)
        else:
            incs = (query(brownian, t, t + h, method.levy), query(brownian, t, t + 0.5 * h, method.levy),
                    query(brownian, t + 0.5 * h, t + h, method.levy))
            new, err = attempt(state, t, h, *incs)
        e = float(err.detach() if hasattr(err, "detach") else err)
        ok = math.isfinite(e) and e <= 1.0
        e_safe = e if math.isfinite(e) else 1e10
        factor = float(ctrl.factor(np.float64(e_safe), np.float64(prev), np.float64(prev2), k, ok, np))
        if ok:
            state = new
            t = t_out if clipped else t + h
            ends.append(t)
            n_acc += 1
            prev2, prev = prev, e_safe
            if clipped:
                ys.append(_read(method, state))
                i += 1
            dt = max(dt, h * factor) if clipped else h * factor
        else:
            n_rej += 1
            dt = h * factor
        dt = min(dt, ctrl.dtmax)
        if n_acc + n_rej >= ctrl.max_steps and i < len(times):
            raise RuntimeError(f"adaptive solve took {ctrl.max_steps} steps and reached t={t:.6g} of "
                               f"{times[-1]:.6g}; loosen rtol/atol or raise PIDController(max_steps=...)")
        if dt < ctrl.dtmin or dt <= 1e-14 * max(1.0, abs(t)):
            raise RuntimeError(f"adaptive step size fell to {dt:.3g} at t={t:.6g}: the tolerance cannot be met "
                               "(stiff problem or non-finite values); loosen rtol/atol or use a fixed dt")
    if backend == "torch":
        import torch

        return AdaptiveResult(torch.stack(ys), n_acc, n_rej, np.asarray(ends))
    import jax.numpy as jnp

    return AdaptiveResult(jnp.stack(ys), n_acc, n_rej, np.asarray(ends))


def _jax_while(sde, method, y0, times, rtol, atol, dt0, ctrl, k):
    import jax
    import jax.numpy as jnp

    xp = namespace("jax")
    attempt = _attempt_ode(sde, method, rtol, atol, xp)
    n = len(times)

    def run(y0):
        dtype = y0.dtype
        tarr = jnp.asarray(times, dtype)
        t0 = tarr[0]
        state0 = _init_state(sde, method, t0, y0, xp)
        if dt0 is None:
            h_init = _jax_initial_step(sde, t0, y0, k, rtol, atol)
        else:
            h_init = jnp.asarray(dt0, dtype)
        buf = jnp.zeros((n, *y0.shape), dtype).at[0].set(y0)
        one = jnp.asarray(1.0, dtype)
        carry = (t0, h_init, state0, jnp.asarray(1), buf, one, one, jnp.asarray(0), jnp.asarray(0))

        def cond(c):
            _, dt, _, i, _, _, _, na, nr = c
            return (i < n) & (na + nr < ctrl.max_steps) & (dt > max(ctrl.dtmin, 0.0))

        def body(c):
            t, dt, state, i, buf, prev, prev2, na, nr = c
            t_out = tarr[jnp.minimum(i, n - 1)]
            remaining = t_out - t
            clipped = dt >= remaining - 1e-12 * (tarr[-1] - tarr[0])
            h = jnp.where(clipped, remaining, dt)
            new, err = attempt(state, t, h)
            ok = jnp.isfinite(err) & (err <= 1.0)
            e = jnp.where(jnp.isfinite(err), err, 1e10)
            factor = ctrl.factor(e, prev, prev2, k, ok, jnp)
            state = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, state)
            t_new = jnp.where(ok, jnp.where(clipped, t_out, t + h), t)
            hit = ok & clipped
            row = jnp.where(hit, _read(method, state), buf[jnp.minimum(i, n - 1)])
            buf = jax.lax.dynamic_update_index_in_dim(buf, row, jnp.minimum(i, n - 1), 0)
            dt_new = jnp.where(ok & clipped, jnp.maximum(dt, h * factor), h * factor)
            dt_new = jnp.minimum(dt_new, ctrl.dtmax)
            return (t_new, dt_new, state, i + hit, buf, jnp.where(ok, e, prev), jnp.where(ok, prev, prev2),
                    na + ok, nr + (~ok))

        t, dt, state, i, buf, _, _, na, nr = jax.lax.while_loop(cond, body, carry)
        # rows never reached (max_steps or a collapsed step) are NaN rather than stale zeros
        buf = jnp.where((jnp.arange(n) < i).reshape(n, *[1] * y0.ndim), buf, jnp.nan)
        return buf, na, nr

    ys, na, nr = _jit_cached(sde, method, ctrl, rtol, atol, dt0, times, run)(y0)
    return AdaptiveResult(ys, na, nr, None)


def _jax_initial_step(sde, t0, y0, k, rtol, atol):
    import jax.numpy as jnp

    f0 = sde.f(t0, y0)
    scale = atol + rtol * jnp.abs(y0)
    d0 = jnp.sqrt(_ordered_mean_square(y0 / scale))   # fixed order: the same first step on any sharding
    d1 = jnp.sqrt(_ordered_mean_square(f0 / scale))
    h0 = jnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / jnp.maximum(d1, 1e-30))
    f1 = sde.f(t0 + h0, y0 + h0 * f0)
    d2 = jnp.sqrt(_ordered_mean_square((f1 - f0) / scale)) / h0
    dm = jnp.maximum(d1, d2)
    h1 = jnp.where(dm <= 1e-15, jnp.maximum(1e-6, h0 * 1e-3), (0.01 / jnp.maximum(dm, 1e-30)) ** (1.0 / k))
    return jnp.minimum(100 * h0, h1).astype(y0.dtype)


_CACHE: dict[Any, Any] = {}


def _jit_cached(sde, method, ctrl, rtol, atol, dt0, times, run):
    import jax

    key = (id(sde), method.name, ctrl, rtol, atol, dt0, None if times is None else tuple(times.tolist()))
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not sde:
        if len(_CACHE) > 32:
            _CACHE.clear()
        hit = _CACHE[key] = (sde, jax.jit(run))
    return hit[1]


__all__ = ["AdaptiveResult", "PIDController", "SDE_CONTROLLER", "error_norm", "estimate_order", "initial_step",
           "query", "solve_adaptive"]
