"""Conformance cases for the registry entries (see :mod:`stochflow.core.testing`)."""

from __future__ import annotations

import numpy as np
import torch

from stochflow.core.testing import Case

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _Q(backend: str, dtype: str, device: str):
    from stochflow.jump.generators import dfr_generator

    Q = dfr_generator(1.0, 1.0, 1.0, dtype=_DTYPES[dtype], device=device)
    return Q.cpu().numpy() if backend == "numpy" else Q


def _bad_Q():
    Q = np.array([[-1.0, 1.0], [0.5, -0.4]])  # second row does not sum to zero
    return Q


def case_dfr() -> Case:
    from stochflow.jump.generators import dfr_generator

    def run(*, backend, dtype, seed, device):
        return dfr_generator(torch.tensor([0.0, 1.0], dtype=_DTYPES[dtype], device=device), 1.0, 1.0)

    return Case(run=run, stochastic=False, bad_inputs=[
        lambda: dfr_generator(1.0, -1.0, 1.0),
        lambda: dfr_generator(float("nan"), 1.0, 1.0),
        lambda: dfr_generator("one", 1.0, 1.0),
    ])


def case_random_generator() -> Case:
    from stochflow.jump.generators import GeneratorPrior, random_generator

    def run(*, backend, dtype, seed, device):
        return random_generator(4, n_processes=3, seed=seed, dtype=_DTYPES[dtype], device=device)

    return Case(run=run, bad_inputs=[
        lambda: random_generator(1, seed=0),
        lambda: GeneratorPrior(n_states=(1, 3)),
        lambda: GeneratorPrior(rate_low=2.0, rate_high=1.0),
        lambda: random_generator(3, n_processes=0, seed=0),
    ])


def case_gillespie() -> Case:
    from stochflow.jump.gillespie import simulate

    def run(*, backend, dtype, seed, device):
        paths = simulate(_Q(backend, dtype, device), n_paths=20, t_max=1.0, seed=seed)
        return paths.times, paths.states

    return Case(run=run, bad_inputs=[
        lambda: simulate(_bad_Q(), n_paths=5, t_max=1.0, seed=0),
        lambda: simulate(np.array([[-1.0, 1.0], [-0.5, 0.5]]), n_paths=5, t_max=1.0, seed=0),
        lambda: simulate(np.array([[-1.0, 1.0], [1.0, -1.0]]), [0.7, 0.7], n_paths=5, t_max=1.0, seed=0),
        lambda: simulate(np.array([[-1.0, 1.0], [1.0, -1.0]]), n_paths=0, t_max=1.0, seed=0),
        lambda: simulate(np.array([[-1.0, 1.0], [1.0, -1.0]]), n_paths=5, t_max=-1.0, seed=0),
    ])


def case_transition() -> Case:
    from stochflow.jump.propagation import transition_matrix

    def run(*, backend, dtype, seed, device):
        Q = _Q(backend, dtype, device)
        times = np.array([0.1, 1.0], dtype=dtype) if backend == "numpy" else torch.tensor(
            [0.1, 1.0], dtype=_DTYPES[dtype], device=device)
        return transition_matrix(Q, times, method="uniformization"), transition_matrix(Q, 0.5, method="expm")

    return Case(run=run, stochastic=False, bad_inputs=[
        lambda: transition_matrix(_bad_Q(), 1.0),
        lambda: transition_matrix(np.array([[-1.0, 1.0], [1.0, -1.0]]), -1.0),
        lambda: transition_matrix(np.array([[-1.0, 1.0], [1.0, -1.0]]), 1.0, method="pade"),
    ])


def _observations(backend, dtype, seed, device, n_paths=20):
    from stochflow.jump.gillespie import simulate

    paths = simulate(_Q(backend, dtype, device), n_paths=n_paths, t_max=2.0, seed=seed)
    return paths, paths.observe(12, grid="irregular", flip_prob=0.05, seed=seed + 1)


def _bad_observations():
    from stochflow.jump.observations import Observations

    return [
        lambda: Observations(np.array([[0.0, 0.5, 0.2]]), np.array([[0, 1, 0]]), n_states=2),  # unsorted
        lambda: Observations(np.array([[0.0, 0.5]]), np.array([[0, 3]]), n_states=2),  # state out of range
        lambda: Observations(np.array([[0.0, 0.5]]), np.array([[0, 1]]), np.array([[False, False]]), n_states=2),
    ]


def _model_outputs(model):
    return model.generator, model.initial_distribution


def case_mle() -> Case:
    from stochflow.jump.estimators.ml import MLEstimator

    def run(*, backend, dtype, seed, device):
        paths, _ = _observations(backend, dtype, seed, device)
        return _model_outputs(MLEstimator(prior=(1.5, 1.0)).fit(paths).fetch_model())

    _, obs = _observations("torch", "float64", 0, "cpu")
    return Case(run=run, bad_inputs=[
        lambda: MLEstimator().fit(obs),
        lambda: MLEstimator(prior=(0.5, 1.0)),
        lambda: MLEstimator(estimate="median"),
    ])


def case_em() -> Case:
    from stochflow.jump.estimators.em import EMEstimator

    def run(*, backend, dtype, seed, device):
        _, obs = _observations(backend, dtype, seed, device)
        return _model_outputs(EMEstimator(max_iter=5, progress=False).fit(obs).fetch_model())

    paths, _ = _observations("torch", "float64", 0, "cpu")
    return Case(run=run, bad_inputs=[
        lambda: EMEstimator().fit(paths),
        lambda: EMEstimator(noise=1.5),
        lambda: EMEstimator(init=_bad_Q()),
        lambda: EMEstimator(method="pade"),
        *_bad_observations(),
    ])


def case_pseudo() -> Case:
    from stochflow.jump.estimators.pseudo import PseudoGeneratorEstimator

    def run(*, backend, dtype, seed, device):
        _, obs = _observations(backend, dtype, seed, device)
        return _model_outputs(PseudoGeneratorEstimator().fit(obs).fetch_model())

    return Case(run=run, bad_inputs=[
        lambda: PseudoGeneratorEstimator().fit(np.zeros((3, 4))),
        lambda: PseudoGeneratorEstimator(prior="flat"),
        *_bad_observations(),
    ])


def case_amortized() -> Case:
    from stochflow.jump.amortized import AmortizedEstimator

    def run(*, backend, dtype, seed, device):
        _, obs = _observations(backend, dtype, seed, device)
        return _model_outputs(AmortizedEstimator().fit(obs).fetch_model())

    paths, _ = _observations("torch", "float64", 0, "cpu")
    return Case(run=run, bad_inputs=[
        lambda: AmortizedEstimator().fit(paths),
        lambda: AmortizedEstimator(refine="mcmc"),
        lambda: AmortizedEstimator(checkpoint="/nonexistent/checkpoint.pt").fit(_observations("torch", "float64", 0, "cpu")[1]),
    ])
