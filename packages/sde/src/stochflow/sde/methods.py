"""The solver set: one step function per method, written once against :mod:`stochflow.sde._xp`.

A step is ``step(sde, t, dt, y, dw, h, xp) -> y_next`` where ``dw`` is the Brownian increment over
``[t, t + dt]``, ``h`` its space-time Lévy area (``None`` unless the method needs it) and ``xp``
the array namespace. Each :class:`Method` declares its orders, noise types and calculus; the
registry entries in :mod:`stochflow.sde._plugin` carry the same declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stochflow.core.errors import InputError


def noise_term(sde: Any, g: Any, dw: Any, xp: Any) -> Any:
    """``g dW`` for the SDE's noise type (elementwise, or a contraction for matrix diffusions)."""
    if sde.noise == "general" or (sde.noise == "additive" and g.ndim == dw.ndim + 1):
        return xp.einsum("...dm,...m->...d", g, dw)
    return g * dw


def _euler(sde, t, dt, y, dw, h, xp):
    return y + sde.f(t, y) * dt + noise_term(sde, sde.g(t, y), dw, xp)


def _milstein(sde, t, dt, y, dw, h, xp):
    g = sde.g(t, y)
    # g * (dg/dy) g, as one Jacobian-vector product (diagonal/scalar noise: commutative)
    ggp = xp.jvp(lambda z: sde.g(t, z), y, g)
    corr = dw * dw - dt if sde.kind == "ito" else dw * dw
    return y + sde.f(t, y) * dt + g * dw + 0.5 * ggp * corr


def _heun(sde, t, dt, y, dw, h, xp):
    f0, g0 = sde.f(t, y), sde.g(t, y)
    y1 = y + f0 * dt + noise_term(sde, g0, dw, xp)
    f1, g1 = sde.f(t + dt, y1), sde.g(t + dt, y1)
    return y + 0.5 * (f0 + f1) * dt + 0.5 * (noise_term(sde, g0, dw, xp) + noise_term(sde, g1, dw, xp))


def _midpoint(sde, t, dt, y, dw, h, xp):
    ym = y + 0.5 * sde.f(t, y) * dt + 0.5 * noise_term(sde, sde.g(t, y), dw, xp)
    tm = t + 0.5 * dt
    return y + sde.f(tm, ym) * dt + noise_term(sde, sde.g(tm, ym), dw, xp)


def _euler_heun(sde, t, dt, y, dw, h, xp):
    g0 = noise_term(sde, sde.g(t, y), dw, xp)
    y1 = y + g0
    return y + sde.f(t, y) * dt + 0.5 * (g0 + noise_term(sde, sde.g(t, y1), dw, xp))


def _sra1(sde, t, dt, y, dw, h, xp):
    # Rößler's SRA1 (additive noise, strong order 1.5): c0=(0, 3/4), c1=(1, 0), A0[1,0]=3/4,
    # B0[1,0]=3/2, alpha=(1/3, 2/3), beta1=(1, 0), beta2=(-1, 1); I_(1,0)/dt = dW/2 + H.
    i10 = 0.5 * dw + h
    f0 = sde.f(t, y)
    g_end = sde.g(t + dt, y)
    g_start = sde.g(t, y)
    y2 = y + 0.75 * f0 * dt + 1.5 * noise_term(sde, g_end, i10, xp)
    f1 = sde.f(t + 0.75 * dt, y2)
    return (y + (f0 / 3 + 2 * f1 / 3) * dt + noise_term(sde, g_end, dw - i10, xp)
            + noise_term(sde, g_start, i10, xp))


def _rk4(sde, t, dt, y, dw, h, xp):
    k1 = sde.f(t, y)
    k2 = sde.f(t + 0.5 * dt, y + 0.5 * dt * k1)
    k3 = sde.f(t + 0.5 * dt, y + 0.5 * dt * k2)
    k4 = sde.f(t + dt, y + dt * k3)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def _cir_implicit(sde, t, dt, y, dw, h, xp):
    # Drift-implicit Euler for X = sqrt(Y) (Alfonsi 2005): a quadratic in X_{n+1} whose positive root
    # keeps Y = X^2 >= 0; needs 4 kappa theta >= sigma^2.
    k, th, s = sde.kappa, sde.theta, sde.sigma
    a = (4 * k * th - s * s) / 8
    b = xp.sqrt(xp.maximum(y, 0 * y)) + 0.5 * s * dw
    den = 2 + k * dt
    x = (b + xp.sqrt(b * b + 2 * den * a * dt)) / den
    return x * x


@dataclass(frozen=True)
class Method:
    """A solver method and what it declares.

    Attributes
    ----------
    name
        Registry name.
    step
        ``step(sde, t, dt, y, dw, h, xp) -> y_next``.
    strong, weak
        Strong and weak orders (for the noise types listed; ``strong`` is ``None`` for ODE methods).
    noise
        Noise types it applies to (``"none"`` = ODEs only).
    kind
        ``"ito"``, ``"stratonovich"`` or ``"any"`` (calculus-independent, e.g. additive noise).
    levy
        Whether it reads the space-time Lévy area ``H``.
    """

    name: str
    step: Callable[..., Any]
    strong: float | None
    weak: float
    noise: tuple[str, ...]
    kind: str
    levy: bool = False
    summary: str = ""


_ALL = ("diagonal", "additive", "scalar", "general")
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("euler", _euler, 0.5, 1.0, _ALL, "ito",
           summary="Euler–Maruyama: strong 0.5 (1.0 for additive noise), weak 1.0"),
    Method("milstein", _milstein, 1.0, 1.0, ("diagonal", "scalar", "additive"), "any",
           summary="Milstein (Itô or Stratonovich), g g' by a Jacobian-vector product; strong 1.0"),
    Method("heun", _heun, 0.5, 1.0, _ALL, "stratonovich",
           summary="Stochastic Heun (Stratonovich): strong 0.5 (1.0 for commutative noise)"),
    Method("midpoint", _midpoint, 0.5, 1.0, _ALL, "stratonovich",
           summary="Stochastic midpoint (Stratonovich): strong 0.5 (1.0 for commutative noise)"),
    Method("euler-heun", _euler_heun, 0.5, 1.0, _ALL, "stratonovich",
           summary="Euler–Heun (Stratonovich): strong 0.5, weak 1.0"),
    Method("sra1", _sra1, 1.5, 2.0, ("additive",), "any", levy=True,
           summary="Rößler SRA1 for additive noise with the space-time Lévy area: strong 1.5, weak 2.0"),
    Method("rk4", _rk4, None, 4.0, ("none",), "any",
           summary="Classical Runge–Kutta 4 for ODEs (probability-flow ODEs): order 4"),
    Method("cir-implicit", _cir_implicit, 0.5, 1.0, ("diagonal",), "ito",
           summary="Drift-implicit square-root Euler for CIR: paths stay non-negative"),
)}
ALIASES = {"shark": "sra1", "euler-maruyama": "euler"}


def get_method(name: str) -> Method:
    """Look a method up by name (or alias); an unknown name is an :class:`InputError` listing choices."""
    if not isinstance(name, str):
        raise InputError(f"solver must be a name, one of {sorted(METHODS)}, got {type(name).__name__}")
    key = ALIASES.get(name.lower(), name.lower())
    if key not in METHODS:
        raise InputError(f"unknown solver {name!r}; choose one of {sorted(METHODS)}")
    return METHODS[key]


def check_applies(method: Method, sde: Any) -> None:
    """Raise :class:`InputError` when ``method`` does not apply to ``sde`` (noise type, calculus)."""
    if sde.is_ode:
        if method.noise != ("none",):
            raise InputError(f"solver {method.name!r} needs a diffusion; for an ODE (diffusion=None) use 'rk4'")
        return
    if method.noise == ("none",):
        raise InputError(f"solver {method.name!r} is for ODEs (no diffusion); for this SDE use 'euler', "
                         "'milstein', 'heun' or 'sra1'")
    if sde.noise not in method.noise:
        raise InputError(f"solver {method.name!r} supports noise {method.noise}, but the SDE has "
                         f"noise={sde.noise!r}; use 'euler' (Itô) or 'heun' (Stratonovich) for general noise")
    if method.kind != "any" and sde.noise != "additive" and method.kind != sde.kind:
        raise InputError(f"solver {method.name!r} solves {method.kind} SDEs, but the SDE has kind={sde.kind!r}; "
                         f"use {'euler or milstein' if sde.kind == 'ito' else 'heun, midpoint or milstein'}")
    if method.name == "cir-implicit" and not all(hasattr(sde, a) for a in ("kappa", "theta", "sigma")):
        raise InputError("solver 'cir-implicit' applies only to stochflow.sde.CIR processes")
