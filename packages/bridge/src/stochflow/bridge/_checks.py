"""Input checks for the OT solvers: run before any work, raising stochflow's typed errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stochflow.core.arrays import framework_of
from stochflow.core.errors import InputError, InputTypeError

METHODS = ("log", "sns")


def is_tracer(x: Any) -> bool:
    """Whether ``x`` is an abstract JAX value (inside ``jit``/``grad``), whose values cannot be read."""
    if framework_of(x) != "jax":
        return False
    import jax

    return isinstance(x, jax.core.Tracer)


def _concrete(x: Any) -> np.ndarray | None:
    """A numpy view of ``x`` for value checks (``None`` for JAX tracers)."""
    fw = framework_of(x)
    if fw == "torch":
        return x.detach().cpu().numpy()
    if fw == "jax":
        return None if is_tracer(x) else np.asarray(x)
    return np.asarray(x)


def framework(a: Any, b: Any, M: Any) -> str:
    """The common framework of the inputs (``"numpy"``, ``"torch"`` or ``"jax"``)."""
    fw = framework_of(M)
    if fw not in ("numpy", "torch", "jax"):
        raise InputTypeError(f"M must be a numpy, torch or JAX array, got {type(M).__name__}; "
                             "wrap lists with numpy.asarray")
    for name, v in (("a", a), ("b", b)):
        if v is not None and framework_of(v) != fw:
            raise InputTypeError(f"{name} is a {framework_of(v)} array ({type(v).__name__}) but M is a {fw} array; "
                                 f"pass all of a, b, M in one framework")
    return fw


def check_float(name: str, x: Any) -> None:
    kind = str(x.dtype).replace("torch.", "")
    if not kind.startswith(("float", "bfloat")):
        raise InputTypeError(f"{name} must be a floating-point array, got dtype {kind}; convert it, e.g. "
                             f"{name}.astype('float64') or {name}.double()")


def check_problem(a: Any, b: Any, M: Any, reg: Any, *, method: str, tol: float | None, max_iter: int,
                  reg_m: float | None, density: float | None) -> None:
    """Check shapes, values and options; raise :class:`InputError`/:class:`InputTypeError` on the first problem."""
    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"method must be one of {', '.join(repr(x) for x in METHODS)}, got {method!r}")
    check_float("M", M)
    if M.ndim not in (2, 3):
        raise InputError(f"M must have shape (n, m) or, for a batch of problems, (batch, n, m); got shape "
                         f"{tuple(M.shape)}")
    if M.shape[-1] < 1 or M.shape[-2] < 1:
        raise InputError(f"M must have at least one row and one column, got shape {tuple(M.shape)}")
    n, m = M.shape[-2], M.shape[-1]
    lead = tuple(M.shape[:-2])
    for name, v, size in (("a", a, n), ("b", b, m)):
        if v is None:
            continue
        check_float(name, v)
        if str(v.dtype) != str(M.dtype):
            raise InputTypeError(f"{name} has dtype {v.dtype} but M has {M.dtype}; give all three one dtype")
        if tuple(v.shape) != lead + (size,):
            raise InputError(f"{name} must have shape {lead + (size,)} to match M of shape {tuple(M.shape)}, "
                             f"got {tuple(v.shape)}")
    if isinstance(reg, bool) or not isinstance(reg, (int, float)) and not hasattr(reg, "shape"):
        raise InputTypeError(f"reg must be a positive number, got {type(reg).__name__}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise InputError(f"max_iter must be a positive int, got {max_iter!r}")
    if tol is not None and (not isinstance(tol, (int, float)) or not tol > 0 or not math.isfinite(tol)):
        raise InputError(f"tol must be a positive number (e.g. 1e-8), got {tol!r}")
    if reg_m is not None:
        if not isinstance(reg_m, (int, float)) or not reg_m > 0:
            raise InputError(f"reg_m (the weight of the KL marginal penalty) must be a positive number, got {reg_m!r}")
        if method != "log":
            raise InputError("unbalanced transport (reg_m=...) is solved by method='log' only; "
                             f"got method={method!r}")
    if density is not None and (not isinstance(density, (int, float)) or not 0 < density <= 1):
        raise InputError(f"density (the fraction of plan entries the sparse Hessian keeps) must be in (0, 1], "
                         f"got {density!r}")

    reg_v = _concrete(reg) if hasattr(reg, "shape") else np.asarray(float(reg))
    if reg_v is not None:
        if reg_v.ndim > 1 or (reg_v.ndim == 1 and reg_v.shape != lead):
            raise InputError(f"reg must be a number or, for a batch, an array of shape {lead}; got shape "
                             f"{reg_v.shape}")
        if not np.all(np.isfinite(reg_v)) or not np.all(reg_v > 0):
            raise InputError(f"reg must be positive and finite, got {reg_v.tolist()}; it is the entropic weight "
                             "(POT's reg, 1/eta in the SNS paper), e.g. 0.05 * mean(M)")

    Mv = _concrete(M)
    if Mv is not None and not np.all(np.isfinite(Mv)):
        bad = int(np.size(Mv) - np.count_nonzero(np.isfinite(Mv)))
        raise InputError(f"M has {bad} NaN or infinite entries; the cost matrix must be finite (use a large "
                         "finite cost to forbid a pair)")
    sums = []
    for name, v in (("a", a), ("b", b)):
        vv = _concrete(v) if v is not None else None
        if vv is None:
            sums.append(None)
            continue
        if not np.all(np.isfinite(vv)):
            raise InputError(f"{name} has NaN or infinite entries; marginals must be finite and non-negative")
        if np.any(vv < 0):
            raise InputError(f"{name} has negative entries (min {vv.min():.3g}); marginals must be non-negative")
        s = vv.sum(axis=-1)
        if np.any(s <= 0):
            raise InputError(f"{name} sums to {s.tolist()}; a marginal must have positive mass")
        if method == "sns" and np.any(vv == 0):
            raise InputError(f"{name} has zero entries; method='sns' needs positive weights: drop the "
                             "zero-weight points or use method='log'")
        sums.append(s)
    if reg_m is None and sums[0] is not None and sums[1] is not None:
        sa, sb = np.atleast_1d(sums[0]), np.atleast_1d(sums[1])
        eps = np.finfo(sa.dtype).eps
        if np.any(np.abs(sa - sb) > math.sqrt(eps) * np.maximum(sa, sb)):
            i = int(np.argmax(np.abs(sa - sb)))
            where = f" (problem {i} of the batch)" if sa.size > 1 else ""
            raise InputError(f"a and b must have the same total mass{where}: sum(a) = {sa[i]:.10g}, "
                             f"sum(b) = {sb[i]:.10g}; normalise both (a / a.sum(), b / b.sum()) or pass "
                             "reg_m=... for unbalanced transport")
