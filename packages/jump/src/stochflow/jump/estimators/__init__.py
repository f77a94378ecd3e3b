"""Estimators of Markov jump processes (deeptime/scikit-learn style: ``fit(data).fetch_model()``)."""

from stochflow.jump.estimators.em import EMEstimator
from stochflow.jump.estimators.ml import MLEstimator
from stochflow.jump.estimators.pseudo import PseudoGeneratorEstimator

__all__ = ["EMEstimator", "MLEstimator", "PseudoGeneratorEstimator"]
