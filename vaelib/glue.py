"""Numbers and words that a chapter's prose takes from its computation, and the claims it checks.

* :func:`glue` records a value under a name for the book's ``{glue}`` roles. It writes the same
  output as ``myst_nb.glue`` (a display record with ``scrapbook`` metadata, which the book build
  reads), without importing myst-nb, so a chapter runs in Colab or plain Jupyter with nothing but
  vaelib installed. There a record is invisible (its MIME type is not one a notebook shows);
  outside IPython it does nothing.
* :func:`glue_choice` glues one of two phrases, chosen by the numbers ("drops" or "rises"), so a
  sentence that states an outcome cannot contradict the result it describes.
* :func:`count` writes a number with its noun ("1 epoch", "4 epochs") for a glued phrase.
* :func:`claim` asserts a qualitative statement the prose makes; when the numbers contradict it,
  the chapter stops with a :class:`ClaimError` that says which sentence failed and why.

Used in every chapter.
"""

from __future__ import annotations

GLUE_PREFIX = "application/papermill.record/"  # the MIME prefix myst-nb reads glued values from


class ClaimError(AssertionError):
    """A sentence of a chapter is contradicted by the chapter's own numbers."""


def glue(name: str, value, display: bool = True) -> None:
    """Record ``value`` under ``name`` for the book (``{glue}`name``` in the prose).

    Parameters
    ----------
    name : str
        The key the prose refers to; unique within a chapter.
    value : object
        Anything IPython can display: a number, a string, a figure.
    display : bool
        Also show the value in the notebook (as ``myst_nb.glue`` does); ``False`` records it
        without showing it.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"glue needs a non-empty string name, got {name!r}")
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import display as ipy_display
    except ImportError:  # plain Python without IPython: nothing to record into
        return
    if get_ipython() is None:
        return
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # a NumPy or 0-d torch scalar reprs as np.float64(...): use its number
    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def glue_choice(name: str, condition: bool, if_true: str, if_false: str) -> str:
    """Glue (without showing) the phrase the numbers call for, and return it.

    Examples
    --------
    >>> word = glue_choice("ch1_floor_verb", after < before, "drops", "rises")
    """
    phrase = if_true if bool(condition) else if_false
    glue(name, phrase, display=False)
    return phrase


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun`` in the number the count calls for: "1 epoch", "4 epochs".

    Examples
    --------
    >>> glue("ch4_resnet_epochs", count(NUM_EPOCHS, "epoch"), display=False)
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def claim(condition: bool, statement: str, evidence: str = "") -> None:
    """Stop the chapter when a statement its prose makes is false for its own numbers.

    Parameters
    ----------
    condition : bool
        True when the statement holds for the numbers just computed.
    statement : str
        The sentence of the chapter, as the reader sees it.
    evidence : str
        The numbers that decide it, shown in the error.

    Raises
    ------
    ClaimError
        When ``condition`` is false, so that nbmake and the book build fail.
    """
    if not bool(condition):
        detail = f" ({evidence})" if evidence else ""
        raise ClaimError(
            f"the chapter says {statement!r}, but its numbers say otherwise{detail}; "
            "change the sentence, choose it with glue_choice, or make the run large enough"
        )
