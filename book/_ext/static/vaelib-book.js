/* The book on a phone and in search results (book/_ext/phone_layout.py). */
(function () {
  "use strict";

  /* pydata-sphinx-theme 0.17 with sphinx-book-theme 1.3 renders two .primary-toggle buttons
     (a hidden one in the top navbar and the visible one in the article header) but listens only
     to the first (pydata/pydata-sphinx-theme#2451), so the chapter menu never opens. Clicks on
     the other buttons are handed to the first, which opens the menu as a dialog on narrow
     screens and hides or shows the sidebar on wide ones. The same for .secondary-toggle. */
  function forwardToggles(selector) {
    var buttons = document.querySelectorAll(selector);
    for (var i = 1; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function (event) {
        event.preventDefault();
        event.stopImmediatePropagation();
        buttons[0].click();
      }, true);
    }
  }

  /* Search snippets are cut from a page's HTML, in which math is still TeX; say it in words. */
  var GREEK = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", zeta: "ζ",
    eta: "η", theta: "θ", kappa: "κ", lambda: "λ", mu: "μ", nu: "ν", xi: "ξ", pi: "π",
    rho: "ρ", sigma: "σ", tau: "τ", phi: "φ", varphi: "φ", chi: "χ", psi: "ψ", omega: "ω",
    Gamma: "Γ", Delta: "Δ", Theta: "Θ", Lambda: "Λ", Sigma: "Σ", Phi: "Φ", Psi: "Ψ", Omega: "Ω",
    ell: "ℓ", infty: "∞", cdot: "·", times: "×", leq: "≤", le: "≤", geq: "≥", ge: "≥",
    approx: "≈", to: "→", sum: "Σ", prod: "Π", int: "∫", partial: "∂", nabla: "∇", mid: "|",
    neq: "≠", sim: "~", log: "log ", exp: "exp ", min: "min ", max: "max ", KL: "KL",
  };
  function texToText(tex) {
    return tex
      .replace(/\\(?:begin|end)\{[^}]*\}/g, " ")
      .replace(/\\(?:mathcal|mathbf|mathrm|mathbb|operatorname|text|boldsymbol|left|right|big|Big)\b/g, "")
      .replace(/\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2) ")
      .replace(/\(([A-Za-z0-9]+)\)\/\(([A-Za-z0-9]+)\)/g, "$1/$2")
      .replace(/\\([A-Za-z]+)/g, function (m, name) { return GREEK[name] || " "; })
      .replace(/\\[,;:! ]|\\\\|&/g, " ")
      .replace(/[{}]/g, "")
      .replace(/\s+/g, " ")
      .trim();
  }
  function mathAsWords(htmlString) {
    var doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll("div.math").forEach(function (el) { el.textContent = " (equation) "; });
    doc.querySelectorAll("span.math").forEach(function (el) {
      el.textContent = texToText(el.textContent.replace(/^\\\(|\\\)$/g, ""));
    });
    doc.querySelectorAll(".vaelib-widget script, .vaelib-widget style").forEach(function (el) {
      el.remove();
    });
    return doc.documentElement.outerHTML;
  }
  function cleanSearchSnippets() {
    if (typeof Search === "undefined" || !Search.htmlToText || Search.vaelibPatched) return;
    var original = Search.htmlToText;
    Search.htmlToText = function (htmlString, anchor) {
      return original(mathAsWords(htmlString), anchor);
    };
    Search.vaelibPatched = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    cleanSearchSnippets();
  });
  window.vaelibTexToText = texToText;
})();
