"""Finiteness checks off the CPU wait on the device (no host sync per evaluation); here the deferred
path is forced on the CPU: the error still names the first bad step, and finite runs are unchanged."""

import pytest
import torch

import stochflow.diffusion as sfd
import stochflow.diffusion._model as model
from stochflow.core.errors import InputError
from stochflow.diffusion.testing import GaussianMixture

VP = sfd.VPSDE()
GM = GaussianMixture([0.5, 0.5], [[-2.0, 0.0], [2.0, 0.0]], [0.1, 0.1])


def _nan_late(x, t):
    s = GM.score(x, t, VP)
    return s * float("nan") if float(t[0]) < 0.5 else s


def _message(fn):
    with pytest.raises(InputError, match=r"NaN or inf at step \d+ \(t=") as e:
        fn()
    return str(e.value)


@pytest.mark.parametrize("solver", ["dpm-solver++2m", "heun", "pf-ode", "reverse-sde"])
def test_deferred_nan_names_the_same_step_as_the_immediate_check(monkeypatch, solver):
    def run():
        return sfd.sample(_nan_late, VP, (4, 2), solver=solver, steps=6, grid="uniform")

    def fill():
        return sfd.inpaint(_nan_late, VP, torch.zeros(4, 2), torch.tensor([[1.0, 0.0]] * 4), steps=6)

    now = _message(run), _message(fill)
    monkeypatch.setattr(model, "defer_checks", lambda device: True)
    assert (_message(run), _message(fill)) == now


def test_deferred_checks_leave_finite_samples_unchanged(monkeypatch):
    plain = sfd.sample(GM.score_fn(VP), VP, (64, 2), solver="dpm-solver++3m", steps=40, seed=3).samples
    monkeypatch.setattr(model, "defer_checks", lambda device: True)
    late = sfd.sample(GM.score_fn(VP), VP, (64, 2), solver="dpm-solver++3m", steps=40, seed=3).samples
    assert torch.equal(plain, late)
