"""Mean-square TD error: kept to show that it is the wrong objective in continuous time."""

from __future__ import annotations

from typing import Any

import torch

from stochflow.rl.data import Trajectories
from stochflow.rl.estimators._base import ValueEstimator, check_int, check_number, prepare, solve
from stochflow.rl.estimators._neural import check_checkpointing, deltas, train


class MSTDE(ValueEstimator):
    """Minimise ``sum_k delta_k^2`` (the gradient flows through both ends of every increment).

    ``E delta_k^2`` is dominated by the martingale's quadratic variation, ``O(dt)`` per step, which
    is not minimised by the true value function: as ``dt -> 0`` the estimate drifts away from it
    (Jia & Zhou 2022). Do not use it for evaluation; it is here as a reference.

    Parameters
    ----------
    features, model
        Exactly one: linear features (least squares in closed form) or a ``torch.nn.Module`` (Adam).
    lr, epochs, batch_paths, seed, reward_rule, checkpoint, checkpoint_every
        As for :class:`~stochflow.rl.MartingaleLoss`.
    """

    def __init__(self, features: Any = None, model: Any = None, lr: float = 1e-2, epochs: int = 500,
                 batch_paths: int | None = None, reward_rule: str = "left", seed: int = 0, checkpoint: Any = None,
                 checkpoint_every: int = 100):
        self.features, self.model, self.lr, self.epochs = features, model, lr, epochs
        self.batch_paths, self.reward_rule, self.seed = batch_paths, reward_rule, seed
        self.checkpoint, self.checkpoint_every = checkpoint, checkpoint_every

    def fit(self, data: Trajectories) -> MSTDE:
        self._check_value_spec()
        lr = check_number("lr", self.lr)
        epochs = check_int("epochs", self.epochs)
        ckpt = check_checkpointing(self)
        steps = prepare(data, self.reward_rule)
        if self.model is not None:
            def loss(values, idx, rho):
                return (deltas(values, steps, idx, rho) ** 2).sum() / (steps.total_time * len(idx) / data.n_paths)

            self._set_neural(data, None)
            rho, hist = train(self._model, steps, loss, lr=lr, epochs=epochs, batch_paths=self.batch_paths,
                              seed=self._seed("batches"), desc="MSTDE", ergodic=steps.ergodic, owner=self,
                              checkpoint=ckpt, checkpoint_every=self.checkpoint_every)
            self._set_neural(data, rho)
            self.history_ = torch.tensor(hist)
            return self
        phi = self._features_on_grid(data)
        A, c = self._linear_parts(steps, phi)
        if steps.ergodic:
            A = torch.cat([A, -steps.dt.unsqueeze(-1)], dim=-1)
        A2 = A.reshape(-1, A.shape[-1])
        z = solve(A2.T @ A2, -(A2.T @ c.reshape(-1)), "MSTDE")
        theta, rho = (z[:-1], z[-1]) if steps.ergodic else (z, None)
        self._set_linear(data, theta, rho)
        self.history_ = None
        return self
