"""Gradient TD: minimise a quadratic form of the martingale orthogonality conditions."""

from __future__ import annotations

from typing import Any

import torch

from stochflow.core.errors import ConvergenceError
from stochflow.core.progress import progress
from stochflow.rl.data import Trajectories
from stochflow.rl.estimators._base import (
    ValueEstimator,
    check_int,
    check_number,
    ergodic_system,
    prepare,
    split,
)


class GTD(ValueEstimator):
    """GTD2-style two-timescale method for ``J = theta^T phi``.

    With ``g(theta) = sum_k xi_k delta_k`` (per unit time) and ``G = sum_k xi_k xi_k^T dt_k``, it
    minimises ``1/2 g^T G^{-1} g``: a fast auxiliary ``w`` tracks ``G^{-1} g``
    (``w <- w + lr_aux (g - G w)``) and ``theta <- theta - lr (dg/dtheta)^T w``. The minimum is the
    LSTD solution whenever that exists, reached by descent on a convex objective (it also works when
    the test functions outnumber the features).

    Parameters
    ----------
    features
        A feature map.
    test_function, lam
        As for :class:`~stochflow.rl.LSTD`; a callable may return more test functions than there
        are features (over-identified conditions, weighted by ``G^{-1}``).
    lr, lr_aux
        Slow and fast learning rates (``lr_aux`` should be the larger).
    epochs
        Iterations of the full-batch updates.
    reward_rule
        ``"left"`` or ``"trapezoid"``.
    """

    linear_only = True

    def __init__(self, features: Any, test_function: Any = None, lam: float = 0.0, lr: float = 0.5,
                 lr_aux: float = 1.0, epochs: int = 2000, reward_rule: str = "left"):
        self.features, self.model = features, None
        self.test_function, self.lam, self.lr, self.lr_aux = test_function, lam, lr, lr_aux
        self.epochs, self.reward_rule = epochs, reward_rule

    def fit(self, data: Trajectories) -> GTD:
        self._check_value_spec()
        lam = check_number("lam", self.lam, low=0.0, strict=False, high=1.0)
        lr, lr_aux = check_number("lr", self.lr), check_number("lr_aux", self.lr_aux)
        epochs = check_int("epochs", self.epochs)
        kind = self.test_function or ("gradient" if lam == 0 else "trace")
        steps = prepare(data, self.reward_rule)
        phi = self._features_on_grid(data)
        A, c = self._linear_parts(steps, phi)
        xi = self._test_functions(steps, phi, kind, lam, square=False)
        dt = steps.dt
        if steps.ergodic:
            M, b = ergodic_system(xi, A, c, dt)
            xi_full = torch.cat([xi, torch.ones_like(dt).unsqueeze(-1)], dim=-1)
        else:
            M, b = torch.einsum("bkq,bkp->qp", xi, A), torch.einsum("bkq,bk->q", xi, c)
            xi_full = xi
        G = torch.einsum("bkq,bkr,bk->qr", xi_full, xi_full, dt) / steps.total_time
        M, b = M / steps.total_time, b / steps.total_time
        # scale the rates by the curvature so that lr, lr_aux are dimensionless
        g_scale = float(torch.linalg.eigvalsh(G).max())
        z = torch.zeros(M.shape[1], dtype=data.dtype, device=data.device)
        w = torch.zeros(M.shape[0], dtype=data.dtype, device=data.device)
        h_scale = float(torch.linalg.matrix_norm(M, ord=2)) ** 2 / g_scale
        history = [z.clone()]
        for _ in progress(range(epochs), desc="GTD"):
            w = w + (lr_aux / g_scale) * (M @ z + b - G @ w)
            z = z - (lr / h_scale) * (M.T @ w)
            history.append(z.clone())
        if not bool(torch.isfinite(z).all()):
            raise ConvergenceError(f"GTD diverged with lr={lr}, lr_aux={lr_aux}: lower them")
        theta, rho = split(z, steps.ergodic)
        self._set_linear(data, theta, rho)
        self.history_ = torch.stack(history)
        return self
