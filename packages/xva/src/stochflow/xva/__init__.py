"""stochflow-xva: a deep BSDE solver and multi-layer xVA with structural credit models.

Layers (Andersson & Gnoatto, 2025): (i) clean values, (ii) initial margin by quantile regression and
ColVA, (iii) CVA/DVA at the first default and MVA, (iv) FVA as a recursive BSDE; structural
(first-passage) defaults with a default-boosting change of measure.

Names are imported on first use, so that importing the package (and its registry plugin) does not
import torch.
"""

from __future__ import annotations

from stochflow.core.lazy import lazy_exports

_EXPORTS = {
    "bsde": ("BSDE", "BSDEProblem", "linear_driver"),
    "closed_forms": ("black_scholes", "cva_forward_exponential", "first_passage_survival", "forward_ene",
                     "forward_epe", "forward_value", "fva_forward"),
    "config": ("XvaConfig", "load_config", "parse_config"),
    "credit": ("ExponentialDefault", "StructuralFirm", "exponential_steps", "first_passage_steps"),
    "exposure": ("Estimate", "ExposureProfile", "exposure_profile", "plot_profile"),
    "forward": ("CorrelatedGBM", "ForwardPaths", "ScaledBrownianMotion", "time_grid"),
    "layers": ("CleanValueProblem", "FundingProblem", "XvaPipeline", "XvaResult", "price_xva"),
    "market": ("CSA", "Market", "Settings"),
    "nested": ("NestedMonteCarlo",),
    "products": ("BasketOption", "EuropeanOption", "Forward", "Portfolio", "Trade"),
    "solver": ("BSDEResult", "DeepBSDEModel", "DeepBSDESolver"),
}
__all__, __getattr__, __dir__ = lazy_exports(
    __name__, {name: module for module, names in _EXPORTS.items() for name in names})
