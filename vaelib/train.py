"""Training and evaluating a VAE: the ``fit`` loop, a per-epoch history, and checkpoints.

Used in chapters 4, 5 and 6: every chapter trains what it needs itself with :func:`fit`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from vaelib import config
from vaelib.checks import check_finite
from vaelib.config import device as default_device
from vaelib.config import set_seed
from vaelib.models.encoders import check_images

HISTORY_KEYS = ("loss", "recon", "kl")


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch (all in nats per image, or seconds).

    ``val_*`` lists stay empty when no held-out data was given.
    """

    epoch: list = field(default_factory=list)
    beta: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    recon: list = field(default_factory=list)
    kl: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_recon: list = field(default_factory=list)
    val_kl: list = field(default_factory=list)
    seconds: list = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        """Wall time of all epochs (training and held-out evaluation)."""
        return float(sum(self.seconds))

    def to_dict(self) -> dict:
        """Plain lists of numbers, for checkpoints."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> History:
        return cls(**{k: list(v) for k, v in values.items()})


@contextlib.contextmanager
def evaluating(model: torch.nn.Module):
    """Run a block in eval mode without gradients, then restore the model's mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def default_loss(model, x, beta):
    """``model.loss(x, beta=beta)``: the training loss of :class:`vaelib.models.vae.VAE`."""
    return model.loss(x, beta=beta)


def elbo_loss(model, x, beta):
    """The loss with the reconstruction summed over pixels, whatever the model trained with.

    The scoring rule of :func:`evaluate`: every model is compared on the same nats per image.
    """
    return model.loss(x, beta=beta, recon_reduction="sum")


def fit(
    model,
    x_train,
    *,
    num_epochs,
    batch_size=128,
    lr=1e-3,
    beta=1.0,
    x_val=None,
    seed=0,
    device=None,
    loss_fn=default_loss,
    progress=None,
    desc="training",
    callback=None,
    input_shape=None,
) -> History:
    """Train ``model`` with Adam on mini-batches of ``x_train``; return the per-epoch history.

    Parameters
    ----------
    model : VAE or any module with ``loss(x, beta) -> LossTerms``
    x_train : Tensor, shape (N, 1, 28, 28)
    num_epochs, batch_size, lr : int, int, float
    beta : float or callable
        The KL weight, or a function ``beta(epoch)`` (epoch counted from 0), e.g. a warm-up.
    x_val : Tensor, shape (M, 1, 28, 28), optional
        Held-out images, scored after every epoch with :func:`evaluate` on the training loss.
    seed : int
        Seeds the shuffling, the reparameterization noise and dropout via
        :func:`vaelib.config.set_seed`, so a run is reproducible on a given device.
    device : torch.device, optional
        Where to train; :func:`vaelib.config.device` (CUDA, MPS or CPU) by default.
    loss_fn : callable
        ``loss_fn(model, x, beta) -> LossTerms``; chapters 5 and 6 pass their own bounds.
    progress : bool, optional
        Show a tqdm bar with the current loss, recon and KL. By default it is shown except in
        the static book build (``VAELIB_STATIC=1``), where a progress widget would only leave
        dead JavaScript in the HTML.
    callback : callable, optional
        ``callback(epoch, model)`` after every epoch (epoch counted from 1), e.g. to record the
        encoder's outputs; chapter 6 measures mutual information with it.
    input_shape : tuple of int, optional
        The shape of one training example. By default the data must be MNIST images
        (N, 1, 28, 28); chapter 5 passes e.g. ``(8,)`` to train a linear VAE on vectors.

    Returns
    -------
    History
    """
    x_train = _check_data("x_train", x_train, input_shape)
    if x_val is not None:
        x_val = _check_data("x_val", x_val, input_shape)
    for name, value in (("num_epochs", num_epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    device = device or default_device()
    set_seed(seed)
    model.to(device).train()
    optimizer = adam(model.parameters(), lr, device)
    history = History()
    if progress is None:
        progress = not config.STATIC
    bar = tqdm(range(num_epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        start = time.perf_counter()
        beta_now = float(beta(epoch) if callable(beta) else beta)
        sums, seen = dict.fromkeys(HISTORY_KEYS, 0.0), 0
        for idx in torch.randperm(len(x_train)).split(batch_size):
            x = x_train[idx].to(device)
            terms = loss_fn(model, x, beta_now)
            optimizer.zero_grad(set_to_none=True)
            terms.loss.backward()
            optimizer.step()
            check_finite("the training loss", terms.loss.detach())
            for key in HISTORY_KEYS:
                sums[key] += getattr(terms, key).item() * len(idx)
            seen += len(idx)
        _append(history, "", {k: v / seen for k, v in sums.items()})
        if x_val is not None:
            scores = evaluate(model, x_val, beta=beta_now, device=device, loss_fn=loss_fn)
            _append(history, "val_", scores)
        history.epoch.append(epoch + 1)
        history.beta.append(beta_now)
        history.seconds.append(time.perf_counter() - start)
        if callback is not None:
            callback(epoch + 1, model)
        bar.set_postfix(
            loss=f"{history.loss[-1]:.1f}",
            recon=f"{history.recon[-1]:.1f}",
            kl=f"{history.kl[-1]:.1f}",
        )
    model.eval()
    return history


def evaluate(model, x, *, beta=1.0, batch_size=500, device=None, seed=0, loss_fn=elbo_loss) -> dict:
    """Score ``model`` on images ``x`` without training it.

    One reparameterized sample per image, drawn from a private random stream (``seed``), so
    the score is reproducible and the global random state is untouched. By default the
    reconstruction is summed over pixels (:func:`elbo_loss`) even for a model trained on the
    pixel mean, so that every model is scored on the same ELBO.

    Returns
    -------
    dict of float
        ``loss`` (recon + beta * KL), ``recon``, ``kl``, ``neg_elbo`` (recon + KL, an upper
        bound on -log p(x) when the reconstruction is summed over pixels), all in nats per
        image; ``mse``, the mean squared error per pixel of ``reconstruct(x)``, the decoder's
        mean at the posterior mean.
    """
    x = _check_data("x", x)
    device = device or next(model.parameters()).device
    sums = dict.fromkeys((*HISTORY_KEYS, "mse"), 0.0)
    with evaluating(model), torch.random.fork_rng():
        torch.manual_seed(seed)
        for batch in x.split(batch_size):
            batch = batch.to(device)
            terms = loss_fn(model, batch, beta)
            for key in HISTORY_KEYS:
                sums[key] += getattr(terms, key).item() * len(batch)
            error = (model.reconstruct(batch) - batch).pow(2).mean(dim=(1, 2, 3))  # (B,)
            sums["mse"] += error.sum().item()
    scores = {k: v / len(x) for k, v in sums.items()}
    scores["neg_elbo"] = scores["recon"] + scores["kl"]
    return scores


def adam(params, lr: float, device) -> torch.optim.Adam:
    """Adam, with its fused implementation (one kernel for the whole update) on a CPU or CUDA.

    The same update as the default implementation up to rounding; on one CPU core it measured 75
    ms less per step of the 11-million-parameter ResNet VAE (about 14%).
    """
    return torch.optim.Adam(params, lr=lr, fused=torch.device(device).type in ("cpu", "cuda"))


def step_seconds(model, x, *, beta=1.0, repeats=3, loss_fn=default_loss) -> float:
    """Wall-clock seconds of one training step (forward, backward, Adam) on the batch ``x``.

    The fastest of ``repeats`` timed steps after one warm-up step; the model's weights are
    restored afterwards. Used in chapter 4 to choose an affordable ResNet stem.
    """
    x = _check_data("x", x).to(next(model.parameters()).device)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = adam(model.parameters(), 1e-3, x.device)
    was_training = model.training
    model.train()
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        terms = loss_fn(model, x, beta)
        optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        optimizer.step()
        if x.is_cuda:
            torch.cuda.synchronize()  # GPU work is asynchronous: wait before reading the clock
        times.append(time.perf_counter() - start)
    model.load_state_dict(state)
    model.train(was_training)
    return min(times[1:])


def save_checkpoint(path, model, history: History | None = None, **meta) -> Path:
    """Save the model's weights, its training history and any extra numbers or strings."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "history": history.to_dict() if history is not None else None,
        "meta": meta,
    }
    torch.save(state, path)
    return path


def load_checkpoint(path, model, map_location="cpu") -> tuple[History | None, dict]:
    """Load weights saved by :func:`save_checkpoint` into ``model``; return (history, meta).

    Uses ``torch.load(..., weights_only=True)``: only tensors and plain containers are read,
    never arbitrary pickled code.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; train the model and save it first")
    state = torch.load(path, map_location=map_location, weights_only=True)
    model.load_state_dict(state["model"])
    history = History.from_dict(state["history"]) if state["history"] is not None else None
    return history, dict(state["meta"])


def _check_data(name, x, input_shape=None):
    if input_shape is None:
        check_images(name, x)
    else:
        _check_vectors(name, x, tuple(input_shape))
    if len(x) == 0:
        raise ValueError(f"{name} holds no images")
    return x


def _check_vectors(name, x, input_shape):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, {input_shape})")
    if tuple(x.shape[1:]) != input_shape:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)} but input_shape={input_shape}: "
            f"pass data of shape (N, *input_shape)"
        )
    check_finite(name, x)


def _append(history, prefix, scores):
    for key in HISTORY_KEYS:
        getattr(history, prefix + key).append(float(scores[key]))
