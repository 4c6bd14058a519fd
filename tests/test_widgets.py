"""vaelib.widgets: the live ipywidgets form and the static HTML form."""

import html as htmllib
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaelib import widgets  # noqa: E402
from vaelib.widget_text import (  # noqa: E402
    describe_figure,
    math_name,
    plain_text,
    value_labels,
)


def draw(a, b):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [a, b])
    ax.set_ylim(-3, 3)
    return fig


def draw_ignoring_b(a, b):
    return draw(a, 0.0)


def draw_titled(beta, log_sigma):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [beta, log_sigma])
    ax.set(title=rf"loss at $\beta$ = {beta:g}", xlabel=r"$\sigma$", ylabel="nats")
    return fig


def frames_data(html):
    payload = re.search(r'class="vaelib-widget-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(payload)


def attribute(html, tag_pattern, name):
    tag = re.search(tag_pattern, html, re.S).group(0)
    return htmllib.unescape(re.search(rf'{name}="([^"]*)"', tag).group(1))


def test_static_widget_has_one_frame_per_grid_point():
    html = widgets.interactive(draw, a=np.linspace(-1, 1, 3), b=[0.0, 2.0], static=True).data
    data = frames_data(html)
    assert len(data["index"]) == 6 and len(data["frames"]) == 6
    assert all(f.startswith("data:image/png;base64,") for f in data["frames"])
    assert data["strides"] == [2, 1]  # row-major, the last slider fastest
    assert html.count('type="range"') == 2
    assert "http" not in html  # self-contained: no network


def test_static_widget_shares_identical_frames():
    html = widgets.interactive(draw_ignoring_b, a=[0.0, 1.0], b=[0.0, 1.0, 2.0], static=True).data
    data = frames_data(html)
    assert len(data["frames"]) == 2 and len(data["alts"]) == 2
    assert data["index"] == [0, 0, 0, 1, 1, 1]


def test_initial_values_pick_the_start_frame():
    html = widgets.interactive(
        draw, a=[0.0, 1.0, 2.0], b=[0.0, 1.0], initial={"a": 2.0, "b": 0.0}, static=True
    ).data
    data = frames_data(html)
    first = attribute(html, r"<img [^>]*>", "src")
    assert first == data["frames"][data["index"][2 * 2 + 0]]
    assert 'value="2"' in html


def test_static_widget_refuses_oversized_output():
    with pytest.raises(ValueError, match="over the 0.0 MB budget"):
        widgets.interactive(draw, a=[0.0, 1.0], b=[0.0, 1.0], static=True, max_bytes=10)


def test_static_widget_speaks_in_words():
    """Labels as the maths writes them, rounded values, alt and aria-valuetext in words."""
    html = widgets.interactive(
        draw_titled, beta=np.linspace(-1, 1, 10)[4:7], log_sigma=[0.5, 1.0], static=True
    ).data
    names = re.findall(r'<label class="vaelib-widget-name"[^>]*>([^<]*)</label>', html)
    assert names == ["β", "log σ"]
    beta_labels = json.loads(attribute(html, r'<input [^>]*id="vw-[^"]*-0"[^>]*>', "data-labels"))
    assert beta_labels == ["-0.111", "0.111", "0.333"]
    valuetext = attribute(html, r'<input [^>]*id="vw-[^"]*-0"[^>]*>', "aria-valuetext")
    assert valuetext == "β = 0.111"
    alt = attribute(html, r"<img [^>]*>", "alt")
    assert alt.startswith("Figure at β = 0.111, log σ = 1: ")
    assert "“loss at β = 0.111111”, nats against σ" in alt
    assert "$" not in alt and "png" not in alt


def test_zero_up_to_rounding_reads_zero():
    grid = (np.linspace(-1, 1, 10) + 1e-16).tolist()
    assert "0" not in value_labels(grid)  # no grid point is 0 here
    assert value_labels([-2.220446049250313e-16, 0.5, 1.0]) == ["0", "0.5", "1"]
    assert value_labels([-0.0, 1.0]) == ["0", "1"]
    assert value_labels([1.0001, 1.0002]) == ["1.0001", "1.0002"]  # distinct, not both "1"
    assert value_labels(["1", "4"]) == ["1", "4"] and value_labels([1, 10]) == ["1", "10"]


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("beta", "β"),
        ("log_sigma", "log σ"),
        ("lambda_var", "λ_var"),
        ("mu", "μ"),
        ("sigma", "σ"),
        ("rho", "ρ"),
        ("z1", "z₁"),
        ("K", "K"),
        ("num_samples", "number of samples"),
        ("log_var", "log σ²"),
        ("residual", "residual"),
    ],
)
def test_math_names(name, label):
    assert math_name(name) == label


def test_plain_text_and_description():
    assert plain_text(r"$\frac{1}{2}\log\sigma^2$") == "1/2 log σ^2"
    assert plain_text(r"$\mathcal{N}(0, 1^2)$") == "N(0, 1^2)"
    assert plain_text(r"$\partial f / \partial \mu$") == "∂f / ∂μ"
    assert plain_text(r"$\partial/\partial\log\sigma^2$") == "∂/∂log σ^2"
    fig, (left, right) = plt.subplots(1, 2)
    left.set(title="prior", xlabel="z", ylabel="density")
    right.set(xlabel=r"$\beta$")
    assert describe_figure(fig) == "2 panels: “prior”, density against z; β"
    assert describe_figure(fig, titles=False) == "2 panels: density against z; β"
    plt.close(fig)
    fig, axes = plt.subplots(1, 3)
    assert describe_figure(fig) == "3 panels"  # nothing labelled: at least how many
    plt.close(fig)
    # An unlabelled panel is still counted; a colour bar is a panel's scale, not a panel.
    fig, (left, middle, right) = plt.subplots(1, 3)
    left.set(xlabel="x", ylabel="y")
    right.set(title="codes")
    fig.colorbar(middle.imshow([[0.0, 1.0]]), ax=middle, label="epoch")
    assert (
        describe_figure(fig)
        == "3 panels: y against x; “codes”; 1 without labels. colour scale: epoch"
    )
    plt.close(fig)


def test_alt_and_caption_keywords():
    html = widgets.interactive(
        draw, a=[0.0, 1.0], b=[0.0, 1.0], alt="two points", caption="A line.", static=True
    ).data
    assert frames_data(html)["alts"] == ["two points"] * 4
    assert attribute(html, r'<div class="vaelib-widget"[^>]*>', "data-caption") == "A line."
    with pytest.raises(ValueError, match="not slider parameters"):
        widgets.interactive(draw, a=[0.0, 1.0], b=[0.0, 1.0], labels={"c": "γ"}, static=True)


def test_wide_frames_are_narrowed():
    def wide(a):
        fig = plt.figure(figsize=(10, 4))
        fig.add_subplot().plot([0, a])
        return fig

    html = widgets.interactive(wide, a=[0.0, 1.0], static=True, dpi=50).data
    png = frames_data(html)["frames"][0]
    import base64
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1])))
    assert image.size == (int(widgets.FRAME_WIDTH * 50), int(4 * widgets.FRAME_WIDTH / 10 * 50))


def test_live_widget_has_one_slider_per_parameter():
    import ipywidgets

    box = widgets.interactive(draw_titled, beta=[0.0, 1.0, 2.0], log_sigma=[5, 6], static=False)
    sliders = [w for w in box.children if isinstance(w, ipywidgets.SelectionSlider)]
    assert [s.description for s in sliders] == ["β", "log σ"]
    assert sliders[0].value == 1.0 and sliders[1].value == 6
    assert [label for label, _ in sliders[0].options] == ["0", "1", "2"]


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


def test_static_render_exercises_the_live_form(monkeypatch):
    """Every static slider figure also builds the ipywidgets form and moves each slider once."""
    from vaelib import widgets

    calls = []

    def draw(a, b):
        calls.append((a, b))
        fig, ax = plt.subplots()
        ax.plot([0, 1], [a, b])
        return fig

    widgets.check_live(draw, {"a": [0.0, 1.0, 2.0], "b": [5, 6]}, {"a": 1, "b": 0})
    assert calls[0] == (1.0, 5) and (2.0, 5) in calls and (2.0, 6) in calls


def test_check_live_fails_when_a_move_does_not_redraw(monkeypatch):
    from vaelib import widgets

    real = widgets.live_widget
    monkeypatch.setattr(
        widgets,
        "live_widget",
        lambda fn, grids, start, names=None, show=None: real(fn, grids, start, names, None),
    )  # a broken form that ignores the redraw hook
    with pytest.raises(RuntimeError, match="did not redraw"):
        widgets.check_live(lambda a: plt.figure(), {"a": [0, 1]}, {"a": 0})


def test_frames_are_palette_pngs_that_look_like_the_figure():
    """A frame is stored with at most 256 colours, lighter than full colour and close to it."""
    import io

    from PIL import Image

    fig, ax = plt.subplots(figsize=(4, 3))
    for k in range(6):
        ax.plot(np.linspace(0, 1, 50) ** (k + 1), label=f"curve {k}")
    ax.legend()
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=60)
    png = widgets.frame_png(fig, dpi=60)
    plt.close(fig)
    palette, rgb = Image.open(io.BytesIO(png)), Image.open(full).convert("RGB")
    assert palette.mode == "P" and palette.size == rgb.size == (240, 180)
    assert len(png) < len(full.getvalue())
    error = np.abs(np.asarray(palette.convert("RGB"), float) - np.asarray(rgb, float))
    assert error.mean() < 2.0 and np.percentile(error, 99) < 40
