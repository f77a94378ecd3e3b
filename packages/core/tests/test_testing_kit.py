"""The conformance kit passes a conforming entry and catches each kind of non-conformance."""

from __future__ import annotations

import numpy as np
import pytest

from stochflow.core import InputError, Registry, SolverEntry, hookimpl
from stochflow.core.testing import Case, ConformanceError, check_entry, check_plugin, iter_checks

KIT = "tests_kit_targets"


def _noisy(x, seed):
    x = np.asarray(x)
    if not np.all(np.isfinite(x)):
        raise InputError("x contains NaN or inf: clean the input first")
    return x + np.random.default_rng(seed).standard_normal(x.shape).astype(x.dtype)


def good_case():
    return Case(run=lambda *, backend, dtype, seed, device: _noisy(np.zeros(4, dtype), seed),
                bad_inputs=[lambda: _noisy([np.inf], 0)])


def wrong_dtype_case():
    return Case(run=lambda *, backend, dtype, seed, device: np.zeros(4, "float64") + seed,
                bad_inputs=[lambda: _noisy([np.inf], 0)])


def unseeded_case():
    rng = np.random.default_rng()
    return Case(run=lambda *, backend, dtype, seed, device: rng.standard_normal(4).astype(dtype),
                bad_inputs=[lambda: _noisy([np.inf], 0)])


def seed_ignored_case():
    return Case(run=lambda *, backend, dtype, seed, device: np.ones(4, dtype),
                bad_inputs=[lambda: _noisy([np.inf], 0)])


def silent_bad_input_case():
    return Case(run=good_case().run, bad_inputs=[lambda: _noisy([1.0], 0)])


def unclear_error_case():
    def bad():
        raise ValueError("bad")

    return Case(run=good_case().run, bad_inputs=[bad])


def wrong_error_type_case():
    def bad():
        raise RuntimeError("something deep inside broke")

    return Case(run=good_case().run, bad_inputs=[bad])


def no_arrays_case():
    return Case(run=lambda **kw: "not an array", bad_inputs=good_case().bad_inputs)


def torch_claim_case():
    return Case(run=good_case().run, bad_inputs=good_case().bad_inputs, backends=("torch",))


def _entry(case: str, **kw) -> SolverEntry:
    return SolverEntry("s", "numpy:add", backends=kw.pop("backends", ("numpy",)),
                       conformance=f"{__name__}:{case}", plugin="test", **kw)


def test_conforming_entry_passes():
    check_entry(_entry("good_case"))
    assert [name for name, _ in iter_checks(_entry("good_case"))] == ["loads", "backends", "seed", "bad-input"]


@pytest.mark.parametrize("case,message", [
    ("wrong_dtype_case", "output dtype"),
    ("unseeded_case", "seed reproduces"),
    ("seed_ignored_case", "seed matters"),
    ("silent_bad_input_case", "ran without raising"),
    ("unclear_error_case", "unclear message"),
    ("wrong_error_type_case", "expected a ValueError or TypeError"),
    ("no_arrays_case", "no arrays"),
    ("torch_claim_case", "does not declare"),
])
def test_each_failure_is_caught(case, message):
    with pytest.raises(ConformanceError, match=message):
        check_entry(_entry(case))


def test_entry_without_case_fails():
    with pytest.raises(ConformanceError, match="no conformance"):
        check_entry(SolverEntry("s", "numpy:add", backends=("numpy",)))


def test_unloadable_target_fails():
    with pytest.raises(ConformanceError, match="loads"):
        check_entry(SolverEntry("s", "numpy:no_such_function", backends=("numpy",)))


def test_check_plugin_requires_active_plugin_with_entries():
    class P:
        @hookimpl
        def stochflow_solvers(self):
            return [_entry("good_case")]

    class E:
        def __init__(self, name, obj=None, error=None):
            self.name, self.obj, self.error, self.dist = name, obj, error, None

        def load(self):
            if self.error:
                raise self.error
            return self.obj

    reg = Registry(entry_points=[E("fine", P()), E("broken", error=ImportError("nope")), E("empty", object())])
    assert [e.name for e in check_plugin("fine", registry=reg)] == ["s"]
    with pytest.raises(ConformanceError, match="not active"):
        check_plugin("broken", registry=reg)
    with pytest.raises(ConformanceError, match="no entries"):
        check_plugin("empty", registry=reg)


def test_installed_toy_plugin_passes_the_kit(good_site):
    out = good_site.python("""
        from stochflow.core.testing import check_plugin
        print([e.name for e in check_plugin("stochflow-toy")])
    """)
    assert out.returncode == 0, out.stderr
    assert sorted(eval(out.stdout)) == ["toy", "toy", "toy-process", "toy-solver"]


def test_load_script_runs_a_file_as_a_module_without_touching_sys_path(tmp_path):
    import sys

    from stochflow.core.testing import load_script

    script = tmp_path / "run.py"
    script.write_text("VALUE = 6 * 7\ndef twice(x):\n    return 2 * x\n")
    mod = load_script(script)
    assert mod.__name__ == "run" and mod.VALUE == 42 and mod.twice(4) == 8
    assert load_script(script, "bench_run").__name__ == "bench_run"
    assert str(tmp_path) not in sys.path
    with pytest.raises(FileNotFoundError):
        load_script(tmp_path / "missing.txt")
