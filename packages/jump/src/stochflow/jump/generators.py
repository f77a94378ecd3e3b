"""Generator (rate) matrices: validation, the discrete flashing ratchet, and a random prior.

A generator ``Q`` of a Markov jump process on ``S`` states has non-negative off-diagonal rates
``q_ij`` (jumps ``i -> j``) and rows that sum to zero, ``q_ii = -sum_{j != i} q_ij``. Every function
here is batched over leading dimensions ``(..., S, S)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.jump._backend import (
    as_tensor,
    check_finite,
    framework,
    make_generator,
    positive_int,
    to_framework,
)


def _row_tolerance(Q: torch.Tensor) -> float:
    eps = torch.finfo(Q.dtype).eps
    scale = float(Q.abs().amax()) if Q.numel() else 1.0
    return 1e3 * eps * max(1.0, scale) * Q.shape[-1]


def validate_generator(Q: Any, name: str = "Q") -> torch.Tensor:
    """Check that ``Q`` is a batch of generator matrices and return it as a floating torch tensor.

    Parameters
    ----------
    Q
        Array ``(..., S, S)`` with ``S >= 2``: non-negative finite off-diagonal rates and rows that
        sum to zero.
    name
        How the argument is called in error messages.

    Raises
    ------
    InputError
        On a wrong shape, non-finite entries, negative off-diagonal rates or rows that do not sum
        to zero (the message says how to fix it).
    """
    t = as_tensor(Q, name)
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise InputError(f"{name} must be a square matrix (..., S, S), got shape {tuple(t.shape)}")
    if t.shape[-1] < 2:
        raise InputError(f"{name} needs at least 2 states, got {t.shape[-1]}")
    check_finite(t, name)
    S = t.shape[-1]
    off = t.masked_fill(torch.eye(S, dtype=torch.bool, device=t.device), 0.0)
    if bool((off < 0).any()):
        idx = torch.nonzero(off < 0)[0].tolist()
        raise InputError(f"{name} has a negative off-diagonal rate {float(t[tuple(idx)]):.4g} at {tuple(idx)}; "
                         "rates q_ij (i != j) must be >= 0")
    rows = t.sum(-1)
    tol = _row_tolerance(t)
    if bool((rows.abs() > tol).any()):
        idx = torch.nonzero(rows.abs() > tol)[0].tolist()
        raise InputError(f"row {idx[-1]} of {name} sums to {float(rows[tuple(idx)]):.4g}, not 0: set the diagonal to "
                         "minus the sum of the row's off-diagonal rates (stochflow.jump.generator_from_rates does it)")
    return t


def generator_from_rates(rates: Any) -> Any:
    """A generator from off-diagonal rates: the diagonal of ``rates`` is ignored and replaced by
    minus the row sums. Same framework as the input.
    """
    fw = framework(rates)
    t = as_tensor(rates, "rates")
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise InputError(f"rates must be a square matrix (..., S, S), got shape {tuple(t.shape)}")
    check_finite(t, "rates")
    eye = torch.eye(t.shape[-1], dtype=torch.bool, device=t.device)
    off = t.masked_fill(eye, 0.0)
    if bool((off < 0).any()):
        raise InputError("rates must be >= 0 off the diagonal")
    return to_framework(off - torch.diag_embed(off.sum(-1)), fw)


def off_diagonal(Q: torch.Tensor) -> torch.Tensor:
    """The ``S(S-1)`` off-diagonal entries of ``(..., S, S)``, row by row: ``(..., S(S-1))``."""
    S = Q.shape[-1]
    mask = ~torch.eye(S, dtype=torch.bool, device=Q.device)
    return Q[..., mask]


def rate_rmse(Q_hat: Any, Q: Any) -> Any:
    """Root mean square error over the off-diagonal rates (the figure FIM-MJP reports), batched."""
    fw = framework(Q_hat)
    a, b = as_tensor(Q_hat, "Q_hat"), as_tensor(Q, "Q")
    b = b.to(a.dtype).to(a.device)
    return to_framework(torch.sqrt(((off_diagonal(a) - off_diagonal(b)) ** 2).mean(-1)), fw)


# -- the discrete flashing ratchet -----------------------------------------------------------

DFR_STATES = 6


def dfr_generator(V: Any = 1.0, r: Any = 1.0, b: Any = 1.0, *, dtype: torch.dtype | None = None,
                  device: Any = None) -> torch.Tensor:
    """The 6-state discrete flashing ratchet (DFR).

    States 0-2: a particle on a ring of three sites in a potential with levels ``0, V, 2V``, jump
    rates ``f_ij = exp(-V (j - i) / 2)``; states 3-5: the same sites with the potential off, rates
    ``b``; the potential switches, ``i <-> i + 3``, at rate ``r``.

    Parameters
    ----------
    V, r, b
        Potential strength, switching rate and free-diffusion rate; numbers or tensors of a common
        batch shape (``r, b >= 0``).
    dtype, device
        Of the result (default float64 on the CPU, or those of a tensor argument).

    Returns
    -------
    torch.Tensor
        ``(..., 6, 6)`` generators.
    """
    args = {}
    for key, value in (("V", V), ("r", r), ("b", b)):
        if isinstance(value, bool):
            raise InputTypeError(f"{key} must be a number or a tensor, got bool")
        t = as_tensor(value, key)
        check_finite(t, key)
        args[key] = t
    if bool((args["r"] < 0).any()) or bool((args["b"] < 0).any()):
        raise InputError("r and b are rates and must be >= 0")
    ref = next((v for v in (V, r, b) if isinstance(v, torch.Tensor)), None)
    dtype = dtype or (ref.dtype if ref is not None and ref.is_floating_point() else torch.float64)
    device = device or (ref.device if ref is not None else "cpu")
    Vt, rt, bt = torch.broadcast_tensors(*(args[k].to(dtype=dtype, device=device) for k in ("V", "r", "b")))
    rates = torch.zeros(*Vt.shape, 6, 6, dtype=dtype, device=device)
    for i in range(3):
        for j in range(3):
            if i != j:
                rates[..., i, j] = torch.exp(-Vt * (j - i) / 2)
                rates[..., 3 + i, 3 + j] = bt
        rates[..., i, i + 3] = rt
        rates[..., i + 3, i] = rt
    return rates - torch.diag_embed(rates.sum(-1))


class DFRParameters(NamedTuple):
    """``(V, r, b)`` of a discrete flashing ratchet."""

    V: Any
    r: Any
    b: Any


def dfr_parameters(Q: Any, *, floor: float = 1e-6) -> DFRParameters:
    """Least-squares ``(V, r, b)`` of a (possibly estimated) 6-state generator.

    ``r`` and ``b`` are the means of the six switching and six potential-off rates; ``V`` fits
    ``log f_ij = -V (j - i) / 2`` over the six potential-on rates by least squares (rates below
    ``floor`` are raised to it before the logarithm).
    """
    fw = framework(Q)
    t = as_tensor(Q, "Q")
    if t.shape[-2:] != (6, 6):
        raise InputError(f"the DFR has 6 states; got a generator of shape {tuple(t.shape)}")
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j]
    d = torch.tensor([j - i for i, j in pairs], dtype=t.dtype, device=t.device)
    logf = torch.stack([torch.log(t[..., i, j].clamp_min(floor)) for i, j in pairs], -1)
    V = -2 * (logf * d).sum(-1) / (d * d).sum()
    r = torch.stack([t[..., i, i + 3] for i in range(3)] + [t[..., i + 3, i] for i in range(3)], -1).mean(-1)
    b = torch.stack([t[..., 3 + i, 3 + j] for i, j in pairs], -1).mean(-1)
    return DFRParameters(*(to_framework(x, fw) for x in (V, r, b)))


def dfr_entropy_production(V: float = 1.0, r: float = 1.0, b: float = 1.0) -> float:
    """Stationary entropy production rate of the DFR (per unit time, in units of k_B).

    Computed with the Schnakenberg formula on :func:`dfr_generator` (see
    :func:`stochflow.jump.analysis.entropy_production`). Zero when ``V = 0``.
    """
    from stochflow.jump.analysis import entropy_production

    return float(entropy_production(dfr_generator(V, r, b)))


# -- a random prior over generators (FIM-MJP) ------------------------------------------------


@dataclass(frozen=True)
class GeneratorPrior:
    """A prior over generators of small Markov jump processes, as FIM-MJP describes its synthetic set.

    A draw: the number of states ``S`` uniform in ``n_states`` (one ``S`` per batch, since a batch
    shares its shape); with probability ``p_fully_connected`` every off-diagonal rate is present,
    otherwise each is present with probability ``edge_prob``, and a random directed cycle through
    all states is always added so that the process is irreducible; present rates are uniform in
    ``(rate_low, rate_high]``. The initial distribution is Dirichlet(1, ..., 1).

    Parameters
    ----------
    n_states
        Inclusive range of the number of states (FIM: 2-6).
    rate_low, rate_high
        Rates are uniform in ``(rate_low, rate_high]`` (FIM: ``(0, 1]``).
    p_fully_connected
        Probability that a generator has all its ``S(S-1)`` rates (FIM: about half).
    edge_prob
        For the others, the probability that each rate is present.
    """

    n_states: tuple[int, int] = (2, 6)
    rate_low: float = 0.0
    rate_high: float = 1.0
    p_fully_connected: float = 0.5
    edge_prob: float = 0.5

    def __post_init__(self) -> None:
        lo, hi = self.n_states
        if not (2 <= lo <= hi):
            raise InputError(f"n_states must be a range (lo, hi) with 2 <= lo <= hi, got {self.n_states}")
        if not (0 <= self.rate_low < self.rate_high):
            raise InputError(f"need 0 <= rate_low < rate_high, got ({self.rate_low}, {self.rate_high})")
        for key in ("p_fully_connected", "edge_prob"):
            if not 0 <= getattr(self, key) <= 1:
                raise InputError(f"{key} must be a probability in [0, 1], got {getattr(self, key)}")

    def sample(self, n_processes: int, *, n_states: int | None = None, seed: int | None = None,
               dtype: torch.dtype = torch.float64, device: Any = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n_processes`` generators ``(n, S, S)`` and initial distributions ``(n, S)``."""
        n = positive_int(n_processes, "n_processes")
        g = make_generator(seed, device)
        if n_states is None:
            lo, hi = self.n_states
            S = int(torch.randint(lo, hi + 1, (1,), generator=g, device=device))
        else:
            S = positive_int(n_states, "n_states", minimum=2)
        u = torch.rand(n, S, S, generator=g, device=device, dtype=dtype)
        rates = self.rate_high - (self.rate_high - self.rate_low) * u  # in (low, high]
        full = torch.rand(n, 1, 1, generator=g, device=device, dtype=dtype) < self.p_fully_connected
        present = torch.rand(n, S, S, generator=g, device=device, dtype=dtype) < self.edge_prob
        perm = torch.argsort(torch.rand(n, S, generator=g, device=device), dim=-1)
        cycle = torch.zeros(n, S, S, dtype=torch.bool, device=device)
        rows = torch.arange(n, device=device)[:, None]
        cycle[rows, perm, torch.roll(perm, -1, dims=-1)] = True
        keep = full | present | cycle
        eye = torch.eye(S, dtype=torch.bool, device=device)
        rates = torch.where(keep & ~eye, rates, torch.zeros((), dtype=dtype, device=device))
        Q = rates - torch.diag_embed(rates.sum(-1))
        p0 = -torch.log(torch.rand(n, S, generator=g, device=device, dtype=dtype).clamp_min(1e-300))
        return Q, p0 / p0.sum(-1, keepdim=True)


def random_generator(n_states: int | None = None, *, n_processes: int | None = None, seed: int | None = None,
                     prior: GeneratorPrior | None = None, dtype: torch.dtype = torch.float64,
                     device: Any = "cpu") -> torch.Tensor:
    """Generators drawn from :class:`GeneratorPrior` (FIM-MJP's synthetic prior by default).

    Returns ``(S, S)``, or ``(n_processes, S, S)`` when ``n_processes`` is given.
    """
    prior = prior or GeneratorPrior()
    if not isinstance(prior, GeneratorPrior):
        raise InputTypeError(f"prior must be a GeneratorPrior, got {type(prior).__name__}")
    Q, _ = prior.sample(1 if n_processes is None else n_processes, n_states=n_states, seed=seed,
                        dtype=dtype, device=device)
    return Q[0] if n_processes is None else Q
