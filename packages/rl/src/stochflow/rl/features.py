"""Feature maps for linear value functions ``J(t, x) = theta^T phi(t, x)``.

A feature map is called as ``phi(t, x)`` with states ``x`` of shape ``(..., d)`` and times ``t`` of
shape ``(...)`` (ignored by state-only maps) and returns ``(..., p)`` in the dtype and on the device
of ``x``. Time-state maps (:class:`TimeState`) are the products of a state basis and a basis in the
time to go ``tau = T - t``, for finite horizons.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch

from stochflow.core.errors import InputError, InputTypeError


class FeatureMap:
    """Base class: subclasses implement :meth:`_features` and :meth:`n_features`."""

    time_dependent: bool = False
    has_constant: bool = False

    def n_features(self, d: int) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _features(self, t: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, t: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise InputTypeError(f"states must be a torch tensor, got {type(x).__name__}")
        if x.ndim < 1:
            raise InputError("states must have a trailing state dimension (..., d)")
        if self.time_dependent and t is None:
            raise InputError(f"{type(self).__name__} depends on time: pass the times t as well")
        out = self._features(t, x)
        p = self.n_features(x.shape[-1])
        if out.shape != (*x.shape[:-1], p):
            raise InputError(
                f"{type(self).__name__} returned features of shape {tuple(out.shape)}; expected "
                f"{(*x.shape[:-1], p)} for states of shape {tuple(x.shape)}"
            )
        return out


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise InputError(f"{name} must be >= {low}, got {value}")
    return value


class Polynomial(FeatureMap):
    """Monomials of total degree ``<= degree`` in the state coordinates.

    Parameters
    ----------
    degree
        Largest total degree.
    constant
        Include the constant monomial (leave it out in the ergodic setting).
    even
        Keep only monomials of even total degree (e.g. ``{1, x^2}`` for the OU problem).
    scale
        Monomials of ``x / scale``: keeps high degrees of order one where states reach ``scale``
        (which gradient methods such as TD need for a usable learning rate).
    """

    def __init__(self, degree: int, constant: bool = True, even: bool = False, scale: float = 1.0):
        if not (isinstance(scale, (int, float)) and not isinstance(scale, bool) and math.isfinite(scale) and scale > 0):
            raise InputError(f"scale must be a positive number, got {scale!r}")
        self.scale = float(scale)
        self.degree = _check_int("degree", degree, 1)
        self.constant = bool(constant)
        self.even = bool(even)
        self.has_constant = self.constant

    def exponents(self, d: int) -> list[tuple[int, ...]]:
        out = []
        for total in range(0 if self.constant else 1, self.degree + 1):
            if self.even and total % 2:
                continue
            for combo in itertools.combinations_with_replacement(range(d), total):
                out.append(tuple(combo.count(i) for i in range(d)))
        if not out:
            raise InputError("Polynomial has no monomials: allow odd degrees or the constant")
        return out

    def n_features(self, d: int) -> int:
        return len(self.exponents(d))

    def _features(self, t, x):
        exps = self.exponents(x.shape[-1])
        z = x / self.scale if self.scale != 1.0 else x
        table = [torch.ones_like(z), z]  # z^0, z^1, ... by repeated products (cheaper than pow)
        for _ in range(2, self.degree + 1):
            table.append(table[-1] * z)
        cols = []
        for e in exps:
            col = None
            for i, k in enumerate(e):
                if k:
                    col = table[k][..., i] if col is None else col * table[k][..., i]
            cols.append(torch.ones_like(z[..., 0]) if col is None else col)
        return torch.stack(cols, dim=-1)

    def __repr__(self) -> str:
        extra = f", scale={self.scale:g}" if self.scale != 1.0 else ""
        return f"Polynomial(degree={self.degree}, constant={self.constant}, even={self.even}{extra})"


class Power(FeatureMap):
    """Real powers ``x_i^p`` of positive states (e.g. ``s^p`` for geometric Brownian motion)."""

    def __init__(self, exponents: Sequence[float], constant: bool = False):
        exps = [float(e) for e in exponents]
        if not exps or not all(math.isfinite(e) for e in exps):
            raise InputError(f"exponents must be a non-empty list of finite numbers, got {exponents!r}")
        self.exponents, self.constant, self.has_constant = exps, bool(constant), bool(constant)

    def n_features(self, d: int) -> int:
        return d * len(self.exponents) + int(self.constant)

    def _features(self, t, x):
        p = torch.tensor(self.exponents, dtype=x.dtype, device=x.device)
        out = (x.unsqueeze(-1) ** p).flatten(-2)
        if self.constant:
            out = torch.cat([torch.ones_like(out[..., :1]), out], dim=-1)
        return out

    def __repr__(self) -> str:
        return f"Power(exponents={self.exponents}, constant={self.constant})"


class Fourier(FeatureMap):
    """``sin(w x_i), cos(w x_i)`` for each frequency ``w`` and coordinate ``i`` (plus a constant)."""

    def __init__(self, frequencies: Sequence[float] = (1.0,), constant: bool = True):
        freqs = [float(w) for w in frequencies]
        if not freqs or not all(math.isfinite(w) and w > 0 for w in freqs):
            raise InputError(f"frequencies must be positive finite numbers, got {frequencies!r}")
        self.frequencies, self.constant, self.has_constant = freqs, bool(constant), bool(constant)

    def n_features(self, d: int) -> int:
        return 2 * d * len(self.frequencies) + int(self.constant)

    def _features(self, t, x):
        w = torch.tensor(self.frequencies, dtype=x.dtype, device=x.device)
        arg = (x.unsqueeze(-1) * w).flatten(-2)
        parts = [torch.sin(arg), torch.cos(arg)]
        if self.constant:
            parts.insert(0, torch.ones_like(arg[..., :1]))
        return torch.cat(parts, dim=-1)

    def __repr__(self) -> str:
        return f"Fourier(frequencies={self.frequencies}, constant={self.constant})"


class RadialBasis(FeatureMap):
    """Gaussian bumps ``exp(-|x - c_j|^2 / (2 width^2))`` at centres ``c_j`` (plus a constant)."""

    def __init__(self, centers, width: float, constant: bool = True):
        c = torch.as_tensor(centers, dtype=torch.float64)
        if c.ndim == 1:
            c = c.unsqueeze(-1)
        if c.ndim != 2 or c.shape[0] == 0:
            raise InputError(f"centers must have shape (m,) or (m, d), got {tuple(c.shape)}")
        if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
            raise InputError(f"width must be a positive number, got {width!r}")
        self.centers, self.width = c, float(width)
        self.constant, self.has_constant = bool(constant), bool(constant)

    def n_features(self, d: int) -> int:
        if d != self.centers.shape[1]:
            raise InputError(f"RadialBasis centres are {self.centers.shape[1]}-dimensional, states {d}-dimensional")
        return self.centers.shape[0] + int(self.constant)

    def _features(self, t, x):
        self.n_features(x.shape[-1])
        c = self.centers.to(dtype=x.dtype, device=x.device)
        sq = ((x.unsqueeze(-2) - c) ** 2).sum(-1)
        out = torch.exp(-sq / (2 * self.width**2))
        if self.constant:
            out = torch.cat([torch.ones_like(out[..., :1]), out], dim=-1)
        return out

    def __repr__(self) -> str:
        return f"RadialBasis(m={self.centers.shape[0]}, width={self.width}, constant={self.constant})"


class TimeBasis:
    """A basis in the time to go ``tau = horizon - t``; called on times of shape ``(...)``."""

    def __init__(self, horizon: float):
        if not (isinstance(horizon, (int, float)) and math.isfinite(horizon) and horizon > 0):
            raise InputError(f"horizon must be a positive number, got {horizon!r}")
        self.horizon = float(horizon)

    def size(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, t: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class TimePolynomial(TimeBasis):
    """``1, tau, ..., tau^degree`` with ``tau = horizon - t``."""

    def __init__(self, degree: int, horizon: float):
        super().__init__(horizon)
        self.degree = _check_int("degree", degree, 0)

    def size(self) -> int:
        return self.degree + 1

    def __call__(self, t):
        tau = (self.horizon - t).unsqueeze(-1)
        return tau ** torch.arange(self.degree + 1, dtype=t.dtype, device=t.device)


class TimeExponential(TimeBasis):
    """``1, exp(-r_1 tau), ..., exp(-r_m tau)`` with ``tau = horizon - t`` (exact for linear-quadratic
    finite-horizon problems, whose coefficients are sums of such exponentials)."""

    def __init__(self, rates: Sequence[float], horizon: float):
        super().__init__(horizon)
        self.rates = [float(r) for r in rates]
        if not self.rates or not all(math.isfinite(r) for r in self.rates):
            raise InputError(f"rates must be finite numbers, got {rates!r}")

    def size(self) -> int:
        return len(self.rates) + 1

    def __call__(self, t):
        tau = (self.horizon - t).unsqueeze(-1)
        r = torch.tensor(self.rates, dtype=t.dtype, device=t.device)
        return torch.cat([torch.ones_like(tau), torch.exp(-r * tau)], dim=-1)


class TimeState(FeatureMap):
    """All products ``a_i(t) b_j(x)`` of a time basis ``a`` and a state feature map ``b``."""

    time_dependent = True

    def __init__(self, state: FeatureMap, time: TimeBasis):
        if not isinstance(state, FeatureMap) or state.time_dependent:
            raise InputTypeError("state must be a state-only FeatureMap")
        if not isinstance(time, TimeBasis):
            raise InputTypeError("time must be a TimeBasis (TimePolynomial, TimeExponential)")
        self.state, self.time = state, time
        self.has_constant = state.has_constant

    def n_features(self, d: int) -> int:
        return self.state.n_features(d) * self.time.size()

    def _features(self, t, x):
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).expand(x.shape[:-1])
        a = self.time(t)  # (..., m)
        b = self.state(None, x)  # (..., q)
        return (a.unsqueeze(-1) * b.unsqueeze(-2)).flatten(-2)

    def __repr__(self) -> str:
        return f"TimeState({self.state!r}, {type(self.time).__name__})"


class CallableFeatures(FeatureMap):
    """Wrap a user function ``fn(t, x) -> (..., n_features)``; its output shape is checked."""

    def __init__(self, fn: Callable, n_features: int, time_dependent: bool = False, has_constant: bool = False):
        if not callable(fn):
            raise InputTypeError("fn must be callable as fn(t, x)")
        self.fn, self._p = fn, _check_int("n_features", n_features, 1)
        self.time_dependent, self.has_constant = bool(time_dependent), bool(has_constant)

    def n_features(self, d: int) -> int:
        return self._p

    def _features(self, t, x):
        out = self.fn(t, x)
        if not isinstance(out, torch.Tensor):
            raise InputTypeError(f"the feature function must return a torch tensor, got {type(out).__name__}")
        return out


def as_feature_map(features: object) -> FeatureMap:
    if isinstance(features, FeatureMap):
        return features
    raise InputTypeError(
        f"features must be a stochflow.rl.features.FeatureMap (Polynomial, Fourier, RadialBasis, TimeState, "
        f"CallableFeatures...), got {type(features).__name__}"
    )
