"""Input checks, fuzzed with hypothesis: typed errors for every bad value, acceptance of good ones."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stochflow.core.errors import InputError, InputTypeError
from stochflow.xva import checks
from stochflow.xva.market import Market


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3))
def test_correlation_accepted_iff_positive_semidefinite(offdiag):
    a, b, c = offdiag
    mat = np.array([[1, a, b], [a, 1, c], [b, c, 1]])
    psd = np.linalg.eigvalsh(mat).min() >= -1e-10
    if psd:
        np.testing.assert_array_equal(checks.correlation("corr", mat), mat)
    else:
        with pytest.raises(InputError, match="positive semi-definite"):
            checks.correlation("corr", mat)


@settings(max_examples=40, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_recovery_in_unit_interval_only(value):
    if math.isfinite(value) and 0 <= value <= 1:
        assert checks.recovery("recovery", value) == value
    else:
        with pytest.raises(InputError):
            checks.recovery("recovery", value)


@settings(max_examples=40, deadline=None)
@given(st.floats(-10, 10))
def test_negative_vols_rejected_by_the_market(vol):
    if vol < 0:
        with pytest.raises(InputError, match="volatility"):
            Market(rate=0.0, spot=[100.0], vol=[vol])
    else:
        assert Market(rate=0.0, spot=[100.0], vol=[vol]).vol == (vol,)


@pytest.mark.parametrize("bad", [[[1, 0.5], [0.4, 1]], [[2, 0], [0, 1]], [[1, 0, 0]], [[1, np.nan], [np.nan, 1]]])
def test_malformed_correlations(bad):
    with pytest.raises(InputError):
        checks.correlation("corr", bad)


def test_type_errors():
    with pytest.raises(InputTypeError):
        checks.as_float("rate", "0.02")
    with pytest.raises(InputTypeError):
        checks.count("n_steps", 2.5)
    with pytest.raises(InputTypeError):
        checks.as_float("rate", True)
