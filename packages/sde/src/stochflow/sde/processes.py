"""Stochastic differential equations: a user SDE from callables and the built-in processes.

An SDE ``dY = f(t, Y) dt + g(t, Y) ∘dW`` is described by its drift ``f``, diffusion ``g``, the
structure of its noise and its calculus (Itô or Stratonovich). Shapes, for a state ``y`` of shape
``(..., d)``:

``diagonal``  ``g(t, y)`` has the shape of ``y``; W has the shape of ``y``; noise term ``g * dW``.
``additive``  ``g`` does not depend on ``y``; either the shape of ``y`` (elementwise, W like ``y``)
              or ``(..., d, m)`` (W of shape ``(..., m)``).
``scalar``    ``g(t, y)`` has the shape of ``y``; W has shape ``(..., 1)``; noise term ``g * dW``.
``general``   ``g(t, y)`` has shape ``(..., d, m)``; W has shape ``(..., m)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from stochflow.core.errors import InputError, InputTypeError

NOISE_TYPES = ("diagonal", "additive", "scalar", "general")
KINDS = ("ito", "stratonovich")


class SDE:
    """An SDE from a drift and a diffusion callable.

    Parameters
    ----------
    drift
        ``f(t, y) -> array`` of ``y``'s shape. A ``torch.nn.Module`` works (neural SDE).
    diffusion
        ``g(t, y) -> array`` (shape by noise type, see the module docstring), or ``None`` for an ODE.
    noise
        ``"diagonal"``, ``"additive"``, ``"scalar"`` or ``"general"``.
    kind
        ``"ito"`` or ``"stratonovich"``.
    diffusion_derivative
        Optional, diagonal noise only: ``dg(t, y) -> array`` of ``y``'s shape, the elementwise
        derivative ``∂g_i/∂y_i``. ``milstein`` then uses ``g * dg`` instead of differentiating ``g``
        each step (which it does, by one forward- or reverse-mode product, when this is omitted).

    Examples
    --------
    >>> import torch, stochflow.sde as sde
    >>> ou = sde.SDE(drift=lambda t, y: -y, diffusion=lambda t, y: 0.3 * torch.ones_like(y),
    ...              noise="additive")
    >>> sde.solve(ou, torch.zeros(4, 2), torch.linspace(0, 1, 5), dt=0.01, seed=0).shape
    torch.Size([5, 4, 2])
    """

    def __init__(self, drift: Callable[[Any, Any], Any], diffusion: Callable[[Any, Any], Any] | None = None,
                 *, noise: str = "diagonal", kind: str = "ito",
                 diffusion_derivative: Callable[[Any, Any], Any] | None = None) -> None:
        if not callable(drift):
            raise InputTypeError(f"drift must be callable as drift(t, y), got {type(drift).__name__}")
        if diffusion is not None and not callable(diffusion):
            raise InputTypeError(f"diffusion must be callable as diffusion(t, y) or None (an ODE), "
                                 f"got {type(diffusion).__name__}")
        if noise not in NOISE_TYPES:
            raise InputError(f"noise must be one of {NOISE_TYPES}, got {noise!r}")
        if kind not in KINDS:
            raise InputError(f"kind must be 'ito' or 'stratonovich', got {kind!r}")
        if diffusion_derivative is not None and (not callable(diffusion_derivative) or noise != "diagonal"):
            raise InputError("diffusion_derivative must be a callable dg(t, y) -> dg_i/dy_i, for noise='diagonal' "
                             "only (other noise types are differentiated automatically)")
        self._diffusion_derivative = diffusion_derivative
        self._drift = drift
        self._diffusion = diffusion
        self.noise = noise
        self.kind = kind

    @property
    def is_ode(self) -> bool:
        """True when there is no diffusion (an ODE, e.g. a probability-flow ODE)."""
        return self._diffusion is None

    def f(self, t: Any, y: Any) -> Any:
        """Drift at ``(t, y)``."""
        return self._drift(t, y)

    def g(self, t: Any, y: Any) -> Any:
        """Diffusion at ``(t, y)``."""
        return self._diffusion(t, y)

    _diffusion_derivative = None

    def dg(self, t: Any, y: Any) -> Any:
        """``∂g_i/∂y_i`` at ``(t, y)`` when the SDE was given ``diffusion_derivative``, else ``None``."""
        fn = self._diffusion_derivative
        return None if fn is None else fn(t, y)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(noise={self.noise!r}, kind={self.kind!r})"


def _check_positive(**kwargs: float) -> None:
    for name, value in kwargs.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise InputError(f"{name} must be a positive finite number, got {value!r}")


def _check_finite(**kwargs: float) -> None:
    for name, value in kwargs.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{name} must be a finite number, got {value!r}")


def _exp(x: Any) -> Any:
    mod = type(x).__module__
    if mod.startswith("torch"):
        return x.exp()
    if mod.startswith("jax"):
        import jax.numpy as jnp

        return jnp.exp(x)
    return math.exp(x) if isinstance(x, (int, float)) else __import__("numpy").exp(x)


class BrownianMotion(SDE):
    """``dY = mu dt + sigma dW`` (additive, elementwise); exact solution ``y0 + mu t + sigma W_t``."""

    def __init__(self, mu: float = 0.0, sigma: float = 1.0) -> None:
        _check_finite(mu=mu)
        _check_positive(sigma=sigma)
        self.mu, self.sigma = float(mu), float(sigma)
        super().__init__(lambda t, y: 0 * y + self.mu, lambda t, y: 0 * y + self.sigma, noise="additive")

    def exact(self, y0: Any, t: float, w: Any) -> Any:
        """Pathwise solution at time ``t`` given ``W_t = w``."""
        return y0 + self.mu * t + self.sigma * w

    def mean(self, y0: Any, t: float) -> Any:
        return y0 + self.mu * t

    def variance(self, y0: Any, t: float) -> Any:
        return 0 * y0 + self.sigma**2 * t


class GBM(SDE):
    """Geometric Brownian motion ``dY = mu Y dt + sigma Y dW`` (Itô, diagonal noise).

    Exact solution ``Y_t = y0 exp((mu - sigma^2/2) t + sigma W_t)``; ``E Y_t = y0 e^{mu t}``,
    ``E Y_t^2 = y0^2 e^{(2 mu + sigma^2) t}``.
    """

    def __init__(self, mu: float = 0.5, sigma: float = 0.8) -> None:
        _check_finite(mu=mu)
        _check_positive(sigma=sigma)
        self.mu, self.sigma = float(mu), float(sigma)
        super().__init__(lambda t, y: self.mu * y, lambda t, y: self.sigma * y, noise="diagonal",
                         diffusion_derivative=lambda t, y: 0 * y + self.sigma)

    def exact(self, y0: Any, t: float, w: Any) -> Any:
        """Pathwise solution at time ``t`` given ``W_t = w``."""
        return y0 * _exp((self.mu - 0.5 * self.sigma**2) * t + self.sigma * w)

    def mean(self, y0: Any, t: float) -> Any:
        return y0 * math.exp(self.mu * t)

    def second_moment(self, y0: Any, t: float) -> Any:
        return y0**2 * math.exp((2 * self.mu + self.sigma**2) * t)


class OrnsteinUhlenbeck(SDE):
    """``dY = theta (mu - Y) dt + sigma dW`` (additive noise); Gaussian with closed-form moments."""

    def __init__(self, theta: float = 1.0, mu: float = 0.0, sigma: float = 0.5) -> None:
        _check_positive(theta=theta, sigma=sigma)
        _check_finite(mu=mu)
        self.theta, self.mu, self.sigma = float(theta), float(mu), float(sigma)
        super().__init__(lambda t, y: self.theta * (self.mu - y), lambda t, y: 0 * y + self.sigma,
                         noise="additive")

    def mean(self, y0: Any, t: float) -> Any:
        return self.mu + (y0 - self.mu) * math.exp(-self.theta * t)

    def variance(self, y0: Any, t: float) -> Any:
        return 0 * y0 + self.sigma**2 / (2 * self.theta) * (1 - math.exp(-2 * self.theta * t))


class CIR(SDE):
    """Cox–Ingersoll–Ross ``dY = kappa (theta - Y) dt + sigma sqrt(Y) dW`` (Itô, diagonal).

    The diffusion reads ``sqrt(max(Y, 0))``, and the ``"cir-implicit"`` solver (drift-implicit
    square-root Euler) keeps paths non-negative. ``E Y_t = theta + (y0 - theta) e^{-kappa t}``.
    """

    def __init__(self, kappa: float = 2.0, theta: float = 0.04, sigma: float = 0.2) -> None:
        _check_positive(kappa=kappa, theta=theta, sigma=sigma)
        self.kappa, self.theta, self.sigma = float(kappa), float(theta), float(sigma)
        super().__init__(lambda t, y: self.kappa * (self.theta - y),
                         lambda t, y: self.sigma * (y * (y > 0)) ** 0.5, noise="diagonal",
                         diffusion_derivative=self._dg)

    def _dg(self, t: Any, y: Any) -> Any:
        # d/dy sigma sqrt(y) = sigma / (2 sqrt(y)) for y > 0; 0 where the diffusion is clamped to 0
        pos = y > 0
        return 0.5 * self.sigma * pos / (y * pos + (1 - 1 * pos)) ** 0.5

    def mean(self, y0: Any, t: float) -> Any:
        return self.theta + (y0 - self.theta) * math.exp(-self.kappa * t)

    def variance(self, y0: Any, t: float) -> Any:
        e = math.exp(-self.kappa * t)
        k, th, s = self.kappa, self.theta, self.sigma
        return y0 * s**2 * e * (1 - e) / k + th * s**2 * (1 - e) ** 2 / (2 * k)


class UnderdampedLangevin(SDE):
    """Underdamped Langevin in a quadratic potential ``U(x) = k x^2 / 2``: the state is ``(x, v)``
    stacked on the last axis (``2 d``), ``dx = v dt``, ``dv = (-k x - gamma v) dt + sqrt(2 gamma T) dW``.

    Additive noise (elementwise, zero on positions). The stationary law is
    ``x ~ N(0, T/k)``, ``v ~ N(0, T)``.
    """

    def __init__(self, gamma: float = 1.0, k: float = 1.0, temperature: float = 1.0) -> None:
        _check_positive(gamma=gamma, k=k, temperature=temperature)
        self.gamma, self.k, self.temperature = float(gamma), float(k), float(temperature)
        scale = math.sqrt(2 * self.gamma * self.temperature)

        def drift(t, y):
            d = y.shape[-1] // 2
            x, v = y[..., :d], y[..., d:]
            return _cat(v, -self.k * x - self.gamma * v)

        def diffusion(t, y):
            d = y.shape[-1] // 2
            return _cat(0 * y[..., :d], 0 * y[..., d:] + scale)

        super().__init__(drift, diffusion, noise="additive")

    def stationary_variance(self) -> tuple[float, float]:
        """``(Var x, Var v)`` under the stationary (Gibbs) law."""
        return self.temperature / self.k, self.temperature


def _cat(a: Any, b: Any) -> Any:
    if type(a).__module__.startswith("torch"):
        import torch

        return torch.cat([a, b], dim=-1)
    import jax.numpy as jnp

    return jnp.concatenate([a, b], axis=-1)
