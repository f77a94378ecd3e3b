"""Amortised inference of Markov jump processes (FIM-MJP style, small).

A network reads every path's (time, label) sequence with a per-path Transformer encoder, pools
the paths by attention, and outputs for each rate a mean and a variance, and the initial
distribution. It is pretrained on synthetic processes from :class:`~stochflow.jump.GeneratorPrior`
(:func:`pretrain`, ``stochflow jump pretrain``). Time is rescaled so that every data set has the
pretraining horizon; rates are scaled back.

:class:`AmortizedEstimator` applies a checkpoint to observations; with ``refine="em"`` the
network's answer becomes a per-rate Gamma prior (matching its mean and variance) for
:class:`~stochflow.jump.EMEstimator`, so the data decide where they are informative and the
network where they are not.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stochflow.core import distributed as D
from stochflow.core.errors import InputError
from stochflow.core.estimator import Estimator, check_stamp, stamp
from stochflow.core.progress import progress as _progress
from stochflow.core.seeding import derive_seed
from stochflow.jump._backend import as_tensor, framework, positive_int, to_framework
from stochflow.jump.estimators._common import need_observations
from stochflow.jump.model import MarkovJumpModel

PACKAGE = "stochflow-jump"
SHIPPED = Path(__file__).parent / "checkpoints" / "amortized-small.pt"


@dataclass(frozen=True)
class AmortizedConfig:
    """Architecture and pretraining settings (stored in every checkpoint)."""

    max_states: int = 6
    d_model: int = 48
    n_heads: int = 4
    n_layers: int = 1
    horizon: float = 10.0
    n_times: tuple[int, int] = (8, 64)
    flip_probs: tuple[float, ...] = (0.0, 0.01, 0.1)
    n_paths: tuple[int, int] = (8, 64)
    batch_size: int = 12
    steps: int = 2500
    lr: float = 2e-3
    seed: int = 0


class AmortizedNet(nn.Module):
    """Per-path encoder over (time, label) tokens, attention across paths, rate mean/variance heads."""

    def __init__(self, config: AmortizedConfig):
        super().__init__()
        self.config = config
        S, d = config.max_states, config.d_model
        self.embed = nn.Linear(2 + S, d)
        layer = nn.TransformerEncoderLayer(d, config.n_heads, 2 * d, dropout=0.0, batch_first=True)
        self.paths = nn.TransformerEncoder(layer, config.n_layers, enable_nested_tensor=False)
        self.query = nn.Parameter(torch.randn(1, 1, d) / math.sqrt(d))
        self.pool = nn.MultiheadAttention(d, config.n_heads, batch_first=True)
        self.head = nn.Sequential(nn.Linear(2 * d + S, 4 * d), nn.GELU(), nn.Linear(4 * d, 2 * S * S + S))

    def forward(self, t: torch.Tensor, y: torch.Tensor, m: torch.Tensor, n_states: int):
        """``t, y, m``: ``(B, N, T)`` times (already on the pretraining horizon), labels, mask.

        Returns rate means ``(B, S, S)``, rate variances ``(B, S, S)`` (diagonals zero) and initial
        distributions ``(B, S)`` for the first ``n_states`` states.
        """
        B, N, T = t.shape
        Smax, H = self.config.max_states, self.config.horizon
        dt = torch.diff(t, dim=-1, prepend=torch.zeros_like(t[..., :1]))
        feats = torch.cat([(t / H)[..., None], (dt / H * 10)[..., None],
                           nn.functional.one_hot(y.clamp(0, Smax - 1), Smax).to(t.dtype)], -1)
        h = self.embed(feats).reshape(B * N, T, -1)
        pad = ~m.reshape(B * N, T)
        h = self.paths(h, src_key_padding_mask=pad)
        w = (~pad).to(h.dtype)[..., None]
        per_path = (h * w).sum(1) / w.sum(1).clamp_min(1.0)  # (B*N, d)
        per_path = per_path.reshape(B, N, -1)
        pooled, _ = self.pool(self.query.expand(B, 1, -1), per_path, per_path)
        states = torch.zeros(B, Smax, dtype=t.dtype, device=t.device)
        states[:, n_states - 1] = 1.0
        out = self.head(torch.cat([pooled[:, 0], per_path.mean(1), states], -1))
        mean = nn.functional.softplus(out[:, :Smax * Smax]).reshape(B, Smax, Smax)
        var = (nn.functional.softplus(out[:, Smax * Smax:2 * Smax * Smax]) + 1e-4).reshape(B, Smax, Smax)
        logits = out[:, 2 * Smax * Smax:]
        S = n_states
        eye = torch.eye(S, dtype=torch.bool, device=t.device)
        mean = mean[:, :S, :S].masked_fill(eye, 0.0)
        var = var[:, :S, :S].masked_fill(eye, 0.0)
        return mean, var, torch.softmax(logits[:, :S], -1)


def synthetic_batch(config: AmortizedConfig, generator: torch.Generator, *, prior=None):
    """One pretraining batch: processes from the prior (one number of states per batch), paths on
    the pretraining horizon, irregular grids and label flips drawn from the config's ranges."""
    from stochflow.jump.generators import GeneratorPrior
    from stochflow.jump.gillespie import simulate

    prior = prior or GeneratorPrior(n_states=(2, config.max_states))
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    Q, p0 = prior.sample(config.batch_size, seed=seed)
    lo, hi = config.n_paths
    n_paths = int(torch.randint(lo, hi + 1, (1,), generator=generator))
    flip = config.flip_probs[int(torch.randint(0, len(config.flip_probs), (1,), generator=generator))]
    paths = simulate(Q, p0, n_paths=n_paths, t_max=config.horizon, seed=seed + 1)
    obs = paths.observe(tuple(config.n_times), grid="irregular", flip_prob=flip, seed=seed + 2)
    return Q, p0, obs


def gaussian_nll(mean: torch.Tensor, var: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean Gaussian negative log-likelihood over the off-diagonal rates."""
    S = target.shape[-1]
    off = ~torch.eye(S, dtype=torch.bool, device=target.device)
    nll = 0.5 * (torch.log(var) + (target - mean) ** 2 / var)
    return nll[:, off].mean()


def save_checkpoint(net: AmortizedNet, path: str | Path, *, history: list[float], seconds: float,
                    training: dict[str, Any] | None = None) -> Path:
    """Write the network, its config and the loss history (plus, from :func:`pretrain`, the step and
    the optimiser and schedule states that resuming needs). Under ``torchrun`` rank 0 writes and
    every rank waits for the file."""
    path = Path(path)
    state = {"stamp": stamp(PACKAGE, AmortizedNet), "config": asdict(net.config),
             "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
             "history": history, "seconds": seconds, **(training or {})}
    D.save_checkpoint(path, state)
    return path


def _config(saved: dict[str, Any]) -> AmortizedConfig:
    cfg = dict(saved)
    cfg["n_times"], cfg["flip_probs"], cfg["n_paths"] = (tuple(cfg[k]) for k in ("n_times", "flip_probs", "n_paths"))
    return AmortizedConfig(**cfg)


def load_checkpoint(path: str | Path | None = None) -> AmortizedNet:
    """A pretrained network (default: the checkpoint shipped with the package)."""
    path = Path(path) if path is not None else SHIPPED
    if not path.exists():
        raise InputError(f"no checkpoint at {path}; pretrain one with 'stochflow jump pretrain --out {path}'")
    data = torch.load(path, map_location="cpu", weights_only=False)
    check_stamp(data.get("stamp"), PACKAGE, AmortizedNet)
    net = AmortizedNet(_config(data["config"]))
    net.load_state_dict(data["state_dict"])
    net.eval()
    return net


def pretrain(config: AmortizedConfig | None = None, *, out: str | Path | None = None, every: int = 250,
             progress: bool | None = None, net: AmortizedNet | None = None, resume: str | Path | None = None,
             stop_after: int | None = None, device: str | torch.device | None = None) -> AmortizedNet:
    """Pretrain on synthetic processes from the prior (Gaussian NLL on rates + cross-entropy on the
    initial distribution), writing a checkpoint to ``out`` every ``every`` steps and at the end.

    Runs unchanged under ``torchrun --nproc_per_node=N``: the network is wrapped in
    DistributedDataParallel, every rank draws its own batches (step ``k`` of rank ``r`` from
    ``derive_seed(config.seed, "rank", r, "step", k)``, so the effective batch is ``N`` times
    ``config.batch_size``), the recorded loss is the mean over ranks, and only rank 0 shows progress
    and writes checkpoints.

    Parameters
    ----------
    config
        Architecture and training settings (default :class:`AmortizedConfig`; when resuming, the
        checkpoint's).
    out, every
        Checkpoint path and interval in steps.
    progress
        Show a progress bar on rank 0 (``None``: on a terminal only).
    net
        Start from this network instead of a fresh one.
    resume
        A checkpoint written by ``pretrain``: training goes on from its step, with its optimiser and
        learning-rate schedule, on any number of ranks.
    stop_after
        Stop once this many steps (in total) are done, writing the checkpoint; resume later.
    device
        Where the network trains (default: this rank's GPU under an NCCL process group, else the
        CPU). The synthetic processes are simulated on the CPU and each batch is copied over.
    """
    D.init_from_env()
    device = _device(device)
    state = None
    if resume is not None:
        state = D.load_checkpoint(resume)
        check_stamp(state.get("stamp"), PACKAGE, AmortizedNet)
        if "step" not in state:
            raise InputError(f"{resume} holds a finished network without optimiser state; resume from a "
                             "checkpoint that pretrain wrote, or pretrain from scratch")
        saved = _config(state["config"])
        if config is not None and config != saved:
            raise InputError(f"config differs from the one in {resume}; pass config=None to resume with it")
        config = saved
    config = config or AmortizedConfig()
    positive_int(config.steps, "steps")
    end = config.steps if stop_after is None else min(config.steps, positive_int(stop_after, "stop_after"))
    torch.manual_seed(config.seed)
    net = (net or AmortizedNet(config)).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.steps, pct_start=0.1)
    history: list[float] = []
    first, seconds = 0, 0.0
    if state is not None:
        net.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        history, first, seconds = list(state["history"]), int(state["step"]), float(state["seconds"])
    net.train()
    ddp = D.wrap_model(net)
    g = torch.Generator()
    pending: list[torch.Tensor] = []
    start = time.perf_counter()
    bar = _progress(range(first, end), total=end - first, desc="pretrain",
                    disable=None if progress is None else not progress)
    for step in bar:
        g.manual_seed(derive_seed(config.seed, "rank", D.rank(), "step", step))
        Q, p0, obs = synthetic_batch(config, g)
        t, y, m = (to_device(x, device) for x in obs.tensors(torch.float32))
        Q, p0 = to_device(Q.to(torch.float32), device), to_device(p0.to(torch.float32), device)
        S = Q.shape[-1]
        mean, var, init = ddp(t, y, m, S)
        loss = gaussian_nll(mean, var, Q) - (p0 * torch.log(init + 1e-8)).sum(-1).mean() * 0.1
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        pending.append(D.all_reduce_mean(loss.detach().clone()))  # read on the host every 10 steps only
        if step % 10 == 0 or step + 1 == end:
            history += torch.stack(pending).tolist()
            pending.clear()
        if hasattr(bar, "set_postfix") and step % 10 == 0:
            bar.set_postfix(loss=f"{sum(history[-50:]) / len(history[-50:]):.3f}")
        if out is not None and ((step + 1) % every == 0 or step + 1 == end):
            history += torch.stack(pending).tolist() if pending else []
            pending.clear()
            save_checkpoint(net, out, history=history, seconds=seconds + time.perf_counter() - start,
                            training={"step": step + 1, "opt": opt.state_dict(), "sched": sched.state_dict()})
    if out is not None and first >= end:  # nothing left to train: still leave the checkpoint at ``out``
        save_checkpoint(net, out, history=history, seconds=seconds,
                        training={"step": first, "opt": opt.state_dict(), "sched": sched.state_dict()})
    net.eval()
    return net


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``x`` (made on the CPU) on ``device``: through pinned memory, without waiting, to a GPU."""
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        if D.is_initialized() and torch.distributed.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"device must be a torch device such as 'cpu' or 'cuda:0', got {device!r}") from exc


CANDIDATES = ("network", "default", "empirical")


class AmortizedEstimator(Estimator):
    """Zero-shot rates from a pretrained network, optionally refined by EM.

    Parameters
    ----------
    checkpoint
        Path of a checkpoint from :func:`pretrain` (default: the small one shipped with the package,
        its config recorded inside).
    refine
        ``None``: the network's answer. ``"em"``: :class:`~stochflow.jump.EMEstimator` under the
        best of several priors on the rates (``candidates``), chosen per process by held-out
        likelihood; see :meth:`fit`.
    em_options
        Extra keyword arguments for the EM refinement (``noise``, ``max_iter``, ``prior`` for the
        ``"default"`` candidate, ...).
    select
        ``"holdout"`` (default): choose the prior as described in :meth:`fit`; ``"network"``: always
        the network's prior (no selection; one EM fit).
    folds
        Held-out scheme of ``select="holdout"``: ``K >= 2`` folds over the paths (data with fewer
        paths use one fold per path; a single path is cut in halves), or ``None``: every path cut
        in halves. The default 2 was as accurate as 5 on the DFR and on prior processes, at about
        the cost of the halves (``docs/benchmarks/jump.md``).
    candidates
        The priors ``select="holdout"`` chooses from: ``"network"`` (a per-rate Gamma matching the
        network's mean and variance, shape at least 1, EM started at its mean), ``"default"``
        (EM's own prior, ``em_options["prior"]`` or ``Gamma(1.5, 1)``) and ``"empirical"``
        (EM's empirical-Bayes prior, ``prior="empirical"``). Keep ``"default"`` among them for
        the refined fit to be no worse than plain EM beyond the noise of the held-out score.

    Attributes
    ----------
    choice_
        After ``fit`` with ``refine="em"``: per process, the index into ``candidates`` of the prior
        chosen (batch shape of the data).
    chosen_
        Per process, ``True`` where the network's prior was chosen.
    heldout_
        ``(len(candidates), ...)`` held-out log-likelihoods of the candidates.
    """

    def __init__(self, checkpoint: str | Path | None = None, refine: str | None = None,
                 em_options: dict | None = None, select: str = "holdout", folds: int | None = 2,
                 candidates: tuple[str, ...] = ("network", "default")):
        if refine not in (None, "em"):
            raise InputError(f"refine must be None or 'em', got {refine!r}")
        if select not in ("holdout", "network"):
            raise InputError(f"select must be 'holdout' or 'network', got {select!r}")
        if folds is not None and (isinstance(folds, bool) or not isinstance(folds, int) or folds < 2):
            raise InputError(f"folds must be an integer >= 2 or None (halves of every path), got {folds!r}")
        candidates = (candidates,) if isinstance(candidates, str) else tuple(candidates)
        if not candidates or len(set(candidates)) != len(candidates) or not set(candidates) <= set(CANDIDATES):
            raise InputError(f"candidates must be distinct names from {CANDIDATES}, got {candidates!r}")
        self.checkpoint = checkpoint
        self.refine = refine
        self.em_options = dict(em_options or {})
        self.select = select
        self.folds = folds
        self.candidates = candidates
        self._net: AmortizedNet | None = None

    def _network(self) -> AmortizedNet:
        if self._net is None:
            self._net = load_checkpoint(self.checkpoint)
        return self._net

    def predict(self, obs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Network rate means, variances ``(B, S, S)`` and initial laws ``(B, S)`` in data time (float64)."""
        net = self._network()
        S = obs.n_states
        if S > net.config.max_states:
            raise InputError(f"the network was pretrained on up to {net.config.max_states} states; the data have {S}")
        t, y, m = obs.tensors(torch.float32)
        batch = t.shape[:-2]
        t, y, m = (x.reshape(-1, *x.shape[-2:]) for x in (t, y, m))
        scale = net.config.horizon / max(obs.t_max, 1e-12)
        with torch.no_grad():
            mean, var, init = net(t * scale, y, m, S)
        mean, var = mean.double() * scale, var.double() * scale**2
        return (mean.reshape(*batch, S, S), var.reshape(*batch, S, S), init.double().reshape(*batch, S))

    def _network_prior(self, obs):
        """The network's per-rate Gamma prior ``(alpha, beta)`` (mean and variance matched, shape at
        least 1) and its mean rates, for ``obs``."""
        mean, var, _ = self.predict(obs)
        eye = torch.eye(obs.n_states, dtype=torch.bool)
        m_ = mean.clamp_min(1e-3).masked_fill(eye, 0.0)
        alpha = (m_**2 / var.clamp_min(1e-6)).clamp(min=1.0, max=1e4).masked_fill(eye, 1.0)
        beta = (alpha / m_.masked_fill(eye, 1.0)).masked_fill(eye, 0.0)
        return m_, alpha, beta

    def _em(self, name: str, obs, network=None):
        """EM under candidate prior ``name`` on ``obs`` (``(B, N, T)``). ``network``: the network's
        ``(mean, alpha, beta)`` to use instead of reading ``obs`` (for training folds)."""
        from stochflow.jump.estimators.em import EMEstimator
        from stochflow.jump.prior import GammaPrior

        options = {"progress": False} | self.em_options
        if name == "network":
            mean, alpha, beta = network if network is not None else self._network_prior(obs)
            options |= {"prior": GammaPrior(alpha, beta), "init": _generator(mean)}
        elif name == "empirical":
            options |= {"prior": "empirical"}
        return EMEstimator(**options).fit(obs).fetch_model()

    def fit(self, data: Any, **kwargs: Any) -> AmortizedEstimator:
        """Fit on :class:`~stochflow.jump.Observations`.

        With ``refine="em"`` and ``select="holdout"``, every candidate prior is scored per process
        by held-out log-likelihood. With ``folds=K`` the paths are dealt into ``K`` folds (path
        ``j`` to fold ``j mod K``); for each fold EM is fitted on the other folds (the network
        reading those paths only) and scores the fold's paths by the log-likelihood of each path
        given its first observation, under a uniform law at time 0 (the candidates differ in the
        rates; an initial law estimated from few paths, possibly zero where a held-out path
        starts, would otherwise dominate the score); the scores of all folds add up.
        With a single path (or ``folds=None``) each path is cut in two (first ``ceil(n/2)``
        observations, then the rest); EM is fitted on the first halves and scores the second
        halves given the first, ``log p(all) - log p(first)``. The best-scoring prior (per
        process) is then used for the final EM fit on all the data. Selecting on held-out data
        matters: the network's prior has already seen the data, so in-sample criteria
        (likelihood, evidence) favour it even where it is worse. Cost: ``K`` EM fits on
        ``(K-1)/K`` of the data per candidate (one batched fit each), plus the final fit: with
        ``K = 2`` and two candidates about three EM fits, as with halves.
        """
        obs = need_observations(data, "AmortizedEstimator")
        fw = framework(obs.times)
        dtype = as_tensor(obs.times, "times").dtype
        if self.refine is None:
            mean, var, init = self.predict(obs)
            Q = mean - torch.diag_embed(mean.sum(-1))
            out = lambda x: to_framework(x.to(dtype), fw)
            self._model = MarkovJumpModel(out(Q), out(init), None, out(var.sqrt()))
            return self
        if self.select == "network" or len(self.candidates) == 1:
            name = "network" if self.select == "network" else self.candidates[0]
            self._model = self._em(name, obs)
            return self
        batch = obs.batch_shape
        flat = _flatten(obs)
        score = torch.stack([self._heldout(name, flat) for name in self.candidates])  # (C, B)
        choice = score.argmax(0)
        reshape = lambda x: to_framework(x.reshape(tuple(x.shape[:-1]) + tuple(batch)), fw)
        self.choice_ = reshape(choice)
        net = self.candidates.index("network") if "network" in self.candidates else -1
        self.chosen_ = reshape(choice == net)
        self.heldout_ = reshape(score)
        used = sorted(set(choice.tolist()))
        if len(used) == 1:
            self._model = self._em(self.candidates[used[0]], obs)
            return self
        parts = {c: (torch.nonzero(choice == c)[:, 0], self._em(self.candidates[c], _subset(flat, choice == c)))
                 for c in used}
        self._model = _assemble(parts, choice.numel(), batch, dtype, fw)
        return self

    def _heldout(self, name: str, obs) -> torch.Tensor:
        """Held-out log-likelihood ``(B,)`` of candidate ``name`` on ``obs`` (``(B, N, T)``)."""
        from stochflow.jump.estimators.em import observation_log_likelihood

        B, N = obs.batch_shape[0], obs.n_paths
        if self.folds is None or N == 1:
            first = first_halves(obs)
            f = self._em(name, first)
            return (observation_log_likelihood(obs, f.generator, f.initial_distribution, f.flip_prob)
                    - observation_log_likelihood(first, f.generator, f.initial_distribution, f.flip_prob))
        K = min(self.folds, N)
        fold = torch.arange(N, device=obs.tensors()[0].device) % K
        train = [_paths(obs, fold != k) for k in range(K)]
        network = None
        if name == "network":  # the network reads each fold's training paths only
            priors = [self._network_prior(tr) for tr in train]
            network = tuple(_pad_stack([p[i] for p in priors], None) for i in range(3))
        f = self._em(name, _stack_folds(train), network)
        test = _stack_folds([_paths(obs, fold == k) for k in range(K)])
        t, y, m = test.tensors()
        first = _unchecked(t, y, m & (torch.cumsum(m.to(torch.int64), -1) == 1), test.n_states, test.t_max)
        uniform = torch.full((test.n_states,), 1.0 / test.n_states, dtype=torch.float64, device=t.device)
        ll = [observation_log_likelihood(o, f.generator, uniform, f.flip_prob) for o in (test, first)]
        return torch.as_tensor(ll[0] - ll[1]).reshape(K, B).sum(0)  # (K*B,) -> (B,)


def _mapped(obs, fn):
    """Observations with ``fn`` applied to their times, states and mask arrays (checked as usual)."""
    from stochflow.jump.observations import Observations

    t, y, m = obs.tensors()
    return Observations(fn(t), fn(y), fn(m), n_states=obs.n_states, t_max=obs.t_max)


def _flatten(obs):
    """``obs`` with its batch dimensions flattened to one, ``(B, N, T)`` (torch)."""
    return _mapped(obs, lambda x: x.reshape(-1, *x.shape[-2:]))


def _subset(obs, keep: torch.Tensor):
    """The processes ``keep`` (a ``(B,)`` mask) of ``(B, N, T)`` observations."""
    return _mapped(obs, lambda x: x[keep])


def _paths(obs, keep: torch.Tensor):
    """The paths ``keep`` (an ``(N,)`` mask) of ``(B, N, T)`` observations."""
    return _mapped(obs, lambda x: x[:, keep])


def _pad_stack(xs: list[torch.Tensor], fill) -> torch.Tensor:
    """Tensors ``(B, n_k, ...)`` stacked to ``(K * B, max n_k, ...)`` (fold-major), padded with
    ``fill`` along dimension 1; ``fill=None``: no padding (all the same shape)."""
    if fill is None:
        return torch.cat(xs, 0)
    n = max(x.shape[1] for x in xs)
    pad = [torch.cat([x, torch.full((x.shape[0], n - x.shape[1], *x.shape[2:]), fill, dtype=x.dtype, device=x.device)], 1)
           for x in xs]
    return torch.cat(pad, 0)


def _stack_folds(parts):
    """Observations ``(B, n_k, T)`` of ``K`` folds as one ``(K * B, max n_k, T)`` batch. Folds with
    fewer paths are padded with paths without observations, which add nothing to EM's statistics
    or the likelihood (the public constructor refuses such paths, so this one skips its checks)."""
    t = _pad_stack([p.tensors()[0] for p in parts], 0.0)
    y = _pad_stack([p.tensors()[1] for p in parts], 0)
    m = _pad_stack([p.tensors()[2] for p in parts], False)
    return _unchecked(t, y, m, parts[0].n_states, parts[0].t_max)


def _unchecked(t, y, m, n_states: int, t_max: float):
    """Observations from valid torch tensors, where paths may lack observations (see :func:`_stack_folds`)."""
    from stochflow.jump.observations import Observations

    out = object.__new__(Observations)
    for key, value in (("times", t), ("states", y), ("mask", m), ("n_states", n_states), ("t_max", t_max)):
        object.__setattr__(out, key, value)
    return out


def _assemble(parts: dict, B: int, batch: tuple[int, ...], dtype, fw) -> MarkovJumpModel:
    """One model from the fits of process subsets: ``parts[c] = (indices, model)``."""
    fields = {}
    for key in ("generator", "initial_distribution", "flip_prob", "generator_std", "log_likelihood"):
        values = [(idx, getattr(model, key)) for idx, model in parts.values()]
        if any(v is None for _, v in values):
            fields[key] = None
            continue
        first = torch.as_tensor(values[0][1])
        full = torch.zeros((B, *first.shape[1:]), dtype=first.dtype, device=first.device)
        for idx, v in values:
            full[idx.to(first.device)] = torch.as_tensor(v).to(first.device)
        fields[key] = to_framework(full.reshape(*batch, *first.shape[1:]).to(dtype), fw)
    models = [model for _, model in parts.values()]
    return MarkovJumpModel(**fields, n_iter=max(m.n_iter for m in models),
                           converged=all(m.converged for m in models), history=())


def first_halves(obs):
    """The first ``ceil(n/2)`` observations of every path (as :class:`~stochflow.jump.Observations`,
    horizon the last kept time)."""
    from stochflow.jump.observations import Observations

    t, y, m = obs.tensors()
    count = m.sum(-1, keepdim=True)
    rank = torch.cumsum(m.to(torch.int64), -1)
    keep = m & (rank <= (count + 1) // 2)
    last = float(torch.where(keep, t, torch.zeros_like(t)).max())
    return Observations(t, y, keep, n_states=obs.n_states, t_max=max(last, 1e-12))


def _generator(rates: torch.Tensor) -> torch.Tensor:
    return rates - torch.diag_embed(rates.sum(-1))
