"""Tests for vaelib.train: fit lowers the loss, history, reproducibility, checkpoints, evaluate."""

import pytest
import torch

from vaelib.models import conv_vae
from vaelib.train import (
    History,
    adam,
    evaluate,
    evaluating,
    fit,
    load_checkpoint,
    save_checkpoint,
    step_seconds,
)


def small_model():
    return conv_vae(latent_dim=2, encoder_channels=(4, 8), decoder_channels=(8, 4))


@pytest.fixture(scope="module")
def images():
    # blurry blobs at random places: structure a tiny VAE can learn in a few steps
    g = torch.Generator().manual_seed(0)
    centres = torch.rand(96, 2, 1, 1, generator=g) * 16 + 6
    grid = torch.arange(28.0)
    rows, cols = grid.view(1, 28, 1), grid.view(1, 1, 28)
    dist = (cols - centres[:, 1]).pow(2) + (rows - centres[:, 0]).pow(2)  # (96, 28, 28)
    return torch.exp(-dist / 18).unsqueeze(1)  # (96, 1, 28, 28)


def test_a_few_epochs_lower_the_loss(images):
    torch.manual_seed(0)
    model = small_model()
    before = evaluate(model, images)["loss"]
    history = fit(model, images, num_epochs=4, batch_size=16, lr=3e-3, progress=False)
    after = evaluate(model, images)["loss"]
    assert after < before - 10
    assert history.loss[-1] < history.loss[0]


def test_history_records_every_epoch(images):
    torch.manual_seed(0)
    schedule = lambda epoch: 0.5 * epoch
    history = fit(
        small_model(),
        images[:64],
        num_epochs=3,
        batch_size=32,
        beta=schedule,
        x_val=images[64:],
        progress=False,
    )
    assert history.epoch == [1, 2, 3] and history.beta == [0.0, 0.5, 1.0]
    for key in ("loss", "recon", "kl", "val_loss", "val_recon", "val_kl", "seconds"):
        assert len(getattr(history, key)) == 3
    for loss, recon, kl, beta in zip(
        history.val_loss, history.val_recon, history.val_kl, history.beta
    ):
        assert loss == pytest.approx(recon + beta * kl)
    assert history.total_seconds == pytest.approx(sum(history.seconds))


def test_fit_is_reproducible_with_a_seed(images):
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = small_model()
        history = fit(model, images, num_epochs=2, batch_size=32, seed=3, progress=False)
        runs.append((history.loss, model.reconstruct(images[:4])))
    assert runs[0][0] == runs[1][0]
    torch.testing.assert_close(runs[0][1], runs[1][1], rtol=0, atol=0)


def test_checkpoint_round_trip_reproduces_outputs(images, tmp_path):
    torch.manual_seed(0)
    model = small_model()
    history = fit(model, images, num_epochs=1, batch_size=32, progress=False)
    path = save_checkpoint(tmp_path / "ckpt" / "vae.pt", model, history, beta=1.0, note="ch4")
    fresh = small_model()
    assert not torch.equal(fresh.reconstruct(images[:4]), model.reconstruct(images[:4]))
    loaded_history, meta = load_checkpoint(path, fresh)
    fresh.eval()
    torch.testing.assert_close(
        fresh.reconstruct(images[:4]), model.reconstruct(images[:4]), rtol=0, atol=0
    )
    assert loaded_history == history and meta == {"beta": 1.0, "note": "ch4"}


def test_load_checkpoint_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "history": History, "meta": {}}, path)  # a class, not data
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_checkpoint(path, small_model())
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt", small_model())


def test_evaluate_is_deterministic_and_leaves_global_rng_alone(images):
    torch.manual_seed(0)
    model = small_model()
    state = torch.get_rng_state()
    first, second = evaluate(model, images, seed=1), evaluate(model, images, seed=1)
    assert torch.equal(state, torch.get_rng_state())
    assert first == second
    assert first["neg_elbo"] == pytest.approx(first["recon"] + first["kl"])
    beta2 = evaluate(model, images, beta=2.0, seed=1)
    assert beta2["loss"] == pytest.approx(first["recon"] + 2.0 * first["kl"])
    expected_mse = (model.reconstruct(images) - images).pow(2).mean().item()
    assert first["mse"] == pytest.approx(expected_mse, rel=1e-5)


def test_evaluating_restores_training_mode():
    model = small_model().train()
    with evaluating(model):
        assert not model.training and not torch.is_grad_enabled()
    assert model.training and torch.is_grad_enabled()


def test_fit_bad_input_gives_clear_errors(images):
    with pytest.raises(ValueError, match="reshape"):
        fit(small_model(), images.view(-1, 784), num_epochs=1, progress=False)
    with pytest.raises(ValueError, match="num_epochs must be a positive integer"):
        fit(small_model(), images, num_epochs=0, progress=False)


def test_evaluate_scores_a_pixel_mean_model_on_the_summed_elbo(images):
    torch.manual_seed(0)
    model = conv_vae(2, (4, 8), (8, 4), recon_reduction="mean")
    scored = evaluate(model, images, seed=2)
    as_trained = evaluate(model, images, seed=2, loss_fn=lambda m, x, b: m.loss(x, beta=b))
    assert scored["recon"] == pytest.approx(784 * as_trained["recon"], rel=1e-5)
    assert scored["kl"] == pytest.approx(as_trained["kl"], rel=1e-6)


def test_step_seconds_times_a_step_and_restores_the_weights(images):
    torch.manual_seed(0)
    model = small_model().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seconds = step_seconds(model, images[:8], repeats=2)
    assert 0 < seconds < 10
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training


def test_adam_is_fused_on_the_cpu_and_updates_as_the_default_does():
    torch.manual_seed(0)
    weights = [torch.randn(7, 5, requires_grad=True), torch.randn(5, requires_grad=True)]
    copies = [w.detach().clone().requires_grad_() for w in weights]
    start = weights[0].detach().clone()
    fused = adam(weights, 1e-2, "cpu")
    plain = torch.optim.Adam(copies, lr=1e-2)
    assert fused.defaults["fused"] and not plain.defaults["fused"]
    for _ in range(5):
        for group, optimizer in ((weights, fused), (copies, plain)):
            optimizer.zero_grad()
            (group[0].sin().sum() * group[1].cos().sum()).backward()
            optimizer.step()
    for w, c in zip(weights, copies):
        torch.testing.assert_close(w, c, atol=1e-6, rtol=1e-6)
    assert (weights[0] - start).abs().min() > 1e-3  # five steps of 0.01 moved every weight
