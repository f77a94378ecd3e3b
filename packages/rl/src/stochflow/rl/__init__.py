"""stochflow-rl: continuous-time policy evaluation by the martingale approach (Jia & Zhou, 2022).

>>> import stochflow.rl as sfr
>>> env = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5)
>>> data = env.rollout(n_paths=200, t_max=10.0, dt=0.01, seed=0)
>>> est = sfr.LSTD(features=sfr.features.Polynomial(degree=2)).fit(data)
>>> est.value([0.0, 1.0]), env.true_value([0.0, 1.0])  # doctest: +SKIP

Names load lazily, so that the registry can import ``stochflow.rl._plugin`` without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stochflow.core.lazy import lazy_exports

_LAZY = {
    "envs": "stochflow.rl.envs",
    "features": "stochflow.rl.features",
    "martingale": "stochflow.rl.martingale",
    "plotting": "stochflow.rl.plotting",
    "Trajectories": "stochflow.rl.data:Trajectories",
    "GTD": "stochflow.rl.estimators:GTD",
    "LSTD": "stochflow.rl.estimators:LSTD",
    "MSTDE": "stochflow.rl.estimators:MSTDE",
    "TD": "stochflow.rl.estimators:TD",
    "MartingaleLoss": "stochflow.rl.estimators:MartingaleLoss",
    "Discounted": "stochflow.rl.settings:Discounted",
    "Ergodic": "stochflow.rl.settings:Ergodic",
    "FiniteHorizon": "stochflow.rl.settings:FiniteHorizon",
    "LinearValue": "stochflow.rl.value:LinearValue",
    "NeuralValue": "stochflow.rl.value:NeuralValue",
}

__all__, __getattr__, __dir__ = lazy_exports(
    __name__, {name: target.partition(":")[0].removeprefix("stochflow.rl.") for name, target in _LAZY.items() if ":" in target},
    [target.removeprefix("stochflow.rl.") for target in _LAZY.values() if ":" not in target])

if TYPE_CHECKING:  # pragma: no cover
    from stochflow.rl import envs, features, martingale, plotting  # noqa: F401
    from stochflow.rl.data import Trajectories  # noqa: F401
    from stochflow.rl.estimators import GTD, LSTD, MSTDE, TD, MartingaleLoss  # noqa: F401
    from stochflow.rl.settings import Discounted, Ergodic, FiniteHorizon  # noqa: F401
    from stochflow.rl.value import LinearValue, NeuralValue  # noqa: F401

