"""Mutation benchmark: does the fast test suite catch a realistic one-line bug in vaelib?

Each mutant changes one line of a computing module in a *temporary copy* of the repository
(``vaelib/`` and ``tests/``; the real files are never touched): a constant, a sign, an arithmetic
or comparison operator, a reduction (sum/mean, max/min, std/var), an off-by-one, two swapped
arguments or operands, or a dropped term. The tests that execute the mutated line (found by one
traced run of the module's test files on the unmutated copy, fastest first, ``-x``) then run
against it; the mutant is *killed* when one fails or it runs past its time limit.

Usage (from the repository root)::

    VAELIB_QUICK=1 python tests/mutate.py                      # the default modules
    VAELIB_QUICK=1 python tests/mutate.py losses estimators/contrastive --workers 2
    python tests/mutate.py latent --list                         # print the mutants, run nothing
    python tests/mutate.py sparse --lines 120-140 --verbose      # one region, with test output
    python tests/mutate.py elbo --lines 64,85-90                 # several lines (survivors)

Modules are paths under ``vaelib/`` without ``.py``. Their test files come from ``TEST_FILES``
or, for a module not listed there, from the test files that import it.

To stay fast, the parent process imports torch, numpy, matplotlib and pytest once and forks one
child per mutant (at most ``--workers`` at a time, each in its own copy of the tree); a child
puts its copy first on ``sys.path`` (and ``PYTHONPATH``), writes no bytecode and runs
``pytest -x -q -p no:cacheprovider`` in-process on the selected tests. POSIX only.

Mutants that change nothing observable are listed in ``EQUIVALENT`` with the reason; they are
reported apart and left out of the adjusted score. Not mutated, by design: floats below 1e-3
in magnitude (floors and tolerances such as ``EPS = 1e-6``), error messages (``raise``
statements and f-strings), docstrings, and functions that only draw (``plot_*``).
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_MODULES = [
    "losses",
    "elbo",
    "reparam",
    "estimators/gradients",
    "estimators/objectives",
    "latent",
    "sparse",
    "sparse_metrics",
]

# The fast test files that check each module (modules not listed here: the tests importing them).
TEST_FILES = {
    "losses": ["test_losses.py", "test_elbo.py", "test_reparam.py"],
    "elbo": ["test_elbo.py"],
    "reparam": ["test_reparam.py", "test_gradients.py"],
    "estimators/gradients": ["test_gradients.py"],
    "estimators/objectives": ["test_gradients.py"],
    "latent": ["test_latent.py"],
    "sparse": ["test_sparse.py"],
    "sparse_metrics": ["test_sparse.py"],
}

SKIP_FUNCTIONS = re.compile(r"^(plot_|_class_colour$)")  # drawing code: nothing to compute

# Survivors judged equivalent: (module, original line, mutated line), stripped -> reason.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    (
        "elbo",
        "chunk = max(1, 2**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
        "chunk = max(1, 2**20 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
    ): "the chunk size only batches independent repeats (memory), not what is estimated",
    (
        "information",
        "CHUNK_ELEMENTS = 1 << 23  # float64 numbers per chunk of pairwise work (64 MB)",
        "CHUNK_ELEMENTS = 2 << 23  # float64 numbers per chunk of pairwise work (64 MB)",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "CHUNK_ELEMENTS = 1 << 23  # float64 numbers per chunk of pairwise work (64 MB)",
        "CHUNK_ELEMENTS = 1 << 24  # float64 numbers per chunk of pairwise work (64 MB)",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "if labels.is_floating_point() and not torch.equal(labels, labels.round()):",
        "if labels.is_floating_point() and not torch.equal(labels.round(), labels):",
    ): "torch.equal is symmetric",
    (
        "information",
        "labels = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)",  # noqa: E501
        "labels = torch.as_tensor(np.asarray(labels) if (isinstance(labels, torch.Tensor)) else labels)",  # noqa: E501
    ): (
        "np.asarray of a CPU tensor and torch.as_tensor of a list give the same labels; "
        "only a CUDA tensor would differ (np.asarray refuses it), which CPU tests cannot "
        "see"
    ),
    (
        "information",
        "per_row = n * (d if var.shape[0] > 1 else 1) * 4",
        "per_row = (n) * 4",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "per_row = n * (d if var.shape[0] > 1 else 1) * 4",
        "per_row = (n * (d if var.shape[0] > 1 else 1))",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "per_row = n * (d if var.shape[0] > 1 else 1) * 4",
        "per_row = n * (d if var.shape[0] >= 1 else 1) * 4",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "per_row = n * (d if var.shape[0] > 1 else 1) * 4",
        "per_row = n * (d if var.shape[1] > 1 else 1) * 4",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "per_row = n * (d if var.shape[0] > 1 else 1) * 4",
        "per_row = n * (d if var.shape[0] > 2 else 1) * 4",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "per_row = n * (d if var.shape[0] > 1 else 1) * 4",
        "per_row = n * (d if var.shape[0] > 1 else 2) * 4",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "per_row = n * (d if var.shape[0] > 1 else 1) * 4",
        "per_row = n * (d if var.shape[0] > 1 else 1) * 5",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
        "return min(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
        "return max(2, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
        "return max(min(n, CHUNK_ELEMENTS // max(per_row, 1)), 1)",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
        "return max(1, max(n, CHUNK_ELEMENTS // max(per_row, 1)))",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
        "return max(1, min(CHUNK_ELEMENTS // max(per_row, 1), n))",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
        "return max(1, min(n, CHUNK_ELEMENTS // min(per_row, 1)))",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
        "return max(1, min(n, CHUNK_ELEMENTS // max(1, per_row)))",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))",
        "return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 2)))",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "step = _chunk_rows(mu, var)",
        "step = _chunk_rows(var, mu)",
    ): (
        "the chunk size only splits the pairwise work into row blocks (memory), not what "
        "is computed"
    ),
    (
        "information",
        "rows = slice(start, min(start + step, n))",
        "rows = slice(start, min(n, start + step))",
    ): "min is symmetric",
    (
        "information",
        "t = mu[which] + var[which].sqrt() * eps  # (S, d)",
        "t = mu[which] - var[which].sqrt() * eps  # (S, d)",
    ): (
        "eps is standard normal and symmetric: mu - sigma eps has the same distribution "
        "as mu + sigma eps"
    ),
    (
        "information",
        "step = max(1, CHUNK_ELEMENTS // (mu.numel() * 2))",
        "step = min(1, CHUNK_ELEMENTS // (mu.numel() * 2))",
    ): (
        "the chunk size only splits the Monte Carlo samples into blocks (memory), not "
        "what is computed"
    ),
    (
        "information",
        "step = max(1, CHUNK_ELEMENTS // (mu.numel() * 2))",
        "step = max(2, CHUNK_ELEMENTS // (mu.numel() * 2))",
    ): (
        "the chunk size only splits the Monte Carlo samples into blocks (memory), not "
        "what is computed"
    ),
    (
        "information",
        "step = max(1, CHUNK_ELEMENTS // (mu.numel() * 2))",
        "step = max(CHUNK_ELEMENTS // (mu.numel() * 2), 1)",
    ): (
        "the chunk size only splits the Monte Carlo samples into blocks (memory), not "
        "what is computed"
    ),
    (
        "information",
        "step = max(1, CHUNK_ELEMENTS // (mu.numel() * 2))",
        "step = max(1, CHUNK_ELEMENTS // ((mu.numel())))",
    ): (
        "the chunk size only splits the Monte Carlo samples into blocks (memory), not "
        "what is computed"
    ),
    (
        "information",
        "step = max(1, CHUNK_ELEMENTS // (mu.numel() * 2))",
        "step = max(1, CHUNK_ELEMENTS // (mu.numel() * 3))",
    ): (
        "the chunk size only splits the Monte Carlo samples into blocks (memory), not "
        "what is computed"
    ),
    (
        "information",
        "for chunk in s.split(max(1, CHUNK_ELEMENTS // (3 * n * n))):",
        "for chunk in s.split(min(1, CHUNK_ELEMENTS // (3 * n * n))):",
    ): ("the chunk size only splits the batch of codes into blocks (memory), not what is computed"),
    (
        "information",
        "for chunk in s.split(max(1, CHUNK_ELEMENTS // (3 * n * n))):",
        "for chunk in s.split(max(2, CHUNK_ELEMENTS // (3 * n * n))):",
    ): ("the chunk size only splits the batch of codes into blocks (memory), not what is computed"),
    (
        "information",
        "for chunk in s.split(max(1, CHUNK_ELEMENTS // (3 * n * n))):",
        "for chunk in s.split(max(CHUNK_ELEMENTS // (3 * n * n), 1)):",
    ): ("the chunk size only splits the batch of codes into blocks (memory), not what is computed"),
    (
        "information",
        "for chunk in s.split(max(1, CHUNK_ELEMENTS // (3 * n * n))):",
        "for chunk in s.split(max(1, CHUNK_ELEMENTS // (4 * n * n))):",
    ): ("the chunk size only splits the batch of codes into blocks (memory), not what is computed"),
    (
        "information",
        "for chunk in s.split(max(1, CHUNK_ELEMENTS // (3 * n * n))):",
        "for chunk in s.split(max(1, CHUNK_ELEMENTS // ((3) * n))):",
    ): ("the chunk size only splits the batch of codes into blocks (memory), not what is computed"),
    (
        "information",
        "for chunk in s.split(max(1, CHUNK_ELEMENTS // (3 * n * n))):",
        "for chunk in s.split(max(1, CHUNK_ELEMENTS // ((3 * n)))):",
    ): ("the chunk size only splits the batch of codes into blocks (memory), not what is computed"),
    (
        "information",
        "gram = chunk @ chunk.transpose(1, 2)  # (b, N, N)",
        "gram = chunk @ chunk.transpose(2, 1)  # (b, N, N)",
    ): "transpose(2, 1) and transpose(1, 2) swap the same two dimensions",
    (
        "estimators/contrastive",
        "if scores.shape[-1] < 2:",
        "if scores.shape[-2] < 2:",
    ): "after the square check shape[-2] equals shape[-1]",
    (
        "estimators/contrastive",
        "k = scores.shape[-1]",
        "k = scores.shape[-2]",
    ): "after the square check shape[-2] equals shape[-1]",
    (
        "estimators/contrastive",
        "return x, rho * x + math.sqrt(1.0 - rho * rho) * noise",
        "return x, rho * x - math.sqrt(1.0 - rho * rho) * noise",
    ): "the noise is standard normal and symmetric: the same distribution of y",
    (
        "estimators/contrastive",
        "cross = x @ y.transpose(-1, -2)  # x_i . y_j, (..., K, K)",
        "cross = x @ y.transpose(-2, -1)  # x_i . y_j, (..., K, K)",
    ): "transpose(-2, -1) and transpose(-1, -2) swap the same two dimensions",
    (
        "estimators/contrastive",
        "cross = (x @ w) @ y.transpose(-1, -2)  # (..., K, K)",
        "cross = (x @ w) @ y.transpose(-2, -1)  # (..., K, K)",
    ): "transpose(-2, -1) and transpose(-1, -2) swap the same two dimensions",
    (
        "estimators/contrastive",
        "def loss(self, xy: torch.Tensor, beta: float = 1.0) -> LossTerms:",
        "def loss(self, xy: torch.Tensor, beta: float = 2.0) -> LossTerms:",
    ): "beta is unused (it is there for fit's interface)",
    (
        "rate_distortion",
        "s = np.asarray(variances, dtype=np.float64).reshape(-1)",
        "s = np.asarray(variances, dtype=np.float64).reshape(-2)",
    ): ("numpy reads any negative size as the one unknown dimension: reshape(-2) is reshape(-1)"),
    (
        "rate_distortion",
        "return np.array([gaussian_rd(variances, d) for d in np.asarray(distortions).reshape(-1)])",
        "return np.array([gaussian_rd(variances, d) for d in np.asarray(distortions).reshape(-2)])",
    ): ("numpy reads any negative size as the one unknown dimension: reshape(-2) is reshape(-1)"),
    (
        "rate_distortion",
        "if d >= s.sum():",
        "if d > s.sum():",
    ): (
        "at D = sum s_i the loop also ends at theta = max s_i (the mean of the remaining "
        "variances reaches the largest only at the last one), equal up to rounding"
    ),
    (
        "rate_distortion",
        "if theta <= s_k:",
        "if theta < s_k:",
    ): (
        "at theta = s_k, moving s_k under the water leaves the next share (d - below) / "
        "(n - k - 1) equal to theta, up to rounding"
    ),
    (
        "rate_distortion",
        "return float(s[-1])  # not reached: d < s.sum() ensures a return in the loop",
        "return float(s[(1)])  # not reached: d < s.sum() ensures a return in the loop",
    ): "the line is never reached: d < sum s_i makes the loop return",
    (
        "rate_distortion",
        "return float(s[-1])  # not reached: d < s.sum() ensures a return in the loop",
        "return float(s[-2])  # not reached: d < s.sum() ensures a return in the loop",
    ): "the line is never reached: d < sum s_i makes the loop return",
    (
        "rate_distortion",
        "return np.minimum(water_level(s, distortion), s)",
        "return np.minimum(s, water_level(s, distortion))",
    ): "np.minimum is symmetric",
    (
        "rate_distortion",
        "per = np.minimum(beta / 2.0, s)",
        "per = np.minimum(s, beta / 2.0)",
    ): "np.minimum is symmetric",
    (
        "estimators/objectives",
        'self.register_buffer("x", (self.logits(z_target) > 0).to(dt))  # (P,)',
        'self.register_buffer("x", (self.logits(z_target) >= 0).to(dt))  # (P,)',
    ): (
        "a logit of exactly 0 has probability 0 under the continuous random weights: > 0 "
        "and >= 0 binarize alike"
    ),
    (
        "estimators/contrastive",
        "steps_per_epoch = max(1, min(num_steps, 4096 // batch_size))",
        "steps_per_epoch = max(min(num_steps, 4096 // batch_size), 1)",
    ): "max and min are symmetric",
    (
        "estimators/contrastive",
        "steps_per_epoch = max(1, min(num_steps, 4096 // batch_size))",
        "steps_per_epoch = max(1, min(4096 // batch_size, num_steps))",
    ): "max and min are symmetric",
    (
        "estimators/contrastive",
        "num_epochs = max(1, round(num_steps / steps_per_epoch))",
        "num_epochs = max(round(num_steps / steps_per_epoch), 1)",
    ): "max is symmetric",
    (
        "sparse_metrics",
        "x, x_hat = _pair(x, x_hat)",
        "x, x_hat = _pair(x_hat, x)",
    ): "the squared error is symmetric in x and x_hat (and both are reshaped alike)",
    (
        "sparse_metrics",
        "mean, std = z_train.mean(0), z_train.std(0).clamp_min(1e-8)",
        "mean, std = z_train.sum(0), z_train.std(0).clamp_min(1e-8)",
    ): ("the same shift of train and test features is absorbed by the probe's unpenalised bias"),
    (
        "sparse_metrics",
        "num_classes = int(max(y_train.max(), y_test.max())) + 1",
        "num_classes = int(max(y_test.max(), y_train.max())) + 1",
    ): "max is symmetric",
    (
        "sparse_metrics",
        "num_classes = int(max(y_train.max(), y_test.max())) + 1",
        "num_classes = int(max(y_train.max(), y_test.max())) + 2",
    ): (
        "an output for a class that never occurs in training is only pushed down and "
        "never predicted"
    ),
    (
        "sparse_metrics",
        "num_classes = int(max(y_train.max(), y_test.max())) + 1",
        "num_classes = int(max(y_train.max(), y_test.min())) + 1",
    ): (
        "it differs only when the held-out labels exceed every training label, and then "
        "it drops only outputs of classes never seen in training, which are never "
        "predicted"
    ),
    (
        "sparse_metrics",
        '"mse": reconstruction_error(x_test, x_hat),',
        '"mse": reconstruction_error(x_hat, x_test),',
    ): "the squared error is symmetric in x and x_hat (and both are reshaped alike)",
    (
        "estimators/objectives",
        "def randn(*shape, scale=1.0):",
        "def randn(*shape, scale=2.0):",
    ): "every call of randn passes its own scale: the default is never used",
    (
        "elbo",
        'return -gaussian_nll(z, torch.zeros_like(z), reduction="none").sum(-1)',
        'return -gaussian_nll(torch.zeros_like(z), z, reduction="none").sum(-1)',
    ): (
        "(x - mu)^2 is symmetric and zeros_like(z) has z's dtype and device; z is checked for"
        " NaN under its own name first"
    ),
    (
        "elbo",
        'rate = kl_std_normal(mu, log_var, reduction="none").sum(-1).to(torch.float64)',
        'rate = kl_std_normal(mu, log_var, reduction="none").sum((1)).to(torch.float64)',
    ): "mu is checked to have shape (B, D), so dimension -1 is dimension 1",
    (
        "elbo",
        "chunk = max(1, 2**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
        "chunk = min(1, 2**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
    ): "the chunk size only batches independent repeats (memory), not what is estimated",
    (
        "elbo",
        "chunk = max(1, 2**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
        "chunk = max(2, 2**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
    ): "the chunk size only batches independent repeats (memory), not what is estimated",
    (
        "elbo",
        "chunk = max(1, 2**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
        "chunk = max(2**19 // k_max, 1)  # repeats per call: keeps (K_max, chunk, P) tensors small",
    ): "the chunk size only batches independent repeats (memory), not what is estimated",
    (
        "elbo",
        "chunk = max(1, 2**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
        "chunk = max(1, 3**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
    ): "the chunk size only batches independent repeats (memory), not what is estimated",
    (
        "elbo",
        "chunk = max(1, 2**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
        "chunk = max(1, 2*19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small",
    ): "the chunk size only batches independent repeats (memory), not what is estimated",
    (
        "elbo",
        "n = min(chunk, num_repeats - done)",
        "n = min(num_repeats - done, chunk)",
    ): "min is symmetric",
    (
        "elbo",
        "if (prior < 0).any() or not torch.isclose(prior.sum(), prior.new_tensor(1.0)):",
        "if (prior < 0).any() or not torch.isclose(prior.new_tensor(1.0), prior.sum()):",
    ): (
        "isclose's tolerance is relative to its second argument, 1 or a sum already within "
        "1e-5 of 1: the bounds differ by about 1e-10, a tolerance, not a formula"
    ),
    (
        "elbo",
        "if (likelihood < 0).any() or not torch.allclose(col, torch.ones_like(col)):",
        "if (likelihood < 0).any() or not torch.allclose(torch.ones_like(col), col):",
    ): (
        "allclose's tolerance is relative to its second argument, 1 or a column sum already "
        "within 1e-5 of 1: the bounds differ by about 1e-10, a tolerance, not a formula"
    ),
    (
        "estimators/gradients",
        "b = (fz.sum(0, keepdim=True) - fz) / (num_samples - 1)",
        "b = (fz.sum(0, keepdim=False) - fz) / (num_samples - 1)",
    ): (
        "fz.sum(0) of shape (R,) broadcasts against fz (K, R) along the last dimension "
        "exactly as (1, R) does"
    ),
    (
        "estimators/gradients",
        "x = torch.linspace(-width, width, num, dtype=mu.dtype, device=mu.device)",
        "x = torch.linspace(width, -width, num, dtype=mu.dtype, device=mu.device)",
    ): "the grid is symmetric about 0: reversed, it only reorders the terms of the weighted sum",
    (
        "estimators/gradients",
        "log_w = -0.5 * eps.pow(2).sum(-1)",
        "log_w = -0.5 * eps.pow(2).sum((1))",
    ): "eps has shape (num^D, D), so dimension -1 is dimension 1",
    (
        "estimators/gradients",
        "z = mu + torch.exp(0.5 * log_var) * eps",
        "z = mu - torch.exp(0.5 * log_var) * eps",
    ): (
        "the grid and its weights are symmetric in eps, so mu - sigma eps visits the same "
        "points with the same weights (and exact_grad differentiates the same sum)"
    ),
    (
        "estimators/gradients",
        "return self.grads.var(0).sum(-1)",
        "return self.grads.var(0).sum((1))",
    ): "grads.var(0) has shape (2, D), so dimension -1 is dimension 1",
    (
        "latent",
        "def encode_dataset(model, x, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:",
        "def encode_dataset(model, x, batch_size: int = 501) -> tuple[torch.Tensor, torch.Tensor]:",
    ): (
        "the batch size only splits the encoding into chunks; in eval mode an image's code "
        "does not depend on the rest of its batch"
    ),
    (
        "latent",
        "scores = path_smoothness(decode_points(model, line(centres[a], centres[b], num_steps)))",
        "scores = path_smoothness(decode_points(model, line(centres[b], centres[a], num_steps)))",
    ): (
        "the path from b to a has the same steps in reverse order: the same largest, mean and"
        " total step, and the same end-to-end distance"
    ),
    (
        "sparse",
        "x = flatten_inputs(x, x[0].numel() if x.dim() > 1 else 0).float()",
        "x = flatten_inputs(x, x[0].numel() if x.dim() >= 1 else 0).float()",
    ): (
        "flatten_inputs refuses an x without a batch dimension (dim < 2) before it reads "
        "in_features, so this value is never used"
    ),
    (
        "sparse",
        "x = flatten_inputs(x, x[0].numel() if x.dim() > 1 else 0).float()",
        "x = flatten_inputs(x, x[0].numel() if x.dim() > 1 else 1).float()",
    ): (
        "flatten_inputs refuses an x without a batch dimension (dim < 2) before it reads "
        "in_features, so this value is never used"
    ),
    (
        "sparse",
        "return sae_loss(xb, x_hat, a, l1)",
        "return sae_loss(x_hat, xb, a, l1)",
    ): "the squared error is symmetric, and inside train_sae x and x_hat are both float32",
    (
        "sparse",
        "u_c, x_c = u - u.mean(0), x - x.mean(0)",
        "u_c, x_c = u - u.mean(0), (x)",
    ): (
        "u_c has zero column means, so subtracting any per-pixel constant from x leaves "
        "sum(u_c * x_c) unchanged"
    ),
    (
        "sparse",
        "u_c, x_c = u - u.mean(0), x - x.mean(0)",
        "u_c, x_c = u - u.mean(0), x + x.mean(0)",
    ): (
        "u_c has zero column means, so subtracting any per-pixel constant from x leaves "
        "sum(u_c * x_c) unchanged"
    ),
    (
        "sparse",
        "u_c, x_c = u - u.mean(0), x - x.mean(0)",
        "u_c, x_c = u - u.mean(0), x - x.sum(0)",
    ): (
        "u_c has zero column means, so subtracting any per-pixel constant from x leaves "
        "sum(u_c * x_c) unchanged"
    ),
}

ARITH_SWAP = {ast.Add: "-", ast.Sub: "+", ast.Mult: "/", ast.Div: "*", ast.Pow: "*"}
OP_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
CMP_SWAP = {
    ast.Lt: ["<="],
    ast.LtE: ["<"],
    ast.Gt: [">="],
    ast.GtE: [">"],
    ast.Eq: ["!="],
    ast.NotEq: ["=="],
    ast.Is: ["is not"],
    ast.IsNot: ["is"],
    ast.In: ["not in"],
    ast.NotIn: ["in"],
}
CMP_TEXT = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
ATTR_SWAP = {
    "sum": "mean",
    "mean": "sum",
    "max": "min",
    "min": "max",
    "amax": "amin",
    "amin": "amax",
    "std": "var",
    "var": "std",
    "argmax": "argmin",
    "argmin": "argmax",
    "exp": "log",
    "log": "exp",
    "clamp_min": "clamp_max",
    "softmax": "log_softmax",
    "log_softmax": "softmax",
    "triu": "tril",
}
NAME_SWAP = {"max": "min", "min": "max"}
STR_SWAP = {"sum": "mean", "mean": "sum", "none": "sum", "batchmean": "mean"}


@dataclass
class Mutant:
    module: str
    lineno: int  # 1-based
    original: str  # the whole line
    mutated: str
    kind: str
    status: str = "pending"  # killed | timeout | survived | equivalent | error
    detail: str = ""

    def key(self) -> tuple[str, str, str]:
        return (self.module, self.original.strip(), self.mutated.strip())


@dataclass
class Edit:
    lineno: int
    start: int  # character columns in the line
    end: int
    text: str
    kind: str


# ---------------------------------------------------------------- generating mutants


def _char_col(line_bytes: bytes, byte_col: int) -> int:
    return len(line_bytes[:byte_col].decode("utf-8"))


class _Finder(ast.NodeVisitor):
    """Collect one-line edits for every mutable node outside error messages and drawing code."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.edits: list[Edit] = []

    # --- helpers
    def _span(self, node):
        if node.lineno != node.end_lineno:
            return None
        raw = self.lines[node.lineno - 1].encode("utf-8")
        return node.lineno, _char_col(raw, node.col_offset), _char_col(raw, node.end_col_offset)

    def _text(self, node) -> str | None:
        span = self._span(node)
        if span is None:
            return None
        lineno, a, b = span
        return self.lines[lineno - 1][a:b]

    def _add(self, node, text, kind):
        span = self._span(node)
        if span is not None:
            self.edits.append(Edit(*span, text, kind))

    # --- skipped regions
    def visit_FunctionDef(self, node):
        if SKIP_FUNCTIONS.match(node.name):
            return
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        for child in [node.args, *node.decorator_list, *body]:
            self.visit(child)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Raise(self, node):
        return  # error messages: wording, not computation

    def visit_JoinedStr(self, node):
        return

    def visit_arg(self, node):
        return  # annotations

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)

    def visit_ClassDef(self, node):
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        for child in body:
            self.visit(child)

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a bare string: documentation
        self.generic_visit(node)

    # --- operators
    def visit_BinOp(self, node):
        self.generic_visit(node)
        whole, left, right = self._text(node), self._text(node.left), self._text(node.right)
        if None in (whole, left, right) or type(node.op) not in OP_TEXT:
            return
        lineno, a, _ = self._span(node)
        _, la, lb = self._span(node.left)
        _, ra, _ = self._span(node.right)
        line = self.lines[lineno - 1]
        gap = line[lb:ra]
        symbol = OP_TEXT[type(node.op)]
        pos = gap.find(symbol)
        if symbol == "*":
            pos = next((i for i in range(len(gap)) if gap[i : i + 2] != "**" and gap[i] == "*"
                        and (i == 0 or gap[i - 1] != "*")), -1)  # fmt: skip
        if pos >= 0:
            new = ARITH_SWAP[type(node.op)]
            self.edits.append(
                Edit(lineno, lb + pos, lb + pos + len(symbol), new, f"{symbol}->{new}")
            )
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            self._add(node, f"({left})", "drop right operand")
        if isinstance(node.op, ast.Add):
            self._add(node, f"({right})", "drop left operand")
        if isinstance(node.op, ast.Div) and left != right:
            self._add(node, f"({right}) {symbol} ({left})", "swap operands")
        del a, la

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub):
            operand = self._text(node.operand)
            if operand is not None:
                self._add(node, f"({operand})", "drop minus sign")
        elif isinstance(node.op, ast.Not):
            operand = self._text(node.operand)
            if operand is not None:
                self._add(node, f"({operand})", "drop not")

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) != 1:
            return
        left, right = self._text(node.left), self._text(node.comparators[0])
        if left is None or right is None:
            return
        for new in CMP_SWAP.get(type(node.ops[0]), []):
            self._add(node, f"{left} {new} {right}", f"{CMP_TEXT[type(node.ops[0])]}->{new}")

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        texts = [self._text(v) for v in node.values]
        if None in texts or self._span(node) is None:
            return
        new = " or " if isinstance(node.op, ast.And) else " and "
        self._add(node, new.join(texts), f"{'and' if new == ' or ' else 'or'}->{new.strip()}")

    # --- constants and names
    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool):
            self._add(node, str(not value), f"{value}->{not value}")
        elif isinstance(value, int):
            self._add(node, str(value + 1), f"{value}->{value + 1}")
        elif isinstance(value, float):
            if value == 0.0:
                self._add(node, "1.0", "0.0->1.0")
            elif abs(value) >= 1e-3:
                self._add(node, repr(2 * value), f"{value!r}->{2 * value!r}")
        elif isinstance(value, str) and value in STR_SWAP:
            quote = (self._text(node) or '"')[0]
            new = STR_SWAP[value]
            self._add(node, f"{quote}{new}{quote}", f"'{value}'->'{new}'")

    def visit_Attribute(self, node):
        self.generic_visit(node)
        new = ATTR_SWAP.get(node.attr)
        span = self._span(node)
        if new is None or span is None:
            return
        lineno, _, b = span
        self.edits.append(Edit(lineno, b - len(node.attr), b, new, f".{node.attr}->.{new}"))

    def visit_Name(self, node):
        new = NAME_SWAP.get(node.id)
        if new is not None and isinstance(node.ctx, ast.Load):
            self._add(node, new, f"{node.id}->{new}")

    def visit_Call(self, node):
        self.generic_visit(node)
        args = node.args
        if len(args) < 2 or any(isinstance(a, ast.Starred) for a in args[:2]):
            return
        if any(isinstance(a, ast.JoinedStr) or (isinstance(a, ast.Constant)
               and isinstance(a.value, str)) for a in args[:2]):  # fmt: skip
            return  # (name, value) pairs of the check_* helpers
        a0, a1 = self._span(args[0]), self._span(args[1])
        if a0 is None or a1 is None or a0[0] != a1[0]:
            return
        t0, t1 = self._text(args[0]), self._text(args[1])
        if t0 == t1:
            return
        lineno, s0, e0 = a0
        _, s1, e1 = a1
        line = self.lines[lineno - 1]
        self.edits.append(Edit(lineno, s0, e1, t1 + line[e0:s1] + t0, "swap arguments"))


def generate(module: str, source: str) -> list[Mutant]:
    """Every one-line mutant of ``source`` that still compiles, without duplicates."""
    lines = source.splitlines(keepends=True)
    finder = _Finder([line.rstrip("\n") for line in lines])
    finder.visit(ast.parse(source))
    mutants, seen = [], set()
    for edit in sorted(finder.edits, key=lambda e: (e.lineno, e.start, e.kind)):
        line = lines[edit.lineno - 1]
        new_line = line[: edit.start] + edit.text + line[edit.end :]
        if new_line == line or (edit.lineno, new_line) in seen:
            continue
        seen.add((edit.lineno, new_line))
        mutated = "".join(lines[: edit.lineno - 1]) + new_line + "".join(lines[edit.lineno :])
        try:
            compile(mutated, module, "exec")
        except SyntaxError:
            continue
        mutants.append(Mutant(module, edit.lineno, line, new_line, edit.kind))
    return mutants


# ---------------------------------------------------------------- running tests in a copy


def make_copy(dest: Path) -> Path:
    """Copy vaelib/, tests/ and the pytest configuration into ``dest`` (data folders linked)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_data")
    shutil.copytree(ROOT / "vaelib", dest / "vaelib", ignore=ignore)
    for data in (ROOT / "vaelib").rglob("_data"):
        (dest / data.relative_to(ROOT)).symlink_to(data, target_is_directory=True)
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=ignore)
    for name in ("pyproject.toml", "_toc.yml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    return dest


class Tracer:
    """A pytest plugin that records which lines of the target files each test executes."""

    def __init__(self, files: set[str]):
        self.files = files
        self.hits: dict[str, set[tuple[str, int]]] = defaultdict(set)
        self.durations: dict[str, float] = {}
        self.failed: list[str] = []
        self._current: set[tuple[str, int]] = set()

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename in self.files:
            return self._local
        return None

    def _local(self, frame, event, arg):
        if event == "line":
            self._current.add((frame.f_code.co_filename, frame.f_lineno))
        return self._local

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self._current = self.hits[item.nodeid]
        start = time.perf_counter()
        sys.settrace(self._global)
        threading.settrace(self._global)
        try:
            yield
        finally:
            sys.settrace(None)
            threading.settrace(None)
            self.durations[item.nodeid] = time.perf_counter() - start

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed.append(report.nodeid)


def _child(copy: Path, args: list[str], log: Path, plugins=()) -> int:
    """In a forked child: run pytest on ``copy`` with output to ``log``; returns pytest's code."""
    import torch

    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.chdir(copy)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, ROOT / "tests")]
    sys.path.insert(0, str(copy))
    os.environ["PYTHONPATH"] = str(copy) + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.dont_write_bytecode = True
    torch.set_num_threads(1)  # one core per worker
    base = [
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(copy),
        "-m",
        "not book and not browser",
    ]
    return int(pytest.main(base + args, plugins=list(plugins)))


def fork_run(copy: Path, args: list[str], log: Path, plugins=(), after=None) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            code = _child(copy, args, log, plugins)
            if after is not None:
                after()
        finally:
            os._exit(code)
    return pid


def baseline(copy: Path, modules: list[str], test_files: dict[str, list[str]], workdir: Path):
    """Trace one run of every selected test file on the unmutated copy."""
    files = {str(copy / "vaelib" / f"{m}.py") for m in modules}
    all_tests = sorted({t for m in modules for t in test_files[m]})
    out = workdir / "baseline.json"
    tracer = Tracer(files)

    def dump():
        hits = {k: sorted((Path(f).relative_to(copy / "vaelib").with_suffix("").as_posix(), n)
                          for f, n in v) for k, v in tracer.hits.items()}  # fmt: skip
        out.write_text(json.dumps({"hits": hits, "durations": tracer.durations,
                                   "failed": tracer.failed}))  # fmt: skip

    log = workdir / "baseline.log"
    pid = fork_run(copy, [f"tests/{t}" for t in all_tests], log, [tracer], after=dump)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if not out.exists():
        sys.exit(f"the baseline run crashed (exit {code}); see {log}")
    data = json.loads(out.read_text())
    if data["failed"] or code not in (0, 5):
        sys.exit(f"the tests fail on the unmutated code: {data['failed']}; see {log}")
    return data


def select_tests(mutant: Mutant, data, test_files) -> tuple[list[str], float]:
    """Node ids of the tests that run the mutated line, fastest first, and their baseline time."""
    files = {f"tests/{t}" for t in test_files[mutant.module]}
    durations = data["durations"]
    covering = [
        nodeid
        for nodeid, hits in data["hits"].items()
        if nodeid.split("::")[0] in files and [mutant.module, mutant.lineno] in hits
    ]
    if not covering:  # run at import time (or by no test): run every test of the module
        covering = [n for n in durations if n.split("::")[0] in files]
    covering.sort(key=lambda n: durations.get(n, 0.0))
    return covering, sum(durations.get(n, 0.0) for n in covering)


def run_mutants(mutants, data, test_files, copies, workdir, timeout_factor, verbose, deadline):
    originals = {m.module: (copies[0] / "vaelib" / f"{m.module}.py").read_text() for m in mutants}
    pending = list(mutants)
    running: dict[int, tuple[Mutant, int, float, float, Path]] = {}  # pid -> ...
    free = list(range(len(copies)))
    done = 0
    while pending or running:
        if time.monotonic() > deadline:  # out of time: report the mutants run so far
            for mutant in pending:
                mutant.status = "not run"
            pending = []
        while pending and free:
            mutant = pending.pop(0)
            if mutant.key() in EQUIVALENT:
                mutant.status, mutant.detail = "equivalent", EQUIVALENT[mutant.key()]
                done += 1
                continue
            slot = free.pop()
            target = copies[slot] / "vaelib" / f"{mutant.module}.py"
            source = originals[mutant.module].splitlines(keepends=True)
            source[mutant.lineno - 1] = mutant.mutated
            target.write_text("".join(source))
            tests, seconds = select_tests(mutant, data, test_files)
            limit = timeout_factor * seconds + 60.0
            log = workdir / f"slot{slot}.log"
            pid = fork_run(copies[slot], tests, log)
            running[pid] = (mutant, slot, time.monotonic(), limit, log)
        time.sleep(0.05)
        for pid, (mutant, slot, start, limit, log) in list(running.items()):
            waited, status = os.waitpid(pid, os.WNOHANG)
            if waited == 0:
                if time.monotonic() - start > limit:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    mutant.status, mutant.detail = "timeout", f"over {limit:.0f} s"
                else:
                    continue
            else:
                code = os.waitstatus_to_exitcode(status)
                mutant.status = {0: "survived", 1: "killed"}.get(code, "error")
                if mutant.status == "killed":
                    mutant.detail = _first_failure(log)
                elif mutant.status == "error":
                    mutant.detail = f"pytest exit code {code}"
            if verbose:
                print(log.read_text()[-3000:], flush=True)
            restore = copies[slot] / "vaelib" / f"{mutant.module}.py"
            restore.write_text(originals[mutant.module])
            del running[pid]
            free.append(slot)
            done += 1
            mark = {"killed": ".", "timeout": "T", "survived": "S", "error": "E"}[mutant.status]
            print(mark, end="\n" if done % 80 == 0 else "", flush=True)
    print()


def _first_failure(log: Path) -> str:
    text = log.read_text() if log.exists() else ""
    match = re.search(r"^FAILED (\S+)", text, re.M)
    return match.group(1) if match else ""


# ---------------------------------------------------------------- the command line


def default_test_files(module: str) -> list[str]:
    dotted = "vaelib." + module.replace("/", ".")
    package, _, name = dotted.rpartition(".")
    pattern = re.compile(
        rf"{re.escape(dotted)}\b|from {re.escape(package)} import [^\n]*\b{name}\b"
    )
    found = [
        p.name for p in sorted((ROOT / "tests").glob("test_*.py")) if pattern.search(p.read_text())
    ]
    if not found:
        sys.exit(f"no test file imports vaelib/{module}.py; pass --tests")
    return found


def parse_lines(spec: str | None):
    """``"40-60,75,90-92"`` -> [(40, 60), (75, 75), (90, 92)]; None for every line."""
    if not spec:
        return None
    ranges = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        ranges.append((int(a), int(b or a)))
    return ranges


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=DEFAULT_MODULES,
                        help="modules under vaelib/, no .py (default: %(default)s)")  # fmt: skip
    parser.add_argument("--tests", nargs="+", help="test files (names in tests/) for every module")
    parser.add_argument("--workers", type=int, default=2,
                        help="parallel mutants (<= 2; half the cores on 8 or more)")  # fmt: skip
    parser.add_argument("--lines", help="only mutants on these lines, e.g. 40-60 or 40-60,75")
    parser.add_argument("--timeout-factor", type=float, default=6.0,
                        help="time limit = factor * the tests' baseline time + 60 s")  # fmt: skip
    parser.add_argument("--budget", type=float, help="start no mutant after this many seconds")
    parser.add_argument("--sample", type=int, help="a random sample of N mutants per module")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--json", type=Path, help="write every mutant's outcome here")
    parser.add_argument("--verbose", action="store_true", help="print each run's test output")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    workers = max(1, min(args.workers, cores // 2 if cores >= 8 else 2))
    modules = [m.removesuffix(".py").removeprefix("vaelib/") for m in args.modules]
    for m in modules:
        if not (ROOT / "vaelib" / f"{m}.py").exists():
            sys.exit(f"no module vaelib/{m}.py")
    test_files = {m: args.tests or TEST_FILES.get(m) or default_test_files(m) for m in modules}
    lines = parse_lines(args.lines)
    mutants = []
    for m in modules:
        found = []
        for mutant in generate(m, (ROOT / "vaelib" / f"{m}.py").read_text()):
            if lines is None or any(a <= mutant.lineno <= b for a, b in lines):
                found.append(mutant)
        if args.sample and len(found) > args.sample:
            found = sorted(random.Random(0).sample(found, args.sample), key=lambda x: x.lineno)
        mutants += found
    if args.list:
        for mu in mutants:
            print(f"{mu.module}:{mu.lineno} [{mu.kind}] {mu.mutated.strip()}")
        print(f"{len(mutants)} mutants")
        return 0

    os.environ.setdefault("VAELIB_OFFLINE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib  # noqa: F401  (imported once here, shared by every forked child)
    import numpy  # noqa: F401
    import torch

    # torch.testing.assert_close imports torch.distributed on its first call (about 2 s): do it
    # here once, not in every forked child
    torch.testing.assert_close(torch.zeros(1), torch.zeros(1))

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vaelib-mutate-") as tmp:
        workdir = Path(tmp)
        copies = [make_copy(workdir / f"copy{i}") for i in range(workers)]
        print(f"{len(mutants)} mutants of {', '.join(modules)}; tracing the tests...", flush=True)
        data = baseline(copies[0], modules, test_files, workdir)
        print(f"baseline: {len(data['durations'])} tests in "
              f"{sum(data['durations'].values()):.0f} s; running mutants "
              f"({workers} workers)", flush=True)  # fmt: skip
        deadline = time.monotonic() + (args.budget or float("inf"))
        by_module = [[x for x in mutants if x.module == m] for m in modules]
        order = [x for group in itertools.zip_longest(*by_module) for x in group if x]
        run_mutants(
            order, data, test_files, copies, workdir, args.timeout_factor, args.verbose, deadline
        )
    elapsed = time.perf_counter() - start
    return report(mutants, modules, elapsed, args.json)


def report(mutants, modules, elapsed, json_path) -> int:
    print(f"\n{'module':24s} {'mutants':>7s} {'killed':>7s} {'survived':>8s} {'equiv':>6s}"
          f" {'score':>7s}")  # fmt: skip
    worst = 1.0
    for m in modules:
        ms = [x for x in mutants if x.module == m and x.status != "not run"]
        killed = sum(x.status in ("killed", "timeout") for x in ms)
        equivalent = sum(x.status == "equivalent" for x in ms)
        survived = len(ms) - killed - equivalent
        score = killed / max(1, len(ms) - equivalent)
        worst = min(worst, score)
        print(f"{m:24s} {len(ms):7d} {killed:7d} {survived:8d} {equivalent:6d} {score:7.1%}")
    survivors = [x for x in mutants if x.status in ("survived", "error")]
    if survivors:
        print("\nSurviving mutants:")
        for x in survivors:
            extra = f" ({x.detail})" if x.detail else ""
            print(f"  {x.module}:{x.lineno} [{x.kind}]{extra}\n"
                  f"      - {x.original.strip()}\n      + {x.mutated.strip()}")  # fmt: skip
    equivalent = [x for x in mutants if x.status == "equivalent"]
    if equivalent:
        print("\nEquivalent mutants (not counted):")
        for x in equivalent:
            print(f"  {x.module}:{x.lineno} {x.mutated.strip()}\n      because {x.detail}")
    not_run = sum(x.status == "not run" for x in mutants)
    print(f"\n{len(mutants) - not_run} mutants in {elapsed:.0f} s ({not_run} left unrun)")
    if json_path:
        json_path.write_text(json.dumps([x.__dict__ for x in mutants], indent=1))
    return 0 if worst >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
