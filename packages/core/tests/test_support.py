"""Estimator base, version stamps, seed derivation, array helpers, demo runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stochflow.core import DemoEntry, DemoResult, Estimator, InputError, InputTypeError, NotFittedError, derive_seed
from stochflow.core.arrays import device_of, dtype_name, framework_of
from stochflow.core.demo import run_demo
from stochflow.core.estimator import check_stamp, stamp


class Mean(Estimator):
    def __init__(self, shrink: float = 0.0, *, name: str = "m"):
        self.shrink, self.name = shrink, name

    def fit(self, data):
        self._model = (1 - self.shrink) * float(np.mean(data))
        return self


def test_estimator_params_repr_and_fetch():
    est = Mean(0.5, name="x")
    assert est.get_params() == {"shrink": 0.5, "name": "x"}
    assert repr(est) == "Mean(shrink=0.5, name='x')"
    with pytest.raises(NotFittedError, match="call .fit"):
        est.fetch_model()
    assert est.fit([2.0, 4.0]).fetch_model() == 1.5 and est.has_model


def test_stamps_round_trip_and_reject_mismatches():
    s = stamp("stochflow-core", Mean())
    assert s["package"] == "stochflow-core" and s["class"].endswith("Mean")
    check_stamp(s, "stochflow-core", Mean)
    with pytest.raises(InputError, match="not a"):
        check_stamp(None, "stochflow-core", Mean)
    with pytest.raises(InputError, match="holds a"):
        check_stamp(s, "stochflow-core", Estimator)
    with pytest.raises(InputError, match="newer"):
        check_stamp({**s, "format": 99}, "stochflow-core", Mean)


def test_derive_seed_is_deterministic_and_separates_streams():
    assert derive_seed(0, "rank", 1) == derive_seed(0, "rank", 1)
    seeds = {derive_seed(s, "rank", r) for s in range(20) for r in range(20)}
    assert len(seeds) == 400
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(InputTypeError):
        derive_seed(1.5)  # type: ignore[arg-type]


def test_array_helpers_on_numpy():
    x = np.zeros(3, dtype=np.float32)
    assert (framework_of(x), dtype_name(x), device_of(x)) == ("numpy", "float32", "cpu")
    assert framework_of([1.0]) == "python"


def _demo_ok(out: Path) -> DemoResult:
    (out / "a.txt").write_text("x")
    return DemoResult(lines=("ok",), figures=(out / "a.txt",))


def _demo_wrong(out: Path):
    return "not a result"


def test_run_demo_captures_results_and_failures(tmp_path):
    ok = run_demo(DemoEntry("ok", f"{__name__}:_demo_ok"), tmp_path)
    assert ok.error is None and ok.result.lines == ("ok",) and (tmp_path / "ok" / "a.txt").exists()
    bad = run_demo(DemoEntry("bad", f"{__name__}:_demo_wrong"), tmp_path)
    assert bad.result is None and "not DemoResult" in bad.error
