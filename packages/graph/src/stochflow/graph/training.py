"""Denoising score matching for both partial scores, and the GDSS trainer.

With ``X_t = α X_0 + σ ε_X`` and ``A_t = α A_0 + σ ε_A`` (ε_A symmetric, zero diagonal, masked) the
conditional scores are ``−ε/σ``; the σ²-weighted DSM loss of a score ``s`` is the masked mean of
``‖σ s + ε‖²`` over real node features and over valid edge slots, separately for ``X`` and ``A``
(GDSS's loss). For an ε-predicting network ``s = −ε̂/σ`` this is the plain ``‖ε̂ − ε‖²``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import torch

from stochflow.core import Estimator, derive_seed
from stochflow.core import distributed as D
from stochflow.core.errors import InputError, InputTypeError
from stochflow.core.estimator import check_stamp, stamp
from stochflow.core.progress import progress
from stochflow.diffusion.training import ema_update
from stochflow.graph.batch import GraphBatch, pair_mask
from stochflow.graph.model import GraphScoreModel
from stochflow.graph.nets import ScoreNetworkA, ScoreNetworkX
from stochflow.graph.sde import GraphPrior, GraphSDE

PRIORS = ("terminal", "standard")


def dsm_loss(score_fn, sde: GraphSDE, batch: GraphBatch, t: torch.Tensor, noise_x: torch.Tensor,
             noise_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """σ²-weighted DSM losses ``(L_X, L_A)`` of ``score_fn(X, A, mask, t) -> (s_X, s_A)``: masked means
    of ``(σ_t s + ε)²`` over real node features and over valid edge slots."""
    Xt, At = sde.perturb(batch, t, noise_x, noise_a)
    sX, sA = score_fn(Xt, At, batch.mask, t)
    _, sx = sde.coefficients("x", t)
    _, sa = sde.coefficients("a", t)
    mx = batch.mask[:, :, None].to(Xt.dtype).expand_as(Xt)
    pm = pair_mask(batch.mask).to(At.dtype)
    lx = (((sx[:, None, None] * sX + noise_x) ** 2) * mx).sum() / mx.sum().clamp(min=1)
    la = (((sa[:, None, None] * sA + noise_a) ** 2) * pm).sum() / pm.sum().clamp(min=1)
    return lx, la


def default_nets(n_features: int, size: str = "small",
                 time_conditioning: bool = True) -> tuple[ScoreNetworkX, ScoreNetworkA]:
    """Score networks sized for a CPU (``"tiny"``, ``"small"``) or as GDSS's community-small configuration
    (``"gdss"``: ScoreNetworkX depth 3, width 32; ScoreNetworkA 5 attention layers of width 32 with 4 heads,
    c_init 2, c_hid 8, c_final 4).

    ``time_conditioning=True`` gives both networks the diffusion time as an extra node feature / edge
    channel; ``False`` is GDSS's choice (the networks never see ``t``; the score's scale then comes
    only from the ε-parametrisation's division by the marginal standard deviation)."""
    _check_net_options(size, time_conditioning)
    kx, ka = _SIZES[size]
    return (ScoreNetworkX(n_features, time_conditioning=time_conditioning, **kx),
            ScoreNetworkA(n_features, time_conditioning=time_conditioning, **ka))


def _check_net_options(size: str, time_conditioning: bool) -> None:
    if not isinstance(time_conditioning, bool):
        raise InputTypeError(f"time_conditioning must be True or False, got {time_conditioning!r}")
    if size not in _SIZES:
        raise InputError(f"size must be 'tiny', 'small' or 'gdss', got {size!r}")


_SIZES = {  # (ScoreNetworkX kwargs, ScoreNetworkA kwargs)
    "tiny": ({"depth": 2, "hidden": 16}, {"layers": 2, "d_att": 8, "heads": 2, "c_hid": 4, "c_final": 4, "hidden": 16}),
    "small": ({"depth": 2, "hidden": 32}, {"layers": 3, "d_att": 16, "heads": 4, "c_hid": 8, "c_final": 4, "hidden": 32}),
    # GDSS's community-small configuration: depth 3 / nhid 32; 5 layers, adim 32, 4 heads
    "gdss": ({"depth": 3, "hidden": 32}, {"layers": 5, "d_att": 32, "heads": 4, "c_hid": 8, "c_final": 4, "hidden": 32}),
}


def _schedule(opt, decay: float, warmup: int):
    """Learning-rate factor ``decay^k`` after step ``k``, times ``min(1, (k + 1) / warmup)`` with a warm-up."""
    if warmup == 0:
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=decay)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min(1.0, (k + 1) / warmup) * decay**k)


class GDSSTrainer(Estimator):
    """Fit GDSS (two ε-networks on the joint graph SDE) to a list of graphs.

    Parameters
    ----------
    sde
        :class:`GraphSDE` (default: VP β ∈ [0.1, 1] for both components).
    net_x, net_a
        Score networks (default: :func:`default_nets` of ``size``, initialised from ``seed``);
        given networks are trained in place.
    size, time_conditioning
        Size of the default networks, and whether they take the diffusion time as an input
        (:func:`default_nets`; ``False`` is GDSS's configuration). Both are ignored when networks are given.
    iterations, batch_size, lr, weight_decay, grad_clip
        Adam steps, graphs per step (per process; drawn without replacement, and the whole training
        set every step when ``batch_size >= len(data)``, as GDSS's full batches on community-small),
        learning rate, weight decay, gradient-norm clip (applied to each network separately, as GDSS).
    lr_decay
        Multiply the learning rate by this after every step (GDSS: 0.999 per epoch, one step per epoch
        on community-small); 1 keeps it constant.
    warmup
        Raise the learning rate linearly from ``lr / warmup`` to ``lr`` over the first ``warmup``
        steps (times the decay); 0 (default, as GDSS) starts at ``lr``. At GDSS's lr 1e-2 on
        community-small without warm-up, 3 of 4 initialisations tried stayed on a plateau where the
        adjacency network ignores the graph (A loss about 0.385); with 500 steps every seed tried
        learned (see the graph benchmark page).
    ema_decay
        EMA of the weights, with a warm-up (:func:`stochflow.diffusion.training.ema_decay_at`); the fitted model uses the EMA.
    prior
        ``"terminal"`` (moments of the forward SDE's actual terminal marginal) or ``"standard"``
        (GDSS's ``N(0, σ_T²)``).
    max_nodes, features, n_features
        Node budget and node features, for graphs given as networkx (see :meth:`GraphBatch.from_networkx`).
    seed
        Seeds batches, times and noise: step ``k`` on rank ``r`` draws from
        ``derive_seed(seed, "rank", r, "step", k)``, so resuming reproduces an uninterrupted run.
    checkpoint, checkpoint_every
        Resumable checkpoint path, written every ``checkpoint_every`` steps and at the end; training
        resumes from it if it exists.
    progress_bar
        Show a progress bar (``None``: on a terminal only).
    """

    def __init__(self, sde: GraphSDE | None = None, net_x=None, net_a=None, size: str = "small",
                 time_conditioning: bool = True, iterations: int = 1000, batch_size: int = 32, lr: float = 5e-3, weight_decay: float = 1e-4,
                 grad_clip: float = 1.0, lr_decay: float = 1.0, warmup: int = 0, ema_decay: float = 0.999,
                 prior: str = "terminal",
                 max_nodes: int | None = None, features: str = "degree", n_features: int | None = None,
                 seed: int = 0, checkpoint: str | Path | None = None, checkpoint_every: int = 200,
                 progress_bar: bool | None = None):
        self.sde, self.net_x, self.net_a, self.size = sde, net_x, net_a, size
        self.time_conditioning = time_conditioning
        self.iterations, self.batch_size, self.lr, self.weight_decay = iterations, batch_size, lr, weight_decay
        self.grad_clip, self.lr_decay, self.ema_decay, self.prior = grad_clip, lr_decay, ema_decay, prior
        self.warmup = warmup
        self.max_nodes, self.features, self.n_features = max_nodes, features, n_features
        self.seed, self.checkpoint, self.checkpoint_every, self.progress_bar = seed, checkpoint, checkpoint_every, progress_bar

    def _batch(self, data) -> GraphBatch:
        if isinstance(data, GraphBatch):
            batch = data if self.max_nodes is None else data.pad_to(int(self.max_nodes))
        elif isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
            batch = GraphBatch.from_networkx(data, max_nodes=self.max_nodes, features=self.features,
                                             n_features=self.n_features)
        else:
            raise InputTypeError(f"data must be a GraphBatch or a list of networkx graphs, got {type(data).__name__}")
        return batch

    def _check(self, data) -> GraphBatch:
        if self.sde is not None and not isinstance(self.sde, GraphSDE):
            raise InputTypeError(f"sde must be a GraphSDE, got {type(self.sde).__name__}")
        for name in ("iterations", "batch_size", "checkpoint_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be an int >= 1, got {v!r}")
        if not self.lr > 0 or not 0 <= self.ema_decay < 1 or self.weight_decay < 0 or not self.grad_clip > 0:
            raise InputError(f"need lr > 0, 0 <= ema_decay < 1, weight_decay >= 0, grad_clip > 0; got "
                             f"{self.lr}, {self.ema_decay}, {self.weight_decay}, {self.grad_clip}")
        if not 0 < self.lr_decay <= 1:
            raise InputError(f"lr_decay must lie in (0, 1], got {self.lr_decay!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise InputError(f"warmup must be an int >= 0 (steps of linear learning-rate warm-up), got {self.warmup!r}")
        if self.prior not in PRIORS:
            raise InputError(f"prior must be one of {PRIORS}, got {self.prior!r}")
        if (self.net_x is None) != (self.net_a is None):
            raise InputError("give both net_x and net_a, or neither (default networks)")
        if self.net_x is None:  # size and time_conditioning checked before any work
            _check_net_options(self.size, self.time_conditioning)
        batch = self._batch(data)
        if batch.n_nodes.min() < 1:
            raise InputError("every training graph needs at least one node")
        return batch

    def fit(self, data) -> GDSSTrainer:
        """Train on ``data`` (a :class:`GraphBatch` or a list of networkx graphs)."""
        batch = self._check(data)
        D.init_from_env()
        sde = self.sde if self.sde is not None else GraphSDE()
        net_x, net_a = self.net_x, self.net_a
        if net_x is None:
            with torch.random.fork_rng(devices=[]):  # seeded initial weights, global RNG untouched
                torch.manual_seed(derive_seed(self.seed, "init"))
                net_x, net_a = default_nets(batch.n_features, self.size, self.time_conditioning)
        prior = GraphPrior.from_batch(batch) if self.prior == "terminal" else GraphPrior.standard_normal(batch.n_features)
        model = GraphScoreModel(net_x, net_a, sde, prior, batch.n_nodes.cpu(), batch.max_nodes,
                                {"kind": self.features if isinstance(self.features, str) else "callable",
                                 "n_features": batch.n_features})
        model = model.to(device=batch.A.device, dtype=batch.A.dtype)
        train_model = D.wrap_model(model)
        ema = copy.deepcopy(model).requires_grad_(False)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = _schedule(opt, self.lr_decay, self.warmup)
        gen = torch.Generator(device=batch.A.device)
        step, self.losses_ = 0, []
        ckpt = Path(self.checkpoint) if self.checkpoint else None
        if ckpt is not None and ckpt.exists():
            state = D.load_checkpoint(ckpt, map_location=batch.A.device)
            check_stamp(state.get("stamp"), "stochflow-graph", type(self))
            model.load_state_dict(state["model"])
            ema.load_state_dict(state["ema"])
            opt.load_state_dict(state["opt"])
            if "sched" in state:
                sched.load_state_dict(state["sched"])
            step, self.losses_ = int(state["step"]), list(state["losses"])
        bar = progress(total=self.iterations, initial=step, desc="GDSS",
                       disable=None if self.progress_bar is None else not self.progress_bar)
        B, dt = len(batch), batch.A.dtype
        while step < self.iterations:
            # one stream per (rank, step): a resumed run draws exactly what an uninterrupted one would
            gen.manual_seed(derive_seed(self.seed, "rank", D.rank(), "step", step))
            if self.batch_size >= B:
                sub = batch
            else:
                idx = torch.randperm(B, generator=gen, device=batch.A.device)[: self.batch_size]
                sub = GraphBatch(batch.X[idx], batch.A[idx], batch.mask[idx])
            u = torch.rand(len(sub), generator=gen, dtype=dt, device=batch.A.device)
            t = sde.eps + (sde.T - sde.eps) * u
            nx_, na_ = sde.noise(sub.mask, sub.n_features, generator=gen, dtype=dt, device=batch.A.device)
            lx, la = dsm_loss(train_model, sde, sub, t, nx_, na_)
            opt.zero_grad(set_to_none=True)
            (lx + la).backward()
            for net in (model.net_x, model.net_a):
                torch.nn.utils.clip_grad_norm_(net.parameters(), self.grad_clip)
            opt.step()
            sched.step()
            step += 1
            ema_update(ema, model, self.ema_decay, step)
            self.losses_.append((float(lx.detach()), float(la.detach())))
            bar.update(1)
            bar.set_postfix(loss_x=f"{self.losses_[-1][0]:.3f}", loss_a=f"{self.losses_[-1][1]:.3f}", refresh=False)
            if ckpt is not None and (step % self.checkpoint_every == 0 or step == self.iterations):
                D.save_checkpoint(ckpt, {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                                         "sched": sched.state_dict(), "step": step, "losses": self.losses_,
                                         "stamp": stamp("stochflow-graph", self)})
        bar.close()
        self.step_ = step
        self._model = ema.eval()
        return self
