"""Words for the slider figures of :mod:`vaelib.widgets`: names as the maths writes them,
rounded values, and text alternatives (alt text) that say what a frame shows.

Used in every chapter, through :func:`vaelib.widgets.interactive`.
"""

from __future__ import annotations

import re

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eps": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ",
    "lam": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "upsilon": "υ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}  # fmt: skip
SPECIAL = {"var": "σ²", "std": "σ", "num": "number of", "n": "n"}
SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
TEX_SYMBOLS = {**{f"\\{k}": v for k, v in GREEK.items()}, r"\ell": "ℓ", r"\infty": "∞",
               r"\cdot": "·", r"\times": "×", r"\leq": "≤", r"\geq": "≥", r"\approx": "≈",
               r"\to": "→", r"\mid": "|", r"\partial": "∂", r"\nabla": "∇", r"\sum": "Σ",
               r"\prod": "Π", r"\int": "∫", r"\sim": "~", r"\pm": "±", r"\neq": "≠",
               r"\,": " ", r"\;": " ", r"\!": ""}  # fmt: skip


def math_name(name: str) -> str:
    """A parameter name as the maths writes it: ``beta`` -> "β", ``log_sigma`` -> "log σ",
    ``lambda_var`` -> "λ_var", ``z1`` -> "z₁", ``num_samples`` -> "number of samples"."""
    parts = name.split("_")
    if parts[0] == "log" and len(parts) > 1:
        return "log " + math_name("_".join(parts[1:]))
    head = parts[0]
    digits = re.fullmatch(r"([A-Za-z]+)(\d+)", head)
    if digits and (digits.group(1) in GREEK or len(digits.group(1)) == 1):
        head = GREEK.get(digits.group(1), digits.group(1)) + digits.group(2).translate(
            SUBSCRIPT_DIGITS
        )
    elif head in GREEK:
        head = GREEK[head]
    elif len(parts) == 1:
        return SPECIAL.get(head, head)
    if len(parts) == 1:
        return head
    if parts[0] in GREEK or len(parts[0]) == 1:  # a symbol with a subscript
        return head + "_" + "_".join(parts[1:])
    return " ".join(SPECIAL.get(p, p) if k == 0 else p for k, p in enumerate(parts))


def value_labels(values) -> list[str]:
    """The values of one slider as short, distinct strings.

    Floats get three significant digits (more where two values would read the same), and a
    value that is zero up to rounding (``-2.22e-16`` on a grid from -1 to 1) reads "0".
    """
    numbers = [abs(v) for v in values if _is_number(v)]
    scale = max(numbers, default=0.0)
    cleaned = [_snap(v, scale) for v in values]
    for digits in range(3, 10):
        labels = [f"{v:.{digits}g}" if isinstance(v, float) else str(v) for v in cleaned]
        if len(set(labels)) == len(labels):
            break
    return labels


def _snap(value, scale):
    if not isinstance(value, float):
        return value
    if abs(value) <= 1e-9 * scale or value == 0.0:
        return 0.0  # also turns -0.0 into 0.0
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def values_in_words(names, labels) -> str:
    """``["β", "σ"], ["0.5", "1"]`` -> "β = 0.5, σ = 1"."""
    return ", ".join(f"{n} = {v}" for n, v in zip(names, labels))


def plain_text(text: str) -> str:
    """Matplotlib mathtext as plain text: ``r"$\\frac{1}{2}\\log\\sigma^2$"`` -> "1/2 log σ^2"."""
    text = re.sub(r"\\(?:mathcal|mathbf|mathrm|operatorname|text|mathit|boldsymbol)\b", "", text)
    text = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2) ", text)
    text = re.sub(r"\\sqrt\{([^{}]*)\}", r"√(\1)", text)
    # " log ", spaced: a command just before it stays whole (\partial\log is not \partiallog)
    text = re.sub(r"\\(log|exp|ln|max|min|sum|hat|bar|tilde)(?![A-Za-z])", r" \1 ", text)
    for tex, symbol in sorted(TEX_SYMBOLS.items(), key=lambda kv: -len(kv[0])):
        # "\partial f" -> "∂f": the space only separated the command from a letter
        text = re.sub(re.escape(tex) + r"(?![A-Za-z])(?: (?=[A-Za-z\\]))?", symbol, text)
    text = re.sub(r"\\[A-Za-z]+", "", text)
    text = text.replace("$", "").replace("{", "").replace("}", "")
    text = re.sub(r"\(([^()\s]+)\)/\(([^()\s]+)\)", r"\1/\2", text)
    return re.sub(r"\s+", " ", text).strip()


def describe_figure(fig, titles=True) -> str:
    """What a matplotlib figure shows, from its titles and axis labels, in one sentence
    (without the titles, which often hold the current values, when ``titles`` is False).

    Every visible panel is counted, labelled or not; a colour bar is not a panel but the colour
    scale of one, named by its label.
    """
    panels, unlabelled, scales = [], 0, []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        title, x, y = (plain_text(t) for t in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()))
        if getattr(ax, "_colorbar", None) is not None:
            scales.append(y or x)
            continue
        title = title if titles else ""
        axes = f"{y} against {x}" if x and y else (y or x)
        words = f"“{title}”" + (f", {axes}" if axes else "") if title else axes
        if words:
            panels.append(words)
        else:
            unlabelled += 1
    suptitle = fig._suptitle.get_text() if titles and getattr(fig, "_suptitle", None) else ""
    head = f"“{plain_text(suptitle)}”" if suptitle else ""
    shown = len(panels) + unlabelled
    if shown > 1 and panels:
        rest = f"; {unlabelled} without labels" if unlabelled else ""
        body = f"{shown} panels: " + "; ".join(panels) + rest
    else:
        body = panels[0] if panels else (f"{shown} panels" if shown > 1 else "")
    scale = "colour scale: " + ", ".join(s for s in scales if s) if any(scales) else ""
    return ". ".join(p for p in (head, body, scale) if p) or "a figure"
