"""The solver set: one step function per method, written once against :mod:`stochflow.sde._xp`.

A step is ``step(sde, t, dt, y, dw, h, xp) -> y_next`` where ``dw`` is the Brownian increment over
``[t, t + dt]``, ``h`` its space-time Lévy area (``None`` unless the method needs it) and ``xp``
the array namespace. Each :class:`Method` declares its orders, noise types and calculus; the
registry entries in :mod:`stochflow.sde._plugin` carry the same declarations.

A method that carries more than the state between steps (``reversible-heun``) declares ``init``
(``init(sde, t0, y0, xp) -> state``) and ``read`` (``state -> y``); its step then maps a state to a
state. The space-time Lévy area convention: ``H = (1/h) ∫_t^{t+h} (W_{t,u} - (u-t)/h W_{t,t+h}) du``,
``H ~ N(0, h/12)`` independent of ``dW``, so ``I_(1,0) = ∫_t^{t+h} W_{t,u} du = h (dW/2 + H)``.
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
    # (dg/dy) g: from the SDE's analytic dg_i/dy_i when it has one, else one derivative product
    # (diagonal noise: the Jacobian is diagonal, so a vector-Jacobian product gives it too)
    dg = sde.dg(t, y) if sde.noise == "diagonal" and hasattr(sde, "dg") else None
    if dg is not None:
        ggp = g * dg
    elif sde.noise == "diagonal":
        ggp = xp.diag_jvp(lambda z: sde.g(t, z), y, g)
    else:
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


# Rößler (2010), SRI scheme "SRID2" for diagonal/scalar Itô noise (strong 1.5): stage constants
# (c0, c1), drift/diffusion stage weights (A0, B0 on the I_(1,0)/h stages; A1, B1 on the sqrt(h)
# stages), final weights alpha and beta1..beta4 (of I_1, I_11/sqrt(h), I_10/h, I_111/h).
_SRID2_BETA = ((-1.0, 4 / 3, 2 / 3, 0.0), (1.0, -4 / 3, 1 / 3, 0.0), (2.0, -4 / 3, -2 / 3, 0.0),
               (-2.0, 5 / 3, -2 / 3, 1.0))


def _srk(sde, t, dt, y, dw, h, xp):
    if sde.noise == "additive":
        return _sra1(sde, t, dt, y, dw, h, xp)
    sq = dt**0.5
    i1 = dw
    i10 = dt * (0.5 * dw + h)               # ∫ W_{t,u} du
    i11 = 0.5 * (dw * dw - dt)              # Itô multiple integrals of one Brownian component
    i111 = (dw * dw * dw - 3 * dt * dw) / 6
    f1, g1 = sde.f(t, y), sde.g(t, y)
    h0_2 = y + f1 * dt
    h1_2 = y + 0.25 * f1 * dt - 0.5 * g1 * sq
    f2, g2 = sde.f(t + dt, h0_2), sde.g(t + 0.25 * dt, h1_2)
    h0_3 = y + 0.25 * (f1 + f2) * dt + (g1 + 0.5 * g2) * (i10 / dt)
    h1_3 = y + f1 * dt + g1 * sq
    f3, g3 = sde.f(t + 0.5 * dt, h0_3), sde.g(t + dt, h1_3)
    h1_4 = y + 0.25 * f3 * dt + (2 * g1 - g2 + 0.5 * g3) * sq
    g4 = sde.g(t + 0.25 * dt, h1_4)
    b1, b2, b3, b4 = _SRID2_BETA
    noise = 0
    for s, g in enumerate((g1, g2, g3, g4)):
        noise = noise + g * (b1[s] * i1 + b2[s] * i11 / sq + b3[s] * i10 / dt + b4[s] * i111 / dt)
    return y + (f1 + f2 + 4 * f3) * (dt / 6) + noise


def _rev_heun_init(sde, t0, y0, xp):
    return (y0, y0, sde.f(t0, y0), sde.g(t0, y0))


def _rev_heun(sde, t, dt, state, dw, h, xp):
    # Kidger et al. (2021): the drift/diffusion are read at the auxiliary state z, which is updated
    # by a leapfrog-like reflection; both updates can be solved for the previous state exactly.
    y, z, f0, g0 = state
    gdw0 = noise_term(sde, g0, dw, xp)
    z1 = 2 * y - z + f0 * dt + gdw0
    f1, g1 = sde.f(t + dt, z1), sde.g(t + dt, z1)
    y1 = y + 0.5 * (f0 + f1) * dt + 0.5 * (gdw0 + noise_term(sde, g1, dw, xp))
    return (y1, z1, f1, g1)


def reversible_heun_backward(sde: Any, t1: Any, dt: Any, state: Any, dw: Any, xp: Any) -> Any:
    """Undo one ``reversible-heun`` step: the state at ``t1 - dt`` from the state at ``t1``.

    ``state`` is ``(y, z, f(t1, z), g(t1, z))`` as the forward step returned it and ``dw`` the same
    increment over ``[t1 - dt, t1]``; the reconstruction is exact up to floating-point rounding.
    """
    y1, z1, f1, g1 = state
    gdw1 = noise_term(sde, g1, dw, xp)
    z0 = 2 * y1 - z1 - f1 * dt - gdw1
    f0, g0 = sde.f(t1 - dt, z0), sde.g(t1 - dt, z0)
    y0 = y1 - 0.5 * (f0 + f1) * dt - 0.5 * (noise_term(sde, g0, dw, xp) + gdw1)
    return (y0, z0, f0, g0)


def _first(state):
    return state[0]


# Dormand–Prince 5(4): nodes, stage matrix, 5th-order weights (FSAL: the last stage is f(t+h, y5)),
# and the difference of 5th- and embedded 4th-order weights (the local error estimate).
_DP_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0)
_DP_A = ((), (1 / 5,), (3 / 40, 9 / 40), (44 / 45, -56 / 15, 32 / 9),
         (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
         (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656))
_DP_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
_DP_E = (71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40)


def dopri5_step(sde: Any, t: Any, dt: Any, y: Any, f0: Any) -> tuple[Any, Any, Any]:
    """One Dormand–Prince 5(4) step from ``(t, y)`` with ``f0 = f(t, y)``.

    Returns ``(y_next, error, f_next)``: the 5th-order solution, the difference to the embedded
    4th-order one, and ``f(t + dt, y_next)`` (first same as last).
    """
    ks = [f0]
    for i in range(1, 6):
        yi = y
        for a, k in zip(_DP_A[i], ks):
            if a != 0.0:
                yi = yi + (a * dt) * k
        ks.append(sde.f(t + _DP_C[i] * dt, yi))
    y1 = y
    for b, k in zip(_DP_B, ks):
        if b != 0.0:
            y1 = y1 + (b * dt) * k
    f1 = sde.f(t + dt, y1)
    ks.append(f1)
    err = 0
    for e, k in zip(_DP_E, ks):
        if e != 0.0:
            err = err + (e * dt) * k
    return y1, err, f1


def _dopri5(sde, t, dt, y, dw, h, xp):
    return dopri5_step(sde, t, dt, y, sde.f(t, y))[0]


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
    init: Callable[..., Any] | None = None
    read: Callable[[Any], Any] | None = None


_ALL = ("diagonal", "additive", "scalar", "general")
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("euler", _euler, 0.5, 1.0, _ALL, "ito",
           summary="Euler–Maruyama: strong 0.5 (1.0 for additive noise), weak 1.0"),
    Method("milstein", _milstein, 1.0, 1.0, ("diagonal", "scalar", "additive"), "any",
           summary="Milstein (Itô or Stratonovich), g g' analytic or by one derivative product; strong 1.0"),
    Method("heun", _heun, 0.5, 1.0, _ALL, "stratonovich",
           summary="Stochastic Heun (Stratonovich): strong 0.5 (1.0 for commutative noise)"),
    Method("midpoint", _midpoint, 0.5, 1.0, _ALL, "stratonovich",
           summary="Stochastic midpoint (Stratonovich): strong 0.5 (1.0 for commutative noise)"),
    Method("euler-heun", _euler_heun, 0.5, 1.0, _ALL, "stratonovich",
           summary="Euler–Heun (Stratonovich): strong 0.5, weak 1.0"),
    Method("sra1", _sra1, 1.5, 2.0, ("additive",), "any", levy=True,
           summary="Rößler SRA1 for additive noise with the space-time Lévy area: strong 1.5, weak 2.0"),
    Method("srk", _srk, 1.5, 1.5, ("diagonal", "scalar", "additive"), "ito", levy=True,
           summary="Rößler SRI (SRID2) for diagonal/scalar Itô noise, SRA1 for additive: strong 1.5, "
                   "needs the space-time Lévy area"),
    Method("reversible-heun", _rev_heun, 0.5, 1.0, _ALL, "stratonovich", init=_rev_heun_init, read=_first,
           summary="Reversible Heun (Kidger et al. 2021, Stratonovich): algebraically reversible; "
                   "strong 0.5 (1.0 additive)"),
    Method("dopri5", _dopri5, None, 5.0, ("none",), "any",
           summary="Dormand–Prince 5(4) for ODEs with an embedded error estimate: order 5, adaptive"),
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
            raise InputError(f"solver {method.name!r} needs a diffusion; for an ODE (diffusion=None) use 'rk4' or 'dopri5'")
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
