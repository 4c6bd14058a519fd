"""Slider figures that work in a live kernel and in the static HTML book.

One call, :func:`interactive`, turns a plotting function and named parameter grids into a
figure with sliders:

* in Jupyter or Colab it returns an ipywidgets control that reruns the function;
* in the book build (``VAELIB_STATIC=1``) it renders every frame over the grid once and returns
  HTML and JavaScript whose sliders swap the frames in the browser: no kernel, no network.

Sliders are labelled as the maths writes the parameter (``log_sigma`` -> "log σ"), show rounded
values, and give screen readers the current values in words (the image's alt text and each
slider's ``aria-valuetext``). The static form carries its frames as ``data:`` URIs, so it works
on its own in any notebook viewer; the book's extension ``book/_ext/widget_frames.py`` moves them
into image files that the page loads only when a slider asks for them.

Used in every chapter.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from vaelib import config
from vaelib.widget_text import describe_figure, math_name, value_labels, values_in_words

MAX_BYTES = 3_000_000  # the budget for one static widget's frames
FRAME_WIDTH = 6.4  # inches: wider frames are narrowed to this, so their text stays readable


def interactive(
    fn,
    *,
    dpi=80,
    initial=None,
    max_bytes=MAX_BYTES,
    static=None,
    labels=None,
    alt=None,
    caption=None,
    **params,
):
    """Sliders over ``params`` driving the figure that ``fn`` draws.

    Parameters
    ----------
    fn : callable
        ``fn(**values)`` draws one frame and returns its matplotlib ``Figure``
        (or draws on the current figure and returns None).
    dpi : int
        Resolution of the static frames.
    initial : dict, optional
        Starting value per parameter (the middle of each grid by default).
    max_bytes : int
        Refuse to emit a static widget larger than this; use a coarser grid or lower ``dpi``.
    static : bool, optional
        Force the static (True) or live (False) form; defaults to ``config.STATIC``.
    labels : dict, optional
        Slider label per parameter name; by default the name as the maths writes it
        (``beta`` -> "β", ``log_sigma`` -> "log σ", ``lambda_var`` -> "λ_var").
    alt : str, optional
        What the figure shows, for readers who cannot see it; the current slider values are
        appended. By default it is read from the frame's titles and axis labels.
    caption : str, optional
        The caption the book gives the static figure (numbered like the other figures).
        A cell's ``mystnb.figure.caption`` metadata takes precedence in the book.
    **params : sequence
        One slider per keyword: the values it steps through, e.g. ``mu=np.linspace(-2, 2, 9)``.

    Returns
    -------
    ipywidgets.Widget or IPython.display.HTML
        Display it (leave it as a cell's last expression).
    """
    grids = _check_params(params)
    start = _initial_indices(grids, initial)
    names = _slider_names(grids, labels)
    if config.STATIC if static is None else static:
        check_live(fn, grids, start, names)  # the form Colab shows, exercised in every build
        return static_widget(
            fn, grids, start, dpi=dpi, max_bytes=max_bytes, names=names, alt=alt, caption=caption
        )
    return live_widget(fn, grids, start, names=names)


def _check_params(params) -> dict:
    if not params:
        raise ValueError("interactive() needs at least one parameter grid, e.g. mu=[0, 1, 2]")
    grids = {}
    for name, values in params.items():
        values = (
            list(np.asarray(values).tolist()) if isinstance(values, np.ndarray) else list(values)
        )
        if len(values) < 2:
            raise ValueError(f"the grid for {name!r} needs at least two values, got {values!r}")
        grids[name] = values
    return grids


def _slider_names(grids, labels) -> dict:
    labels = labels or {}
    unknown = set(labels) - set(grids)
    if unknown:
        raise ValueError(f"labels for {sorted(unknown)}, which are not slider parameters")
    return {name: labels.get(name, math_name(name)) for name in grids}


def _initial_indices(grids, initial) -> dict:
    initial = initial or {}
    unknown = set(initial) - set(grids)
    if unknown:
        raise ValueError(f"initial names {sorted(unknown)}, which are not slider parameters")
    start = {}
    for name, values in grids.items():
        if name not in initial:
            start[name] = len(values) // 2
            continue
        distances = [
            abs(v - initial[name]) if _is_number(v) else v != initial[name] for v in values
        ]
        start[name] = int(np.argmin(distances))
    return start


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _draw(fn, values):
    fig = fn(**values)
    return fig if fig is not None else plt.gcf()


def live_widget(fn, grids, start, names=None, show=None):
    """The ipywidgets form: one ``SelectionSlider`` per parameter, rerunning ``fn``.

    Uses only what ipywidgets 7.6 and 8 both have (Colab ships either). ``show(**values)``
    replaces the default redraw (draw ``fn``, display the figure, close it).
    """
    import ipywidgets
    from IPython.display import display

    names = names or {name: math_name(name) for name in grids}
    sliders = {
        name: ipywidgets.SelectionSlider(
            options=list(zip(value_labels(values), values)),
            value=values[start[name]],
            description=names[name],
            continuous_update=False,
            style={"description_width": "initial"},
            layout=ipywidgets.Layout(width="420px", max_width="100%"),
        )
        for name, values in grids.items()
    }

    def redraw(**values):
        fig = _draw(fn, values)
        display(fig)
        plt.close(fig)

    out = ipywidgets.interactive_output(show or redraw, sliders)
    return ipywidgets.VBox([*sliders.values(), out])


def check_live(fn, grids, start, names=None) -> None:
    """Build the live form of a slider figure, move each slider once, and close it.

    The static book never shows the ipywidgets form, so every static render exercises it here,
    with whatever ipywidgets is installed (``make chapters`` runs with Colab's 7.7.1): each move
    must redraw ``fn`` with the new value. Nothing is displayed and every widget is closed, so
    no widget state reaches the notebook.

    Raises
    ------
    RuntimeError
        When a slider move does not redraw the figure with the new value.
    """
    seen = []

    def record(**values):
        seen.append(values)
        plt.close(_draw(fn, values))

    box = live_widget(fn, grids, start, names=names, show=record)
    try:
        sliders = [child for child in box.children if hasattr(child, "options")]
        for (name, values), slider in zip(grids.items(), sliders):
            other = values[(start[name] + 1) % len(values)]
            slider.value = other
            if not seen or seen[-1][name] != other:
                raise RuntimeError(
                    f"moving the live slider {name!r} to {other!r} did not redraw the figure "
                    f"(ipywidgets {_ipywidgets_version()})"
                )
    finally:
        for child in box.children:
            child.close()
        box.close()


def _ipywidgets_version() -> str:
    import ipywidgets

    return ipywidgets.__version__


def _narrow(fig) -> None:
    """Narrow a figure wider than ``FRAME_WIDTH`` inches (same aspect), so that on a phone,
    where the frame is scaled to the column, its text is not scaled below reading size."""
    width, height = fig.get_size_inches()
    if width > FRAME_WIDTH:
        fig.set_size_inches(FRAME_WIDTH, height * FRAME_WIDTH / width)


def frame_png(fig, dpi: int) -> bytes:
    """``fig`` as a PNG of at most 256 colours.

    A plot uses few colours, so the palette costs nothing visible, and a slider's frames are the
    heaviest files of a chapter's page: this makes them about four times lighter (chapter 5's 72
    frames: 3.2 MB in full colour, 0.85 MB with a palette).
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    image = Image.open(buffer).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    image.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def render_frames(fn, grids, dpi=80) -> tuple[list[str], list[int], list[str], str]:
    """Draw every frame over the grid as base64 PNG (with a palette: :func:`frame_png`).

    Returns the distinct frames, for each grid point in row-major order (the last parameter
    varying fastest) the index of its frame, per distinct frame a description of what it
    shows (from its titles and axis labels), and what every frame shows (axes only).
    """
    frames, index, seen, descriptions, layout = [], [], {}, [], ""
    for combo in itertools.product(*grids.values()):
        fig = _draw(fn, dict(zip(grids, combo)))
        _narrow(fig)
        png = base64.b64encode(frame_png(fig, dpi)).decode("ascii")
        if png not in seen:
            seen[png] = len(frames)
            frames.append(png)
            descriptions.append(describe_figure(fig))
            layout = layout or describe_figure(fig, titles=False)
        plt.close(fig)
        index.append(seen[png])
    return frames, index, descriptions, layout


def static_widget(
    fn, grids, start, dpi=80, max_bytes=MAX_BYTES, names=None, alt=None, caption=None
):
    """The book form: precomputed frames and plain HTML range inputs, swapped by JavaScript."""
    from IPython.display import HTML

    frames, index, descriptions, layout = render_frames(fn, grids, dpi=dpi)
    size = sum(len(f) for f in frames)
    if size > max_bytes:
        raise ValueError(
            f"the static widget's {len(frames)} frames take {size / 1e6:.1f} MB, over the "
            f"{max_bytes / 1e6:.1f} MB budget; use fewer grid points or a lower dpi"
        )
    if alt is not None:
        descriptions, layout = [alt] * len(frames), alt
    names = names or {name: math_name(name) for name in grids}
    return HTML(static_html(grids, start, frames, index, names, descriptions, caption, layout))


def _strides(grids) -> list[int]:
    strides, stride = [], 1
    for values in reversed(list(grids.values())):
        strides.insert(0, stride)
        stride *= len(values)
    return strides


def static_html(
    grids, start, frames, index, names=None, descriptions=None, caption=None, layout=""
) -> str:
    """HTML for a static slider widget (no kernel, no network); frames as ``data:`` URIs."""
    names = names or {name: math_name(name) for name in grids}
    descriptions = descriptions or ["a figure"] * len(frames)
    uid = "vw-" + hashlib.sha1("".join(frames[:3]).encode()).hexdigest()[:10]
    strides = _strides(grids)
    first = index[sum(start[n] * s for n, s in zip(grids, strides))]
    labels = {name: value_labels(values) for name, values in grids.items()}
    now = values_in_words(names.values(), [labels[n][start[n]] for n in grids])
    rows = [_slider_row(uid, k, names[n], labels[n], start[n]) for k, n in enumerate(grids)]
    data = {
        "frames": [f"data:image/png;base64,{f}" for f in frames],
        "index": index,
        "strides": strides,
        "alts": descriptions,
        "names": list(names.values()),
        "shows": layout,
    }
    cap = f' data-caption="{html.escape(caption)}"' if caption else ""
    alt = html.escape(_alt(descriptions[first], now))
    return f"""<div class="vaelib-widget" id="{uid}" data-frame="{first}"{cap}>
<div class="vaelib-widget-controls">{"".join(rows)}</div>
<img class="vaelib-widget-frame" alt="{alt}" loading="lazy" decoding="async"
 src="{data["frames"][first]}">
<script type="application/json" class="vaelib-widget-data">{_json_for_script(data)}</script>
<script>{_SCRIPT.replace("UID", uid)}</script>
<style>#{uid} .vaelib-widget-row {{ display: block; margin: 0.2em 0; }}
#{uid} .vaelib-widget-name {{ display: inline-block; min-width: 6em; }}
#{uid} input[type=range] {{ width: 16em; max-width: 55%; vertical-align: middle; }}
#{uid} img {{ max-width: 100%; height: auto; }}</style>
</div>"""


def _slider_row(uid, k, name, labels, start) -> str:
    esc = html.escape
    return (
        f'<div class="vaelib-widget-row"><label class="vaelib-widget-name" for="{uid}-{k}">'
        f'{esc(name)}</label> <input type="range" id="{uid}-{k}" min="0" '
        f'max="{len(labels) - 1}" step="1" value="{start}" '
        f'aria-valuetext="{esc(values_in_words([name], [labels[start]]))}" '
        f'data-labels="{esc(json.dumps(labels))}"> '
        f'<output for="{uid}-{k}">{esc(labels[start])}</output></div>'
    )


def _alt(description, values) -> str:
    return f"Figure at {values}: {description}"


def _json_for_script(data) -> str:
    """JSON that cannot end its ``<script>`` element early."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


# The sliders' behaviour; UID is replaced by the widget's id.
_SCRIPT = """
(function () {
  var root = document.getElementById("UID");
  var data = JSON.parse(root.querySelector(".vaelib-widget-data").textContent);
  var inputs = root.querySelectorAll("input[type=range]");
  var img = root.querySelector(".vaelib-widget-frame");
  function update() {
    var k = 0, words = [];
    inputs.forEach(function (input, i) {
      var v = parseInt(input.value, 10);
      var label = JSON.parse(input.dataset.labels)[v];
      var said = data.names[i] + " = " + label;
      k += v * data.strides[i];
      input.nextElementSibling.textContent = label;
      input.setAttribute("aria-valuetext", said);
      words.push(said);
    });
    var frame = data.index[k];
    if (img.getAttribute("src") !== data.frames[frame]) { img.src = data.frames[frame]; }
    img.alt = "Figure at " + words.join(", ") + ": " + data.alts[frame];
    root.dataset.frame = String(frame);
  }
  inputs.forEach(function (input) { input.addEventListener("input", update); });
  update();
})();
"""
