"""The static widget shows, for every combination of slider positions, the frame that the
plotting function draws for those values.

The browser test checks that moving a slider changes the frame; this test checks *which* frame
appears. It replays the page's JavaScript in Python: frame ``index[sum_i v_i * strides[i]]`` for
slider positions ``v_i`` (the script's own formula, checked to be the one in the page), and
compares that frame with a fresh drawing of ``fn`` at the slider values.
"""

import base64
import itertools
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from vaelib import widgets  # noqa: E402

DPI = 40


def draw(a, b, c):
    """A frame that differs for every (a, b, c): three bars of those heights."""
    fig, ax = plt.subplots(figsize=(1.5, 1))
    ax.bar([0, 1, 2], [a, b, c])
    ax.set_ylim(0, 5)
    return fig


def png(fig) -> str:
    """The figure as the data: URI a frame is stored as."""
    data = widgets.frame_png(fig, dpi=DPI)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def page(grids, initial=None):
    html = widgets.interactive(draw, dpi=DPI, static=True, initial=initial, **grids).data
    data = json.loads(re.search(r'class="vaelib-widget-data">(.*?)</script>', html, re.S).group(1))
    return html, data


def frame_shown(data, positions):
    """The frame the page's update() picks for the slider positions, as the script computes it."""
    k = sum(v * stride for v, stride in zip(positions, data["strides"]))
    return data["frames"][data["index"][k]]


def test_every_slider_combination_shows_the_frame_drawn_for_its_values():
    grids = {"a": [1.0, 2.0, 3.0], "b": [0.5, 4.0], "c": [1.0, 2.0, 3.0, 4.0]}
    html, data = page(grids)
    # the page's script uses exactly this formula
    assert "k += v * data.strides[i];" in html
    assert "var frame = data.index[k];" in html
    assert "img.src = data.frames[frame];" in html
    assert [len(v) for v in grids.values()] == [3, 2, 4]
    shown = set()
    for positions in itertools.product(*(range(len(v)) for v in grids.values())):
        values = {name: grids[name][i] for name, i in zip(grids, positions)}
        frame = frame_shown(data, positions)
        assert frame == png(draw(**values)), values
        shown.add(frame)
    assert len(shown) == 3 * 2 * 4  # every combination has its own frame


def test_the_first_frame_and_slider_positions_follow_initial():
    grids = {"a": [1.0, 2.0, 3.0], "b": [0.5, 4.0], "c": [1.0, 2.0]}
    html, data = page(grids, initial={"a": 3.0, "b": 0.5, "c": 2.0})
    first = re.search(r'src="(data:image/png;base64,[^"]+)"', html).group(1)
    assert first == frame_shown(data, (2, 0, 1)) == png(draw(a=3.0, b=0.5, c=2.0))
    values = re.findall(r'type="range" id="[^"]+" min="0" max="(\d+)" step="1" value="(\d+)"', html)
    assert values == [("2", "2"), ("1", "0"), ("1", "1")]
