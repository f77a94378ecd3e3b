"""Registry entries of stochflow-rl (no torch import here: targets load lazily)."""

from __future__ import annotations

from stochflow.core import DemoEntry, ModelEntry, ProcessEntry, hookimpl

_C = "stochflow.rl._conformance"


@hookimpl
def stochflow_models() -> list:
    return [
        ModelEntry("rl-lstd", "stochflow.rl.estimators.lstd:LSTD",
                   "LSTD for continuous-time policy evaluation (martingale orthogonality, closed form)",
                   conformance=f"{_C}:case_lstd"),
        ModelEntry("rl-td", "stochflow.rl.estimators.td:TD",
                   "TD(0)/TD(lambda) policy evaluation in continuous time, linear or neural, online or offline",
                   conformance=f"{_C}:case_td"),
        ModelEntry("rl-martingale-loss", "stochflow.rl.estimators.martingale_loss:MartingaleLoss",
                   "martingale loss (offline ML) policy evaluation, linear or neural",
                   conformance=f"{_C}:case_martingale_loss"),
        ModelEntry("rl-gtd", "stochflow.rl.estimators.gtd:GTD",
                   "gradient TD: quadratic form of the martingale orthogonality conditions, two time scales",
                   conformance=f"{_C}:case_gtd"),
        ModelEntry("rl-mstde", "stochflow.rl.estimators.mstde:MSTDE",
                   "mean-square TD error (biased in continuous time; kept as a reference)",
                   conformance=f"{_C}:case_mstde"),
    ]


@hookimpl
def stochflow_processes() -> list:
    return [
        ProcessEntry("rl-ou-quadratic", "stochflow.rl.envs.ou:OUQuadratic",
                     "OU state, reward x^2: discounted, finite-horizon or ergodic value in closed form",
                     conformance=f"{_C}:case_ou"),
        ProcessEntry("rl-brownian-sine", "stochflow.rl.envs.brownian:BrownianSine",
                     "Brownian motion with drift, reward sin x, discounted value in closed form",
                     conformance=f"{_C}:case_brownian"),
        ProcessEntry("rl-gbm-power", "stochflow.rl.envs.gbm:GBMPower",
                     "geometric Brownian motion, reward s^p, discounted value in closed form",
                     conformance=f"{_C}:case_gbm"),
        ProcessEntry("rl-ergodic-lq", "stochflow.rl.envs.lq:ErgodicLQ",
                     "ergodic LQ control under a Gaussian exploratory policy (Jia & Zhou), value and rho",
                     conformance=f"{_C}:case_lq"),
    ]


@hookimpl
def stochflow_demos() -> list:
    return [DemoEntry("rl", "stochflow.rl.demo:run",
                      "learned vs true value functions on the OU problem: ML, TD(lambda), LSTD, MSTDE at two dt")]
