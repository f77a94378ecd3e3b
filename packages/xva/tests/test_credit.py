"""First-passage defaults against the reflection formula; exponential defaults; bad credit inputs."""

import math

import pytest
import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.xva import (
    CorrelatedGBM,
    ExponentialDefault,
    StructuralFirm,
    exponential_steps,
    first_passage_steps,
    first_passage_survival,
    time_grid,
)

# log-asset drift μ = -0.02 with σ = 0.2: arithmetic drift μ + σ²/2 = 0
A0, BARRIER, MU, SIG = 100.0, 70.0, -0.02, 0.2
REF = 1 - first_passage_survival(1.0, A0, BARRIER, MU, SIG)  # 0.088758
PATHS = 100_000


def default_probability(n_steps, bridge, theta=None, seed=0):
    t = time_grid(1.0, n_steps)
    paths = CorrelatedGBM([A0], [SIG], [MU + 0.5 * SIG**2]).sample(t, PATHS, seed=seed, theta=theta)
    steps = first_passage_steps(paths.x[..., 0], BARRIER, SIG, t, seed=seed, bridge=bridge)
    hit = (steps <= n_steps).double()
    w = paths.density().gather(0, steps.clamp_max(n_steps)[None])[0]
    samples = hit * w
    return float(samples.mean()), float(samples.std()) / math.sqrt(PATHS)


def test_bridge_corrected_first_passage_matches_reflection_formula():
    assert REF == pytest.approx(0.088758, abs=1e-6)
    p, se = default_probability(12, bridge=True)
    assert abs(p - REF) < 4 * se


def test_without_bridge_correction_defaults_are_missed():
    p, se = default_probability(12, bridge=False)
    assert REF - p > 4 * se


def test_tilted_measure_with_weights_gives_the_same_probability_with_less_noise():
    p0, se0 = default_probability(12, bridge=True, seed=1)
    p, se = default_probability(12, bridge=True, theta=[-1.0], seed=1)
    assert abs(p - REF) < 4 * se
    assert se < se0


def test_exponential_default_probability():
    t = time_grid(2.0, 8)
    steps = exponential_steps(0.3, t, PATHS, seed=2)
    hit = (steps <= 8).double()
    se = float(hit.std()) / math.sqrt(PATHS)
    assert abs(float(hit.mean()) - (1 - math.exp(-0.6))) < 4 * se
    # the step index brackets the default time: P(τ <= t_4) = 1 - e^{-0.3}
    assert abs(float((steps <= 4).double().mean()) - (1 - math.exp(-0.3))) < 4 * se
    assert int(steps.min()) >= 1


@pytest.mark.parametrize("kwargs,match", [
    (dict(value=100, barrier=120, vol=0.2), "barrier"),
    (dict(value=100, barrier=70, vol=-0.2), "vol"),
    (dict(value=100, barrier=70, vol=0.2, recovery=1.5), "recovery"),
    (dict(value=100, barrier=70, vol=0.2, recovery=-0.1), "recovery"),
    (dict(value=-5, barrier=70, vol=0.2), "asset value"),
])
def test_bad_structural_inputs(kwargs, match):
    with pytest.raises(InputError, match=match):
        StructuralFirm(**kwargs)


def test_bad_exponential_inputs():
    with pytest.raises(InputError, match="intensity"):
        ExponentialDefault(-0.1)
    with pytest.raises(InputError, match="recovery"):
        ExponentialDefault(0.1, 2.0)
    with pytest.raises(InputTypeError):
        ExponentialDefault("high")


def test_seeded_defaults_reproduce():
    t = time_grid(1.0, 10)
    x = CorrelatedGBM([A0], [SIG], [0.0]).sample(t, 1000, seed=4).x[..., 0]
    a = first_passage_steps(x, BARRIER, SIG, t, seed=4)
    b = first_passage_steps(x, BARRIER, SIG, t, seed=4)
    c = first_passage_steps(x, BARRIER, SIG, t, seed=5)
    assert torch.equal(a, b) and not torch.equal(a, c)
