"""Multi-marginal Schrödinger bridges with iterative reference refinement (Shen, Berlinghieri, Broderick, 2025).

Given snapshots ``mu_0, ..., mu_K`` at times ``t_0 < ... < t_K`` and a Markov reference ``R_theta``, the
multi-marginal bridge ``argmin KL(P | R_theta)`` subject to ``P_{t_k} = mu_k`` is a Markov chain over the
snapshot times whose consecutive pair marginals are the two-marginal bridges

    pi_k = argmin_{pi in Pi(mu_k, mu_{k+1})} <pi, -log p^theta_{t_{k+1} - t_k}> + sum pi (log pi - 1),

entropic OT problems with cost ``-log`` of the reference's transition density and ``reg = 1`` (solved by
:func:`stochflow.bridge.sinkhorn`), glued by the reference's own bridges between the snapshot times.

Refinement alternates that step with a maximum-likelihood refit of ``theta`` on the bridge,

    theta <- argmax_theta sum_k E_{pi_k} log p^theta_{t_{k+1} - t_k}(X_{t_{k+1}} | X_{t_k}),

the likelihood of bridge trajectories at the snapshot times, taken in expectation over the couplings
(every pair weighted by its plan mass, i.e. infinitely many sampled trajectories). Linear references
(:class:`~stochflow.bridge.reference.LinearReference`) have exact Gaussian transitions; nonlinear ones
(:class:`~stochflow.bridge.drift_reference.DriftReference`: Lotka-Volterra, repressilator, any
``torch.nn.Module`` drift) use a Gaussian around the drift's flow. Both steps lower
``J(pi, theta) = sum_k sum_ij pi_ij (log pi_ij - log p^theta(y_j | x_i))``, which is logged each iteration.

Scale-out: :meth:`MultiMarginalSB.fit` runs unchanged under ``torchrun --nproc_per_node=N``
(:mod:`stochflow.core.distributed`). The refit of a nonlinear reference is a sum over the pairs
``(x_i, y_j)``, so each rank takes a contiguous share of the rows ``i`` of every coupling (no random
draws: the expectation over the coupling is exact), its drift is wrapped in DistributedDataParallel,
and the loss and gradient that L-BFGS sees are the all-reduced sums, the same numbers on every rank:
N ranks take the single-process optimisation steps up to summation order. Rank 0 alone logs and
writes the checkpoint (one per refinement iteration), which resumes on any number of ranks.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize

from stochflow.bridge.drift_reference import DriftReference, mlp_drift
from stochflow.bridge.ot import sinkhorn
from stochflow.bridge.reference import ALIASES, LinearReference, coupling_moments
from stochflow.bridge.snapshots import read_snapshots
from stochflow.core import distributed as D
from stochflow.core.errors import InputError, InputTypeError, NotFittedError

log = logging.getLogger(__name__)

PACKAGE = "stochflow-bridge"
UNS_KEY = "stochflow_bridge"
SYSTEM_ALIASES = {"lotka-volterra": "lotka-volterra", "lv": "lotka-volterra", "repressilator": "repressilator",
                  "neural": "neural"}
NAMES = sorted({**ALIASES, **SYSTEM_ALIASES})


class MultiMarginalSB:
    """Trajectory inference from snapshots by multi-marginal Schrödinger bridges with reference refinement.

    Parameters
    ----------
    reference
        ``"linear"`` (alias ``"ou"``: drift ``B x + c`` refit each iteration), ``"brownian"`` (fixed,
        no refinement), ``"lotka-volterra"`` (alias ``"lv"``) or ``"repressilator"`` (the drifts of
        :mod:`stochflow.bridge.systems`, parameters refit, starting from ``reference_init``),
        ``"neural"`` (a small MLP drift, :func:`~stochflow.bridge.drift_reference.mlp_drift`), a
        :class:`~stochflow.bridge.reference.LinearReference` or
        :class:`~stochflow.bridge.drift_reference.DriftReference` to start from, or any ``torch.nn.Module``
        mapping states ``(n, d)`` to drifts ``(n, d)`` (a neural reference; its parameters are refit).
    sigma
        The reference's diffusion coefficient (``None``: chosen from the data, see ``fit``); with
        ``noise="multiplicative"`` the relative level.
    noise
        Noise of the nonlinear references: ``"additive"`` or ``"multiplicative"`` (``sigma x dW``);
        ``None``: multiplicative for Lotka-Volterra and the repressilator, else additive.
    reference_init
        Starting parameters of a named system reference (e.g. ``{"alpha": 0.5, ...}``); default 0.5 for
        every Lotka-Volterra parameter and ``beta = 5, n = 2, k = 2, gamma = 0.5`` for the repressilator.
    warm_start
        For nonlinear references: take the first coupling from a Brownian reference (diffusion from the
        data), so that the first refit starts from data-driven pairs rather than from a guessed drift.
    fit_diffusion
        Whether the refit also estimates ``sigma`` (default: ``sigma`` is known).
    n_refine
        Most refinement iterations (each: bridges, then a refit); 0 fits bridges for the initial reference.
    tol
        Stop refining when the largest change of a drift parameter falls below ``tol``.
    method
        OT solver for the bridges, ``"sns"`` or ``"log"``.
    ot_tol, max_iter
        Marginal-error tolerance and iteration cap of each OT solve.
    seed
        Seed of the trajectory sampler.
    device
        Torch device of the computation (``None``: this rank's GPU under ``torchrun`` with the NCCL
        backend, else the CPU).
    verbose
        Log each iteration at INFO level (``logging.getLogger("stochflow.bridge.mmsb")``), on rank 0.
    checkpoint
        A file written after every refinement iteration (the reference, the history, the next
        iteration; by rank 0 under ``torchrun``). A fit finding it resumes from it, on any number of
        processes, with the same data; a larger ``n_refine`` goes on refining.

    Attributes
    ----------
    times_, snapshots_
        The sorted snapshot times and their data ``(n_k, d)``.
    couplings_
        The plans ``pi_k`` between consecutive snapshots (numpy, each summing to 1).
    reference_
        The fitted :class:`~stochflow.bridge.reference.LinearReference`.
    history_
        One dict per iteration: ``objective`` (J above), ``nll`` (after the refit), ``change``, ``ot_iters``.

    Examples
    --------
    >>> from stochflow.bridge import MultiMarginalSB, linear_sde_snapshots
    >>> adata = linear_sde_snapshots(n_cells=40, times=[0, 1, 2], seed=0)
    >>> sb = MultiMarginalSB(reference="ou", sigma=0.3, n_refine=3).fit(adata, time_key="day")
    >>> sb.reference_params["B"].shape
    (2, 2)
    """

    def __init__(self, reference: Any = "linear", sigma: float | None = None, fit_diffusion: bool = False,
                 n_refine: int = 20, tol: float = 1e-4, method: str = "sns", ot_tol: float = 1e-9,
                 max_iter: int = 5000, seed: int = 0, device: Any = None, verbose: bool = False,
                 noise: str | None = None, reference_init: dict[str, float] | None = None,
                 warm_start: bool = True, checkpoint: str | Path | None = None) -> None:
        self.reference = reference
        self.sigma = sigma
        self.noise = noise
        self.reference_init = reference_init
        self.warm_start = warm_start
        self.fit_diffusion = fit_diffusion
        self.n_refine = n_refine
        self.tol = tol
        self.method = method
        self.ot_tol = ot_tol
        self.max_iter = max_iter
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.checkpoint = checkpoint

    # -- fitting ---------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if isinstance(self.reference, str):
            if self.reference.lower() not in NAMES:
                raise InputError(f"reference must be one of {NAMES}, a LinearReference, a DriftReference or a "
                                 f"torch.nn.Module drift, got {self.reference!r}")
        elif not isinstance(self.reference, torch.nn.Module):
            raise InputTypeError(f"reference must be a name, a LinearReference, a DriftReference or a torch.nn.Module "
                                 f"drift, got {type(self.reference).__name__}")
        if self.noise is not None and self.noise not in ("additive", "multiplicative"):
            raise InputError(f"noise must be 'additive', 'multiplicative' or None, got {self.noise!r}")
        if self.reference_init is not None and not isinstance(self.reference_init, dict):
            raise InputTypeError(f"reference_init must be a dict of starting parameters, got "
                                 f"{type(self.reference_init).__name__}")
        if self.sigma is not None and (not isinstance(self.sigma, (int, float)) or not self.sigma > 0):
            raise InputError(f"sigma must be a positive number or None, got {self.sigma!r}")
        if isinstance(self.n_refine, bool) or not isinstance(self.n_refine, int) or self.n_refine < 0:
            raise InputError(f"n_refine must be a non-negative int, got {self.n_refine!r}")
        if self.method not in ("sns", "log"):
            raise InputError(f"method must be 'sns' or 'log', got {self.method!r}")
        if self.checkpoint is not None and not isinstance(self.checkpoint, (str, Path)):
            raise InputTypeError(f"checkpoint must be a path (str or pathlib.Path) or None, got "
                                 f"{type(self.checkpoint).__name__}")

    def fit(self, data: Any, time_key: str = "day", rep: str | None = None, times: Any = None) -> MultiMarginalSB:
        """Fit bridges and refine the reference.

        Parameters
        ----------
        data
            An ``anndata.AnnData`` (time in ``obs[time_key]``, data in ``.X`` or ``.obsm[rep]``) or a list
            of arrays ``(n_k, d)`` with ``times``.
        time_key, rep, times
            See :func:`stochflow.bridge.snapshots.read_snapshots`.

        Returns
        -------
        MultiMarginalSB
            ``self``.

        Notes
        -----
        Under ``torchrun`` (or in any initialised ``torch.distributed`` process group) every rank calls
        ``fit`` with the same data; see the module docstring.
        """
        self._check_params()
        D.init_from_env()
        t, snaps, _ = read_snapshots(data, time_key=time_key, rep=rep, times=times)
        self.dtype_ = _input_dtype(data, rep)
        kw = {"dtype": torch.float64, "device": self._torch_device()}
        self.times_, self.snapshots_ = t, snaps
        self._X = [torch.as_tensor(x, **kw) for x in snaps]
        ref = self._make_reference(snaps, t, kw)
        self.reference_ = ref
        self.history_: list[dict[str, float]] = []
        refine = ref.refinable if isinstance(ref, DriftReference) else ref.kind == "linear" or ref.fit_diffusion
        n_outer = self.n_refine if refine else 0
        ckpt = None if self.checkpoint is None else Path(self.checkpoint)
        start, stopped = self._resume(ckpt, t, snaps) if ckpt is not None and ckpt.exists() else (0, False)
        self._local_nll = _LocalNLL(ref)
        self._ddp = D.wrap_model(self._local_nll) if isinstance(ref, DriftReference) and refine else None
        if stopped or start > n_outer:   # the checkpoint's fit had finished: its reference's bridges
            self._plans, _ = self._bridges()
            self.couplings_ = [p.cpu().numpy() for p in self._plans]
            return self
        for it in range(start, n_outer + 1):
            warm = it == 0 and n_outer > 0 and self.warm_start and isinstance(ref, DriftReference)
            plans, ot_iters = self._bridges(LinearReference(ref.dim, _default_sigma(snaps, t), kind="brownian", **kw)
                                            if warm else None)
            objective = self._objective(plans)
            record = {"iteration": it, "objective": objective, "ot_iters": ot_iters}
            self.couplings_ = [p.cpu().numpy() for p in plans]
            self._plans = plans
            if it == n_outer:
                self.history_.append(record)
                break
            before = [p.detach().clone() for p in ref.parameters()]
            nll = self._refit(plans)
            change = max(float((p.detach() - q).abs().max()) for p, q in zip(ref.parameters(), before))
            record.update(nll=nll, change=change)
            self.history_.append(record)
            if self.verbose and D.is_main():
                log.info("iteration %d: objective %.6g, nll %.6g, parameter change %.3g", it, objective, nll, change)
            if ckpt is not None:
                self._save_checkpoint(ckpt, it + 1, change < self.tol)
            if change < self.tol:
                plans, _ = self._bridges()
                self.couplings_ = [p.cpu().numpy() for p in plans]
                self._plans = plans
                break
        return self

    def _torch_device(self) -> Any:
        if self.device is not None:
            return self.device
        nccl = D.is_initialized() and torch.distributed.get_backend() == "nccl"
        return "cuda" if nccl else "cpu"    # init_from_env set this rank's GPU as the current one

    def _make_reference(self, snaps: list[np.ndarray], t: np.ndarray, kw: dict) -> LinearReference | DriftReference:
        from stochflow.bridge.systems import SYSTEMS

        d = snaps[0].shape[1]
        ref = self.reference
        if isinstance(ref, (LinearReference, DriftReference)):
            if ref.dim != d:
                raise InputError(f"the reference has dimension {ref.dim} but the data {d}")
            return ref
        name = ref.lower() if isinstance(ref, str) else "neural"
        kind = SYSTEM_ALIASES.get(name)
        noise = self.noise or ("multiplicative" if kind in SYSTEMS else "additive")
        sigma = self.sigma
        if sigma is None:
            sigma = _default_sigma(snaps, t)
            if noise == "multiplicative":
                sigma /= float(np.median(np.abs(np.concatenate(snaps))))
        if kind is None:
            return LinearReference(d, sigma=sigma, kind=name, fit_diffusion=self.fit_diffusion, **kw)
        if kind in SYSTEMS:
            cls = SYSTEMS[kind]
            if cls.dim != d:
                raise InputError(f"the {kind} reference acts on {cls.dim}-dimensional states but the data has d = {d}")
            start = dict(_SYSTEM_STARTS[kind], **(self.reference_init or {}))
            unknown = set(start) - set(cls.names)
            if unknown:
                raise InputError(f"reference_init has unknown parameters {sorted(unknown)}; {kind} has {list(cls.names)}")
            net = cls(**start)
        else:
            net = mlp_drift(d, seed=self.seed) if isinstance(ref, str) else ref
        return DriftReference(net, d, sigma=sigma, noise=noise, fit_diffusion=self.fit_diffusion, kind=kind, **kw)

    def _bridges(self, ref: Any = None) -> tuple[list[torch.Tensor], int]:
        ref = self.reference_ if ref is None else ref
        plans, iters = [], 0
        with torch.no_grad():
            for k in range(len(self._X) - 1):
                x, y = self._X[k], self._X[k + 1]
                M = ref.cost(x, y, float(self.times_[k + 1] - self.times_[k]))
                a = torch.full((len(x),), 1.0 / len(x), dtype=M.dtype, device=M.device)
                b = torch.full((len(y),), 1.0 / len(y), dtype=M.dtype, device=M.device)
                out = sinkhorn(a, b, M, 1.0, method=self.method, tol=self.ot_tol, max_iter=self.max_iter)
                if not out.converged and D.is_main():
                    log.warning("bridge %d: OT stopped at marginal error %.3g after %d iterations", k,
                                float(out.marginal_error), out.n_iter)
                plans.append(out.plan)
                iters += out.n_iter
        return plans, iters

    def _objective(self, plans: list[torch.Tensor]) -> float:
        total = 0.0
        with torch.no_grad():
            for P in plans:
                total += float(torch.where(P > 0, P * torch.log(P), torch.zeros_like(P)).sum())
            if isinstance(self.reference_, DriftReference):
                total += float(D.all_reduce_sum(self._local_nll(self._local_pairs(plans)).detach().clone()))
            else:
                total += float(self._nll(plans))
        return total

    def _local_pairs(self, plans: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]]:
        """This rank's ``(x_i, y, pi_i., h)`` of every coupling: a contiguous share of the rows ``i``
        (all of them in one process), for :meth:`DriftReference.plan_nll_many`."""
        pairs = []
        for k, P in enumerate(plans):
            n, h = len(self._X[k]), float(self.times_[k + 1] - self.times_[k])
            for _, lo, hi in D.blocks(n, -(-n // D.world_size())):
                pairs.append((self._X[k][lo:hi], self._X[k + 1], P[lo:hi], h))
        return pairs

    def _resume(self, path: Path, t: np.ndarray, snaps: list[np.ndarray]) -> tuple[int, bool]:
        """Load a checkpoint into the reference and the history; the next iteration and whether the fit had stopped."""
        from stochflow.core.estimator import check_stamp

        state = D.load_checkpoint(path)
        check_stamp(state.get("stamp") if isinstance(state, dict) else None, PACKAGE, type(self))
        if not np.array_equal(state["times"], t) or state["sizes"] != [x.shape for x in snaps]:
            raise InputError(f"the checkpoint {path} was written for other data (times {state['times'].tolist()}, "
                             f"snapshot shapes {state['sizes']}); pass the same data or another checkpoint path")
        try:
            self.reference_.load_state_dict(state["reference"])
        except RuntimeError as exc:
            raise InputError(f"the checkpoint {path} holds another reference: {exc}") from exc
        self.history_ = list(state["history"])
        return int(state["iteration"]), bool(state["stopped"])

    def _save_checkpoint(self, path: Path, iteration: int, stopped: bool) -> None:
        from stochflow.core.estimator import stamp

        D.save_checkpoint(path, {"stamp": stamp(PACKAGE, type(self)), "iteration": iteration, "stopped": stopped,
                                 "reference": self.reference_.state_dict(), "history": self.history_,
                                 "times": self.times_, "sizes": [x.shape for x in self.snapshots_]})

    def _nll(self, plans: list[torch.Tensor], moments: list[dict] | None = None) -> torch.Tensor:
        """``-sum_k sum_ij pi_ij log p(x_{k+1,j} | x_{k,i})`` under the current reference."""
        steps = [float(self.times_[k + 1] - self.times_[k]) for k in range(len(plans))]
        if isinstance(self.reference_, DriftReference):
            return self.reference_.plan_nll_many([(self._X[k], self._X[k + 1], P, h)
                                                  for k, (P, h) in enumerate(zip(plans, steps))])
        if moments is None:
            moments = [coupling_moments(self._X[k], self._X[k + 1], P) for k, P in enumerate(plans)]
        return sum(self.reference_.expected_nll(m, h) for m, h in zip(moments, steps))

    def _refit(self, plans: list[torch.Tensor]) -> float:
        """Maximum likelihood of the reference on the bridge (scipy L-BFGS, torch gradients); returns the final negative log-likelihood."""
        ref = self.reference_
        linear = isinstance(ref, LinearReference)
        moments = [coupling_moments(self._X[k], self._X[k + 1], P) for k, P in enumerate(plans)] if linear else None
        pairs = None if linear else self._local_pairs(plans)
        params = [p for p in ref.parameters() if p.requires_grad]
        sizes = [p.numel() for p in params]
        world = D.world_size()

        def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
            with torch.no_grad():
                for p, v in zip(params, np.split(theta, np.cumsum(sizes)[:-1])):
                    p.copy_(torch.as_tensor(v.reshape(p.shape), dtype=p.dtype))
            for p in params:
                p.grad = None
            if not linear:
                # this rank's share of the pairs through DDP; every rank runs backward (DDP's gradient
                # all-reduce) even after a non-finite trial, and DDP's average of world * local
                # gradients is the gradient of the sum over all pairs
                local = self._ddp(pairs) if self._ddp is not None else self._local_nll(pairs)
                total = float(D.all_reduce_sum(local.detach().clone()))
                (local * world).backward()
                if not math.isfinite(total):
                    return float("inf"), np.zeros_like(theta)
                return total, np.concatenate([p.grad.detach().cpu().numpy().ravel() for p in params])
            try:
                loss = self._nll(plans, moments)
            except torch.linalg.LinAlgError:   # a trial step left the reference's valid range (e.g. Sigma not PD)
                return float("inf"), np.zeros_like(theta)
            if not torch.isfinite(loss):
                return float("inf"), np.zeros_like(theta)
            loss.backward()
            return float(loss.detach()), np.concatenate([p.grad.detach().cpu().numpy().ravel() for p in params])

        theta0 = np.concatenate([p.detach().cpu().numpy().ravel() for p in params])
        cap = 500 if linear else 100    # nonlinear references: each evaluation integrates the flow
        res = minimize(loss_and_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": cap, "gtol": 1e-10})
        self._refit_evals = res.nfev
        return float(loss_and_grad(res.x)[0])

    # -- results -----------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "couplings_"):
            raise NotFittedError("MultiMarginalSB is not fitted yet: call .fit(adata, time_key=...) first")

    @property
    def reference_params(self) -> dict[str, Any]:
        """The fitted reference's parameters: ``{"kind", "B", "c", "sigma"}`` for linear references,
        ``{"kind", "sigma", "noise", ...}`` with the drift's parameters for the others (e.g. ``"alpha"``)."""
        self._check_fitted()
        return self.reference_.params()

    def sample_trajectories(self, n: int = 100, ts: Any = None, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sample trajectories of the fitted bridge.

        Snapshot points are drawn along the Markov chain of the couplings (``i_0`` uniform, then
        ``i_{k+1} ~ pi_k[i_k] / a_k``); in between, the reference's Gaussian bridge is sampled at the
        requested times, one after the other. Beyond the last snapshot the reference is simulated forward.

        Parameters
        ----------
        n
            Number of trajectories.
        ts
            Increasing times in ``[t_0, inf)`` (default: 10 points per interval between snapshots).
        seed
            Seed (default: the estimator's).

        Returns
        -------
        ts, paths
            The times and the paths, shape ``(len(ts), n, d)``.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"n must be a positive int, got {n!r}")
        t_snap = self.times_
        if ts is None:
            ts = np.unique(np.concatenate([np.linspace(a, b, 11) for a, b in zip(t_snap[:-1], t_snap[1:])]))
        ts = np.atleast_1d(np.asarray(ts, dtype=np.float64))
        if ts.ndim != 1 or np.any(~np.isfinite(ts)) or np.any(np.diff(ts) < 0):
            raise InputError("ts must be a 1-D increasing array of finite times")
        if ts[0] < t_snap[0]:
            raise InputError(f"times before the first snapshot ({t_snap[0]:g}) cannot be predicted; got {ts[0]:g}")
        dev = self._torch_device()
        gen = torch.Generator(device=dev).manual_seed(self.seed if seed is None else int(seed))
        ref = self.reference_
        # chain of snapshot indices
        idx = [torch.randint(len(self._X[0]), (n,), generator=gen, device=dev)]
        for P in self._plans:
            rows = P[idx[-1]]
            idx.append(torch.multinomial(rows / rows.sum(1, keepdim=True), 1, generator=gen).squeeze(1))
        anchors = [X[i] for X, i in zip(self._X, idx)]
        out = []
        with torch.no_grad():
            cur_t, cur_x = float(t_snap[0]), anchors[0]
            for t in ts:
                k = int(np.searchsorted(t_snap, t, side="right")) - 1   # t_k <= t < t_{k+1}
                if k >= len(t_snap) - 1:    # at or beyond the last snapshot: forward simulation
                    if cur_t < t_snap[-1]:
                        cur_t, cur_x = float(t_snap[-1]), anchors[-1]
                    if t > cur_t:
                        cur_x = ref.sample_transition(cur_x, float(t - cur_t), generator=gen)
                        cur_t = float(t)
                    out.append(cur_x.clone())
                    continue
                if cur_t < t_snap[k]:       # passed snapshot k: restart from its anchor
                    cur_t, cur_x = float(t_snap[k]), anchors[k]
                if t == t_snap[k]:
                    cur_t, cur_x = float(t), anchors[k]
                elif t > cur_t:
                    end = float(t_snap[k + 1])
                    cur_x = ref.bridge_sample(cur_x, anchors[k + 1], float(t - cur_t), end - cur_t, generator=gen)
                    cur_t = float(t)
                out.append(cur_x.clone())
        return ts, torch.stack(out).cpu().numpy().astype(getattr(self, "dtype_", np.float64), copy=False)

    def interpolate(self, t: float, n: int = 200, seed: int | None = None) -> np.ndarray:
        """Samples ``(n, d)`` of the bridge's marginal at time ``t`` (between or after the snapshots)."""
        _, paths = self.sample_trajectories(n, ts=[float(t)], seed=seed)
        return paths[0]

    def write(self, adata: Any, time_key: str = "day", rep: str | None = None, key: str = "bridge") -> Any:
        """Write results into ``adata`` (the data it was fitted on), in place, and return it.

        ``obsm[f"{key}_next"]``: each cell's expected position at the next snapshot under the coupling
        (barycentric projection; NaN at the last time); ``obsm[f"{key}_drift"]``: the fitted reference
        drift at each cell; ``uns["stochflow_bridge"]``: times, reference parameters and history.
        """
        self._check_fitted()
        t, snaps, idx = read_snapshots(adata, time_key=time_key, rep=rep)
        if not np.array_equal(t, self.times_):
            raise InputError(f"adata has times {t.tolist()} but the model was fitted on {self.times_.tolist()}")
        d = snaps[0].shape[1]
        nxt = np.full((adata.n_obs, d), np.nan)
        for k, P in enumerate(self.couplings_):
            nxt[idx[k]] = (P @ snaps[k + 1]) / P.sum(1, keepdims=True)
        X = np.concatenate(snaps)
        rows = np.concatenate(idx)
        drift = np.empty((adata.n_obs, d))
        with torch.no_grad():
            drift[rows] = self.reference_.drift(torch.as_tensor(X, dtype=torch.float64, device=self._torch_device())).cpu().numpy()
        adata.obsm[f"{key}_next"] = nxt
        adata.obsm[f"{key}_drift"] = drift
        p = self.reference_params
        adata.uns[UNS_KEY] = {"times": self.times_, "reference": p["kind"],
                              **{k: v for k, v in p.items() if k != "kind"},
                              "objective": np.array([h["objective"] for h in self.history_]),
                              "time_key": time_key, "rep": rep or "X"}
        return adata

    # -- persistence -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save the fitted model (snapshots, couplings, reference, history, version stamp) with ``torch.save``.

        A nonlinear reference is pickled whole, so a user's drift module must be an importable class
        (defined at module level) for :meth:`load` to find it. Under ``torchrun`` call it on every
        rank: rank 0 writes, the others wait until the file is there."""
        from stochflow.core.estimator import stamp

        self._check_fitted()
        path = Path(path)
        state = {"stamp": stamp(PACKAGE, type(self)),
                 "params": {k: v for k, v in self.__dict__.items() if not k.endswith("_") and not k.startswith("_")
                            and k != "reference"},
                 "reference": self.reference_params, "reference_module":
                     self.reference_ if isinstance(self.reference_, DriftReference) else None, "times": self.times_, "snapshots": self.snapshots_,
                 "couplings": self.couplings_, "history": self.history_, "dtype": str(self.dtype_)}
        D.save_checkpoint(path, state)
        return path

    @classmethod
    def load(cls, path: str | Path) -> MultiMarginalSB:
        """Load a model written by :meth:`save`."""
        from stochflow.core.estimator import check_stamp

        state = torch.load(Path(path), weights_only=False)
        check_stamp(state.get("stamp") if isinstance(state, dict) else None, "stochflow-bridge", cls)
        self = cls(**state["params"])
        p = state["reference"]
        self.reference = p["kind"]
        self.times_, self.snapshots_, self.couplings_ = state["times"], state["snapshots"], state["couplings"]
        self.history_ = state["history"]
        self.dtype_ = np.dtype(state.get("dtype", "float64"))
        kw = {"dtype": torch.float64, "device": self._torch_device()}
        self._X = [torch.as_tensor(x, **kw) for x in self.snapshots_]
        self._plans = [torch.as_tensor(P, **kw) for P in self.couplings_]
        if state.get("reference_module") is not None:
            self.reference_ = state["reference_module"]
        else:
            self.reference_ = LinearReference(len(p["c"]), sigma=p["sigma"], kind=p["kind"], B=p["B"], c=p["c"],
                                              fit_diffusion=self.fit_diffusion, **kw)
        return self


class _LocalNLL(torch.nn.Module):
    """``-sum pi_ij log p(y_j | x_i)`` of a drift reference over some pairs: the module that
    DistributedDataParallel wraps (one forward per backward), with every refit parameter in the graph."""

    def __init__(self, reference: DriftReference) -> None:
        super().__init__()
        self.reference = reference

    def forward(self, pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]]) -> torch.Tensor:
        ref = self.reference
        zero = sum((p * 0).sum() for p in ref.parameters() if p.requires_grad)  # a rank without rows still joins DDP
        return ref.plan_nll_many(pairs) + zero if pairs else zero + torch.zeros((), dtype=ref.log_sigma.dtype)


_SYSTEM_STARTS = {"lotka-volterra": {"alpha": 0.5, "beta": 0.5, "gamma": 0.5, "delta": 0.5},
                  "repressilator": {"beta": 5.0, "n": 2.0, "k": 2.0, "gamma": 0.5}}


def _input_dtype(data: Any, rep: str | None) -> np.dtype:
    """The floating dtype of the input data (outputs follow it); float64 for non-float data."""
    if isinstance(data, (list, tuple)):
        dt = np.result_type(*[np.asarray(x).dtype for x in data])
    else:
        dt = np.asarray(data.obsm[rep] if rep is not None else data.X[:1].toarray() if hasattr(data.X, "toarray")
                        else data.X[:1]).dtype
    return dt if np.issubdtype(dt, np.floating) else np.dtype(np.float64)


def _default_sigma(snaps: list[np.ndarray], t: np.ndarray) -> float:
    """A default diffusion: the median nearest-neighbour distance within snapshots per unit sqrt(time),
    so the transition kernel spans a few neighbours."""
    dists = []
    for x in snaps:
        D = ((x[:, None] - x[None]) ** 2).sum(-1)
        np.fill_diagonal(D, np.inf)
        dists.append(np.sqrt(D.min(1)))
    h = float(np.median(np.diff(t)))
    return float(3.0 * np.median(np.concatenate(dists)) / np.sqrt(h))
