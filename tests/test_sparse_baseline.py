"""Tests for vaelib.sparse_baseline, vaelib.sparse_forces and chapter 7's claims at a small size."""

import math

import pytest
import torch

from vaelib import sparse as sp
from vaelib import sparse_baseline as sb
from vaelib import sparse_forces as sf
from vaelib import sparse_metrics as sm
from vaelib.data import load_mnist


@pytest.fixture(scope="module")
def mnist():
    data = load_mnist(n_train=1024, n_test=512, verbose=False)
    flat = lambda x: x.reshape(len(x), -1)  # (N, 1, 28, 28) -> (N, 784)
    return flat(data.x_train), data.y_train, flat(data.x_test), data.y_test


# --- the practitioner's SAE ----------------------------------------------------------------


def test_decoder_columns_are_unit_norm_after_training(mnist):
    x = mnist[0]
    sae, history = sb.train_sae_unit_norm(x, width=8, l1=0.1, num_epochs=1, batch_size=128)
    norms = sae.decoder.weight.norm(dim=0)  # (784, 8): one column per unit
    assert torch.allclose(norms, torch.ones(8), atol=1e-5)
    assert len(history) == 1 and math.isfinite(history[0])


def test_normalise_decoder_rescales_columns_and_keeps_directions():
    torch.manual_seed(0)
    sae = sp.SparseAutoencoder(6, 3)
    before = sae.decoder.weight.detach().clone()  # (6, 3)
    sb.normalise_decoder_(sae)
    after = sae.decoder.weight.detach()
    expected = before / before.norm(dim=0, keepdim=True)
    assert torch.allclose(after, expected, atol=1e-7)


def test_after_step_hook_runs_once_per_step():
    calls = []
    x = torch.rand(40, 5)
    enc = sp.Encoder(5, 2)
    loss_fn = lambda model, xb: model(xb).pow(2).mean()
    sp._train(enc, x, loss_fn, 2, 16, 1e-3, 0, after_step=lambda m: calls.append(m))
    assert len(calls) == 2 * (40 // 16)  # 2 full batches per epoch, 2 epochs


# --- random features -----------------------------------------------------------------------


def test_random_encoder_fires_at_the_requested_rate(mnist):
    x = mnist[0]
    for rate in (0.2, 0.7):
        enc = sb.random_relu_encoder(x, width=16, rate=rate, seed=3)
        share = sm.activity_rate(enc(x).detach())  # (16,)
        assert (share - rate).abs().max() < 2 / len(x) + 1e-9


def test_random_encoder_without_rate_is_the_training_initialisation(mnist):
    x = mnist[0][:300]
    enc = sb.random_relu_encoder(x, width=8, seed=5)
    trained0, _ = sp.train_encoder(x, width=8, num_epochs=0, batch_size=100, seed=5)
    assert torch.equal(enc.linear.weight, trained0.linear.weight)
    assert torch.equal(enc.linear.bias, trained0.linear.bias)


def test_random_encoder_rejects_a_bad_rate():
    with pytest.raises(ValueError, match="rate"):
        sb.random_relu_encoder(torch.rand(10, 4), width=2, rate=1.0)


# --- the least-squares readout -------------------------------------------------------------


def test_readout_recovers_an_exact_linear_map():
    torch.manual_seed(0)
    a = torch.rand(200, 5, dtype=torch.float64)
    m, c = torch.randn(5, 7, dtype=torch.float64), torch.randn(7, dtype=torch.float64)
    x = a @ m + c
    assert sb.readout_explained_variance(a[:150], x[:150], a[150:], x[150:]) == pytest.approx(1.0)


def test_readout_matches_normal_equations_and_handles_a_dead_unit():
    torch.manual_seed(1)
    a = torch.rand(300, 4, dtype=torch.float64)
    a[:, 2] = 0.0  # a dead unit: the design matrix is rank deficient
    x = torch.randn(300, 6, dtype=torch.float64) + a @ torch.randn(4, 6, dtype=torch.float64)
    keep = torch.cat([a[:, [0, 1, 3]], torch.ones(300, 1, dtype=torch.float64)], dim=1)
    coef = torch.linalg.solve(keep[:200].T @ keep[:200], keep[:200].T @ x[:200])
    expected = sm.explained_variance(x[200:], keep[200:] @ coef)
    got = sb.readout_explained_variance(a[:200], x[:200], a[200:], x[200:])
    assert got == pytest.approx(expected, abs=1e-9)
    assert got < 1.0


def test_codes_refuses_other_models():
    with pytest.raises(TypeError, match="Encoder"):
        sb.codes(torch.nn.Linear(3, 2), torch.rand(4, 3))


# --- which way the terms move the prototypes -----------------------------------------------


def test_lse_gradient_is_zero_for_the_silent_unit_that_fits():
    r, grad = sf.lse_preactivation_gradient([[-0.5, 1.0, 2.0]])
    z = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)  # the energies after the ReLU
    assert torch.allclose(r[0], torch.softmax(-z, dim=0))
    assert grad[0, 0] == 0.0  # the unit with the largest responsibility gets nothing
    assert torch.allclose(grad[0, 1:], r[0, 1:])
    assert r[0].argmax() == 0


def test_energy_shift_matches_a_finite_difference_step():
    torch.manual_seed(2)
    enc = sp.Encoder(6, 3).double()
    x = torch.rand(50, 6, dtype=torch.float64)
    for term in sf.TERMS:
        dz, _ = sf.energy_shift(enc, x, term)
        step = 1e-6
        moved = sp.Encoder(6, 3).double()
        moved.load_state_dict(enc.state_dict())
        moved.zero_grad()
        sf.TERMS[term](moved(x)).backward()
        with torch.no_grad():
            for p in moved.parameters():
                p -= step * p.grad
            shift = (moved.linear(x) - enc.linear(x)) / step  # (50, 3)
        assert torch.allclose(dz, shift, atol=1e-4), term


def test_lse_on_linear_energies_lowers_every_energy_of_nonnegative_inputs():
    # dz_j(x_m) = -sum_n r_nj (x_n . x_m + 1) < 0 whenever the inputs are non-negative.
    torch.manual_seed(3)
    dz, explained = sf.energy_shift(sp.Encoder(8, 4), torch.rand(64, 8), "lse", linear=True)
    assert (dz < 0).all()
    assert explained.sum(dim=1).eq(1).all()  # one explaining unit per input


def test_direction_summary_on_a_hand_example():
    dz = torch.tensor([[-2.0, 1.0], [-1.0, 2.0]])
    explained = torch.tensor([[True, False], [True, False]])
    out = sf.direction_summary(dz, explained)
    rms = math.sqrt((4 + 1 + 1 + 4) / 4)
    assert out["explained"] == pytest.approx(-1.5 / rms)
    assert out["other"] == pytest.approx(1.5 / rms)
    assert out["share_down"] == 1.0
    with pytest.raises(ValueError, match="explained"):
        sf.direction_summary(dz, torch.ones(2, 2, dtype=torch.bool))


def test_energy_shift_rejects_an_unknown_term():
    with pytest.raises(ValueError, match="term"):
        sf.energy_shift(sp.Encoder(4, 2), torch.rand(5, 4), "kl")


def test_a_unit_silent_on_the_whole_batch_gets_no_gradient_from_any_term():
    # Chapter 7: the variance term can prevent a death, not undo one.
    torch.manual_seed(4)
    enc = sp.Encoder(10, 4)
    with torch.no_grad():
        enc.linear.bias[1] = -100.0  # unit 1 is silent on every input in [0, 1]^10
    sp.implicit_em_loss(enc(torch.rand(64, 10)), lambda_var=0.01, lambda_tc=0.01).backward()
    assert enc.linear.weight.grad[1].abs().max() == 0 and enc.linear.bias.grad[1] == 0
    assert enc.linear.weight.grad[0].abs().max() > 0  # the live units do get a gradient


# --- chapter 7's claims at a small size ----------------------------------------------------

SMALL = dict(width=16, num_epochs=4, batch_size=128)


def _probe(model, mnist):
    x, y, x_test, y_test = mnist
    return sm.probe_accuracy(sb.codes(model, x), y, sb.codes(model, x_test), y_test, max_iter=30)


def test_without_the_variance_term_the_sparse_code_never_works(mnist):
    x = mnist[0]
    probes = {}
    for lambda_var in (0.0, 0.01):
        for lambda_tc in (0.0, 0.01):
            for seed in (0, 1):
                enc, _ = sp.train_encoder(
                    x, lambda_var=lambda_var, lambda_tc=lambda_tc, lr=3e-3, seed=seed, **SMALL
                )
                probes[lambda_var, lambda_tc, seed] = _probe(enc, mnist)
                if lambda_var == lambda_tc == 0.0:  # LSE alone: every unit dies
                    assert sm.dead_units(sb.codes(enc, mnist[2])) == SMALL["width"]
    without = [p for (lv, _, _), p in probes.items() if lv == 0.0]
    with_var = [p for (lv, _, _), p in probes.items() if lv > 0.0]
    assert max(without) < min(with_var) - 0.2, probes


def test_encoder_probe_is_close_to_the_sae_and_both_beat_random_features(mnist):
    x = mnist[0]
    enc = [sp.train_encoder(x, lr=3e-3, seed=s, **SMALL)[0] for s in (0, 1)]
    sae = [sb.train_sae_unit_norm(x, l1=0.2, lr=1e-3, seed=s, **SMALL)[0] for s in (0, 1)]
    rand = [sb.random_relu_encoder(x, width=16, rate=0.6, seed=s) for s in (0, 1)]
    enc_p, sae_p, rand_p = ([_probe(m, mnist) for m in group] for group in (enc, sae, rand))
    mean = lambda values: sum(values) / len(values)
    assert abs(mean(enc_p) - mean(sae_p)) < 0.05, (enc_p, sae_p)
    assert min(enc_p + sae_p) > max(rand_p) + 0.1, (enc_p, sae_p, rand_p)


def test_runs_train_each_setting_once_and_share_the_model():
    x = torch.rand(64, 6)
    runs = sb.Runs(x, width=3, num_epochs=2, batch_size=32)
    first = runs.encoder(lambda_lse=1.0, seed=0)
    assert runs.encoder(seed=0, lambda_lse=1.0) is first  # keyword order does not matter
    assert runs.encoder(lambda_lse=0.5, seed=0) is not first
    sae = runs.sae(l1=0.1)
    assert isinstance(sae, sp.SparseAutoencoder) and len(runs) == 3
    assert len(runs.history(first)) == 2 and runs.cpu_seconds > 0
    with pytest.raises(KeyError):
        runs.history(sp.Encoder(6, 3))
