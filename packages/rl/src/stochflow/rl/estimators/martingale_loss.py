"""The martingale loss (offline, gradient Monte Carlo)."""

from __future__ import annotations

from typing import Any

import torch

from stochflow.rl.data import Trajectories
from stochflow.rl.estimators._base import ValueEstimator, check_int, check_number, prepare, solve
from stochflow.rl.estimators._neural import check_checkpointing, deltas, train
from stochflow.rl.martingale import tail_sum


class MartingaleLoss(ValueEstimator):
    """Minimise ``1/2 sum_j dt_j (G_j - J_j)^2`` with the discounted return-to-go
    ``G_j = sum_{k >= j} e^{-beta(t_k - t_j)} R_k + e^{-beta(t_N - t_j)} J_N``.

    ``G_j - J_j`` is the discounted tail sum of the martingale increments ``delta_k``. In a finite
    horizon ``J_N = h(X_N)`` and this is the martingale loss of Jia & Zhou (2022) (times
    ``e^{2 beta t}``, i.e. every time weighted alike). In the discounted and ergodic settings the
    unknown ``J_N`` is bootstrapped and held fixed in the gradient (its fixed point is TD(1)); in the
    ergodic setting ``rho`` is fitted by the full gradient of the loss.

    Parameters
    ----------
    features, model
        Exactly one: linear features (solved in closed form) or a ``torch.nn.Module`` (Adam).
    lr, epochs, batch_paths, seed
        Training of a network.
    checkpoint, checkpoint_every
        For a network: a resumable checkpoint, as for :class:`~stochflow.rl.TD` (also under
        ``torchrun``, with DistributedDataParallel).
    reward_rule
        ``"left"`` or ``"trapezoid"``.
    """

    def __init__(self, features: Any = None, model: Any = None, lr: float = 1e-2, epochs: int = 500,
                 batch_paths: int | None = None, reward_rule: str = "left", seed: int = 0, checkpoint: Any = None,
                 checkpoint_every: int = 100):
        self.features, self.model, self.lr, self.epochs = features, model, lr, epochs
        self.batch_paths, self.reward_rule, self.seed = batch_paths, reward_rule, seed
        self.checkpoint, self.checkpoint_every = checkpoint, checkpoint_every

    def fit(self, data: Trajectories) -> MartingaleLoss:
        self._check_value_spec()
        lr = check_number("lr", self.lr)
        epochs = check_int("epochs", self.epochs)
        ckpt = check_checkpointing(self)
        steps = prepare(data, self.reward_rule)
        if self.model is not None:
            return self._fit_neural(steps, lr, epochs, ckpt)
        phi = self._features_on_grid(data)
        A, c = self._linear_parts(steps, phi)
        dt, gamma = steps.dt, steps.gamma
        tail_A, tail_c = tail_sum(A, gamma), tail_sum(c, gamma)  # G_j - J_j = tail_A theta + tail_c (- rho tail_dt)
        w = phi[:, :-1] * dt.unsqueeze(-1)
        M = torch.einsum("bkq,bkp->qp", w, tail_A)
        b = torch.einsum("bkq,bk->q", w, tail_c)
        if steps.ergodic:
            tail_dt = tail_sum(dt, gamma)
            wr = dt * tail_dt  # d/d rho of (G_j - J_j) is -tail_dt_j
            M = torch.cat([torch.cat([M, -torch.einsum("bkq,bk->q", w, tail_dt).unsqueeze(-1)], -1),
                           torch.cat([torch.einsum("bk,bkp->p", wr, tail_A), -(wr * tail_dt).sum().reshape(1)]).unsqueeze(0)])
            b = torch.cat([b, (wr * tail_c).sum().reshape(1)])
        z = solve(M / steps.total_time, -b / steps.total_time, "MartingaleLoss")
        theta, rho = (z[:-1], z[-1]) if steps.ergodic else (z, None)
        self._set_linear(data, theta, rho)
        self.history_ = None
        return self

    def _fit_neural(self, steps, lr, epochs, ckpt) -> MartingaleLoss:
        gamma = steps.gamma

        def loss(values, idx, rho):
            d = deltas(values.detach(), steps, idx, rho)
            target = values.detach()[:, :-1] + tail_sum(d, gamma[idx])  # G_j; depends on rho only
            return 0.5 * (steps.dt[idx] * (target - values[:, :-1]) ** 2).sum() / (
                steps.total_time * len(idx) / steps.data.n_paths)

        self._set_neural(steps.data, None)
        rho, hist = train(self._model, steps, loss, lr=lr, epochs=epochs, batch_paths=self.batch_paths,
                          seed=self._seed("batches"), desc="martingale loss", ergodic=steps.ergodic, owner=self,
                          checkpoint=ckpt, checkpoint_every=self.checkpoint_every)
        self._set_neural(steps.data, rho)
        self.history_ = torch.tensor(hist)
        return self
