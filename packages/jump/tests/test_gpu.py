"""device="cuda": amortised pretraining trains on the GPU and its checkpoint loads and resumes on
the CPU (run by `nox -s gpu`; skipped with a reason elsewhere)."""

import pytest
import torch

from stochflow.jump.amortized import AmortizedConfig, load_checkpoint, pretrain


@pytest.mark.gpu
def test_pretraining_on_cuda_resumes_on_cpu(tmp_path):
    config = AmortizedConfig(d_model=16, n_heads=2, batch_size=4, steps=6, n_paths=(4, 8), n_times=(4, 8), seed=1)
    path = tmp_path / "gpu.pt"
    net = pretrain(config, out=path, progress=False, stop_after=3, device="cuda")
    assert next(net.parameters()).device.type == "cuda"
    assert load_checkpoint(path).config == config  # CPU tensors inside
    cpu = pretrain(out=path, progress=False, resume=path, device="cpu")
    assert next(cpu.parameters()).device.type == "cpu"
    history = torch.load(path, weights_only=False)["history"]
    assert len(history) == 6 and all(map(torch.isfinite, torch.tensor(history)))
