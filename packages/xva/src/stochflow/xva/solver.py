"""The deep BSDE solver (Han, Jentzen & E, PNAS 2018) for any :class:`~stochflow.xva.bsde.BSDEProblem`.

Learnable ``Y_0`` and ``Z_t = Z(t, X_t)`` (one network shared across time with time as an input, or
one per step); ``Y`` is marched forward and ``E|Y_N - ξ|²`` minimised by Adam with a step schedule.
Each training batch is drawn from ``derive_seed(seed, "train", iteration, rank)``, so a run that is
checkpointed and resumed gives the same numbers as one run straight through, and the same script runs
under ``torchrun`` (DistributedDataParallel) unchanged.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from stochflow.core import distributed as dist
from stochflow.core.errors import InputError, InputTypeError
from stochflow.core.estimator import Estimator, check_stamp, stamp
from stochflow.core.progress import progress
from stochflow.core.seeding import derive_seed
from stochflow.xva import checks
from stochflow.xva.bsde import BSDEProblem
from stochflow.xva.exposure import Estimate
from stochflow.xva.forward import ForwardPaths
from stochflow.xva.networks import GradientZNet, PerStepZNet, SharedZNet, Standardize
from stochflow.xva.y0_estimate import estimate_y0

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_dtype(dtype) -> torch.dtype:
    """``"float32"``/``"float64"``/``torch.float32``/``torch.float64`` -> a torch dtype."""
    if isinstance(dtype, torch.dtype) and dtype in _DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    raise InputError(f"dtype must be 'float32' or 'float64', got {dtype!r}")


class DeepBSDEModel(nn.Module):
    """``Y_0`` and the ``Z``-network; :meth:`rollout` marches ``Y`` along given forward paths."""

    def __init__(self, znet: nn.Module, y0: float, y0_scale: float = 1.0, driver_rule: str = "left",
                 z_gain: bool = False):
        super().__init__()
        self.znet = znet
        self.driver_rule = driver_rule
        # one learnable factor on Z: it collects the gradient of Z's overall size from all coordinates
        self.z_gain = nn.Parameter(torch.tensor(1.0)) if z_gain else None
        # Y0 = offset + scale * raw: Adam's steps of ~lr in ``raw`` move Y0 on the problem's own scale
        self.register_buffer("y0_offset", torch.tensor(float(y0)))
        self.register_buffer("y0_scale", torch.tensor(float(y0_scale)))
        self.y0_raw = nn.Parameter(torch.tensor(0.0))

    @property
    def y0(self) -> torch.Tensor:
        """The learned ``Y_0``."""
        return self.y0_offset + self.y0_scale * self.y0_raw

    def z(self, problem: BSDEProblem, t: torch.Tensor, x: torch.Tensor, first: int = 0) -> torch.Tensor:
        """``Z`` at the times ``t`` (``(K,)``, grid steps ``first, ..., first + K - 1``) and states ``x``
        (``(K, B, dim)``), shape ``(K, B, noise_dim)``."""
        # per-step networks need the grid index; any other Z network is a function of (t, x)
        z = self.znet(t, x, first=first) if isinstance(self.znet, PerStepZNet) else self.znet(t, x)
        if getattr(self.znet, "is_gradient", False):
            z = problem.diffusion_transpose(t, x, z)
        if self.z_gain is not None:
            z = self.z_gain * z
        return z

    def rollout(self, problem: BSDEProblem, paths: ForwardPaths) -> tuple[torch.Tensor, torch.Tensor]:
        """``Y`` of shape ``(N + 1, B)`` and ``Z`` of ``(N, B, noise_dim)`` along ``paths``."""
        t, x = paths.t, paths.x
        y0 = self.y0.to(x.dtype)
        trapezoid = self.driver_rule == "trapezoid"
        # Z on the grid: at t_0..t_{N-1}, and at t_N too for the trapezoidal rule
        z = self.z(problem, t, x) if trapezoid else self.z(problem, t[:-1], x[:-1])
        dt = torch.diff(t)
        active = problem.active(paths)
        y = y0.expand(x.shape[1])
        ys = [y]
        for n in range(t.shape[0] - 1):
            noise = (z[n] * paths.dw[n]).sum(-1)
            f = problem.driver(n, t[n], x[n], y, z[n], paths)
            if trapezoid:  # f at t_{n+1} with the Euler predictor of Y_{n+1}
                f_next = problem.driver(n + 1, t[n + 1], x[n + 1], y - f * dt[n] + noise, z[n + 1], paths)
                f = 0.5 * (f + f_next)
            step = -f * dt[n] + noise
            if active is not None:
                step = step * active[n]
            y = y + step
            cash = problem.cashflow(n + 1, paths)
            if cash is not None:
                y = y - cash
            ys.append(y)
        return torch.stack(ys, 0), z[: t.shape[0] - 1]

    def forward(self, problem: BSDEProblem, paths: ForwardPaths, centred: bool = False) -> torch.Tensor:
        """The loss ``mean (Y_N - ξ)²``; with ``centred`` the batch variance of ``Y_N - ξ`` (the loss at the
        ``Y_0`` that zeroes the batch's mean residual, for drivers without ``y``), and the mean residual is
        kept in ``last_mean_residual``."""
        ys, _ = self.rollout(problem, paths)
        r = ys[-1] - problem.terminal(paths)
        if not centred:
            return (r**2).mean()
        self.last_mean_residual = r.mean().detach()
        return ((r - r.mean()) ** 2).mean()


@dataclass(frozen=True)
class BSDEResult:
    """What the deep BSDE solver returns.

    Attributes
    ----------
    y0 : float
        The learned ``Y_0`` (``u(0, x_0)``).
    loss_history, y0_history : numpy.ndarray
        Training loss and ``Y_0`` after each iteration.
    error_indicator : float
        A-posteriori indicator ``sqrt(E|Y_N - ξ|²)`` on fresh validation paths; the error of ``Y_0``
        is bounded by a constant times this plus the time-step term (Han & Long, 2020).
    relative_error_indicator : float
        ``error_indicator / max(|Y_0|, 1e-12)``.
    iterations : int
        Iterations done in total.
    seconds : float
        Wall time of the (last) fit.
    model : DeepBSDEModel
        The trained model (``Y_0`` and the ``Z`` network), for pathwise values via ``rollout``.
    y0_estimate : Estimate or None
        ``Y_0`` re-estimated on fresh paths with the trained ``Z`` (:meth:`estimate_y0`) when the solver
        was asked for it (``DeepBSDESolver(y0_estimate=...)``), with its standard error.
    """

    y0: float
    loss_history: np.ndarray
    y0_history: np.ndarray
    error_indicator: float
    relative_error_indicator: float
    iterations: int
    seconds: float
    model: DeepBSDEModel = field(repr=False)
    y0_estimate: Estimate | None = None

    def rollout(self, problem: BSDEProblem, paths: ForwardPaths) -> tuple[torch.Tensor, torch.Tensor]:
        """Pathwise ``Y`` and ``Z`` of the trained model along ``paths`` (no gradients)."""
        with torch.no_grad():
            return self.model.rollout(problem, paths)

    def estimate_y0(self, problem: BSDEProblem, *, tilt: bool = False, n_paths: int = 65536, chunk: int = 8192,
                    seed: int = 0) -> Estimate:
        """``Y_0`` consistent with the trained ``Z``, by Monte Carlo on fresh paths, with its standard error.

        ``tilt=False``: the scheme's ``Y_0`` for this ``Z`` (free of the training noise in ``Y_0``, not of
        ``Z``'s error). ``tilt=True``: the scheme under the measure tilted by ``∂_z f``, whose error is
        second order in ``Z``'s error (for ``f = -λ|z|²/2``: ``(λ/2) E∫|Z - Z*|² dt``, an upper bound);
        needs a :class:`~stochflow.xva.bsde.BSDE` on the package's forward models. See
        :func:`stochflow.xva.y0_estimate.estimate_y0`.
        """
        p = next(self.model.parameters())
        return estimate_y0(self.model, problem, tilt=tilt, n_paths=n_paths, chunk=chunk, seed=seed,
                           dtype=p.dtype, device=p.device)


class DeepBSDESolver(Estimator):
    """Solve a BSDE problem by the deep BSDE method.

    Parameters
    ----------
    network : {"shared", "per-step"}
        ``Z`` shared across time with time as an input, or one network per time step.
    width, depth
        Hidden width (default ``dim + 10``) and number of hidden layers of the ``Z`` network(s).
    z_network : {"direct", "gradient"}
        ``"direct"``: a network maps ``(t, x)`` to ``Z``. ``"gradient"``: ``Z = σ(t, x)ᵀ∇u(t, x)`` for a
        learned scalar network ``u`` (the structure of the true ``Z``; one scalar to fit instead of a map
        ``R^d → R^m``); needs ``network="shared"`` and a problem that defines ``diffusion_transpose``
        (:class:`~stochflow.xva.bsde.BSDE` on the package's forward models does).
    skip : bool
        Add a linear map of ``(t, x)`` to each ``Z`` network's output (a linear skip connection):
        ``Z`` linear in ``x`` plus a learned correction. Helps in high dimension where ``Z`` is close
        to linear (the PNAS HJB problem); off by default. With ``z_network="gradient"``, ``u`` gains a
        linear and a diagonal quadratic term in ``x`` instead.
    z_gain : bool
        Multiply ``Z`` by one learnable scalar (initially 1). Adam scales each parameter's step by its
        own gradient noise: the overall size of ``Z`` spread over many weights is learned slowly once
        each weight's share of the signal is below its noise, while one gain parameter collects that
        signal from every coordinate. Off by default.
    driver_rule : {"left", "trapezoid"}
        How the driver is integrated over a step: at its left point (the Euler scheme of Han, Jentzen
        & E), or by the trapezoidal rule with an Euler predictor of ``Y`` at the right point (``Z`` is
        then evaluated at ``t_N`` too); the trapezoid removes the ``O(Δt)`` bias of the left sum when
        the driver grows along the paths.
    iterations, batch_size
        Adam steps and paths per step.
    learning_rate : float
        Initial learning rate; multiplied by ``lr_decay`` at each fraction in ``lr_milestones``.
    lr_decay, lr_milestones
        Step schedule.
    valid_size : int
        Paths of the fixed validation batch for the error indicator.
    dtype, device
        ``"float32"``/``"float64"`` and a torch device; results follow them.
    seed : int
        Seeds initialisation and every batch.
    y0_init : float, optional
        Initial ``Y_0``; default the mean of ``ξ`` on a pilot batch.
    y0_update : {"adam", "profile"}
        How ``Y_0`` is learned. ``"adam"``: a parameter beside ``Z`` (Han, Jentzen & E). ``"profile"``: ``Z``
        is trained on the batch variance of ``Y_N - ξ`` (the loss at the best ``Y_0`` for the batch), and
        ``Y_0`` is moved by minus the batch's mean residual times the schedule's factor (full steps at the
        initial learning rate, an average over more batches after each decay). For drivers without ``y``
        the loss then has no direction "larger ``Z``, smaller ``Y_0``" along which it is flat (the
        quadratic HJB driver); for drivers with ``y`` the ``Y_0`` steps are a fixed-point iteration.
        Default ``"adam"``.
    y0_scale : float, optional
        The scale on which ``Y_0`` is learned (``Y_0 = y0_init + y0_scale · θ``; Adam moves ``θ`` by about
        the learning rate per step); default the larger of the spread and the size of ``ξ`` on the pilot
        batch. A smaller scale (the spread alone) makes ``Y_0`` steadier where ``ξ``'s spread is small
        beside its mean.
    y0_estimate : {None, "plain", "tilted"}
        After training, re-estimate ``Y_0`` on ``estimate_paths`` fresh paths with the trained ``Z``
        (:meth:`BSDEResult.estimate_y0`, ``tilt=False`` or ``True``) into ``BSDEResult.y0_estimate``.
        ``"tilted"`` is first-order insensitive to ``Z``'s error: for the HJB problem at λ = 10 (d = 100)
        it removes most of the deep BSDE's error, see ``docs/benchmarks/xva.md``. Default ``None``.
    estimate_paths : int
        Paths for ``y0_estimate``.
    checkpoint : path, optional
        File written every ``checkpoint_every`` iterations and at the end (rank 0).
    checkpoint_every : int
        0: only at the end.
    show_progress : bool, optional
        Progress bar (default: on a terminal only, see :func:`stochflow.core.progress.progress`).
    """

    def __init__(self, *, network: str = "shared", width: int | None = None, depth: int = 2, skip: bool = False,
                 z_network: str = "direct", z_gain: bool = False, driver_rule: str = "left", iterations: int = 2000,
                 batch_size: int = 256, learning_rate: float = 1e-2,
                 lr_decay: float = 0.1, lr_milestones: tuple[float, ...] = (0.6, 0.85), valid_size: int = 1024,
                 dtype="float32", device="cpu", seed: int = 0, y0_init: float | None = None,
                 y0_scale: float | None = None, y0_update: str = "adam", y0_estimate: str | None = None, estimate_paths: int = 65536,
                 checkpoint: str | Path | None = None, checkpoint_every: int = 0,
                 show_progress: bool | None = None):
        if network not in ("shared", "per-step"):
            raise InputError(f"network must be 'shared' or 'per-step', got {network!r}")
        self.network = network
        self.width = None if width is None else checks.count("width", width)
        self.depth = checks.count("depth", depth, minimum=1)
        if not isinstance(skip, bool):
            raise InputTypeError(f"skip must be True or False, got {skip!r}")
        self.skip = skip
        if z_network not in ("direct", "gradient"):
            raise InputError(f"z_network must be 'direct' or 'gradient', got {z_network!r}")
        if z_network == "gradient" and network != "shared":
            raise InputError("z_network='gradient' needs network='shared' (one scalar u(t, x) for all steps)")
        self.z_network = z_network
        if not isinstance(z_gain, bool):
            raise InputTypeError(f"z_gain must be True or False, got {z_gain!r}")
        self.z_gain = z_gain
        if driver_rule not in ("left", "trapezoid"):
            raise InputError(f"driver_rule must be 'left' or 'trapezoid', got {driver_rule!r}")
        if driver_rule == "trapezoid" and network != "shared":
            raise InputError("driver_rule='trapezoid' needs network='shared' (Z at t_N, where no per-step network is)")
        self.driver_rule = driver_rule
        self.iterations = checks.count("iterations", iterations)
        self.batch_size = checks.count("batch_size", batch_size, minimum=2)
        self.learning_rate = checks.positive("learning_rate", learning_rate)
        self.lr_decay = checks.positive("lr_decay", lr_decay)
        self.lr_milestones = tuple(float(m) for m in lr_milestones)
        if any(not 0 < m < 1 for m in self.lr_milestones):
            raise InputError(f"lr_milestones are fractions of the iterations in (0, 1), got {self.lr_milestones}")
        self.valid_size = checks.count("valid_size", valid_size, minimum=2)
        self.dtype = dtype
        resolve_dtype(dtype)
        try:
            torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise InputError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}") from exc
        self.device = device
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputTypeError(f"seed must be an int, got {type(seed).__name__}")
        self.seed = seed
        self.y0_init = None if y0_init is None else checks.as_float("y0_init", y0_init)
        self.y0_scale = None if y0_scale is None else checks.positive("y0_scale", y0_scale)
        if y0_update not in ("adam", "profile"):
            raise InputError(f"y0_update must be 'adam' or 'profile', got {y0_update!r}")
        self.y0_update = y0_update
        if y0_estimate not in (None, "plain", "tilted"):
            raise InputError(f"y0_estimate must be None, 'plain' or 'tilted', got {y0_estimate!r}")
        self.y0_estimate = y0_estimate
        self.estimate_paths = checks.count("estimate_paths", estimate_paths, minimum=2)
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.checkpoint_every = checks.count("checkpoint_every", checkpoint_every, minimum=0)
        self.show_progress = show_progress

    # -- building -------------------------------------------------------------------------------

    def _build(self, problem: BSDEProblem) -> DeepBSDEModel:
        dtype, device = resolve_dtype(self.dtype), torch.device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.seed, "init") % (2**63))
            return self._build_seeded(problem, dtype, device)

    def _build_seeded(self, problem: BSDEProblem, dtype, device) -> DeepBSDEModel:
        pilot = problem.sample(min(1024, max(self.batch_size, 256)), seed=self.seed, dtype=dtype, device=device,
                               keys=("pilot",))
        flat = pilot.x.reshape(-1, pilot.x.shape[-1])
        standardize = Standardize(flat.mean(0), flat.std(0))
        xi = problem.terminal(pilot)
        z_scale = float(xi.std()) / math.sqrt(problem.maturity * problem.noise_dim) if xi.numel() > 1 else 1.0
        z_scale = z_scale if math.isfinite(z_scale) and z_scale > 0 else 1.0
        width = self.width or problem.dim + 10
        if self.z_network == "gradient":
            # u on the terminal's scale: σᵀ∇u then has the size of Z
            u_scale = float(xi.std()) if xi.numel() > 1 else 1.0
            u_scale = u_scale if math.isfinite(u_scale) and u_scale > 0 else 1.0
            znet = GradientZNet(problem.dim, problem.maturity, standardize, width, self.depth, u_scale, self.skip)
        elif self.network == "shared":
            znet = SharedZNet(problem.dim, problem.noise_dim, problem.maturity, standardize, width, self.depth, z_scale,
                              self.skip)
        else:
            znet = PerStepZNet(problem.dim, problem.noise_dim, problem.n_steps, standardize, width, self.depth, z_scale,
                               self.skip)
        y0 = self.y0_init if self.y0_init is not None else float(xi.mean())
        # the scale on which Y0 moves: the terminal's spread or its size, whichever is larger
        spread = max(float(xi.std()) if xi.numel() > 1 else 0.0, abs(float(xi.mean())))
        y0_scale = spread if math.isfinite(spread) and spread > 0 else 1.0
        if self.y0_scale is not None:
            y0_scale = self.y0_scale
        return DeepBSDEModel(znet, y0, y0_scale, self.driver_rule, self.z_gain).to(device=device, dtype=dtype)

    def _optimizer(self, model: nn.Module):
        params = model.parameters()
        if self.y0_update == "profile":  # Y0 (frozen for autograd) is set from the residuals, not by Adam
            params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=self.learning_rate)
        milestones = sorted({max(1, int(round(m * self.iterations))) for m in self.lr_milestones})
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=self.lr_decay)
        return opt, sched

    # -- training -------------------------------------------------------------------------------

    def fit(self, problem: BSDEProblem, *, resume: str | Path | None = None,
            stop_after: int | None = None) -> DeepBSDESolver:
        """Train on ``problem``.

        Parameters
        ----------
        problem
            A :class:`~stochflow.xva.bsde.BSDEProblem`.
        resume
            A checkpoint written by an earlier fit of the same solver settings: training goes on from it.
        stop_after
            Stop once this many iterations (in total) are done (and write the checkpoint); resume later.
        """
        if not isinstance(problem, BSDEProblem):
            raise InputTypeError(f"problem must be a BSDEProblem, got {type(problem).__name__}")
        if stop_after is not None:
            checks.count("stop_after", stop_after)
        dtype, device = resolve_dtype(self.dtype), torch.device(self.device)
        model = self._build(problem)
        if self.y0_update == "profile":
            model.y0_raw.requires_grad_(False)
        opt, sched = self._optimizer(model)
        losses: list[float] = []
        y0s: list[float] = []
        start = 0
        if resume is not None:
            state = dist.load_checkpoint(resume, map_location=device)
            check_stamp(state.get("stamp"), "stochflow-xva", DeepBSDEModel)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            losses, y0s, start = list(state["losses"]), list(state["y0s"]), int(state["iteration"])
        end = self.iterations if stop_after is None else min(self.iterations, stop_after)
        ddp = dist.wrap_model(model)
        tic = time.perf_counter()
        bar = progress(range(start, end), total=end - start, desc="deep BSDE",  # one bar, on rank 0
                       disable=None if self.show_progress is None else not self.show_progress)
        for it in bar:
            paths = problem.sample(self.batch_size, seed=self.seed, dtype=dtype, device=device,
                                   keys=("train", it, dist.rank()))
            profile = self.y0_update == "profile"
            loss = ddp(problem, paths, profile)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if profile:  # Y0 -= mean residual (over all ranks) × the schedule's factor
                with torch.no_grad():
                    shift = dist.all_reduce_mean(model.last_mean_residual.clone())
                    model.y0_raw -= shift * (sched.get_last_lr()[0] / self.learning_rate) / model.y0_scale
            sched.step()
            losses.append(float(loss.detach()))
            y0s.append(float(model.y0.detach()))
            if it % 50 == 0 and hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{losses[-1]:.3g}", y0=f"{y0s[-1]:.5g}")
            done = it + 1
            if self.checkpoint is not None and self.checkpoint_every and done % self.checkpoint_every == 0:
                self._save(model, opt, sched, losses, y0s, done)
        seconds = time.perf_counter() - tic
        if self.checkpoint is not None:
            self._save(model, opt, sched, losses, y0s, end)
        with torch.no_grad():
            valid = problem.sample(self.valid_size, seed=self.seed, dtype=dtype, device=device, keys=("valid",))
            err = math.sqrt(float(model(problem, valid)))
        y0 = float(model.y0.detach())
        estimate = None
        if self.y0_estimate is not None:
            estimate = estimate_y0(model, problem, tilt=self.y0_estimate == "tilted", n_paths=self.estimate_paths,
                                   seed=self.seed, dtype=dtype, device=device)
        self._model = BSDEResult(y0=y0, loss_history=np.asarray(losses), y0_history=np.asarray(y0s),
                                 error_indicator=err, relative_error_indicator=err / max(abs(y0), 1e-12),
                                 iterations=end, seconds=seconds, model=model, y0_estimate=estimate)
        return self

    def _save(self, model, opt, sched, losses, y0s, iteration) -> None:
        dist.save_checkpoint(self.checkpoint, {
            "stamp": stamp("stochflow-xva", DeepBSDEModel), "model": model.state_dict(),
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "losses": losses, "y0s": y0s,
            "iteration": iteration, "params": {k: str(v) for k, v in self.get_params().items()}})

    def solve(self, problem: BSDEProblem, **kwargs) -> BSDEResult:
        """``fit(problem, **kwargs).fetch_model()``."""
        return self.fit(problem, **kwargs).fetch_model()
