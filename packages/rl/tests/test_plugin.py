from __future__ import annotations

import subprocess
import sys

from stochflow.core import get_registry
from stochflow.core.testing import check_plugin


def test_conformance_of_every_entry():
    names = {e.name for e in check_plugin("stochflow-rl")}
    assert {"rl-lstd", "rl-td", "rl-martingale-loss", "rl-gtd", "rl-mstde", "rl-ou-quadratic",
            "rl-brownian-sine", "rl-gbm-power", "rl-ergodic-lq", "rl"} <= names


def test_plugin_module_does_not_import_torch():
    code = "import sys, stochflow.rl._plugin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_demo_writes_its_figure_and_reports_errors(tmp_path):
    demo = get_registry().get("demo", "rl").load()
    result = demo(tmp_path)
    assert len(result.figures) == 1 and result.figures[0].stat().st_size > 10_000
    # exact-feature methods near the truth at dt = 0.01, MSTDE far from it
    for name in ("ML", "TD(0.5)", "LSTD"):
        assert result.metrics[f"{name} dt=0.01"] < 0.05
    assert result.metrics["MSTDE dt=0.01"] > 0.3
