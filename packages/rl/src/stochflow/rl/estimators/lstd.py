"""Least-squares TD: the martingale orthogonality conditions solved in closed form."""

from __future__ import annotations

from typing import Any

from stochflow.rl.data import Trajectories
from stochflow.rl.estimators._base import ValueEstimator, check_number, moment_system, prepare, solve, split


class LSTD(ValueEstimator):
    """LSTD for ``J = theta^T phi``: solves ``sum_k xi_k delta_k(theta) = 0`` exactly.

    For ``delta_k = A_k theta + c_k`` (see :mod:`stochflow.rl.martingale`) this is
    ``theta = -[sum xi_k A_k^T]^{-1} sum xi_k c_k``; in the ergodic setting the constant test
    function is added and ``rho`` solved for too.

    Parameters
    ----------
    features
        A :class:`~stochflow.rl.features.FeatureMap`.
    test_function
        ``"gradient"`` (``xi = phi``: the fixed point of TD(0)), ``"trace"`` (the lambda-trace:
        LSTD(lambda)) or a callable ``xi(t, x) -> (B, N+1, p)``. Default: ``"gradient"`` when
        ``lam == 0``, else ``"trace"``.
    lam
        Trace parameter ``lambda`` in ``[0, 1]``, per unit time (the trace decays by ``lambda^{dt}``).
    reward_rule
        ``"left"`` or ``"trapezoid"``.
    """

    linear_only = True

    def __init__(self, features: Any, test_function: Any = None, lam: float = 0.0, reward_rule: str = "left"):
        self.features, self.model = features, None
        self.test_function, self.lam, self.reward_rule = test_function, lam, reward_rule

    def fit(self, data: Trajectories) -> LSTD:
        self._check_value_spec()
        lam = check_number("lam", self.lam, low=0.0, strict=False, high=1.0)
        kind = self.test_function or ("gradient" if lam == 0 else "trace")
        steps = prepare(data, self.reward_rule)
        phi = self._features_on_grid(data)
        A, c = self._linear_parts(steps, phi)
        xi = self._test_functions(steps, phi, kind, lam)
        M, b = moment_system(steps, xi, A, c)
        theta, rho = split(solve(M, -b, "LSTD"), steps.ergodic)
        self._set_linear(data, theta, rho)
        self.history_ = None
        return self
