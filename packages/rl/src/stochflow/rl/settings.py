"""The three policy-evaluation settings: discounted, finite horizon and ergodic (average reward).

A setting fixes what the martingale of Jia & Zhou (2022) is:

* discounted: ``M_s = e^{-beta s} J(X_s) + int_0^s e^{-beta u} r_u du``;
* finite horizon: the same with ``J(t, x)`` depending on time and ``J(T, .) = h``;
* ergodic: ``M_s = J(X_s) + int_0^s (r_u - rho) du`` with the long-run average reward ``rho``
  unknown as well (``J`` is defined up to a constant, so feature maps must not hold one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from stochflow.core.errors import InputError, InputTypeError


def _check_beta(beta: float) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise InputTypeError(f"beta must be a real number, got {type(beta).__name__}")
    if not math.isfinite(beta) or beta < 0:
        raise InputError(f"the discount rate beta must be finite and >= 0, got {beta}")
    return float(beta)


@dataclass(frozen=True)
class Discounted:
    """Infinite horizon with discount rate ``beta > 0``: ``V(x) = E int_0^inf e^{-beta t} r(X_t) dt``."""

    beta: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", _check_beta(self.beta))
        if self.beta == 0:
            raise InputError("the discounted setting needs beta > 0; use Ergodic() for the average reward")

    time_dependent = False
    ergodic = False


@dataclass(frozen=True)
class FiniteHorizon:
    """Horizon ``T``, terminal reward ``h`` and discount rate ``beta >= 0``:
    ``J(t, x) = E[int_t^T e^{-beta(s-t)} r_s ds + e^{-beta(T-t)} h(X_T) | X_t = x]``.

    ``terminal`` maps states of shape ``(..., d)`` to values of shape ``(...)`` (torch in, torch out);
    ``None`` means ``h = 0``.
    """

    horizon: float
    terminal: Callable | None = None
    beta: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", _check_beta(self.beta))
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, (int, float)):
            raise InputTypeError(f"horizon must be a real number, got {type(self.horizon).__name__}")
        if not (math.isfinite(self.horizon) and self.horizon > 0):
            raise InputError(f"horizon must be finite and > 0, got {self.horizon}")
        if self.terminal is not None and not callable(self.terminal):
            raise InputTypeError("terminal must be a callable h(x) or None")

    time_dependent = True
    ergodic = False


@dataclass(frozen=True)
class Ergodic:
    """Long-run average reward ``rho`` and the relative value (bias) function ``J`` (no discount)."""

    beta: ClassVar[float] = 0.0
    time_dependent = False
    ergodic = True


Setting = Discounted | FiniteHorizon | Ergodic


def check_setting(setting: object) -> Setting:
    if not isinstance(setting, (Discounted, FiniteHorizon, Ergodic)):
        raise InputTypeError(
            f"setting must be Discounted(beta), FiniteHorizon(horizon, terminal, beta) or Ergodic(), "
            f"got {type(setting).__name__}"
        )
    return setting
