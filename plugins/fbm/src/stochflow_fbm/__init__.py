"""stochflow-fbm: Markov-approximate fractional Brownian motion for stochflow (a third-party plugin).

>>> from stochflow_fbm import MarkovFBM
>>> fbm = MarkovFBM(hurst=0.3, n_terms=16)
>>> abs(float(fbm.covariance(0.5, 1.0) - fbm.exact_covariance(0.5, 1.0))) < 1e-3
True
"""

from stochflow_fbm.process import MarkovFBM
from stochflow_fbm.weights import (
    fbm_covariance,
    markov_covariance,
    optimal_weights,
    ou_speeds,
    weight_system,
)

__all__ = ["MarkovFBM", "fbm_covariance", "markov_covariance", "optimal_weights", "ou_speeds", "weight_system"]
__version__ = "0.1.0"
