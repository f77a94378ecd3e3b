from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import stochflow.jump as sfj
from stochflow.jump.cli import main


def test_simulate_then_infer_writes_a_model(tmp_path, capsys):
    table = tmp_path / "observations.csv"
    assert main(["simulate", "--out", str(table), "--paths", "200", "--times", "30", "--flip-prob", "0.05"]) == 0
    assert table.read_text().splitlines()[0] == "path,time,state"
    out = tmp_path / "model.json"
    assert main(["infer", str(table), "--states", "6", "--out", str(out), "--max-iter", "100"]) == 0
    assert "200 paths" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["stamp"]["package"] == "stochflow-jump" and data["n_states"] == 6
    model = sfj.MarkovJumpModel.load(out)
    # 200 paths: the rates of the DFR within a few tenths
    assert float(model.rate_rmse(sfj.dfr_generator())) < 0.3
    assert 0.0 < float(model.flip_prob) < 0.1


def test_read_observations_agrees_with_the_table(tmp_path):
    table = tmp_path / "obs.csv"
    table.write_text("state,time,path,extra\n1,0.0,a,x\n0,0.5,a,y\n2,0.1,b,z\n")
    obs = sfj.read_observations(table, n_states=3)
    assert obs.n_paths == 2 and obs.states.tolist() == [[1, 0], [2, 0]]
    np.testing.assert_array_equal(obs.mask, [[True, True], [True, False]])


@pytest.mark.parametrize("content, message", [
    ("path,time\n0,0.0\n", "lacks the column"),
    ("path,time,state\n0,0.5,1\n0,0.1,0\n", "sorted"),
    ("path,time,state\n0,0.0,7\n", "outside"),
    ("path,time,state\n0,zero,1\n", "numbers"),
    ("path,time,state\n", "no observations"),
])
def test_infer_reports_bad_tables_in_one_line(tmp_path, capsys, content, message):
    table = tmp_path / "bad.csv"
    table.write_text(content)
    assert main(["infer", str(table), "--states", "6", "--out", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_usage_errors_exit_with_2(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["infer"])
    assert exc.value.code == 2
    assert main(["infer", str(tmp_path / "missing.csv")]) == 2


def test_pretrain_command_writes_a_checkpoint_that_infer_uses(tmp_path, capsys):
    ckpt = tmp_path / "net.pt"
    assert main(["pretrain", "--out", str(ckpt), "--steps", "2", "--batch-size", "2", "--d-model", "8", "--every", "1"]) == 0
    assert ckpt.exists()
    table = tmp_path / "obs.csv"
    assert main(["simulate", "--out", str(table), "--paths", "10", "--times", "10"]) == 0
    out = tmp_path / "m.json"
    assert main(["infer", str(table), "--states", "6", "--estimator", "amortized", "--checkpoint", str(ckpt),
                 "--out", str(out)]) == 0
    assert sfj.MarkovJumpModel.load(out).generator.shape == (6, 6)
    assert main(["pretrain", "--out", str(ckpt), "--steps", "0"]) == 2
    capsys.readouterr()
    assert main(["pretrain", "--out", str(ckpt), "--resume", str(ckpt), "--steps", "4"]) == 2
    assert "--resume goes on with the checkpoint's settings; drop --steps" in capsys.readouterr().err
    assert main(["pretrain", "--out", str(tmp_path / "again.pt"), "--resume", str(ckpt)]) == 0
    assert "pretrained 2 steps" in capsys.readouterr().out
    assert torch.load(tmp_path / "again.pt", weights_only=False)["step"] == 2
