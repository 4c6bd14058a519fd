"""vaelib.widgets: the live ipywidgets form and the static HTML form."""

import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaelib import widgets  # noqa: E402


def draw(a, b):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [a, b])
    ax.set_ylim(-3, 3)
    return fig


def draw_ignoring_b(a, b):
    return draw(a, 0.0)


def frames_data(html):
    payload = re.search(r'class="vaelib-widget-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(payload)


def test_static_widget_has_one_frame_per_grid_point():
    html = widgets.interactive(draw, a=np.linspace(-1, 1, 3), b=[0.0, 2.0], static=True).data
    data = frames_data(html)
    assert len(data["index"]) == 6 and len(data["frames"]) == 6
    assert data["strides"] == [2, 1]  # row-major, the last slider fastest
    assert html.count('type="range"') == 2
    assert "http" not in html  # self-contained: no network


def test_static_widget_shares_identical_frames():
    html = widgets.interactive(draw_ignoring_b, a=[0.0, 1.0], b=[0.0, 1.0, 2.0], static=True).data
    data = frames_data(html)
    assert len(data["frames"]) == 2
    assert data["index"] == [0, 0, 0, 1, 1, 1]


def test_initial_values_pick_the_start_frame():
    html = widgets.interactive(
        draw, a=[0.0, 1.0, 2.0], b=[0.0, 1.0], initial={"a": 2.0, "b": 0.0}, static=True
    ).data
    data = frames_data(html)
    first = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert first == data["frames"][data["index"][2 * 2 + 0]]
    assert 'value="2"' in html


def test_static_widget_refuses_oversized_output():
    with pytest.raises(ValueError, match="over the 0.0 MB budget"):
        widgets.interactive(draw, a=[0.0, 1.0], b=[0.0, 1.0], static=True, max_bytes=10)


def test_live_widget_has_one_slider_per_parameter():
    import ipywidgets

    box = widgets.interactive(draw, a=[0.0, 1.0, 2.0], b=[5, 6], static=False)
    sliders = [w for w in box.children if isinstance(w, ipywidgets.SelectionSlider)]
    assert [s.description for s in sliders] == ["a", "b"]
    assert sliders[0].value == 1.0 and sliders[1].value == 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "at least one parameter grid"), ({"a": [1.0]}, "at least two values")],
)
def test_bad_grids(kwargs, message):
    with pytest.raises(ValueError, match=message):
        widgets.interactive(draw, static=True, **kwargs)


def test_unknown_initial_name():
    with pytest.raises(ValueError, match="not slider parameters"):
        widgets.interactive(draw, a=[0.0, 1.0], b=[0.0, 1.0], initial={"c": 1}, static=True)
