"""The ``stochflow bridge`` command round-trips an .h5ad file; the plugin passes the conformance kit."""

from __future__ import annotations

import anndata
import numpy as np
import torch

from stochflow.bridge import linear_sde_snapshots
from stochflow.core.cli import main
from stochflow.core.testing import check_plugin


def test_cli_fit_and_predict_round_trip(tmp_path, capsys):
    ad = linear_sde_snapshots(n_cells=30, times=[0.0, 1.0, 2.0], seed=1, dt=0.05)
    ad.obsm["X_pca"] = ad.X.copy()
    data, model, pred, annotated = (tmp_path / f for f in ("d.h5ad", "m.pt", "p.h5ad", "a.h5ad"))
    ad.write_h5ad(data)
    assert main(["bridge", "fit", str(data), "--time-key", "day", "--rep", "X_pca", "--sigma", "0.3",
                 "--n-refine", "3", "--out", str(model), "--write-h5ad", str(annotated)]) == 0
    assert "wrote" in capsys.readouterr().out and model.exists()
    back = anndata.read_h5ad(annotated)
    assert back.obsm["bridge_drift"].shape == (90, 2) and "stochflow_bridge" in back.uns
    assert main(["bridge", "predict", str(model), "--times", "2.5", "0.5", "--n", "7", "--out", str(pred)]) == 0
    p = anndata.read_h5ad(pred)
    assert p.shape == (14, 2) and sorted(set(p.obs["time"])) == [0.5, 2.5] and np.isfinite(p.X).all()


def test_cli_reports_bad_input(tmp_path, capsys):
    ad = linear_sde_snapshots(n_cells=5, times=[0.0, 1.0], seed=1, dt=0.1)
    ad.write_h5ad(tmp_path / "d.h5ad")
    assert main(["bridge", "fit", str(tmp_path / "d.h5ad"), "--time-key", "hour"]) == 1
    assert "obs has no column 'hour'" in capsys.readouterr().err
    assert main(["bridge", "predict", str(tmp_path / "missing.pt"), "--times", "1"]) == 1


def test_plugin_conformance():
    entries = check_plugin("stochflow-bridge")
    names = {(e.kind, e.name) for e in entries}
    assert {("solver", "sinkhorn-log"), ("solver", "sinkhorn-sns"), ("model", "multi-marginal-sb"),
            ("command", "bridge"), ("demo", "bridge"), ("dataset", "bridge-linear-sde-snapshots")} <= names


def test_cli_lotka_volterra_reference_round_trip(tmp_path, capsys):
    from stochflow.bridge import lotka_volterra_snapshots

    ad = lotka_volterra_snapshots(n_cells=15, times=[0.0, 2.0, 4.0], seed=0, dt=0.05)
    data, model, annotated, pred = (tmp_path / f for f in ("d.h5ad", "m.pt", "a.h5ad", "p.h5ad"))
    ad.write_h5ad(data)
    assert main(["bridge", "fit", str(data), "--reference", "lv", "--n-refine", "1", "--out", str(model),
                 "--write-h5ad", str(annotated), "--checkpoint", str(tmp_path / "ck.pt")]) == 0
    assert "reference lotka-volterra" in capsys.readouterr().out
    assert torch.load(tmp_path / "ck.pt", weights_only=False)["iteration"] == 1   # after the one refit
    uns = anndata.read_h5ad(annotated).uns["stochflow_bridge"]
    assert uns["reference"] == "lotka-volterra" and uns["noise"] == "multiplicative" and uns["alpha"] > 0
    assert main(["bridge", "predict", str(model), "--times", "1", "5", "--n", "4", "--out", str(pred)]) == 0
    assert np.isfinite(anndata.read_h5ad(pred).X).all()
