"""What every estimator shares: checking its inputs, preparing the increments, the fitted value."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from stochflow.core.errors import InputError, InputTypeError, NotFittedError
from stochflow.core.estimator import Estimator
from stochflow.core.seeding import derive_seed
from stochflow.rl.data import Trajectories
from stochflow.rl.features import FeatureMap, as_feature_map
from stochflow.rl.martingale import (
    check_rule,
    discounts,
    forward_trace,
    increment,
    reward_integral,
    trace_decay,
)
from stochflow.rl.settings import FiniteHorizon
from stochflow.rl.value import LinearValue, NeuralValue


@dataclass
class Steps:
    """Per-step quantities of a data set: ``dt``, ``gamma``, reward integrals ``R`` (all ``(B, N)``),
    the terminal values ``h(X_N)`` (finite horizon) and the total observed time."""

    data: Trajectories
    dt: torch.Tensor
    gamma: torch.Tensor
    reward: torch.Tensor
    terminal: torch.Tensor | None
    total_time: float

    @property
    def ergodic(self) -> bool:
        return bool(self.data.setting.ergodic)

    def next_values(self, values: torch.Tensor) -> torch.Tensor:
        """Values at ``t_{k+1}`` from values on the grid ``(B, N+1[, p])``: in a finite horizon the
        last one is the terminal reward (for feature vectors, whose coefficient is zero)."""
        nxt = values[:, 1:].clone()
        if self.terminal is not None:
            nxt[:, -1] = self.terminal if values.ndim == 2 else 0.0
        return nxt

    def constant_part(self) -> torch.Tensor:
        """The part of ``delta`` that does not depend on the value function: ``R_k`` plus
        ``gamma_{N-1} h(X_N)`` on the last step of a finite horizon."""
        zero = torch.zeros_like(self.reward)
        nxt = zero.clone()
        if self.terminal is not None:
            nxt[:, -1] = self.terminal
        return increment(zero, nxt, self.gamma, self.reward)


def prepare(data: object, reward_rule: str) -> Steps:
    if not isinstance(data, Trajectories):
        raise InputTypeError(
            f"fit expects stochflow.rl.Trajectories (from env.rollout or built from arrays), got {type(data).__name__}"
        )
    check_rule(reward_rule)
    dt = data.dt
    gamma = discounts(dt, data.setting).expand(data.n_paths, -1)
    reward = reward_integral(data.rewards, dt, gamma, reward_rule)
    terminal = None
    if isinstance(data.setting, FiniteHorizon):
        h = data.setting.terminal
        xN = data.states[:, -1]
        terminal = torch.zeros(data.n_paths, dtype=data.dtype, device=data.device) if h is None else h(xN)
        if not isinstance(terminal, torch.Tensor) or terminal.shape != (data.n_paths,):
            raise InputError(
                f"the terminal reward h must map states of shape {tuple(xN.shape)} to a tensor of shape "
                f"({data.n_paths},)"
            )
        if not bool(torch.isfinite(terminal).all()):
            raise InputError("the terminal reward h gave NaN or inf")
    total = float((data.times[:, -1] - data.times[:, 0]).sum()) * (data.n_paths if data.times.shape[0] == 1 else 1)
    return Steps(data, dt.expand(data.n_paths, -1), gamma, reward, terminal, total)


def check_number(name: str, value: object, *, low: float = 0.0, strict: bool = True, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputTypeError(f"{name} must be a number, got {type(value).__name__}")
    bad = not math.isfinite(value) or (value <= low if strict else value < low) or (high is not None and value > high)
    if bad:
        rng = f"{'>' if strict else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        raise InputError(f"{name} must be {rng}, got {value}")
    return float(value)


def check_int(name: str, value: object, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{name} must be an int >= {low}, got {value!r}")
    return value


class ValueEstimator(Estimator):
    """Base of the policy-evaluation estimators. After ``fit``: ``value(x, t=None)``, ``theta_``
    (linear), ``rho_`` (ergodic), ``history_`` (parameters per iteration, iterative methods)."""

    linear_only = False
    features: Any = None
    model: Any = None
    reward_rule: str = "left"

    def _check_value_spec(self) -> None:
        if (self.features is None) == (self.model is None):
            raise InputError(f"{type(self).__name__} needs exactly one of features= (linear) or model= (neural)")
        if self.features is not None:
            as_feature_map(self.features)
        elif self.linear_only:
            raise InputTypeError(f"{type(self).__name__} is for linear value functions: pass features=, not model=")
        elif not isinstance(self.model, torch.nn.Module):
            raise InputTypeError(f"model must be a torch.nn.Module, got {type(self.model).__name__}")
        check_rule(self.reward_rule)

    # -- linear pieces --------------------------------------------------------------------------
    def _features_on_grid(self, data: Trajectories) -> torch.Tensor:
        fmap: FeatureMap = self.features
        if data.setting.time_dependent and not fmap.time_dependent:
            raise InputError(
                "a finite horizon needs time-state features: wrap the state features in "
                "features.TimeState(state, features.TimePolynomial(...) or TimeExponential(...))"
            )
        if data.setting.ergodic and fmap.has_constant:
            raise InputError(
                "in the ergodic setting J is defined up to a constant: use features without the constant "
                "(e.g. Polynomial(degree, constant=False))"
            )
        return fmap(data.grid_times(), data.states)

    def _linear_parts(self, steps: Steps, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``delta_k = A_k theta + c_k (- rho dt_k)``: returns ``A`` ``(B, N, p)`` and ``c`` ``(B, N)``."""
        A = increment(phi[:, :-1], steps.next_values(phi), steps.gamma)
        return A, steps.constant_part()

    def _test_functions(self, steps: Steps, phi: torch.Tensor, kind: Any, lam: float,
                        square: bool = True) -> torch.Tensor:
        """Test functions ``xi_k`` ``(B, N, q)`` for a linear value: the gradient ``phi_k``, the
        lambda-trace ``xi_k = lambda^{dt} gamma xi_{k-1} + phi_k dt_k``, or a user callable
        ``xi(t, x) -> (B, N+1, q)`` with ``q = p`` (``q >= p`` when not ``square``)."""
        if kind == "gradient":
            return phi[:, :-1]
        if kind == "trace":
            return forward_trace(phi[:, :-1] * steps.dt.unsqueeze(-1), trace_decay(steps.dt, steps.gamma, lam))
        if callable(kind):
            data = steps.data
            xi = kind(data.grid_times(), data.states)
            ok = isinstance(xi, torch.Tensor) and xi.ndim == 3 and xi.shape[:2] == phi.shape[:2] and (
                xi.shape[2] == phi.shape[2] if square else xi.shape[2] >= phi.shape[2])
            if not ok:
                want = f"{tuple(phi.shape)}" if square else f"{tuple(phi.shape[:2])} + (q >= {phi.shape[2]},)"
                raise InputError(
                    f"a test function must return a tensor of shape {want} (paths, times, test functions), "
                    f"got {tuple(xi.shape) if isinstance(xi, torch.Tensor) else type(xi).__name__}"
                )
            return xi[:, :-1].to(phi)
        raise InputError(f"test_function must be 'gradient', 'trace' or a callable xi(t, x), got {kind!r}")

    def _set_linear(self, data: Trajectories, theta: torch.Tensor, rho: torch.Tensor | None) -> None:
        self.theta_ = theta
        self.rho_ = rho
        self.dim_ = data.dim
        self._model = LinearValue(self.features, theta, data.dim, rho)

    def _set_neural(self, data: Trajectories, rho: torch.Tensor | None) -> None:
        self.rho_ = rho
        self.dim_ = data.dim
        self._model = NeuralValue(self.model, data.dim, data.setting.time_dependent, rho)

    # -- after fit ----------------------------------------------------------------------------------
    def value(self, x: object, t: object = None) -> torch.Tensor:
        """Estimated value at states ``x`` (``(..., d)``, or ``(...)`` when ``d = 1``) and, in a
        finite horizon, times ``t``."""
        if self._model is None:
            raise NotFittedError(f"{type(self).__name__} has no model yet: call .fit(data) first")
        return self._model(x, t)

    def _seed(self, *keys: object) -> int:
        return derive_seed(int(self.seed), "stochflow-rl", *keys)


def solve(matrix: torch.Tensor, rhs: torch.Tensor, what: str) -> torch.Tensor:
    """Solve a small linear system, with a clear error when it is singular."""
    try:
        out = torch.linalg.solve(matrix, rhs)
    except RuntimeError as exc:  # torch raises _LinAlgError (a RuntimeError)
        raise InputError(
            f"{what}: the linear system is singular; the features are linearly dependent on the data "
            "(drop redundant features or add data)"
        ) from exc
    if not bool(torch.isfinite(out).all()):
        raise InputError(f"{what}: the solution is not finite; the features are ill-conditioned on the data")
    return out


def ergodic_system(xi: torch.Tensor, A: torch.Tensor, c: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The orthogonality conditions ``sum_k xi_k delta_k = 0`` and ``sum_k delta_k = 0`` (the constant
    test function, which identifies ``rho``) as ``M [theta; rho] = -b`` for
    ``delta_k = A_k theta + c_k - rho dt_k``."""
    top = torch.cat([torch.einsum("bkq,bkp->qp", xi, A), -torch.einsum("bkq,bk->q", xi, dt).unsqueeze(-1)], dim=-1)
    bottom = torch.cat([A.sum(dim=(0, 1)), -dt.sum().reshape(1)]).unsqueeze(0)
    M = torch.cat([top, bottom], dim=0)
    b = torch.cat([torch.einsum("bkq,bk->q", xi, c), c.sum().reshape(1)])
    return M, b


def moment_system(steps: Steps, xi: torch.Tensor, A: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``sum_k xi_k delta_k = M z + b`` for the unknowns ``z = theta`` (or ``[theta; rho]`` in the
    ergodic setting), normalised by the total observed time."""
    if steps.ergodic:
        M, b = ergodic_system(xi, A, c, steps.dt)
    else:
        M, b = torch.einsum("bkq,bkp->qp", xi, A), torch.einsum("bkq,bk->q", xi, c)
    return M / steps.total_time, b / steps.total_time


def split(z: torch.Tensor, ergodic: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    return (z[:-1], z[-1]) if ergodic else (z, None)
