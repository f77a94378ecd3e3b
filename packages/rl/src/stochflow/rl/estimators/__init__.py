"""Policy-evaluation estimators built on the martingale increment."""

from stochflow.rl.estimators.gtd import GTD
from stochflow.rl.estimators.lstd import LSTD
from stochflow.rl.estimators.martingale_loss import MartingaleLoss
from stochflow.rl.estimators.mstde import MSTDE
from stochflow.rl.estimators.td import TD

__all__ = ["GTD", "LSTD", "MSTDE", "MartingaleLoss", "TD"]
