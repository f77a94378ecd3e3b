"""Denoising score matching (Song et al. 2021, eq. 7) with σ²- or likelihood weighting, EMA,
resumable checkpoints, a progress bar, and DistributedDataParallel when run under ``torchrun``.

The network predicts ε̂(x_t, t); with ``x_t = mean_t(x₀) + σ_t ε`` the score target is ``−ε/σ_t``, so
``λ(t) ‖s_θ − ∇log p(x_t|x₀)‖² = λ(t)/σ_t² ‖ε̂ − ε‖²``: σ²-weighting (λ = σ²) is the plain ε-loss and
likelihood weighting (λ = g², Song et al. 2021b) multiplies it by ``g(t)²/σ_t²``.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch

from stochflow.core import Estimator, derive_seed
from stochflow.core.errors import InputError, InputTypeError, close_matches_message
from stochflow.core.estimator import check_stamp, stamp
from stochflow.core.progress import progress
from stochflow.diffusion._util import bcast, check_tensor
from stochflow.diffusion.sde import DiffusionSDE

LOSS_READ_EVERY = 16  # steps between reads of the recorded losses on the host (each one a sync off the CPU)
WEIGHTINGS = ("sigma2", "likelihood")


def ema_decay_at(decay: float, step: int) -> float:
    """EMA decay used at update number ``step`` (1, 2, …): ``min(decay, (1 + step) / (10 + step))``.

    The warm-up (as the EMA of score_sde, which GDSS uses) keeps the average from being dominated
    by the random initial weights: with a constant 0.999, the EMA after ``k`` steps still holds
    ``0.999^k`` of them (47 % after 750 steps), and a short run samples from a shrunken network.
    """
    return min(float(decay), (1.0 + step) / (10.0 + step))


@torch.no_grad()
def ema_update(ema: torch.nn.Module, net: torch.nn.Module, decay: float, step: int) -> None:
    """``ema ← d·ema + (1 − d)·net`` parameter by parameter, with ``d = ema_decay_at(decay, step)``."""
    d = ema_decay_at(decay, step)
    for pe, p in zip(ema.parameters(), net.parameters()):
        pe.mul_(d).add_(p, alpha=1 - d)


def dsm_loss(net, sde: DiffusionSDE, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
             weighting: str = "sigma2") -> torch.Tensor:
    """Mean weighted denoising score-matching loss of an ε-predicting ``net``."""
    xt = sde.perturb(x0, t, noise)
    err = (net(xt, t) - noise) ** 2
    per = err.reshape(err.shape[0], -1).sum(1)
    if weighting == "likelihood":
        per = per * sde.schedule.diffusion2(t) / sde.schedule.sigma(t) ** 2
    return per.mean()


class TrainedScore(torch.nn.Module):
    """A trained ε-network as ``score_fn(x, t) = −ε̂(x, t)/σ_t`` (call it, or pass it to ``sample``)."""

    def __init__(self, net: torch.nn.Module, sde: DiffusionSDE):
        super().__init__()
        self.net, self.sde = net, sde

    def forward(self, x, t):
        return -self.net(x, t) / bcast(self.sde.schedule.sigma(t), x)


class ScoreTrainer(Estimator):
    """Fit an ε-network to data by denoising score matching.

    Parameters
    ----------
    sde
        The diffusion SDE.
    net
        ``net(x, t) -> ε̂`` (e.g. :class:`~stochflow.diffusion.nets.MLPScore`); trained in place.
    weighting
        ``"sigma2"`` or ``"likelihood"``.
    iterations, batch_size, lr
        Adam steps, batch size (per process), learning rate.
    ema_decay
        Decay of the exponential moving average of the weights, with a warm-up
        (:func:`ema_decay_at`); the fitted model uses the EMA.
    seed
        Seeds batches, times and noise (per rank under DDP: ``derive_seed(seed, "rank", r)``).
    checkpoint, checkpoint_every
        Path of a resumable checkpoint written every ``checkpoint_every`` steps and at the end; if
        it exists when ``fit`` starts, training resumes from it.
    progress_bar
        Show a progress bar (``None``: on a terminal only).
    """

    def __init__(self, sde: DiffusionSDE, net: torch.nn.Module, weighting: str = "sigma2", iterations: int = 2000,
                 batch_size: int = 256, lr: float = 2e-3, ema_decay: float = 0.995, seed: int = 0,
                 checkpoint: str | Path | None = None, checkpoint_every: int = 500, progress_bar: bool | None = None):
        self.sde, self.net, self.weighting = sde, net, weighting
        self.iterations, self.batch_size, self.lr, self.ema_decay = iterations, batch_size, lr, ema_decay
        self.seed, self.checkpoint, self.checkpoint_every, self.progress_bar = seed, checkpoint, checkpoint_every, progress_bar

    def _check(self, data):
        if not isinstance(self.sde, DiffusionSDE):
            raise InputTypeError(f"sde must be a DiffusionSDE, got {type(self.sde).__name__}")
        if not isinstance(self.net, torch.nn.Module):
            raise InputTypeError(f"net must be a torch.nn.Module, got {type(self.net).__name__}")
        if self.weighting not in WEIGHTINGS:
            raise InputError(close_matches_message("weighting", str(self.weighting), WEIGHTINGS))
        for name in ("iterations", "batch_size", "checkpoint_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be an int >= 1, got {v!r}")
        if not (0 < self.lr) or not (0 <= self.ema_decay < 1):
            raise InputError(f"need lr > 0 and 0 <= ema_decay < 1, got {self.lr}, {self.ema_decay}")
        data = check_tensor("data", data)
        if not torch.isfinite(data).all():
            raise InputError("data contains NaN or inf")
        return data

    def fit(self, data: torch.Tensor) -> ScoreTrainer:
        data = self._check(data)
        dist = torch.distributed.is_available() and torch.distributed.is_initialized()
        rank = torch.distributed.get_rank() if dist else 0
        net = self.net.to(device=data.device, dtype=data.dtype)
        train_net = torch.nn.parallel.DistributedDataParallel(net) if dist else net
        ema = copy.deepcopy(net).requires_grad_(False)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        gen = torch.Generator(device=data.device).manual_seed(derive_seed(self.seed, "rank", rank))
        step = 0
        ckpt = Path(self.checkpoint) if self.checkpoint else None
        if ckpt is not None and ckpt.exists():
            state = torch.load(ckpt, map_location=data.device, weights_only=False)
            check_stamp(state.get("stamp"), "stochflow-diffusion", type(self))
            net.load_state_dict(state["net"])
            ema.load_state_dict(state["ema"])
            opt.load_state_dict(state["opt"])
            gen.set_state(state["rng"])
            step = int(state["step"])
        self.losses_, pending = [], []
        bar = progress(total=self.iterations, initial=step, desc="DSM", disable=None if self.progress_bar is None
                       else not self.progress_bar)
        while step < self.iterations:
            idx = torch.randint(0, data.shape[0], (self.batch_size,), generator=gen, device=data.device)
            x0 = data[idx]
            u = torch.rand(self.batch_size, generator=gen, dtype=data.dtype, device=data.device)
            t = self.sde.eps + (self.sde.T - self.sde.eps) * u
            noise = torch.randn(x0.shape, generator=gen, dtype=data.dtype, device=data.device)
            loss = dsm_loss(train_net, self.sde, x0, t, noise, self.weighting)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            ema_update(ema, net, self.ema_decay, step)
            pending.append(loss.detach())
            if len(pending) == LOSS_READ_EVERY or step == self.iterations:  # one host sync per block of steps
                self.losses_ += torch.stack(pending).tolist()
                pending.clear()
            bar.update(1)
            if ckpt is not None and rank == 0 and (step % self.checkpoint_every == 0 or step == self.iterations):
                tmp = ckpt.with_suffix(ckpt.suffix + ".tmp")
                torch.save({"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                            "rng": gen.get_state(), "step": step, "stamp": stamp("stochflow-diffusion", self)}, tmp)
                os.replace(tmp, ckpt)
        bar.close()
        self.step_ = step
        self._model = TrainedScore(ema, self.sde)
        return self
