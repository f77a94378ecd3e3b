from __future__ import annotations

import subprocess
import sys

import pytest

from stochflow.core import get_registry
from stochflow.core.testing import check_plugin


def test_conformance_of_every_entry():
    names = {e.name for e in check_plugin("stochflow-graph")}
    assert {"graph-joint-sde", "graph-pc", "graph-s4", "gdss", "graph-community-small", "graph-ego-small",
            "graph-grid", "graph-sbm", "graph-planar", "graph"} <= names


def test_plugin_and_package_import_without_torch():
    code = "import sys, stochflow.graph, stochflow.graph._plugin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_train_then_sample(tmp_path, capsys):
    """``stochflow graph train`` / ``sample`` through the core CLI and the registry (in-process)."""
    import networkx as nx

    from stochflow.core.cli import main

    run = tmp_path / "run"
    rc = main(["graph", "train", "--dataset", "community-small", "--n-graphs", "10", "--size", "tiny",
               "--iterations", "3", "--steps", "3", "--out", str(run), "--quiet", "--no-time", "--warmup", "2"])
    assert rc == 0 and (run / "model.pt").exists() and (run / "metrics.json").exists()
    from stochflow.graph.model import GraphScoreModel

    assert not GraphScoreModel.load(run).net_a.time_conditioning  # --no-time: GDSS's networks
    assert "MMD" in capsys.readouterr().out
    rc = main(["graph", "sample", str(run), "--n", "3", "--steps", "3", "--out", str(tmp_path / "g.graphml")])
    assert rc == 0
    g = nx.read_graphml(tmp_path / "g.graphml")
    assert {d["graph"] for _, d in g.nodes(data=True)} == {0, 1, 2}
    rc = main(["graph", "sample", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.graphml")])
    assert rc == 2 and "train one first" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_beats_erdos_renyi(tmp_path):
    demo = get_registry().get("demo", "graph").load()
    result = demo(tmp_path)
    assert len(result.figures) == 1 and result.figures[0].stat().st_size > 20_000
    m = result.metrics
    assert m["model"]["clustering"] < m["erdos_renyi"]["clustering"]
