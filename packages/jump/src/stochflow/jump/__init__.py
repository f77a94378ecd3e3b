"""stochflow-jump: Markov jump processes, exact simulation and inference of rate matrices.

>>> import stochflow.jump as sfj
>>> Q = sfj.dfr_generator(V=1.0, r=1.0, b=1.0)
>>> paths = sfj.simulate(Q, n_paths=300, t_max=2.5, seed=0)
>>> obs = paths.observe(n_times=50, grid="irregular", flip_prob=0.1, seed=1)
>>> model = sfj.EMEstimator().fit(obs).fetch_model()
>>> model.generator.shape
torch.Size([6, 6])

Names load lazily, so that the registry can import ``stochflow.jump._plugin`` without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stochflow.core.lazy import lazy_exports

_LAZY = {
    # processes
    "validate_generator": "stochflow.jump.generators:validate_generator",
    "generator_from_rates": "stochflow.jump.generators:generator_from_rates",
    "dfr_generator": "stochflow.jump.generators:dfr_generator",
    "dfr_parameters": "stochflow.jump.generators:dfr_parameters",
    "dfr_entropy_production": "stochflow.jump.generators:dfr_entropy_production",
    "DFRParameters": "stochflow.jump.generators:DFRParameters",
    "GeneratorPrior": "stochflow.jump.generators:GeneratorPrior",
    "random_generator": "stochflow.jump.generators:random_generator",
    "rate_rmse": "stochflow.jump.generators:rate_rmse",
    # simulation and observation
    "simulate": "stochflow.jump.gillespie:simulate",
    "JumpPaths": "stochflow.jump.paths:JumpPaths",
    "Observations": "stochflow.jump.observations:Observations",
    "observe": "stochflow.jump.observations:observe",
    # transition probabilities
    "transition_matrix": "stochflow.jump.propagation:transition_matrix",
    "propagate": "stochflow.jump.propagation:propagate",
    "transition_integrals": "stochflow.jump.propagation:transition_integrals",
    # estimators and models
    "GammaPrior": "stochflow.jump.prior:GammaPrior",
    "MLEstimator": "stochflow.jump.estimators.ml:MLEstimator",
    "EMEstimator": "stochflow.jump.estimators.em:EMEstimator",
    "PseudoGeneratorEstimator": "stochflow.jump.estimators.pseudo:PseudoGeneratorEstimator",
    "observation_log_likelihood": "stochflow.jump.estimators.em:observation_log_likelihood",
    "MarkovJumpModel": "stochflow.jump.model:MarkovJumpModel",
    "AmortizedEstimator": "stochflow.jump.amortized:AmortizedEstimator",
    "AmortizedConfig": "stochflow.jump.amortized:AmortizedConfig",
    "pretrain": "stochflow.jump.amortized:pretrain",
    # analyses
    "stationary_distribution": "stochflow.jump.analysis:stationary_distribution",
    "relaxation_times": "stochflow.jump.analysis:relaxation_times",
    "mean_first_passage_times": "stochflow.jump.analysis:mean_first_passage_times",
    "entropy_production": "stochflow.jump.analysis:entropy_production",
    "hellinger_distance": "stochflow.jump.analysis:hellinger_distance",
    # input/output
    "read_observations": "stochflow.jump.io:read_observations",
    "write_observations": "stochflow.jump.io:write_observations",
}

__all__, __getattr__, __dir__ = lazy_exports(
    __name__, {name: target.partition(":")[0].removeprefix("stochflow.jump.") for name, target in _LAZY.items() if ":" in target},
    [target.removeprefix("stochflow.jump.") for target in _LAZY.values() if ":" not in target])
__version__ = "0.1.0"



if TYPE_CHECKING:  # pragma: no cover
    from stochflow.jump.amortized import AmortizedConfig, AmortizedEstimator, pretrain  # noqa: F401
    from stochflow.jump.analysis import (  # noqa: F401
        entropy_production,
        hellinger_distance,
        mean_first_passage_times,
        relaxation_times,
        stationary_distribution,
    )
    from stochflow.jump.estimators import EMEstimator, MLEstimator, PseudoGeneratorEstimator  # noqa: F401
    from stochflow.jump.estimators.em import observation_log_likelihood  # noqa: F401
    from stochflow.jump.generators import (  # noqa: F401
        DFRParameters,
        GeneratorPrior,
        dfr_entropy_production,
        dfr_generator,
        dfr_parameters,
        generator_from_rates,
        random_generator,
        rate_rmse,
        validate_generator,
    )
    from stochflow.jump.gillespie import simulate  # noqa: F401
    from stochflow.jump.io import read_observations, write_observations  # noqa: F401
    from stochflow.jump.model import MarkovJumpModel  # noqa: F401
    from stochflow.jump.observations import Observations, observe  # noqa: F401
    from stochflow.jump.paths import JumpPaths  # noqa: F401
    from stochflow.jump.prior import GammaPrior  # noqa: F401
    from stochflow.jump.propagation import propagate, transition_integrals, transition_matrix  # noqa: F401
