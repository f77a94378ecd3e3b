"""Environments: fixed policies whose value functions are known in closed form."""

from stochflow.rl.envs._base import Environment
from stochflow.rl.envs.brownian import BrownianSine
from stochflow.rl.envs.gbm import GBMPower
from stochflow.rl.envs.lq import ErgodicLQ
from stochflow.rl.envs.ou import OUQuadratic

__all__ = ["BrownianSine", "Environment", "ErgodicLQ", "GBMPower", "OUQuadratic"]
