"""Conformance cases of the OT solvers for :func:`stochflow.core.testing.check_plugin`."""

from __future__ import annotations

from typing import Any

import numpy as np

from stochflow.core.testing import Case


def _problem(backend: str, dtype: str, seed: int, device: str) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(12, 2)), rng.normal(size=(10, 2)) + 0.5
    M = ((x[:, None] - y[None]) ** 2).sum(-1).astype(dtype)
    if backend == "torch":
        import torch

        return torch.as_tensor(M, device=device), None
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        if dtype == "float64":  # JAX silently computes in float32 unless x64 is on
            jax.config.update("jax_enable_x64", True)
        return jnp.asarray(M), None
    return M, None


def _case(method: str) -> Case:
    from stochflow.bridge.ot import sinkhorn

    def run(*, backend: str, dtype: str, seed: int, device: str) -> Any:
        M, _ = _problem(backend, dtype, seed, device)
        out = sinkhorn(None, None, M, 0.5, method=method, max_iter=200)
        return out.plan, out.cost

    bad_M = np.zeros((3, 3))
    bad_M[0, 0] = np.nan
    return Case(run=run, bad_inputs=[
        lambda: sinkhorn(None, None, bad_M, 0.1, method=method),
        lambda: sinkhorn(np.ones(3) / 3, np.ones(3) / 2, np.zeros((3, 3)), 0.1, method=method),
        lambda: sinkhorn(None, None, np.zeros((3, 3)), -1.0, method=method),
        lambda: sinkhorn(np.ones(4) / 4, None, np.zeros((3, 3)), 0.1, method=method),
    ])


def case_log() -> Case:
    return _case("log")


def case_sns() -> Case:
    return _case("sns")


def case_mmsb() -> Case:
    from stochflow.bridge.mmsb import MultiMarginalSB

    def run(*, backend: str, dtype: str, seed: int, device: str) -> Any:
        rng = np.random.default_rng(seed)
        snaps = [(rng.normal(size=(12, 2)) + k).astype(dtype) for k in range(3)]
        sb = MultiMarginalSB(reference="linear", sigma=0.5, n_refine=2, seed=seed).fit(snaps, times=[0.0, 1.0, 2.0])
        _, paths = sb.sample_trajectories(5, ts=[0.5, 1.5])
        return paths

    snaps = [np.zeros((4, 2)), np.ones((4, 2))]
    return Case(run=run, backends=("numpy",), bad_inputs=[
        lambda: MultiMarginalSB(sigma=-1.0).fit(snaps, times=[0.0, 1.0]),
        lambda: MultiMarginalSB().fit(snaps[:1], times=[0.0]),
        lambda: MultiMarginalSB(reference="lorenz").fit(snaps, times=[0.0, 1.0]),
        lambda: MultiMarginalSB().fit(snaps, times=[0.0, 0.0]),
    ])


def case_snapshots() -> Case:
    from stochflow.bridge.snapshots import linear_sde_snapshots

    def run(*, backend: str, dtype: str, seed: int, device: str) -> Any:
        return np.asarray(linear_sde_snapshots(n_cells=5, times=[0.0, 0.5], seed=seed, dtype=dtype, dt=0.05).X)

    return Case(run=run, backends=("numpy",), bad_inputs=[
        lambda: linear_sde_snapshots(n_cells=5, dim=3, B=np.eye(2)),
    ])


def _generator_case(name: str, bad: dict) -> Case:
    import importlib

    fn = getattr(importlib.import_module("stochflow.bridge.snapshots"), name)

    def run(*, backend: str, dtype: str, seed: int, device: str) -> Any:
        return np.asarray(fn(n_cells=5, times=[0.0, 0.5], seed=seed, dtype=dtype, dt=0.05).X)

    return Case(run=run, backends=("numpy",), bad_inputs=[lambda: fn(n_cells=5, **bad)])


def case_lotka_volterra() -> Case:
    return _generator_case("lotka_volterra_snapshots", {"alpha": -1.0})


def case_repressilator() -> Case:
    return _generator_case("repressilator_snapshots", {"x0_mean": (1.0, 2.0)})


def case_branching() -> Case:
    return _generator_case("branching_snapshots", {"dim": 1})
