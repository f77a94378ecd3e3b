import pytest
import torch

import stochflow.diffusion as sfd

torch.set_num_threads(1)  # the machine is shared; intra-op threads only add contention here


@pytest.fixture(params=["vp", "subvp", "ve", "mr"])
def any_sde(request):
    return {
        "vp": lambda: sfd.VPSDE(),
        "subvp": lambda: sfd.SubVPSDE(),
        "ve": lambda: sfd.VESDE(sigma_min=0.01, sigma_max=20.0),
        "mr": lambda: sfd.MeanRevertingSDE(theta_min=0.2, theta_max=8.0, stationary_std=1.5,
                                           mu=torch.tensor([0.5, -1.0], dtype=torch.float64)),
    }[request.param]()


@pytest.fixture(params=[torch.float32, torch.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param
