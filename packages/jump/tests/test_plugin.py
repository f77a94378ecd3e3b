from __future__ import annotations

import subprocess
import sys

import pytest

from stochflow.core import get_registry
from stochflow.core.testing import check_plugin


def test_conformance_of_every_entry():
    names = {e.name for e in check_plugin("stochflow-jump")}
    assert {"jump-dfr", "jump-random-generator", "jump-gillespie", "jump-transition-matrix", "jump-mle", "jump-em",
            "jump-pseudo-generator", "jump-amortized", "jump"} <= names


def test_plugin_and_package_import_without_torch():
    code = "import sys, stochflow.jump, stochflow.jump._plugin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_command_is_registered_through_the_stochflow_cli(tmp_path):
    out = subprocess.run([sys.executable, "-m", "stochflow.core.cli", "jump", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "infer" in out.stdout


@pytest.mark.slow
def test_demo_writes_its_figure_and_recovers_the_ratchet(tmp_path):
    demo = get_registry().get("demo", "jump").load()
    result = demo(tmp_path)
    assert len(result.figures) == 1 and result.figures[0].stat().st_size > 20_000
    # noise-aware EM near the truth, plain EM far from it (FIM-MJP: 0.110 vs 1.19)
    assert result.metrics["rmse_ct_hmm_em"] < 0.22
    assert result.metrics["rmse_plain_em"] > 0.6
    assert abs(result.metrics["V"] - 1) < 0.2
