"""Tests for vaelib.compare (the fair-comparison protocol) and vaelib.latent_geometry."""

import math

import pytest
import torch

from vaelib import blur, compare, latent_geometry
from vaelib.elbo import log_importance_weights
from vaelib.models import VAE, MLPDecoder, MLPEncoder, mlp_vae
from vaelib.train import History


@pytest.fixture
def images():
    return torch.rand(60, 1, 28, 28, generator=torch.Generator().manual_seed(0)).round()


def small_vae():
    return VAE(MLPEncoder(2, 16), MLPDecoder(2, 16))


def test_iwae_scores_agree_with_the_log_weights_and_order(images):
    torch.manual_seed(0)
    model = small_vae()
    scores = compare.iwae_scores(model, images, num_samples=16, batch_size=25, seed=3)
    # The same K samples, drawn directly: -mean log w and -log mean w, in float64.
    torch.manual_seed(3)
    with torch.no_grad():
        parts = []
        for batch in images.split(25):
            mu, log_var = model.encode(batch)
            parts.append(log_importance_weights(model.log_likelihood, batch, mu, log_var, 16))
    log_w = torch.cat(parts, dim=1)  # (K, N)
    assert scores["neg_elbo"] == pytest.approx(-log_w.mean().item(), rel=1e-9)
    iwae = (torch.logsumexp(log_w, 0) - math.log(16)).mean().item()
    assert scores["neg_iwae"] == pytest.approx(-iwae, rel=1e-9)
    assert scores["neg_iwae"] < scores["neg_elbo"]  # Jensen, on every draw


def test_iwae_with_one_sample_is_the_elbo(images):
    torch.manual_seed(0)
    scores = compare.iwae_scores(small_vae(), images, num_samples=1)
    assert scores["neg_iwae"] == pytest.approx(scores["neg_elbo"], rel=1e-12)
    with pytest.raises(ValueError, match="num_samples"):
        compare.iwae_scores(small_vae(), images, num_samples=0)


def test_choose_lr_keeps_the_lowest_final_validation_loss(images):
    # lr 0 cannot move the weights, so its validation loss stays where it started: worse.
    best, runs = compare.choose_lr(
        "mlp", small_vae, images[:40], images[40:], [0.0, 3e-3], num_epochs=3
    )
    assert best == 3e-3 and set(runs) == {0.0, 3e-3}
    assert runs[3e-3].final_val < runs[0.0].final_val
    with pytest.raises(ValueError, match="at least one"):
        compare.choose_lr("mlp", small_vae, images, images, [], num_epochs=1)


def test_compare_runs_every_seed_at_the_chosen_lr(images):
    results = compare.compare(
        {"mlp": small_vae},
        images[:40],
        images[40:50],
        images[50:],
        lrs=[1e-3, 3e-3],
        seeds=(0, 5),
        num_epochs=2,
        num_samples=4,
    )
    result = results["mlp"]
    assert [run.seed for run in result.runs] == [0, 5]
    assert all(run.lr == result.lr for run in result.runs)
    assert result.sweep[result.lr] == result.runs[0].history.val_loss  # seed 0 is shared
    assert result.curves().shape == (2, 2) and result.elapsed().shape == (2,)
    assert result.test_values("neg_iwae").shape == (2,)
    assert result.num_params == sum(p.numel() for p in small_vae().parameters())
    # Different seeds give different runs.
    assert result.runs[0].history.val_loss != result.runs[1].history.val_loss


def test_a_shorter_screen_chooses_the_rate_and_every_seed_trains_in_full(images, monkeypatch):
    trained = []  # the epochs of every call to fit
    fit = compare.fit
    monkeypatch.setattr(
        compare, "fit", lambda *a, **k: trained.append(k["num_epochs"]) or fit(*a, **k)
    )
    # lr 0 cannot move the weights: the one-epoch screen must reject it.
    kwargs = dict(lrs=[0.0, 3e-3], seeds=(0, 5), num_samples=4, batch_size=8)
    results = compare.compare(
        {"long": small_vae, "short": small_vae},
        images[:40],
        images[40:50],
        images[50:],
        num_epochs={"long": 3, "short": 1},
        screen_epochs=1,
        **kwargs,
    )
    for name, epochs in (("long", 3), ("short", 1)):
        result = results[name]
        assert result.lr == 3e-3 and [run.seed for run in result.runs] == [0, 5]
        assert all(len(v) == 1 for v in result.sweep.values())  # the screen: one epoch per rate
        assert result.curves().shape == (2, epochs)
    # Trained for one epoch, seed 0's run is the screen's run; trained for three, it is retrained
    # from the same seed, so its first epoch repeats the screen's.
    assert trained == [1, 1, 3, 3] + [1, 1, 1]  # "long": screen, seeds 0 and 5; "short": no seed 0
    assert results["short"].sweep[3e-3] == results["short"].runs[0].history.val_loss
    long = results["long"].runs[0].history.val_loss
    assert long[0] == pytest.approx(results["long"].sweep[3e-3][0], rel=1e-6)
    assert long[-1] < long[0]
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="screen_epochs must be a positive integer"):
            compare.compare(
                {"m": small_vae}, images, images, images, screen_epochs=bad, **kwargs, num_epochs=2
            )
    with pytest.raises(ValueError, match=r"longer than the training of \{'m': 2\}"):
        compare.compare(
            {"m": small_vae}, images, images, images, screen_epochs=3, num_epochs=2, **kwargs
        )


def test_best_within_and_at_epoch():
    def run(losses, seconds):
        history = History(val_loss=list(losses), seconds=list(seconds))
        return compare.Run("m", 1e-3, 0, history)

    result = compare.ModelResult(
        "m", 1e-3, {}, [run([5, 3, 4], [1, 1, 1]), run([7, 6, 2], [2, 2, 2])], 1
    )
    assert compare.best_within(result, 2.0) == pytest.approx((3 + 7) / 2)
    assert math.isnan(compare.best_within(result, 0.5))
    mean, std = compare.at_epoch(result, 3)
    assert mean == pytest.approx(3.0) and std == pytest.approx(math.sqrt(2.0))


def test_class_separation_on_known_clusters():
    # Two classes, centres 10 apart, each spread +-1 on one axis: RMS spread 1, ratio 10.
    mu = torch.tensor([[-1.0, 0], [1, 0], [9, 0], [11, 0]])
    y = torch.tensor([0, 0, 1, 1])
    sep = latent_geometry.class_separation(mu, y)
    torch.testing.assert_close(sep["spread"], torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(sep["ratio"], torch.full((2,), 10.0, dtype=torch.float64))
    assert sep["nearest_class"].tolist() == [1, 0]
    with pytest.raises(ValueError, match="one label per code"):
        latent_geometry.class_separation(mu, y[:3])


def test_nearest_distance_against_a_brute_force_loop(images):
    queries = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    got = latent_geometry.nearest_distance(queries, images, batch_size=3)
    expected = torch.stack([min((q - r).pow(2).mean().sqrt() for r in images) for q in queries])
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert latent_geometry.nearest_distance(images[:4], images).max() < 1e-3  # itself


def test_path_points_lie_strictly_between_the_pairs():
    mu = torch.tensor([[0.0, 0.0], [4.0, 8.0], [1.0, 1.0]])
    pairs = torch.tensor([[0, 1]])
    points = latent_geometry.path_points(mu, pairs, num_steps=3)
    torch.testing.assert_close(points, torch.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]))
    pairs = latent_geometry.random_pairs(3, 50)
    assert (pairs[:, 0] != pairs[:, 1]).all() and pairs.max() < 3


def test_hole_ratio_is_one_when_every_point_decodes_to_the_same_image(images):
    class Constant(VAE):  # decodes every z to the same image: no point is further than another
        def decode(self, z):
            return images[:1].expand(len(z), -1, -1, -1)

    model = Constant(MLPEncoder(2, 8), MLPDecoder(2, 8))
    mu = torch.randn(20, 2)
    scores = latent_geometry.hole_ratio(model, mu, images[1:], num_pairs=5, num_steps=2)
    assert scores["ratio"] == pytest.approx(1.0)


def test_neighbour_summary_matches_neighbour_images(images):
    codes = torch.randn(60, 2, generator=torch.Generator().manual_seed(2))
    queries = codes[:3]
    decoded = images[:3]
    summary = blur.neighbour_summary(codes, images, queries, decoded, k=5)
    gaps = []
    for q, d in zip(queries, decoded):
        _, mean, median = blur.neighbour_images(codes, images, q, k=5)
        gaps.append(((d - mean).pow(2).mean().sqrt(), (d - median).pow(2).mean().sqrt()))
    assert summary["to_mean"] == pytest.approx(sum(g[0] for g in gaps).item() / 3, rel=1e-5)
    assert summary["to_median"] == pytest.approx(sum(g[1] for g in gaps).item() / 3, rel=1e-5)
    assert summary["sharp_decoded"] == pytest.approx(blur.sharpness(decoded))


def test_mlp_vae_is_the_pytorch_example_network():
    model = mlp_vae()
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(400, 784), (400,), (40, 400), (40,), (400, 20), (400,), (784, 400), (784,)]


def test_digit_classifier_separates_two_patterns_and_accuracy_counts():
    generator = torch.Generator().manual_seed(0)
    left = torch.zeros(20, 1, 28, 28)
    left[..., :14] = 1
    right = torch.zeros(20, 1, 28, 28)
    right[..., 14:] = 1
    x = torch.cat([left, right]) + 0.1 * torch.rand(40, 1, 28, 28, generator=generator)
    y = torch.cat([torch.zeros(20), torch.ones(20)]).long()
    classifier = latent_geometry.digit_classifier(x, y, num_steps=50)
    assert latent_geometry.accuracy(classifier, x, y) == 1.0
    assert latent_geometry.accuracy(classifier, x, 1 - y) == 0.0


def test_lr_sweep_draws_a_diverged_rate_on_the_capped_edge_with_its_value():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vaelib.figures import compare as figures

    def result(finals):
        sweep = {lr: [1e3, final] for lr, final in zip((1e-3, 3e-3, 1e-2), finals)}
        return compare.ModelResult("m", 3e-3, sweep, [], 0)

    fig, ax = plt.subplots()
    figures.lr_sweep(ax, {"m": result((150.0, 130.0, 140.0))})
    assert list(ax.lines[0].get_ydata()) == [150.0, 130.0, 140.0]  # the last epoch of each rate
    assert ax.get_xscale() == "log" and not ax.texts
    plt.close(fig)

    fig, ax = plt.subplots()
    figures.lr_sweep(ax, {"m": result((150.0, 130.0, 1e9)), "n": result((160.0, 170.0, 180.0))})
    cap = 2 * 165.0  # twice the median of the six losses, (160 + 170) / 2
    assert list(ax.lines[0].get_ydata()) == [150.0, 130.0, cap]
    assert [t.get_text() for t in ax.texts] == ["1e+09"]
    low, high = ax.get_ylim()
    assert low < 130.0 and cap < high < 1.1 * cap
    plt.close(fig)
