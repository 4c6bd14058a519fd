"""Tests for vaelib.blur: the mean (MSE) and the median (L1) of images a code cannot separate."""

import pytest
import torch

from vaelib.blur import (
    fit_constant_image,
    latent_neighbours,
    neighbour_images,
    sharpness,
    shifted_stripes,
)


def test_shifted_stripes_shapes_and_frequencies():
    images, which = shifted_stripes(3000, width=4, shifts=(-6, 0, 6), probs=(0.2, 0.6, 0.2))
    assert images.shape == (3000, 1, 28, 28) and set(images.unique().tolist()) == {0.0, 1.0}
    assert torch.all(images.sum(dim=(1, 2, 3)) == 4 * 28)  # one 4-pixel-wide full stripe each
    freq = torch.bincount(which, minlength=3).float() / 3000
    torch.testing.assert_close(freq, torch.tensor([0.2, 0.6, 0.2]), atol=0.03, rtol=0)
    left = images[which == 0][0, 0, 0]
    assert left[14 - 6 - 2 : 14 - 6 + 2].eq(1).all() and left.sum() == 4


def test_mse_learns_the_mean_and_l1_the_median():
    images, which = shifted_stripes(500, probs=(0.2, 0.6, 0.2), seed=1)
    mse = fit_constant_image(images, "mse")
    l1 = fit_constant_image(images, "l1")
    torch.testing.assert_close(mse, images.mean(dim=0, keepdim=True), atol=0.01, rtol=0)
    centre_stripe = images[which == 1][:1]  # the median: the most common stripe, crisp
    torch.testing.assert_close(l1, centre_stripe, atol=0.02, rtol=0)
    assert sharpness(mse) < 0.5 * sharpness(l1)  # blur versus sharp


def test_latent_neighbours_known_answer():
    codes = torch.tensor([[0.0, 0.0], [5.0, 5.0], [1.0, 0.0], [0.0, -3.0]])
    assert latent_neighbours(codes, torch.tensor([0.2, 0.0]), k=3).tolist() == [0, 2, 3]


def test_neighbour_images_mean_and_median():
    codes = torch.tensor([[0.0], [0.1], [0.2], [5.0]])
    images = torch.stack([torch.full((1, 2, 2), v) for v in (0.0, 1.0, 1.0, 9.0)])
    neighbours, mean, median = neighbour_images(codes, images, torch.tensor([0.05]), k=3)
    assert neighbours.shape == (3, 1, 2, 2) and 9.0 not in neighbours
    torch.testing.assert_close(mean, torch.full((1, 1, 2, 2), 2 / 3))
    torch.testing.assert_close(median, torch.ones(1, 1, 2, 2))
    with pytest.raises(ValueError, match="one per image"):
        neighbour_images(codes[:3], images, torch.tensor([0.0]), k=2)


def test_sharpness_known_answers():
    stripe = torch.zeros(1, 1, 4, 5)
    stripe[..., 2] = 1.0  # one vertical line: 2 horizontal jumps of 1 per row, no vertical ones
    # dx: 4 rows x 4 differences, 8 of them equal to 1 -> mean 0.5; dy: all 0
    assert sharpness(stripe) == pytest.approx(0.25)
    blurred = torch.zeros(1, 1, 4, 5)
    blurred[..., 1:4] = 1.0 / 3  # the same ink spread over three columns
    assert sharpness(blurred) == pytest.approx((8 * (1 / 3) ** 2 / 16) / 2)
    assert sharpness(torch.full((2, 1, 3, 3), 0.7)) == 0.0


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="probs"):
        shifted_stripes(10, shifts=(0, 1), probs=(0.5, 0.6))
    with pytest.raises(ValueError, match="outside"):
        shifted_stripes(10, shifts=(20,), probs=(1.0,))
    with pytest.raises(ValueError, match="loss must be one of"):
        fit_constant_image(torch.zeros(3, 1, 4, 4), "huber")
    with pytest.raises(ValueError, match="k must be between"):
        latent_neighbours(torch.zeros(3, 2), torch.zeros(2), k=4)


def test_uncertain_pixels_known_answer():
    from vaelib.blur import uncertain_pixels

    codes = torch.tensor([[0.0], [0.1], [0.2], [0.3], [9.0]])
    images = torch.zeros(5, 1, 2, 2)
    images[0, 0, 0, 0] = 1.0  # pixel 0: ink in 1 of the 4 near images -> 25%, undecided
    images[:4, 0, 1, 1] = 1.0  # pixel 3: ink in all 4 -> decided
    images[4] = 1.0  # the far image is not a neighbour
    out = uncertain_pixels(codes, images, torch.tensor([[0.15]]), k=4, low=0.2)
    assert out["pixel"].tolist() == [0] and out["query"].tolist() == [0]
    assert sorted(out["values"][0].tolist()) == [0.0, 0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="low"):
        uncertain_pixels(codes, images, torch.tensor([[0.0]]), k=4, low=0.6)
