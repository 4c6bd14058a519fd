"""vaelib.glue: the book's glue without myst-nb, and the claims that stop a chapter."""

import pytest

from vaelib import glue as G


def test_claim_passes_silently_when_the_numbers_agree():
    G.claim(1.0 < 2.0, "the floor drops", "1.00 < 2.00")


def test_claim_fails_when_its_numbers_contradict_it():
    """A chapter that says 'the floor drops' when the floor rose must stop, naming the sentence."""
    before, after = 1.05, 1.31
    with pytest.raises(G.ClaimError, match="the floor drops.*1.050 -> 1.310"):
        G.claim(after < before, "the floor drops", f"{before:.3f} -> {after:.3f}")
    with pytest.raises(AssertionError):  # nbmake reports it like any failed assertion
        G.claim(False, "each class is a cluster")


def test_glue_choice_follows_the_numbers(monkeypatch):
    recorded = []
    monkeypatch.setattr(G, "glue", lambda name, value, display=True: recorded.append((name, value)))
    assert G.glue_choice("ch1_verb", 0.3 < 0.5, "drops", "rises") == "drops"
    assert G.glue_choice("ch1_verb2", 0.7 < 0.5, "drops", "rises") == "rises"
    assert recorded == [("ch1_verb", "drops"), ("ch1_verb2", "rises")]


def test_glue_writes_the_record_myst_nb_reads(monkeypatch):
    """The same display record as myst_nb.glue: the MIME prefix and the scrapbook metadata."""
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(
        IPython.display, "display", lambda bundle, raw, metadata: shown.append((bundle, metadata))
    )
    G.glue("ch1_value", 0.25, display=False)
    bundle, metadata = shown[-1]
    assert bundle == {"application/papermill.record/text/plain": "0.25"}
    assert metadata["scrapbook"] == {
        "name": "ch1_value",
        "mime_prefix": "application/papermill.record/",
    }
    G.glue("ch1_shown", "drops")
    assert shown[-1][0] == {"text/plain": "'drops'"}
    assert shown[-1][1]["scrapbook"]["mime_prefix"] == ""


def test_glue_outside_ipython_does_nothing(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    G.glue("ch1_x", 1.0)  # no error, nothing to record into


def test_glue_refuses_a_bad_name():
    with pytest.raises(ValueError, match="non-empty string"):
        G.glue("", 1.0)


def test_same_record_as_myst_nb_glue(monkeypatch):
    """Byte for byte what myst_nb.glue displays (the book build reads it)."""
    myst_glue = pytest.importorskip("myst_nb.ext.glue")  # the book's environment has it
    import IPython
    import IPython.display

    shown = []
    capture = lambda bundle, raw, metadata: shown.append((bundle, metadata))  # noqa: E731
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", capture)
    monkeypatch.setattr(myst_glue, "ipy_display", capture)
    for value, display in ((0.125, False), ("rises", True), (3, False)):
        G.glue("ch1_x", value, display=display)
        myst_glue.glue("ch1_x", value, display=display)
        assert shown[-2] == shown[-1]


def test_numpy_and_torch_scalars_are_glued_as_numbers(monkeypatch):
    """np.float64 reprs as 'np.float64(22.7)', which a {glue:text} format spec cannot read."""
    import IPython
    import IPython.display
    import numpy as np
    import torch

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(
        IPython.display, "display", lambda bundle, raw, metadata: shown.append(bundle)
    )
    for value in (np.float64(22.5), np.float32(22.5), torch.tensor(22.5, dtype=torch.float64)):
        G.glue("ch3_ratio", value, display=False)
        assert shown[-1] == {"application/papermill.record/text/plain": "22.5"}
    G.glue("ch3_count", np.int64(7), display=False)
    assert shown[-1] == {"application/papermill.record/text/plain": "7"}
    G.glue("ch3_vector", np.array([1.0, 2.0]), display=False)  # arrays are left as they are
    assert "array" in shown[-1]["application/papermill.record/text/plain"]


def test_count_agrees_the_noun_with_the_number():
    assert G.count(1, "epoch") == "1 epoch"
    assert [G.count(n, "epoch") for n in (0, 2, 4)] == ["0 epochs", "2 epochs", "4 epochs"]
    assert G.count(3, "axis", "axes") == "3 axes" and G.count(1, "axis", "axes") == "1 axis"
