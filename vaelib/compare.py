"""Comparing VAEs fairly: a learning rate chosen on a validation split for each model, several
seeds, held-out learning curves against epochs and against seconds, and the IWAE bound.

The protocol of :func:`compare`, for every model:

1. screen the learning rates: train it once per rate in a grid (seed 0) on the training split
   for ``screen_epochs`` epochs, scoring the validation split after every epoch; keep the rate
   whose last validation loss is lowest (the runs at the other rates are dropped);
2. train it at that rate for its ``num_epochs`` with every seed. Where the screen was as long
   as the training, the screen's run at the chosen rate is seed 0's run and is not repeated;
3. score every seed's model on the test images with the ELBO and the importance-weighted bound
   (Burda et al. 2016) from the same K samples per image.

A screen shorter than the training is cheap but short-sighted: the rate that is best after one
epoch can be too large or too small for several.

Used in chapter 4 (the ResNet VAE against the convolutional and MLP VAEs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from vaelib.checks import check_count
from vaelib.config import set_seed
from vaelib.elbo import log_importance_weights, log_mean_exp
from vaelib.train import History, evaluating, fit


@dataclass
class Run:
    """One training run: which model, learning rate and seed, its history and its test scores."""

    name: str
    lr: float
    seed: int
    history: History
    model: torch.nn.Module | None = None
    test: dict = field(default_factory=dict)

    @property
    def final_val(self) -> float:
        """The validation loss (nats per image) after the last epoch."""
        return float(self.history.val_loss[-1])


@dataclass
class ModelResult:
    """All runs of one model: the learning-rate screen (seed 0) and the seeds at the chosen rate."""

    name: str
    lr: float
    sweep: dict  # lr -> validation losses per epoch of the screen (list of float), seed 0
    runs: list  # Run, one per seed at the chosen lr, seed 0 first
    num_params: int

    def test_values(self, key: str) -> np.ndarray:
        """``run.test[key]`` for every seed: shape (S,)."""
        return np.array([run.test[key] for run in self.runs], dtype=float)

    def curves(self, key: str = "val_loss") -> np.ndarray:
        """A per-epoch history list (e.g. ``val_loss``) of every seed: shape (S, E)."""
        return np.array([getattr(run.history, key) for run in self.runs], dtype=float)

    def elapsed(self) -> np.ndarray:
        """Cumulative seconds at the end of each epoch, mean over seeds: shape (E,)."""
        return np.cumsum(self.curves("seconds"), axis=1).mean(axis=0)


def train_run(name, make_model: Callable, x_train, x_val, *, lr, seed, num_epochs, **fit_kwargs):
    """Seed with ``seed``, build ``make_model()`` and train it with :func:`fit`: a :class:`Run`."""
    set_seed(seed)
    model = make_model()
    fit_kwargs.setdefault("progress", False)
    history = fit(
        model, x_train, num_epochs=num_epochs, lr=lr, x_val=x_val, seed=seed, **fit_kwargs
    )
    return Run(name, float(lr), seed, history, model)


def choose_lr(name, make_model, x_train, x_val, lrs, *, num_epochs, seed=0, **fit_kwargs):
    """Train once per learning rate; return (the rate with the lowest final validation loss, runs).

    Returns
    -------
    best : float
    runs : dict of float to Run
        Every rate's run; the caller keeps the best one's model and may drop the others.
    """
    if len(lrs) == 0:
        raise ValueError("lrs must hold at least one learning rate")
    runs = {
        float(lr): train_run(
            name, make_model, x_train, x_val, lr=lr, seed=seed, num_epochs=num_epochs, **fit_kwargs
        )
        for lr in lrs
    }
    best = min(runs, key=lambda lr: runs[lr].final_val)
    return best, runs


def iwae_scores(model, x, *, num_samples=32, batch_size=100, seed=0) -> dict:
    """-ELBO and -IWAE_K of ``model`` on images ``x``, from the same K samples per image.

    With log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x), z_k ~ q(z | x) (Burda et al.
    2016, eq. 8): -ELBO ~= -mean_k log w_k and -IWAE_K = -log mean_k w_k (log-sum-exp in float64).
    By Jensen's inequality -IWAE_K <= -ELBO for every image and every draw; both are upper bounds
    on -log p(x) in expectation, IWAE_K the tighter one.

    Parameters
    ----------
    model : VAE
        Any model with ``encode`` and ``log_likelihood(x, z)`` (see
        :meth:`vaelib.models.vae.VAE.log_likelihood`).
    x : Tensor, shape (N, 1, 28, 28)
    num_samples : int
        K, the samples per image.

    Returns
    -------
    dict of float
        ``neg_elbo`` and ``neg_iwae``, nats per image, and ``num_samples``.
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be an integer >= 1, got {num_samples!r}")
    device = next(model.parameters()).device
    elbo_sum, iwae_sum = 0.0, 0.0
    with evaluating(model), torch.random.fork_rng(devices=_rng_devices(device)):
        torch.manual_seed(seed)
        for batch in x.split(batch_size):
            batch = batch.to(device)
            mu, log_var = model.encode(batch)
            log_w = log_importance_weights(model.log_likelihood, batch, mu, log_var, num_samples)
            elbo_sum += log_w.mean(dim=0).sum().item()  # (K, B) -> (B,) -> scalar
            iwae_sum += log_mean_exp(log_w, dim=0).sum().item()
    return {
        "neg_elbo": -elbo_sum / len(x),
        "neg_iwae": -iwae_sum / len(x),
        "num_samples": num_samples,
    }


def compare(
    models: dict,
    x_train,
    x_val,
    x_test,
    *,
    lrs,
    seeds=(0, 1, 2),
    num_epochs,
    screen_epochs=None,
    num_samples=32,
    keep_models=True,
    **fit_kwargs,
) -> dict:
    """Run the protocol of this module's docstring for every model.

    Parameters
    ----------
    models : dict of str to callable
        ``name -> make_model``, a function that builds a fresh model.
    x_train, x_val, x_test : Tensor, shape (N, 1, 28, 28)
        Training split, validation split (the learning-rate choice and the learning curves) and
        the test images (the final scores).
    lrs : sequence of float
        The learning-rate grid, the same for every model.
    seeds : sequence of int
        The first seed is the one the learning-rate sweep uses.
    num_epochs : int or dict of str to int
        Epochs per run, one number for all models or one per model.
    screen_epochs : int, optional
        Epochs of each run of the learning-rate screen, at most every model's ``num_epochs``;
        by default each model's ``num_epochs`` (the screen's run at the chosen rate is then seed
        0's run).
    num_samples : int
        K of the IWAE bound.
    keep_models : bool
        Keep every seed's trained model in its Run (otherwise only seed 0's).

    Returns
    -------
    dict of str to ModelResult
    """
    if len(seeds) == 0:
        raise ValueError("seeds must hold at least one seed")
    epochs_of = {
        name: num_epochs[name] if isinstance(num_epochs, dict) else num_epochs for name in models
    }
    if screen_epochs is not None:
        check_count("screen_epochs", screen_epochs)
        longer = {name: e for name, e in epochs_of.items() if screen_epochs > e}
        if longer:
            raise ValueError(
                f"screen_epochs ({screen_epochs}) is longer than the training of {longer}"
            )
    results = {}
    for name, make_model in models.items():
        epochs = epochs_of[name]
        screen = epochs if screen_epochs is None else screen_epochs
        lr, sweep = choose_lr(
            name, make_model, x_train, x_val, lrs, num_epochs=screen, seed=seeds[0], **fit_kwargs
        )
        runs = [sweep[lr]] if screen == epochs else []  # seed 0's run, where it is one
        for seed in seeds[len(runs) :]:
            runs.append(
                train_run(
                    name,
                    make_model,
                    x_train,
                    x_val,
                    lr=lr,
                    seed=seed,
                    num_epochs=epochs,
                    **fit_kwargs,
                )
            )
        for run in runs:
            run.test = iwae_scores(run.model, x_test, num_samples=num_samples, seed=run.seed)
            if not keep_models and run.seed != seeds[0]:
                run.model = None
        results[name] = ModelResult(
            name=name,
            lr=lr,
            sweep={r: list(run.history.val_loss) for r, run in sweep.items()},
            runs=runs,
            num_params=sum(p.numel() for p in runs[0].model.parameters()),
        )
    return results


def best_within(result: ModelResult, seconds: float) -> float:
    """The mean over seeds of the lowest validation loss reached within ``seconds`` of training.

    ``nan`` when not one epoch fits in ``seconds``: the model has nothing to show by then.
    """
    values = []
    for run in result.runs:
        elapsed = np.cumsum(run.history.seconds)
        done = np.asarray(run.history.val_loss)[elapsed <= seconds]
        values.append(done.min() if len(done) else math.nan)
    return float(np.mean(values))


def at_epoch(result: ModelResult, epoch: int, key: str = "val_loss") -> tuple[float, float]:
    """Mean and standard deviation over seeds of a history entry after ``epoch`` epochs."""
    values = result.curves(key)[:, epoch - 1]
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _rng_devices(device: torch.device) -> list:
    return [device] if device.type == "cuda" else []
