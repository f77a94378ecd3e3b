"""stochflow-diffusion: score-based generative modelling through SDEs, with fast samplers.

>>> import stochflow.diffusion as sfd
>>> vp = sfd.VPSDE(beta_min=0.1, beta_max=20.0)
>>> gm = sfd.testing.GaussianMixture([0.5, 0.5], [[-2.0, 0.0], [2.0, 0.0]], [0.1, 0.1])
>>> out = sfd.sample(gm.score_fn(vp), vp, shape=(256, 2), solver="dpm-solver++2m", steps=10, seed=0)
>>> out.nfe
10

Names are imported on first use, so that the registry (which imports ``stochflow.diffusion._plugin``)
never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stochflow.core.lazy import lazy_exports

_WHERE = {
    "DiffusionSDE": "sde", "VPSDE": "sde", "VESDE": "sde", "SubVPSDE": "sde", "MeanRevertingSDE": "sde",
    "ReverseSDE": "sde",
    "Schedule": "schedule", "VPSchedule": "schedule", "VESchedule": "schedule", "SubVPSchedule": "schedule",
    "MeanRevertingSchedule": "schedule",
    "sample": "sampling", "SampleResult": "sampling", "SOLVERS": "sampling", "evaluations_per_step": "sampling",
    "GRIDS": "grids", "time_grid": "grids",
    "to_score": "adapters", "from_score": "adapters",
    "log_likelihood": "likelihood", "bits_per_dim": "likelihood", "LikelihoodResult": "likelihood",
    "inpaint": "inpainting",
    "ScoreTrainer": "training", "TrainedScore": "training", "dsm_loss": "training",
    "MLPScore": "nets", "SmallUNet": "nets",
}
_MODULES = ("testing", "metrics", "samplers")

__all__, __getattr__, __dir__ = lazy_exports(__name__, _WHERE, _MODULES)

if TYPE_CHECKING:  # pragma: no cover
    from stochflow.diffusion import metrics, samplers, testing  # noqa: F401
    from stochflow.diffusion.adapters import from_score, to_score  # noqa: F401
    from stochflow.diffusion.grids import GRIDS, time_grid  # noqa: F401
    from stochflow.diffusion.inpainting import inpaint  # noqa: F401
    from stochflow.diffusion.likelihood import LikelihoodResult, bits_per_dim, log_likelihood  # noqa: F401
    from stochflow.diffusion.nets import MLPScore, SmallUNet  # noqa: F401
    from stochflow.diffusion.sampling import SOLVERS, SampleResult, evaluations_per_step, sample  # noqa: F401
    from stochflow.diffusion.sde import VESDE, VPSDE, DiffusionSDE, MeanRevertingSDE, ReverseSDE, SubVPSDE  # noqa: F401
    from stochflow.diffusion.training import ScoreTrainer, TrainedScore, dsm_loss  # noqa: F401

