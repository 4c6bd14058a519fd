"""vaelib.plot: image conversion and grids."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaelib import plot  # noqa: E402


@pytest.mark.parametrize("shape", [(5, 1, 28, 28), (5, 28, 28), (5, 784)])
def test_to_numpy_accepts_the_three_layouts(shape):
    images = torch.rand(shape)
    out = plot.to_numpy(images)
    assert out.shape == (5, 28, 28)
    np.testing.assert_allclose(out.reshape(5, -1), images.reshape(5, -1).numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape", [(5, 3, 28, 28), (5, 783), (28,)])
def test_to_numpy_rejects_other_layouts(shape):
    with pytest.raises(ValueError):
        plot.to_numpy(torch.rand(shape))


def test_image_grid_tiles_images_in_rows():
    images = torch.stack([torch.full((1, 4, 4), k / 10) for k in range(10)])
    ax = plot.image_grid(images, ncols=4, pad=1)
    canvas = ax.get_images()[0].get_array()
    assert canvas.shape == (3 * 5 - 1, 4 * 5 - 1)
    assert canvas[0, 5] == pytest.approx(0.1)  # second image, first row
    assert canvas[5, 0] == pytest.approx(0.4)  # fifth image starts the second row
    assert np.ma.is_masked(canvas[-1, -1]) or np.isnan(canvas[-1, -1])  # empty slot
