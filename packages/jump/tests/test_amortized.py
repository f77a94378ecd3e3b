from __future__ import annotations

import numpy as np
import pytest
import torch

import stochflow.jump as sfj
from stochflow.core.errors import InputError
from stochflow.jump.amortized import SHIPPED, AmortizedConfig, first_halves, load_checkpoint, pretrain


def prior_mean_generator(prior: sfj.GeneratorPrior, S: int) -> torch.Tensor:
    draws, _ = prior.sample(4000, n_states=S, seed=9)
    rate = float(sfj.generators.off_diagonal(draws).mean())
    base = torch.full((S, S), rate, dtype=torch.float64)
    return base - torch.diag(base.sum(-1))


def test_shipped_checkpoint_beats_the_prior_mean_on_held_out_processes():
    prior = sfj.GeneratorPrior()
    est = sfj.AmortizedEstimator()
    diffs = []
    for k in range(16):
        Q, p0 = prior.sample(1, seed=10_000 + k)  # seeds the pretraining stream never draws
        Q, p0 = Q[0], p0[0]
        obs = sfj.simulate(Q, p0, n_paths=100, t_max=10.0, seed=20_000 + k).observe(
            (8, 48), grid="irregular", flip_prob=0.01, seed=k)
        model = est.fit(obs).fetch_model()
        sfj.validate_generator(model.generator)
        diffs.append(float(sfj.rate_rmse(model.generator, Q)) - float(sfj.rate_rmse(prior_mean_generator(prior, Q.shape[-1]), Q)))
    diffs = np.array(diffs)
    # paired over processes: the mean improvement is more than three standard errors
    assert diffs.mean() + 3 * diffs.std(ddof=1) / np.sqrt(len(diffs)) < 0, diffs


@pytest.mark.slow
def test_refined_estimator_is_not_worse_than_plain_em_beyond_noise(dfr):
    refined, plain = [], []
    for seed in range(3):
        obs = sfj.simulate(dfr, n_paths=60, t_max=2.5, seed=300 + seed).observe(
            30, grid="irregular", flip_prob=0.1, seed=seed)
        refined.append(float(sfj.AmortizedEstimator(refine="em").fit(obs).fetch_model().rate_rmse(dfr)))
        plain.append(float(sfj.EMEstimator(progress=False).fit(obs).fetch_model().rate_rmse(dfr)))
    # noise: the standard error of EM's own RMSE across independent data sets
    se = np.std(plain, ddof=1) / np.sqrt(len(plain))
    assert np.mean(refined) - np.mean(plain) < 3 * se, (refined, plain)


def test_refinement_keeps_the_default_prior_where_the_network_predicts_held_out_data_worse(dfr):
    # one DFR path: the small network's prior is worse than EM's own there (its rate RMSE is about
    # 1.0 vs 0.65), and the second half of the path says so; the refined fit is then plain EM
    obs = sfj.simulate(dfr, n_paths=1, t_max=2.5, seed=1000).observe(50, grid="regular")
    est = sfj.AmortizedEstimator(refine="em")
    refined = est.fit(obs).fetch_model()
    assert not bool(est.chosen_)
    assert float(est.heldout_[1]) > float(est.heldout_[0])
    plain = sfj.EMEstimator(progress=False).fit(obs).fetch_model()
    assert torch.equal(refined.generator, plain.generator)
    forced = sfj.AmortizedEstimator(refine="em", select="network").fit(obs).fetch_model()
    assert float(forced.rate_rmse(dfr)) > float(refined.rate_rmse(dfr))


def test_kfold_score_is_the_sum_of_separate_fold_fits_scoring_their_held_out_paths(dfr):
    # 7 paths in 3 folds (3, 2, 2 held out): the batched fit pads the smaller training sets with
    # empty paths, which must change neither the fits nor the scores (EM run to a tight tolerance,
    # as the batched fit stops when its last process converges)
    obs = sfj.simulate(dfr, n_paths=7, t_max=2.5, seed=11).observe(15, seed=4)
    tight = {"noise": 0.0, "tol": 1e-12, "max_iter": 5000}
    est = sfj.AmortizedEstimator(refine="em", folds=3, candidates=("network", "default"), em_options=tight)
    est.fit(obs)
    fold = torch.arange(7) % 3
    t, y, m = obs.tensors()
    part = lambda keep: sfj.Observations(t[keep], y[keep], m[keep], n_states=6, t_max=obs.t_max)
    first = m & (torch.cumsum(m.to(torch.int64), -1) == 1)
    uniform = torch.full((6,), 1 / 6, dtype=torch.float64)
    want = 0.0
    for k in range(3):  # the held-out paths given their first observations (uniform law at time 0)
        f = sfj.EMEstimator(progress=False, **tight).fit(part(fold != k)).fetch_model()
        test = part(fold == k)
        start = sfj.Observations(t[fold == k], y[fold == k], first[fold == k], n_states=6, t_max=obs.t_max)
        want += float(sfj.observation_log_likelihood(test, f.generator, uniform, f.flip_prob)
                      - sfj.observation_log_likelihood(start, f.generator, uniform, f.flip_prob))
    assert float(est.heldout_[1]) == pytest.approx(want, rel=1e-7)
    assert int(est.choice_) == int(torch.as_tensor(est.heldout_).argmax())
    assert bool(est.chosen_) == (int(est.choice_) == 0)


def test_mixed_choices_give_each_process_the_fit_under_its_own_prior(dfr, monkeypatch):
    obs = sfj.simulate(torch.stack([dfr, 2 * dfr]), n_paths=10, t_max=2.5, seed=12).observe(12, seed=5)
    est = sfj.AmortizedEstimator(refine="em", candidates=("default", "empirical"))
    scores = {"default": torch.tensor([0.0, -1.0]), "empirical": torch.tensor([-1.0, 0.0])}
    monkeypatch.setattr(type(est), "_heldout", lambda self, name, flat: scores[name])
    model = est.fit(obs).fetch_model()
    assert est.choice_.tolist() == [0, 1] and not bool(est.chosen_.any())
    t, y, m = obs.tensors()
    for b, prior in ((0, sfj.GammaPrior(1.5, 1.0)), (1, "empirical")):
        one = sfj.Observations(t[b], y[b], m[b], n_states=6, t_max=obs.t_max)
        alone = sfj.EMEstimator(prior=prior, progress=False).fit(one).fetch_model()
        torch.testing.assert_close(model.generator[b], alone.generator, rtol=1e-6, atol=1e-8)
        torch.testing.assert_close(model.flip_prob[b], alone.flip_prob, rtol=1e-6, atol=1e-10)


def test_first_halves_keep_the_first_ceil_half_of_each_path():
    times = np.array([[0.1, 0.2, 0.3, 0.0], [0.5, 1.0, 1.5, 2.0]])
    states = np.array([[0, 1, 1, 0], [1, 1, 0, 0]])
    mask = np.array([[True, True, True, False], [True, True, True, True]])
    first = first_halves(sfj.Observations(times, states, mask, n_states=2, t_max=2.0))
    assert first.mask.tolist() == [[True, True, False, False], [True, True, False, False]]
    assert first.t_max == 1.0


def test_pretraining_pipeline_writes_a_loadable_checkpoint_with_its_config(tmp_path):
    config = AmortizedConfig(d_model=16, n_heads=2, batch_size=2, steps=4, n_paths=(4, 6), n_times=(4, 8), seed=3)
    path = tmp_path / "tiny.pt"
    net = pretrain(config, out=path, every=2, progress=False)
    loaded = load_checkpoint(path)
    assert loaded.config == config
    for a, b in zip(net.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    data = torch.load(path, weights_only=False)
    assert len(data["history"]) == 4 and data["stamp"]["package"] == "stochflow-jump"
    # same seed, same network
    again = pretrain(config, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    obs = sfj.simulate(sfj.random_generator(3, seed=1), n_paths=5, t_max=10.0, seed=0).observe(6, seed=0)
    model = sfj.AmortizedEstimator(path).fit(obs).fetch_model()
    assert model.generator.shape == (3, 3) and model.generator_std.shape == (3, 3)


def test_pretraining_stopped_and_resumed_equals_one_run_straight_through(tmp_path):
    config = AmortizedConfig(d_model=16, n_heads=2, batch_size=2, steps=4, n_paths=(4, 6), n_times=(4, 8), seed=5)
    path = tmp_path / "half.pt"
    pretrain(config, out=path, every=10, progress=False, stop_after=2)
    assert torch.load(path, weights_only=False)["step"] == 2
    resumed = pretrain(out=path, every=10, progress=False, resume=path)  # config from the checkpoint
    straight = pretrain(config, out=tmp_path / "straight.pt", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), straight.state_dict().values()))
    assert (torch.load(path, weights_only=False)["history"]
            == torch.load(tmp_path / "straight.pt", weights_only=False)["history"])
    with pytest.raises(InputError, match="config"):
        pretrain(AmortizedConfig(d_model=16, n_heads=2, steps=4, seed=6), resume=path)
    with pytest.raises(InputError, match="optimiser"):  # the shipped checkpoint is a finished network
        pretrain(resume=SHIPPED)
    with pytest.raises(InputError, match="checkpoint"):
        pretrain(resume=tmp_path / "missing.pt")
    with pytest.raises(InputError, match="device"):
        pretrain(config, device="abacus")


def test_amortized_outputs_follow_numpy_and_batches(dfr):
    obs = sfj.simulate(torch.stack([dfr, dfr]).numpy(), n_paths=20, t_max=2.5, seed=0).observe(20, seed=1)
    model = sfj.AmortizedEstimator().fit(obs).fetch_model()
    assert isinstance(model.generator, np.ndarray) and model.generator.shape == (2, 6, 6)
    np.testing.assert_allclose(model.initial_distribution.sum(-1), 1.0, atol=1e-6)


def test_amortized_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="refine"):
        sfj.AmortizedEstimator(refine="mcmc")
    with pytest.raises(InputError, match="select"):
        sfj.AmortizedEstimator(refine="em", select="evidence")
    with pytest.raises(InputError, match="folds"):
        sfj.AmortizedEstimator(refine="em", folds=1)
    with pytest.raises(InputError, match="candidates"):
        sfj.AmortizedEstimator(refine="em", candidates=("network", "oracle"))
    with pytest.raises(InputError, match="candidates"):
        sfj.AmortizedEstimator(refine="em", candidates=())
    obs = sfj.simulate(sfj.random_generator(3, seed=1), n_paths=5, t_max=1.0, seed=0).observe(6, seed=0)
    with pytest.raises(InputError, match="pretrain"):
        sfj.AmortizedEstimator(tmp_path / "missing.pt").fit(obs)
    big = sfj.simulate(sfj.random_generator(7, seed=1), n_paths=5, t_max=1.0, seed=0).observe(6, seed=0)
    with pytest.raises(InputError, match="states"):
        sfj.AmortizedEstimator().fit(big)
