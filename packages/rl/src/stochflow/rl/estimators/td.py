"""TD(0) and TD(lambda) in continuous time: stochastic approximation of ``E sum xi_k delta_k = 0``."""

from __future__ import annotations

from typing import Any

import torch

from stochflow.core.errors import ConvergenceError, InputError
from stochflow.core.progress import progress
from stochflow.rl.data import Trajectories
from stochflow.rl.estimators._base import (
    ValueEstimator,
    check_int,
    check_number,
    moment_system,
    prepare,
    split,
)
from stochflow.rl.estimators._neural import check_checkpointing, deltas, train
from stochflow.rl.martingale import tail_sum, trace_decay


class TD(ValueEstimator):
    """TD(lambda) with the paper's test functions: the gradient ``xi = dJ/dtheta`` for TD(0) and the
    lambda-trace ``xi_k = lambda^{dt} gamma xi_{k-1} + dJ_k/dtheta dt_k`` for ``lam > 0``.

    The update is ``theta <- theta + lr * sum_k xi_k delta_k`` (normalised by the observed time in
    the offline, full-batch form; averaged over paths in the online form). ``delta_k`` is ``O(dt)``
    in mean, so ``lr`` is a rate per unit time and needs no rescaling when ``dt`` changes. In the
    ergodic setting ``rho <- rho + lr * sum_k delta_k`` alongside.

    Parameters
    ----------
    features, model
        Exactly one: a feature map (linear value) or a ``torch.nn.Module`` (neural value, trained
        with Adam on the semi-gradient surrogate ``-sum_j J_j sg(dt_j D_j)``).
    lam
        ``lambda`` in ``[0, 1]`` per unit time; ``lam = 1`` is TD(1), which is the martingale loss.
    test_function
        For linear features: ``"gradient"``, ``"trace"`` or a callable ``xi(t, x)`` as for
        :class:`~stochflow.rl.LSTD` (default: gradient for ``lam = 0``, else trace).
    lr
        Learning rate (per unit time, see above); for a network, Adam's rate.
    epochs
        Passes over the data (offline: iterations of the full-batch update).
    online
        Update after every step, path-parallel, instead of after whole passes (linear only).
    batch_paths
        Paths per iteration for a network (default: all).
    theta0
        Initial linear parameters (default zeros).
    reward_rule
        ``"left"`` or ``"trapezoid"`` (see :mod:`stochflow.rl.martingale`).
    seed
        Seeds the batches of paths.
    checkpoint, checkpoint_every
        For a network: a resumable checkpoint written every ``checkpoint_every`` iterations and at
        the end; ``fit`` resumes from it when it exists, on any number of processes. Under
        ``torchrun`` the network trains with DistributedDataParallel, each rank on its share of
        every batch of paths (see ``stochflow.rl.estimators._neural``).
    """

    def __init__(self, features: Any = None, model: Any = None, lam: float = 0.0, test_function: Any = None,
                 lr: float = 0.5, epochs: int = 500, online: bool = False, batch_paths: int | None = None,
                 theta0: Any = None, reward_rule: str = "left", seed: int = 0, checkpoint: Any = None,
                 checkpoint_every: int = 100):
        self.features, self.model, self.lam, self.lr, self.epochs = features, model, lam, lr, epochs
        self.test_function = test_function
        self.online, self.batch_paths, self.theta0, self.reward_rule, self.seed = (
            online, batch_paths, theta0, reward_rule, seed)
        self.checkpoint, self.checkpoint_every = checkpoint, checkpoint_every

    def fit(self, data: Trajectories) -> TD:
        self._check_value_spec()
        lam = check_number("lam", self.lam, low=0.0, strict=False, high=1.0)
        lr = check_number("lr", self.lr)
        epochs = check_int("epochs", self.epochs)
        if self.online and self.model is not None:
            raise InputError("online=True is for linear features; train a network offline")
        if self.test_function is not None and self.model is not None:
            raise InputError("test_function is for linear features; a network uses its gradient or trace")
        ckpt = check_checkpointing(self)
        steps = prepare(data, self.reward_rule)
        kind = self.test_function or ("gradient" if lam == 0 else "trace")
        if self.model is not None:
            return self._fit_neural(steps, lam, lr, epochs, ckpt)
        phi = self._features_on_grid(data)
        A, c = self._linear_parts(steps, phi)
        xi = self._test_functions(steps, phi, kind, lam)
        p = A.shape[-1] + int(steps.ergodic)
        z = torch.zeros(p, dtype=data.dtype, device=data.device)
        if self.theta0 is not None:
            t0 = torch.as_tensor(self.theta0, dtype=data.dtype, device=data.device).reshape(-1)
            if t0.shape[0] != A.shape[-1]:
                raise InputError(f"theta0 has {t0.shape[0]} entries but the features have {A.shape[-1]}")
            z[: A.shape[-1]] = t0
        history = [z.clone()]
        if self.online:
            dt = steps.dt
            for _ in progress(range(epochs), desc="TD online"):
                for k in range(A.shape[1]):
                    theta, rho = split(z, steps.ergodic)
                    d = A[:, k] @ theta + c[:, k] - (rho * dt[:, k] if rho is not None else 0.0)
                    upd = (xi[:, k] * d.unsqueeze(-1)).mean(0)
                    if steps.ergodic:
                        upd = torch.cat([upd, d.mean().reshape(1)])
                    z = z + lr * upd
                history.append(z.clone())
        else:
            M, b = moment_system(steps, xi, A, c)
            for _ in progress(range(epochs), desc="TD"):
                z = z + lr * (M @ z + b)
                history.append(z.clone())
        if not bool(torch.isfinite(z).all()):
            raise ConvergenceError(
                f"TD diverged (lr={lr} per unit time is too large for these features on these data): lower lr, "
                "or rescale the features"
            )
        theta, rho = split(z, steps.ergodic)
        self._set_linear(data, theta, rho)
        self.history_ = torch.stack(history)
        return self

    def _fit_neural(self, steps, lam, lr, epochs, ckpt) -> TD:
        decay = trace_decay(steps.dt, steps.gamma, lam)

        def loss(values, idx, rho):
            d = deltas(values.detach(), steps, idx, rho)
            if lam == 0:
                weight = d.detach()
            else:
                weight = steps.dt[idx] * tail_sum(d.detach(), decay.expand_as(steps.dt)[idx])
            out = -(values[:, :-1] * weight).sum()
            if rho is not None:
                out = out - rho * d.detach().sum()
            return out / (steps.total_time * len(idx) / steps.data.n_paths)

        self._set_neural(steps.data, None)
        rho, hist = train(self._model, steps, loss, lr=lr, epochs=epochs, batch_paths=self.batch_paths,
                          seed=self._seed("batches"), desc=f"TD({lam:g})", ergodic=steps.ergodic, owner=self,
                          checkpoint=ckpt, checkpoint_every=self.checkpoint_every)
        self._set_neural(steps.data, rho)
        self.history_ = torch.tensor(hist)
        return self
