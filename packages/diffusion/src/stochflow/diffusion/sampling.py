"""``sample``: draw from a diffusion model with any registered sampler on an explicit time grid."""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass

import torch

from stochflow.core.errors import InputError, InputTypeError, close_matches_message
from stochflow.diffusion._model import Evaluator
from stochflow.diffusion.adapters import to_score
from stochflow.diffusion.grids import time_grid
from stochflow.diffusion.samplers import SAMPLERS
from stochflow.diffusion.sde import DiffusionSDE

SOLVERS = tuple(SAMPLERS)


@dataclass(frozen=True)
class SampleResult:
    """What :func:`sample` returns.

    Attributes
    ----------
    samples
        The samples at ``times[-1]`` (shape ``shape``, the requested dtype/device).
    nfe
        Number of score evaluations used.
    times
        The time grid (decreasing, ``steps + 1`` values).
    solver, steps
        The sampler's name and the number of steps.
    seconds
        Wall-clock time of the sampling loop.
    """

    samples: torch.Tensor
    nfe: int
    times: torch.Tensor
    solver: str
    steps: int
    seconds: float


def evaluations_per_step(solver: str) -> int | None:
    """Score evaluations per step of ``solver`` (with its default options); ``None`` for the adaptive
    ``pf-ode``, whose NFE is set by its error controller and recorded in :class:`SampleResult`."""
    return SAMPLERS[_check_solver(solver)][1]


def _check_solver(solver) -> str:
    if not isinstance(solver, str):
        raise InputTypeError(f"solver must be a name (str), got {type(solver).__name__}")
    name = solver.strip().lower().replace("_", "-")
    if name not in SAMPLERS:
        raise InputError(close_matches_message("solver", solver, SAMPLERS))
    return name


def sample(score_fn, sde: DiffusionSDE, shape, solver: str = "dpm-solver++2m", steps: int = 10, seed: int | None = 0,
           *, grid: str | torch.Tensor = "logsnr", x_T: torch.Tensor | None = None, model_output: str = "score",
           dtype=torch.float32, device="cpu", eps: float | None = None, T: float | None = None,
           lower_order_final: bool = True, **options) -> SampleResult:
    """Sample ``shape`` from the model ``score_fn`` by integrating ``sde`` backwards.

    Parameters
    ----------
    score_fn
        ``score_fn(x, t) -> ∇log p_t(x)`` with ``t`` of shape ``(n,)``; or, with ``model_output``,
        a noise-, data-, velocity-prediction model or EDM denoiser (see :mod:`.adapters`).
    sde
        A :class:`DiffusionSDE` (``VPSDE``, ``VESDE``, ``SubVPSDE``, ``MeanRevertingSDE``).
    shape
        ``(n, *event_shape)``: any data shape.
    solver
        A registered sampler name (see :data:`SOLVERS`).
    steps
        Number of steps; the NFE is ``steps × evaluations_per_step(solver)``.
    seed
        Seeds the prior draw and the sampler's noise (a private ``torch.Generator``).
    grid
        ``"uniform"``, ``"logsnr"``, ``"karras"`` or an explicit decreasing 1-D tensor of times in
        ``[eps, T]`` (then ``steps`` is ``len(grid) - 1`` and the argument is ignored).
    x_T
        Starting point at ``grid[0]`` (default: a prior draw).
    dtype, device
        Of the samples (ignored when ``x_T`` is given: its dtype and device are used).
    eps, T
        End points of a named grid.
    lower_order_final
        Multistep solvers drop to lower order at the end of runs with < 15 steps (``unipc``: at the
        end of every run, as diffusers' UniPCMultistepScheduler does).
    options
        Sampler options (``eta`` for ddim; ``snr``, ``n_corrector`` for pc; ``prediction``,
        ``order`` for mrs; ``order``, ``variant``, ``corrector`` for unipc; ``method``, ``rtol``,
        ``atol`` for pf-ode and ``method`` for reverse-sde, which integrate through stochflow-sde,
        see :mod:`.samplers.via_sde`).

    Returns
    -------
    SampleResult
    """
    name = _check_solver(solver)
    fn, _ = SAMPLERS[name]
    if not isinstance(sde, DiffusionSDE):
        raise InputTypeError(f"sde must be a DiffusionSDE (VPSDE, VESDE, ...), got {type(sde).__name__}")
    if not callable(score_fn):
        raise InputTypeError(f"score_fn must be callable, got {type(score_fn).__name__}")
    allowed = set(inspect.signature(fn).parameters) - {"ev", "y", "grid", "generator", "lower_order_final"}
    unknown = set(options) - allowed
    if unknown:
        raise InputError(f"solver {name!r} takes no option(s) {sorted(unknown)}; its options: {sorted(allowed) or 'none'}")
    if x_T is not None:
        if not isinstance(x_T, torch.Tensor) or not x_T.is_floating_point():
            raise InputTypeError("x_T must be a floating-point torch.Tensor")
        dtype, device = x_T.dtype, x_T.device
        if shape is not None and tuple(shape) != tuple(x_T.shape):
            raise InputError(f"x_T has shape {tuple(x_T.shape)} but shape={tuple(shape)}")
        shape = tuple(x_T.shape)
    if shape is None or isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise InputTypeError(f"shape must be a tuple (n, *event_shape) (or give x_T), got {shape!r}")
    shape = tuple(int(s) for s in shape)
    if len(shape) < 1 or any(s < 1 for s in shape):
        raise InputError(f"shape must be (n, *event_shape) with positive sizes, got {shape}")
    if isinstance(grid, torch.Tensor):
        if grid.ndim != 1 or grid.shape[0] < 2 or not (grid[1:] < grid[:-1]).all():
            raise InputError("an explicit grid must be a decreasing 1-D tensor of at least 2 times")
        sde.check_time(grid.to(torch.float64), "grid")
        times = grid.to(dtype=dtype, device=device)
        steps = len(times) - 1
    else:
        times = time_grid(sde, steps, grid, eps=eps, T=T, dtype=torch.float64).to(dtype=dtype, device=device)
    generator = None
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed) if seed is not None else int(torch.seed()))
    generator = gen
    if x_T is None:
        x_T = sde.prior_sampling(shape, generator=generator, dtype=dtype, device=device)
    ev = Evaluator(to_score(score_fn, model_output, sde), sde)
    start = time.perf_counter()
    y = fn(ev, x_T - sde.center(x_T), times, generator=generator, lower_order_final=lower_order_final, **options)
    ev.raise_if_bad()
    x = y + sde.center(y)
    return SampleResult(samples=x, nfe=ev.nfe, times=times, solver=name, steps=steps,
                        seconds=time.perf_counter() - start)
