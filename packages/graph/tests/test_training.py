from __future__ import annotations

import pytest
import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.graph import datasets
from stochflow.graph.batch import GraphBatch
from stochflow.graph.model import GraphScoreModel
from stochflow.graph.training import GDSSTrainer, default_nets


@pytest.fixture(scope="module")
def graphs():
    return datasets.community_small(24, seed=0, min_nodes=8, max_nodes=10)


def _trainer(**kw):
    return GDSSTrainer(size="tiny", batch_size=8, lr=5e-3, ema_decay=0.9, progress_bar=False, **kw)


def test_resume_reproduces_an_uninterrupted_run(graphs, tmp_path):
    # lr_decay: the learning-rate schedule is part of the checkpoint too
    full = _trainer(iterations=6, seed=3, lr_decay=0.5).fit(graphs)
    _trainer(iterations=3, seed=3, lr_decay=0.5, checkpoint=tmp_path / "c.pt", checkpoint_every=3).fit(graphs)
    resumed = _trainer(iterations=6, seed=3, lr_decay=0.5, checkpoint=tmp_path / "c.pt",
                       checkpoint_every=3).fit(graphs)
    assert resumed.losses_ == full.losses_ and resumed.step_ == 6
    for a, b in zip(full.fetch_model().state_dict().values(), resumed.fetch_model().state_dict().values()):
        assert torch.equal(a, b)
    other = _trainer(iterations=6, seed=4, lr_decay=0.5).fit(graphs)
    assert other.losses_ != full.losses_
    constant = _trainer(iterations=6, seed=3).fit(graphs)
    assert constant.losses_[:2] == full.losses_[:2] and constant.losses_[2:] != full.losses_[2:]


def test_warmup_schedule_is_linear_then_the_decay():
    from stochflow.graph.training import _schedule

    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    sched = _schedule(opt, 0.9, 4)
    seen = []
    for _ in range(7):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [0.1 * min(1.0, (k + 1) / 4) * 0.9**k for k in range(7)]
    assert seen == pytest.approx(expected, rel=1e-12)
    assert seen[0] == pytest.approx(0.025) and seen[3] == pytest.approx(0.1 * 0.9**3)


def test_resume_in_the_middle_of_the_warmup_reproduces_an_uninterrupted_run(graphs, tmp_path):
    full = _trainer(iterations=6, seed=3, warmup=5, lr_decay=0.9).fit(graphs)
    _trainer(iterations=3, seed=3, warmup=5, lr_decay=0.9, checkpoint=tmp_path / "w.pt", checkpoint_every=3).fit(graphs)
    resumed = _trainer(iterations=6, seed=3, warmup=5, lr_decay=0.9, checkpoint=tmp_path / "w.pt",
                       checkpoint_every=3).fit(graphs)
    assert resumed.losses_ == full.losses_
    no_warmup = _trainer(iterations=6, seed=3, lr_decay=0.9).fit(graphs)
    assert no_warmup.losses_[0] == full.losses_[0] and no_warmup.losses_[1:] != full.losses_[1:]


def test_a_batch_as_large_as_the_data_is_the_whole_training_set(graphs):
    """batch_size >= len(data) trains on every graph once per step (GDSS's full batches), not on a
    draw with replacement: any such batch size gives the same run."""
    exact = GDSSTrainer(size="tiny", iterations=4, batch_size=len(graphs), seed=1, progress_bar=False).fit(graphs)
    larger = GDSSTrainer(size="tiny", iterations=4, batch_size=10 * len(graphs), seed=1, progress_bar=False).fit(graphs)
    assert exact.losses_ == larger.losses_
    smaller = GDSSTrainer(size="tiny", iterations=4, batch_size=len(graphs) - 1, seed=1, progress_bar=False).fit(graphs)
    assert smaller.losses_ != exact.losses_


def test_the_ema_warms_up_instead_of_keeping_the_initial_weights(graphs):
    """After one step the EMA holds 2/11 of the initial weights and 9/11 of the trained ones (the
    warm-up of score_sde's EMA, which GDSS uses). A constant 0.999 kept 99.9 % of the random
    initialisation, so a short run sampled from a shrunken network (ε̂ too small by 1.6-2.7 after
    600 steps)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net_x, net_a = default_nets(GraphBatch.from_networkx(graphs).n_features, "tiny")
    nets = [*net_x.parameters(), *net_a.parameters()]
    init = [p.detach().clone() for p in nets]
    tr = GDSSTrainer(net_x=net_x, net_a=net_a, iterations=1, ema_decay=0.999, progress_bar=False).fit(graphs)
    ema = list(tr.fetch_model().parameters())
    assert len(ema) == len(nets)
    for e, i, r in zip(ema, init, nets):
        assert not torch.equal(r, i) or r.abs().max() == 0
        assert torch.allclose(e, 2 / 11 * i + 9 / 11 * r.detach(), atol=1e-7)


def test_training_lowers_both_losses(graphs):
    tr = _trainer(iterations=100, seed=0).fit(graphs)
    first = torch.tensor(tr.losses_[:20]).mean(0)
    last = torch.tensor(tr.losses_[-20:]).mean(0)
    assert (last < 0.85 * first).all(), (first, last)


def test_saved_model_reloads_and_samples_identically(graphs, tmp_path):
    model = _trainer(iterations=3, seed=0).fit(graphs).fetch_model()
    path = model.save(tmp_path / "run" / "model.pt")
    loaded = GraphScoreModel.load(tmp_path / "run")
    a = model.sample(4, solver="graph-s4", steps=5, seed=11)
    b = loaded.sample(4, solver="graph-s4", steps=5, seed=11)
    assert torch.equal(a.A, b.A) and torch.equal(a.X, b.X) and torch.equal(a.mask, b.mask)
    assert set(a.mask.sum(1).tolist()) <= set(range(8, 11))
    with pytest.raises(InputError, match="no saved graph model"):
        GraphScoreModel.load(tmp_path / "missing.pt")
    torch.save({"stamp": {"class": "x.Y"}}, tmp_path / "bad.pt")
    with pytest.raises(InputError):
        GraphScoreModel.load(tmp_path / "bad.pt")
    assert path.exists()


def test_networks_without_a_time_input_train_save_and_reload(graphs, tmp_path):
    """``time_conditioning=False`` (GDSS's networks): the trained ε-networks ignore ``t``, the choice is
    saved with the model, and the reloaded model samples identically."""
    model = _trainer(iterations=3, seed=0, time_conditioning=False).fit(graphs).fetch_model()
    assert not model.net_x.time_conditioning and not model.net_a.time_conditioning
    full = GraphBatch.from_networkx(graphs)
    b = GraphBatch(full.X[:4], full.A[:4], full.mask[:4])
    t1, t2 = torch.full((4,), 0.1, dtype=b.A.dtype), torch.full((4,), 0.9, dtype=b.A.dtype)
    for net in (model.net_x, model.net_a):
        assert torch.equal(net(b.X, b.A, b.mask, t1), net(b.X, b.A, b.mask, t2))
    timed = _trainer(iterations=3, seed=0).fit(graphs).fetch_model()
    assert not torch.equal(timed.net_a(b.X, b.A, b.mask, t1), timed.net_a(b.X, b.A, b.mask, t2))
    loaded = GraphScoreModel.load(model.save(tmp_path / "model.pt"))
    assert not loaded.net_x.time_conditioning and not loaded.net_a.time_conditioning
    a, c = model.sample(4, solver="graph-s4", steps=5, seed=2), loaded.sample(4, solver="graph-s4", steps=5, seed=2)
    assert torch.equal(a.A, c.A) and torch.equal(a.X, c.X)


def test_trainer_bad_input(graphs):
    with pytest.raises(InputError, match="iterations"):
        GDSSTrainer(iterations=0).fit(graphs)
    with pytest.raises(InputError, match="node budget"):
        GDSSTrainer(max_nodes=5).fit(graphs)
    with pytest.raises(InputError, match="empty"):
        GDSSTrainer().fit([])
    with pytest.raises(InputTypeError):
        GDSSTrainer().fit("community-small")
    with pytest.raises(InputError, match="lr_decay"):
        GDSSTrainer(lr_decay=0.0).fit(graphs)
    for bad in (-1, 2.5, True):
        with pytest.raises(InputError, match="warmup"):
            GDSSTrainer(warmup=bad).fit(graphs)
    with pytest.raises(InputError, match="prior"):
        GDSSTrainer(prior="normal").fit(graphs)
    with pytest.raises(InputTypeError, match="time_conditioning"):
        GDSSTrainer(time_conditioning="no").fit(graphs)
    with pytest.raises(InputError, match="size"):
        GDSSTrainer(size="huge").fit(graphs)
    with pytest.raises(InputError, match="both"):
        GDSSTrainer(net_x=torch.nn.Linear(2, 2)).fit(graphs)
    b = GraphBatch.from_networkx(graphs)
    with pytest.raises(InputError, match="more than max_nodes"):
        GDSSTrainer(max_nodes=6).fit(b)
