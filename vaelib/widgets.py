"""Slider figures that work in a live kernel and in the static HTML book.

One call, :func:`interactive`, turns a plotting function and named parameter grids into a
figure with sliders:

* in Jupyter or Colab it returns an ipywidgets control that reruns the function;
* in the book build (``VAELIB_STATIC=1``) it renders every frame over the grid once and returns
  self-contained HTML and JavaScript whose sliders swap the frames in the browser: no kernel,
  no network.

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

from vaelib import config

MAX_BYTES = 3_000_000  # the budget for one static widget's frames


def interactive(fn, *, dpi=80, initial=None, max_bytes=MAX_BYTES, static=None, **params):
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
    **params : sequence
        One slider per keyword: the values it steps through, e.g. ``mu=np.linspace(-2, 2, 9)``.

    Returns
    -------
    ipywidgets.Widget or IPython.display.HTML
        Display it (leave it as a cell's last expression).
    """
    grids = _check_params(params)
    start = _initial_indices(grids, initial)
    if config.STATIC if static is None else static:
        return static_widget(fn, grids, start, dpi=dpi, max_bytes=max_bytes)
    return live_widget(fn, grids, start)


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


def _label(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _draw(fn, values):
    fig = fn(**values)
    return fig if fig is not None else plt.gcf()


def live_widget(fn, grids, start):
    """The ipywidgets form: one ``SelectionSlider`` per parameter, rerunning ``fn``."""
    import ipywidgets
    from IPython.display import display

    sliders = {
        name: ipywidgets.SelectionSlider(
            options=[(_label(v), v) for v in values],
            value=values[start[name]],
            description=name,
            continuous_update=False,
            layout=ipywidgets.Layout(width="420px"),
        )
        for name, values in grids.items()
    }

    def show(**values):
        fig = _draw(fn, values)
        display(fig)
        plt.close(fig)

    out = ipywidgets.interactive_output(show, sliders)
    return ipywidgets.VBox([*sliders.values(), out])


def render_frames(fn, grids, dpi=80) -> tuple[list[str], list[int]]:
    """Draw every frame over the grid as base64 PNG.

    Returns the distinct frames and, for each grid point in row-major order (the last
    parameter varying fastest), the index of its frame.
    """
    frames, index, seen = [], [], {}
    for combo in itertools.product(*grids.values()):
        fig = _draw(fn, dict(zip(grids, combo)))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        plt.close(fig)
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        if png not in seen:
            seen[png] = len(frames)
            frames.append(png)
        index.append(seen[png])
    return frames, index


def static_widget(fn, grids, start, dpi=80, max_bytes=MAX_BYTES):
    """The book form: precomputed frames and plain HTML range inputs, swapped by JavaScript."""
    from IPython.display import HTML

    frames, index = render_frames(fn, grids, dpi=dpi)
    size = sum(len(f) for f in frames)
    if size > max_bytes:
        raise ValueError(
            f"the static widget's {len(frames)} frames take {size / 1e6:.1f} MB, over the "
            f"{max_bytes / 1e6:.1f} MB budget; use fewer grid points or a lower dpi"
        )
    return HTML(static_html(grids, start, frames, index))


def static_html(grids, start, frames, index) -> str:
    """Self-contained HTML for a static slider widget (no kernel, no network)."""
    uid = "vw-" + hashlib.sha1("".join(frames[:3]).encode()).hexdigest()[:10]
    strides, stride = [], 1
    for values in reversed(list(grids.values())):
        strides.insert(0, stride)
        stride *= len(values)
    first = index[sum(start[n] * s for n, s in zip(grids, strides))]
    rows = []
    for name, values in grids.items():
        labels = html.escape(json.dumps([_label(v) for v in values]))
        rows.append(
            f'<label class="vaelib-widget-row"><span class="vaelib-widget-name">'
            f'{html.escape(name)}</span> <input type="range" min="0" max="{len(values) - 1}" '
            f'step="1" value="{start[name]}" data-labels="{labels}"> '
            f"<output>{html.escape(_label(values[start[name]]))}</output></label>"
        )
    data = json.dumps({"frames": frames, "index": index, "strides": strides})
    return f"""<div class="vaelib-widget" id="{uid}">
<div class="vaelib-widget-controls">{"".join(rows)}</div>
<img class="vaelib-widget-frame" alt="interactive figure"
 src="data:image/png;base64,{frames[first]}">
<script type="application/json" class="vaelib-widget-data">{data}</script>
<script>
(function () {{
  var root = document.getElementById("{uid}");
  var data = JSON.parse(root.querySelector(".vaelib-widget-data").textContent);
  var inputs = root.querySelectorAll("input[type=range]");
  var img = root.querySelector(".vaelib-widget-frame");
  function update() {{
    var k = 0;
    inputs.forEach(function (input, i) {{
      var v = parseInt(input.value, 10);
      k += v * data.strides[i];
      input.nextElementSibling.textContent = JSON.parse(input.dataset.labels)[v];
    }});
    img.src = "data:image/png;base64," + data.frames[data.index[k]];
    root.dataset.frame = String(data.index[k]);
  }}
  inputs.forEach(function (input) {{ input.addEventListener("input", update); }});
  update();
}})();
</script>
<style>#{uid} .vaelib-widget-row {{ display: block; margin: 0.2em 0; }}
#{uid} .vaelib-widget-name {{ display: inline-block; min-width: 6em; font-family: monospace; }}
#{uid} input[type=range] {{ width: 16em; vertical-align: middle; }}
#{uid} img {{ max-width: 100%; }}</style>
</div>"""
