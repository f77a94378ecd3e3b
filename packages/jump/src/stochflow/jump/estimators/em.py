"""EM for discretely observed Markov jump processes, with label noise as a continuous-time HMM.

E-step: forward-backward over each path's observation times (transition matrices ``e^{Q dt}``,
emissions ``P(label | state)``) gives, for every interval, the weights
``W_k[a, b] = alpha_k(a) e_{k+1}(b) beta_{k+1}(b) / c_{k+1}``, whose products with ``e^{Q dt}`` are
the posterior pair probabilities. The expected time in ``i`` and number of jumps ``i -> j`` are
``R_i = sum_k sum_ab W_k[a, b] I^{ii}_ab(dt_k)`` and ``N_ij = q_ij sum_k sum_ab W_k[a, b] I^{ij}_ab(dt_k)``
with ``I`` the integrals of :mod:`stochflow.jump.van_loan` / :mod:`stochflow.jump.uniformization`
(Bladt & Sørensen 2005; Metzner et al. 2007). Intervals of equal length are pooled first, so a
regular grid costs one integral per process.

M-step: ``q_ij`` from :func:`stochflow.jump.prior.rates_from_statistics` (Gamma MAP), the initial
distribution from the posterior at time 0, the flip probability from the expected share of wrong
labels. The reported rates are that MAP or, with ``estimate="mean"``, the posterior mean
``(alpha + N_ij) / (beta + R_i)`` given the last E-step's expected statistics.

``prior="empirical"`` is two-stage empirical Bayes: EM under the default prior gives expected
counts and holding times; the ``Gamma(alpha, beta)`` maximising their evidence
(:func:`stochflow.jump.prior.empirical_bayes_prior`, one per process) is the prior of a second EM
run, started where the first stopped.
"""

from __future__ import annotations

from typing import Any

import torch

from stochflow.core.errors import InputError
from stochflow.core.estimator import Estimator
from stochflow.core.progress import progress as _progress
from stochflow.jump._backend import as_tensor, framework, positive_int, to_framework
from stochflow.jump.analysis import emission_matrix
from stochflow.jump.estimators._common import check_estimate, check_prior, need_observations
from stochflow.jump.estimators.pseudo import pseudo_statistics
from stochflow.jump.generators import validate_generator
from stochflow.jump.model import MarkovJumpModel
from stochflow.jump.prior import GammaPrior, empirical_bayes_prior, rates_from_statistics
from stochflow.jump.propagation import check_method, interval_integrals, interval_transitions

DEFAULT_PRIOR = GammaPrior(1.5, 1.0)
EMPIRICAL = "empirical"
_KEY_BITS = 40


class _Intervals:
    """The intervals between consecutive observation times, pooled by (process, length)."""

    def __init__(self, t: torch.Tensor, m: torch.Tensor, t_max: float):
        B, N, L = t.shape
        filled = torch.cummax(torch.where(m, t, torch.zeros_like(t)), -1).values  # padding: last time
        dt = (filled[..., 1:] - filled[..., :-1]).clamp_min(0.0)  # (B, N, L-1)
        scale = max(t_max, 1e-300)
        q = torch.round(dt / scale * 2.0**_KEY_BITS).to(torch.int64)
        proc = torch.arange(B, device=t.device)[:, None, None].expand_as(q)
        key = proc * (2 ** (_KEY_BITS + 1)) + q
        uniq, inverse = torch.unique(key.reshape(-1), return_inverse=True)
        self.index = inverse.reshape(B, N, L - 1)
        self.proc = uniq // (2 ** (_KEY_BITS + 1))
        self.dt = (uniq % (2 ** (_KEY_BITS + 1))).to(t.dtype) * scale / 2.0**_KEY_BITS
        self.n_unique = int(uniq.numel())


def forward_backward(P: torch.Tensor, index: torch.Tensor, e: torch.Tensor, p0: torch.Tensor):
    """Scaled forward-backward for a continuous-time HMM.

    Parameters
    ----------
    P
        ``(U, S, S)`` transition matrices of the pooled intervals.
    index
        ``(B, N, L-1)`` which pooled interval each step uses.
    e
        ``(B, N, L, S)`` emission likelihoods of each observation (1 where unobserved).
    p0
        ``(B, S)`` law at the first time.

    Returns
    -------
    gamma, W, loglik
        Posterior marginals ``(B, N, L, S)``, interval weights ``(B, N, L-1, S, S)`` and the
        log-likelihood per process ``(B,)``.
    """
    B, N, L, S = e.shape
    alpha = torch.empty(B, N, L, S, dtype=e.dtype, device=e.device)
    c = torch.empty(B, N, L, dtype=e.dtype, device=e.device)
    tiny = torch.finfo(e.dtype).tiny
    a = p0[:, None, :] * e[:, :, 0]
    c[..., 0] = a.sum(-1).clamp_min(tiny)
    alpha[:, :, 0] = a / c[..., 0, None]
    for k in range(1, L):
        a = (alpha[:, :, k - 1, None, :] @ P[index[..., k - 1]])[..., 0, :] * e[:, :, k]
        c[..., k] = a.sum(-1).clamp_min(tiny)
        alpha[:, :, k] = a / c[..., k, None]
    beta = torch.empty_like(alpha)
    beta[:, :, L - 1] = 1.0
    for k in range(L - 2, -1, -1):
        v = e[:, :, k + 1] * beta[:, :, k + 1] / c[..., k + 1, None]
        beta[:, :, k] = (P[index[..., k]] @ v[..., None])[..., 0]
    gamma = alpha * beta
    v = e[:, :, 1:] * beta[:, :, 1:] / c[..., 1:, None]
    W = alpha[:, :, :-1, :, None] * v[..., None, :]
    return gamma, W, torch.log(c).sum((-1, -2))


def _prepare(t, y, m, S, t_max):
    """Pooled intervals, one-hot labels and mask, with an unobserved time 0 prepended to every path
    (so that the initial distribution is the law at time 0)."""
    B, N, T = t.shape
    zero = torch.zeros(B, N, 1, dtype=t.dtype, device=t.device)
    t0 = torch.cat([zero, t], -1)
    y0 = torch.cat([zero.to(y.dtype), y], -1)
    m0 = torch.cat([zero.bool(), m], -1)
    iv = _Intervals(torch.where(m0, t0, zero), m0 | (torch.arange(T + 1, device=t.device) == 0), t_max)
    onehot = torch.nn.functional.one_hot(y0.clamp(0, S - 1), S).to(t.dtype)
    return iv, onehot, m0


def _emissions(onehot, m0, eps, S):
    E = emission_matrix(eps, S)  # (B, S, S) [state, label]
    e = torch.einsum("bnlk,bsk->bnls", onehot, E)
    return torch.where(m0[..., None], e, torch.ones_like(e))


def observation_log_likelihood(obs: Any, generator: Any, initial_distribution: Any, flip_prob: Any = None,
                               *, method: str = "auto") -> torch.Tensor:
    """``log p(observations | Q, p0, flip probability)`` per process, by the forward algorithm.

    Parameters
    ----------
    obs
        :class:`~stochflow.jump.Observations` with batch shape ``(...)``.
    generator, initial_distribution, flip_prob
        ``(..., S, S)``, ``(..., S)`` and ``(...)`` (``None``: exact labels), e.g. a fitted
        :class:`~stochflow.jump.MarkovJumpModel`'s fields.

    Returns
    -------
    torch.Tensor
        ``(...)`` float64.
    """
    obs = need_observations(obs, "observation_log_likelihood")
    t, y, m = obs.tensors(torch.float64)
    batch, S = t.shape[:-2], obs.n_states
    B, N, T = t[..., 0, 0].numel(), t.shape[-2], t.shape[-1]
    t, y, m = (x.reshape(B, N, T) for x in (t, y, m))
    Q = validate_generator(generator).to(torch.float64).to(t.device)
    if Q.shape[-1] != S:
        raise InputError(f"the generator has {Q.shape[-1]} states but the observations {S}")
    Q = Q.expand(*batch, S, S).reshape(B, S, S)
    p0 = as_tensor(initial_distribution, "initial_distribution", dtype=torch.float64).to(t.device)
    p0 = p0.expand(*batch, S).reshape(B, S)
    eps = torch.zeros((), dtype=torch.float64) if flip_prob is None else as_tensor(flip_prob, "flip_prob",
                                                                                    dtype=torch.float64)
    eps = eps.to(t.device).expand(batch).reshape(B)
    iv, onehot, m0 = _prepare(t, y, m, S, obs.t_max)
    P = interval_transitions(Q, iv.proc, iv.dt, check_method(method))
    _, _, loglik = forward_backward(P, iv.index, _emissions(onehot, m0, eps, S), p0)
    return loglik.reshape(batch)


class EMEstimator(Estimator):
    """Expectation-maximisation for rates from discrete, possibly noisy observations.

    Parameters
    ----------
    noise
        ``"learn"`` (the flip probability is estimated; a continuous-time HMM), or a fixed flip
        probability in ``[0, 1)``; ``0`` is plain EM with exact labels.
    prior
        :class:`~stochflow.jump.GammaPrior` (or ``(alpha, beta)``) on every rate; the M-step takes
        the posterior mode, so one path cannot make a rate infinite. ``None``: maximum likelihood.
        The default ``Gamma(1.5, 1)`` has its mode at 0.5 and weighs like half a jump and one unit
        of time per state. ``"empirical"``: empirical Bayes (see the module docstring); the
        fitted prior is then in ``prior_``.
    estimate
        ``"map"`` (the posterior mode EM converges to) or ``"mean"`` (the posterior mean from the
        final expected statistics).
    max_iter, tol
        Stop after ``max_iter`` iterations or when the log-posterior of every process changes by
        less than ``tol * (1 + |value|)``.
    init
        Starting generator ``(S, S)``/``(..., S, S)``, or ``"pseudo"``: the
        :class:`~stochflow.jump.PseudoGeneratorEstimator` with every rate at least 10% of the
        mean rate (EM cannot revive a rate that starts at zero).
    init_noise
        Starting flip probability when ``noise="learn"``.
    method
        ``"auto"``, ``"expm"`` (Van Loan block exponentials) or ``"uniformization"`` for the
        transition matrices and integrals.
    progress
        Show a progress bar (``None``: on a terminal unless ``STOCHFLOW_QUIET=1``).

    Examples
    --------
    >>> import stochflow.jump as sfj
    >>> Q = sfj.dfr_generator(V=1.0, r=1.0, b=1.0)
    >>> obs = sfj.simulate(Q, n_paths=300, t_max=2.5, seed=0).observe(50, grid="irregular", flip_prob=0.1, seed=1)
    >>> model = sfj.EMEstimator().fit(obs).fetch_model()
    >>> model.generator.shape
    torch.Size([6, 6])
    """

    def __init__(self, noise: float | str = "learn",
                 prior: GammaPrior | tuple[float, float] | str | None = DEFAULT_PRIOR,
                 max_iter: int = 500, tol: float = 1e-8, init: Any = "pseudo", init_noise: float = 0.05,
                 method: str = "auto", progress: bool | None = None, estimate: str = "map"):
        if isinstance(noise, str):
            if noise != "learn":
                raise InputError(f"noise must be 'learn' or a flip probability in [0, 1), got {noise!r}")
        elif isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
            raise InputError(f"noise must be 'learn' or a flip probability in [0, 1), got {noise!r}")
        if not isinstance(init_noise, (int, float)) or not 0 < init_noise < 1:
            raise InputError(f"init_noise must lie in (0, 1), got {init_noise!r}")
        if not isinstance(tol, (int, float)) or tol < 0:
            raise InputError(f"tol must be a non-negative number, got {tol!r}")
        if not (isinstance(init, str) and init == "pseudo"):
            if isinstance(init, str):
                raise InputError(f"init must be 'pseudo' or a generator matrix, got {init!r}")
            validate_generator(init, "init")
        self.noise = noise
        if isinstance(prior, str) and prior != EMPIRICAL:
            raise InputError(f"prior must be a GammaPrior, a pair (alpha, beta), None or {EMPIRICAL!r}, got {prior!r}")
        self.prior = prior if prior == EMPIRICAL else check_prior(prior)
        self.estimate = check_estimate(estimate)
        self.max_iter = positive_int(max_iter, "max_iter")
        self.tol = float(tol)
        self.init = init
        self.init_noise = float(init_noise)
        self.method = check_method(method)
        self.progress = progress

    def _initial_generator(self, t, y, m, S, B):
        if isinstance(self.init, str):
            counts, holding = pseudo_statistics(t, y, m, S)
            Q, _ = rates_from_statistics(counts, holding, GammaPrior(1.0, 0.0))
            eye = torch.eye(S, dtype=torch.bool, device=t.device)
            off = Q.masked_fill(eye, 0.0)
            mean = off.sum((-1, -2)) / (S * (S - 1))
            mean = torch.where(mean > 0, mean, torch.ones_like(mean))
            off = torch.maximum(off, 0.1 * mean[:, None, None]).masked_fill(eye, 0.0)
            return off - torch.diag_embed(off.sum(-1))
        Q0 = validate_generator(self.init, "init").to(torch.float64).to(t.device)
        if Q0.shape[-1] != S:
            raise InputError(f"init has {Q0.shape[-1]} states but the observations {S}")
        return Q0.expand(B, S, S).clone() if Q0.ndim == 2 else Q0.reshape(B, S, S).clone()

    def fit(self, data: Any, **kwargs: Any) -> EMEstimator:
        """Fit on :class:`~stochflow.jump.Observations` (batched processes are fitted together).

        Sets ``statistics_``: the expected jump counts ``(..., S, S)`` and holding times
        ``(..., S)`` of the last E-step (torch, float64), and ``prior_``: the prior used.
        """
        obs = need_observations(data, "EMEstimator")
        if self.prior == EMPIRICAL:
            params = {k: v for k, v in vars(self).items() if k in _PARAMS}
            first = EMEstimator(**(params | {"prior": DEFAULT_PRIOR, "estimate": "map"})).fit(obs)
            counts, holding = first.statistics_
            prior = empirical_bayes_prior(counts, holding)
            start, _ = rates_from_statistics(counts, holding, DEFAULT_PRIOR)  # where the first run stopped
            second = EMEstimator(**(params | {"prior": prior, "init": start}))._run(obs, prior)
            self._model, self.statistics_, self.prior_ = second._model, second.statistics_, prior
            return self
        return self._run(obs, self.prior)

    def _run(self, obs: Any, prior_in: GammaPrior | None) -> EMEstimator:
        fw = framework(obs.times)
        out_dtype = as_tensor(obs.times, "times").dtype
        t, y, m = obs.tensors(torch.float64)
        batch, S = t.shape[:-2], obs.n_states
        B, N, T = t[..., 0, 0].numel(), t.shape[-2], t.shape[-1]
        t, y, m = (x.reshape(B, N, T) for x in (t, y, m))
        if not isinstance(self.init, str):
            init_shape = tuple(as_tensor(self.init, "init").shape[:-2])
            if init_shape not in ((), tuple(batch)):
                raise InputError(f"init has batch shape {init_shape}, the observations {tuple(batch)}")
        Q = self._initial_generator(t, y, m, S, B)
        iv, onehot, m0 = _prepare(t, y, m, S, obs.t_max)
        learn = self.noise == "learn"
        eps = torch.full((B,), self.init_noise if learn else float(self.noise), dtype=t.dtype, device=t.device)
        p0 = torch.full((B, S), 1.0 / S, dtype=t.dtype, device=t.device)
        n_obs = m.sum((-1, -2)).to(t.dtype)
        prior = None if prior_in is None else prior_in.reshaped((B, S, S))
        history: list[float] = []
        prev = None
        converged = False
        n_iter = 0
        loglik = torch.zeros(B, dtype=t.dtype, device=t.device)
        stats = None
        bar = _progress(range(self.max_iter), desc="EM", disable=None if self.progress is None else not self.progress)
        for iteration in range(1, self.max_iter + 1):
            n_iter = iteration
            e = _emissions(onehot, m0, eps, S)
            P = interval_transitions(Q, iv.proc, iv.dt, self.method)
            gamma, W, loglik = forward_backward(P, iv.index, e, p0)
            objective = loglik + (prior.log_density(Q) if prior is not None else 0.0)
            Wsum = torch.zeros(iv.n_unique, S * S, dtype=t.dtype, device=t.device)
            Wsum.index_add_(0, iv.index.reshape(-1), W.reshape(-1, S * S))
            M = interval_integrals(Q, iv.proc, iv.dt, Wsum.reshape(-1, S, S), self.method)
            holding = torch.diagonal(M, dim1=-2, dim2=-1).clamp_min(0.0)
            counts = (Q * M).clamp_min(0.0)
            stats = (counts, holding)
            Q, _ = rates_from_statistics(counts, holding, prior)
            p0 = gamma[:, :, 0].mean(1)
            if learn:
                wrong = ((1.0 - (gamma[:, :, 1:] * onehot[:, :, 1:]).sum(-1)) * m).sum((-1, -2))
                eps = (wrong / n_obs).clamp(1e-12, (S - 1) / S - 1e-6)
            value = objective
            history.append(float(value.sum()))
            bar.update(1)
            if prev is not None and bool(((value - prev).abs() <= self.tol * (1 + value.abs())).all()):
                converged = True
                break
            prev = value
        bar.close()
        counts, holding = stats
        Q, std = rates_from_statistics(counts, holding, prior, self.estimate)
        self.statistics_ = (counts.reshape(*batch, S, S), holding.reshape(*batch, S))
        self.prior_ = prior_in
        out = lambda x, *s: to_framework(x.reshape(tuple(batch) + s).to(out_dtype), fw)
        self._model = MarkovJumpModel(
            out(Q, S, S), out(p0, S), out(eps), out(std, S, S), out(loglik), n_iter, converged, tuple(history))
        return self


_PARAMS = ("noise", "max_iter", "tol", "init", "init_noise", "method", "progress", "estimate")
