"""Reverse-time samplers of the joint graph SDE, and post-processing.

Samplers are functions ``sampler(score_fn, sde, mask, prior, *, steps, ...) -> GraphSample`` with
``score_fn(X, A, mask, t) -> (∇_X log p_t, ∇_A log p_t)``. They read every coefficient (α_t, σ_t,
f(t), g(t)²) from the components' :class:`~stochflow.diffusion.schedule.Schedule`; both keep ``A``
symmetric with a zero diagonal and leave padded nodes empty (the adjacency noise is drawn on the
upper triangle and mirrored, and every update is masked).

* ``graph-pc`` (:func:`pc_sampler`): per step, GDSS's order — ``n_corrector`` Langevin corrector
  steps at ``t`` (step ``2 a (snr ‖z‖/‖s‖)²``, ``a = (α_t/α_t')²``; noise scaled by ``scale_eps``),
  then a reverse-diffusion predictor ``y ← (2 − r) y + G² s``, ``r = α_t/α_t'``,
  ``G² = σ_t² − r² σ_t'²`` (``predictor="reverse-diffusion"``, the exactly discretised chain) or an
  Euler–Maruyama step of the reverse SDE (``predictor="euler-maruyama"``). ``1 + n_corrector``
  score evaluations per step.
* ``graph-s4`` (:func:`s4_sampler`): one score evaluation per step (GDSS's S4 solver): a Langevin
  correction with that score, then a split step of the reverse SDE — half a step of the exact
  transition of its linear part ``dy = f y dt + g dW̄`` (mean factor ``r = α_t'/α_t``, variance
  ``r² σ_t² − σ_t'²``, since ``d(σ²/α²)/dt = g²/α²``), an Euler step of the ``−g² s`` drift with the
  same score, another half step of the linear part.

The last step returns the noise-free mean. :func:`quantize` thresholds ``A`` to a 0/1 adjacency.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.graph.batch import GraphBatch, pair_mask, symmetric_noise
from stochflow.graph.sde import GraphPrior, GraphSDE

GraphScoreFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
PREDICTORS = ("reverse-diffusion", "euler-maruyama")


@dataclass(frozen=True)
class GraphSample:
    """Output of a sampler: continuous ``X`` and ``A`` (before thresholding), the node mask, and
    diagnostics.

    Attributes
    ----------
    X, A, mask
        Final node features (B×N×F), symmetric zero-diagonal adjacency (B×N×N), node mask (B×N).
    nfe
        Score evaluations used.
    solver, steps
        Sampler name and number of time steps.
    """

    X: torch.Tensor
    A: torch.Tensor
    mask: torch.Tensor
    nfe: int
    solver: str
    steps: int

    def batch(self, threshold: float | None = 0.5) -> GraphBatch:
        """The graphs as a :class:`GraphBatch` (adjacency thresholded unless ``threshold=None``)."""
        A = self.A if threshold is None else quantize(self.A, self.mask, threshold)
        return GraphBatch(self.X * self.mask[:, :, None].to(self.X.dtype), A, self.mask)

    def graphs(self, threshold: float = 0.5) -> list:
        """networkx graphs with padding dropped and ``A > threshold`` as edges."""
        return self.batch(threshold).to_networkx(threshold=None)


def quantize(A: torch.Tensor, mask: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """0/1 adjacency ``A > threshold`` on valid slots (symmetric, zero diagonal, padding empty)."""
    return ((A > threshold) & pair_mask(mask)).to(A.dtype)


def node_masks(counts: torch.Tensor, max_nodes: int) -> torch.Tensor:
    """Boolean masks (B×N) with the first ``counts[b]`` nodes real."""
    counts = torch.as_tensor(counts)
    if counts.ndim != 1 or (counts < 1).any() or (counts > max_nodes).any():
        raise InputError(f"node counts must lie in [1, {max_nodes}], got {counts.tolist()}")
    return torch.arange(max_nodes, device=counts.device)[None, :] < counts[:, None]


def sample_node_counts(train_counts: Sequence[int] | torch.Tensor, n: int, *,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` node counts drawn with replacement from the training graphs' counts (their empirical law)."""
    c = torch.as_tensor(train_counts, dtype=torch.long).reshape(-1)
    if c.numel() == 0 or n < 1:
        raise InputError("need at least one training node count and n >= 1")
    return c[torch.randint(0, c.numel(), (int(n),), generator=generator)]


# -- helpers ---------------------------------------------------------------------------------
def _pair(v, name) -> tuple[float, float]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise InputError(f"{name} must be a number or an (x, a) pair, got {v!r}")
        out = (float(v[0]), float(v[1]))
    else:
        out = (float(v), float(v))
    if not all(x >= 0 for x in out):
        raise InputError(f"{name} must be >= 0, got {v!r}")
    return out


class _State:
    """Shared per-run pieces: masks, noise draws and the checked score."""

    def __init__(self, score_fn, sde, mask, F, generator, dtype):
        self.score_fn, self.sde, self.mask, self.F, self.gen, self.dtype = score_fn, sde, mask, F, generator, dtype
        self.mx = mask[:, :, None].to(dtype)
        self.pm = pair_mask(mask).to(dtype)
        self.nfe = 0

    def noise(self, which):
        B, N = self.mask.shape
        if which == "x":
            return torch.randn((B, N, self.F), generator=self.gen, dtype=self.dtype, device=self.mask.device) * self.mx
        return symmetric_noise((B, N, N), generator=self.gen, dtype=self.dtype, device=self.mask.device) * self.pm

    def score(self, X, A, t):
        tt = torch.full((X.shape[0],), float(t), dtype=self.dtype, device=X.device)
        out = self.score_fn(X, A, self.mask, tt)
        self.nfe += 1
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise InputError("score_fn(X, A, mask, t) must return a pair (score_X, score_A)")
        sX, sA = out
        if tuple(sX.shape) != tuple(X.shape) or tuple(sA.shape) != tuple(A.shape):
            raise InputError(f"score_fn returned shapes {tuple(sX.shape)} and {tuple(sA.shape)}; expected "
                             f"{tuple(X.shape)} and {tuple(A.shape)}")
        if not (torch.isfinite(sX).all() and torch.isfinite(sA).all()):
            raise InputError(f"score_fn returned NaN or inf at t={float(t):.4g}")
        return sX * self.mx, 0.5 * (sA + sA.transpose(1, 2)) * self.pm

    def langevin(self, y, s, which, t, t_next, snr, scale_eps):
        sch = self.sde.component(which).schedule
        a = (sch.alpha(t) / sch.alpha(t_next)) ** 2
        z = self.noise(which)
        B = y.shape[0]
        gn = s.reshape(B, -1).norm(dim=1).mean()
        zn = z.reshape(B, -1).norm(dim=1).mean()
        step = 2 * a * (snr * zn / gn.clamp(min=1e-12)) ** 2
        return y + step * s + torch.sqrt(2 * step) * scale_eps * z


def _check(score_fn, sde, mask, prior, steps, generator, seed):
    if not callable(score_fn):
        raise InputTypeError("score_fn must be callable: score_fn(X, A, mask, t) -> (score_X, score_A)")
    if not isinstance(sde, GraphSDE):
        raise InputTypeError(f"sde must be a GraphSDE, got {type(sde).__name__}")
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.ndim != 2 or mask.shape[0] < 1:
        raise InputError("mask must be a boolean tensor of shape (B, N) with B >= 1")
    if not bool(mask.any(1).all()):
        raise InputError("every graph needs at least one node: a row of mask is all False")
    if not isinstance(prior, GraphPrior):
        raise InputTypeError(f"prior must be a GraphPrior, got {type(prior).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InputError(f"steps must be an int >= 1, got {steps!r}")
    if generator is None:
        generator = torch.Generator(device=mask.device).manual_seed(int(seed))
    return generator


def _start(score_fn, sde, mask, prior, steps, generator, seed, snr, scale_eps, dtype):
    """Checks, then the run state, a prior draw ``(X_T, A_T)`` and the decreasing time grid."""
    generator = _check(score_fn, sde, mask, prior, steps, generator, seed)
    snr, scale_eps = _pair(snr, "snr"), _pair(scale_eps, "scale_eps")
    st = _State(score_fn, sde, mask, prior.mean_x.shape[0], generator, dtype)
    X, A = sde.prior_sampling(mask, prior, generator=generator, dtype=dtype)
    grid = torch.linspace(sde.T, sde.eps, steps + 1, dtype=torch.float64).to(dtype)
    return st, X, A, grid, snr, scale_eps


def pc_sampler(score_fn: GraphScoreFn, sde: GraphSDE, mask: torch.Tensor, prior: GraphPrior, *, steps: int = 1000,
               predictor: str = "reverse-diffusion", n_corrector: int = 1, snr=0.16, scale_eps=1.0,
               seed: int = 0, generator: torch.Generator | None = None, dtype=torch.float32) -> GraphSample:
    """Predictor–corrector sampling of ``(X, A)`` (``graph-pc``).

    Parameters
    ----------
    score_fn
        ``score_fn(X, A, mask, t) -> (score_X, score_A)``.
    sde
        The :class:`GraphSDE`.
    mask
        Boolean node mask (B×N): which nodes each generated graph has.
    prior
        :class:`GraphPrior` (moments of the data; the start is the forward SDE's terminal law).
    steps
        Number of time steps from ``T`` to ``eps``.
    predictor
        ``"reverse-diffusion"`` or ``"euler-maruyama"``.
    n_corrector, snr, scale_eps
        Langevin corrector steps per time step, signal-to-noise ratio and noise scale (numbers, or
        ``(x, a)`` pairs for per-component values; GDSS uses snr 0.05, scale_eps 0.7 on community-small).
    seed, generator
        Randomness (``generator`` wins if given).
    dtype
        Floating dtype of the sample.
    """
    if predictor not in PREDICTORS:
        raise InputError(f"predictor must be one of {PREDICTORS}, got {predictor!r}")
    if isinstance(n_corrector, bool) or not isinstance(n_corrector, int) or n_corrector < 0:
        raise InputError(f"n_corrector must be an int >= 0, got {n_corrector!r}")
    st, X, A, grid, snr, scale_eps = _start(score_fn, sde, mask, prior, steps, generator, seed, snr, scale_eps, dtype)
    for i in range(steps):
        t, tn = grid[i], grid[i + 1]
        last = i == steps - 1
        for _ in range(n_corrector):
            sX, sA = st.score(X, A, t)
            X = st.langevin(X, sX, "x", t, tn, snr[0], scale_eps[0])
            A = st.langevin(A, sA, "a", t, tn, snr[1], scale_eps[1])
        sX, sA = st.score(X, A, t)
        out = []
        for y, s, which in ((X, sX, "x"), (A, sA, "a")):
            sch = sde.component(which).schedule
            if predictor == "reverse-diffusion":
                r = sch.alpha(t) / sch.alpha(tn)
                g2 = sch.sigma(t) ** 2 - r**2 * sch.sigma(tn) ** 2
                mean = (2 - r) * y + g2 * s
            else:
                g2 = sch.diffusion2(t) * (t - tn)
                mean = y - (sch.drift_coef(t) * y * (t - tn) - g2 * s)
            out.append(mean if last else mean + torch.sqrt(g2) * st.noise(which))
        X, A = out[0] * st.mx, out[1] * st.pm
    return GraphSample(X, A, mask, st.nfe, "graph-pc", steps)


def s4_sampler(score_fn: GraphScoreFn, sde: GraphSDE, mask: torch.Tensor, prior: GraphPrior, *, steps: int = 1000,
               snr=0.16, scale_eps=1.0, seed: int = 0, generator: torch.Generator | None = None,
               dtype=torch.float32) -> GraphSample:
    """The S4 solver (``graph-s4``): one score evaluation per step, Langevin correction and a
    split step of the reverse SDE (see the module docstring). Parameters as :func:`pc_sampler`."""
    st, X, A, grid, snr, scale_eps = _start(score_fn, sde, mask, prior, steps, generator, seed, snr, scale_eps, dtype)
    for i in range(steps):
        t, tn = grid[i], grid[i + 1]
        tm = 0.5 * (t + tn)
        last = i == steps - 1
        sX, sA = st.score(X, A, t)
        out = []
        for y, s, which, k in ((X, sX, "x", 0), (A, sA, "a", 1)):
            sch = sde.component(which).schedule
            y = st.langevin(y, s, which, t, tn, snr[k], scale_eps[k])
            for j, (t0, t1) in enumerate(((t, tm), (tm, tn))):
                r = sch.alpha(t1) / sch.alpha(t0)
                var = (r**2 * sch.sigma(t0) ** 2 - sch.sigma(t1) ** 2).clamp(min=0)
                y = r * y
                if not last:
                    y = y + torch.sqrt(var) * st.noise(which)
                if j == 0:
                    y = y + sch.diffusion2(t) * (t - tn) * s
            out.append(y)
        X, A = out[0] * st.mx, out[1] * st.pm
    return GraphSample(X, A, mask, st.nfe, "graph-s4", steps)


SAMPLERS = {"graph-pc": pc_sampler, "graph-s4": s4_sampler}


def sample(score_fn: GraphScoreFn, sde: GraphSDE, mask: torch.Tensor, prior: GraphPrior, *,
           solver: str = "graph-pc", **options) -> GraphSample:
    """Dispatch to :data:`SAMPLERS` by name (``"graph-pc"`` or ``"graph-s4"``; ``"pc"``/``"s4"`` accepted)."""
    name = solver if solver.startswith("graph-") else f"graph-{solver}"
    if name not in SAMPLERS:
        from stochflow.core.errors import close_matches_message

        raise InputError(close_matches_message("graph solver", solver, SAMPLERS))
    return SAMPLERS[name](score_fn, sde, mask, prior, **options)
