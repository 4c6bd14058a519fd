"""The reader's environment: what a chapter's install cell gives a Colab runtime.

Run by ``make chapters`` (part of ``make test``) with ``.venv-reader/bin/pytest``, beside every
chapter under nbmake: vaelib installed as Colab installs it (not editable), its declared
dependencies, Colab's ipywidgets 7.7.1, a kernel and the test runner, and nothing from the
book-building half of requirements.txt. Outside that environment these tests skip.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

import pytest

IN_READER_ENV = Path(sys.prefix).name == ".venv-reader"
pytestmark = pytest.mark.skipif(not IN_READER_ENV, reason="runs in .venv-reader (make chapters)")

BOOK_ONLY = ["myst_nb", "jupyter_book", "sphinx", "sphinx_exercise", "jupyter_cache"]
COLAB_IPYWIDGETS = "7.7.1"


def test_nothing_book_only_is_installed():
    present = [name for name in BOOK_ONLY if importlib.util.find_spec(name) is not None]
    assert not present, f"the reader's environment must not hold {present}"


def test_vaelib_is_the_installed_package_not_the_source_tree():
    import vaelib

    assert "site-packages" in Path(vaelib.__file__).parts, vaelib.__file__


def test_installing_vaelib_kept_colabs_ipywidgets():
    """pip installed vaelib beside ipywidgets 7.7.1 without upgrading it."""
    import ipywidgets

    assert ipywidgets.__version__ == COLAB_IPYWIDGETS


def test_vaelib_declares_a_range_that_admits_colabs_packages():
    from packaging.requirements import Requirement

    declared = {
        Requirement(r).name: Requirement(r).specifier
        for r in importlib.metadata.requires("vaelib")
        if "extra ==" not in r
    }
    assert declared["ipywidgets"].contains(COLAB_IPYWIDGETS)
    for name in ("torch", "numpy", "matplotlib"):  # ranges, never pins: Colab keeps its own
        assert not any(spec.operator == "==" for spec in declared[name]), declared[name]


def test_shipped_data_is_in_the_installed_package():
    from vaelib import data

    x, y = data.read_fallback()
    assert x.shape == (10000, 28, 28) and len(y) == 10000


def test_live_slider_builds_and_updates_under_ipywidgets_7(monkeypatch):
    """The live (non-static) path, as Colab runs it: sliders, then one update redraws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vaelib import widgets

    monkeypatch.setattr(widgets.config, "STATIC", False)
    drawn = []

    def draw(mu, log_sigma):
        drawn.append((mu, log_sigma))
        fig, ax = plt.subplots()
        ax.plot([0, 1], [mu, log_sigma])
        return fig

    box = widgets.interactive(draw, mu=[-1.0, 0.0, 1.0], log_sigma=[-2.0, 0.0])
    sliders = [child for child in box.children if hasattr(child, "options")]
    assert len(sliders) == 2 and drawn, "the live widget drew no first frame"
    sliders[0].value = sliders[0].options[0][1]
    assert drawn[-1][0] == -1.0, f"moving the first slider did not redraw: {drawn}"


def test_offline_switch_is_on():
    assert os.environ.get("VAELIB_OFFLINE") == "1", "make test runs the chapters offline"
