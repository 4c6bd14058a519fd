"""Fair baselines for the decoder-free encoder: a practitioner's SAE, random features, readouts.

* :func:`train_sae_unit_norm` trains the sparse autoencoder the way practitioners do: decoder
  columns renormalised to unit length after every step (so the L1 penalty cannot be evaded by
  shrinking the codes and growing the decoder), the decoder initialised as the encoder's
  transpose and its bias at the data mean (Bricken et al. 2023).
* :func:`random_relu_encoder` is the control with no training at all: random prototypes, with
  the biases either left at their initial values or set so every unit fires on a given share of
  the inputs.
* :func:`readout_explained_variance` scores reconstruction fairly for every code: the same
  least-squares linear readout ``x_hat = a M + c``, fitted on training codes, scored on held-out.
* :func:`curve_point` gathers the numbers one point of a sparsity curve needs.

Used in chapter 7, the implicit-EM sparse encoder.
"""

from __future__ import annotations

import time

import torch

from vaelib.checks import as_tensor, check_ndim
from vaelib.sparse import (
    Encoder,
    SparseAutoencoder,
    _prepare,
    _train,
    flatten_inputs,
    sae_loss,
    train_encoder,
    train_sae,
)
from vaelib.sparse_metrics import dead_units, explained_variance, l0, probe_accuracy


def normalise_decoder_(sae: SparseAutoencoder) -> SparseAutoencoder:
    """Rescale each decoder column (unit j: ``decoder.weight[:, j]``) to length 1, in place."""
    with torch.no_grad():
        w = sae.decoder.weight  # (in_features, width): column j is unit j's dictionary atom
        w.div_(w.norm(dim=0, keepdim=True).clamp_min(1e-12))
    return sae


def train_sae_unit_norm(x, *, width=64, l1=1.0, num_epochs=30, batch_size=256, lr=1e-3, seed=0):
    """Train a sparse autoencoder with unit-norm decoder columns on ``sae_loss``.

    Parameters
    ----------
    x : Tensor, shape (N, D) or (N, 1, H, W)
        Training inputs.
    width, l1, num_epochs, batch_size, lr, seed
        As in :func:`vaelib.sparse.train_sae`; ``l1`` weights ``||a||_1`` against the summed
        squared error, and is meaningful here because ``||W'_j|| = 1`` for every unit.

    Returns
    -------
    sae : SparseAutoencoder
    history : list of float
        The mean training loss of each epoch.
    """
    x = _prepare(x, batch_size, seed)
    sae = SparseAutoencoder(x.shape[1], width)
    with torch.no_grad():  # tied initialisation and the data mean as the decoder bias
        sae.decoder.weight.copy_(sae.encoder.linear.weight.T)
        sae.decoder.bias.copy_(x.mean(dim=0))
    normalise_decoder_(sae)

    def loss_fn(model, xb):
        x_hat, a = model(xb)
        return sae_loss(xb, x_hat, a, l1)

    history = _train(
        sae, x, loss_fn, num_epochs, batch_size, lr, seed, after_step=normalise_decoder_
    )
    return sae, history


def random_relu_encoder(x, *, width=64, rate=None, seed=0) -> Encoder:
    """An untrained encoder: PyTorch's initial weights for ``seed``, optionally re-biased.

    Parameters
    ----------
    x : Tensor, shape (N, D) or (N, 1, H, W)
        Inputs used only to place the biases when ``rate`` is given.
    rate : float in (0, 1), optional
        When given, ``b_j`` is set so that unit ``j`` is active (``a_j > 0``) on a share ``rate``
        of ``x``; when None the initial biases are kept (the encoder before training).
    """
    x = as_tensor("x", x)
    x = flatten_inputs(x, x[0].numel() if x.dim() > 1 else 0).float()
    torch.manual_seed(seed)  # the same initial weights train_encoder starts from
    encoder = Encoder(x.shape[1], width)
    if rate is not None:
        if not 0 < rate < 1:
            raise ValueError(f"rate must lie strictly between 0 and 1, got {rate}")
        with torch.no_grad():
            z = x @ encoder.linear.weight.T  # (N, width) pre-activations without bias
            encoder.linear.bias.copy_(-torch.quantile(z, 1 - rate, dim=0))
    return encoder


def codes(model, x) -> torch.Tensor:
    """The code ``a`` of an :class:`Encoder` or a :class:`SparseAutoencoder`, shape (N, K)."""
    encoder = model.encoder if isinstance(model, SparseAutoencoder) else model
    if not isinstance(encoder, Encoder):
        raise TypeError(
            f"model must be an Encoder or a SparseAutoencoder, got {type(model).__name__}"
        )
    with torch.no_grad():
        return encoder(x)


def readout_explained_variance(a_train, x_train, a_test, x_test) -> float:
    """Held-out explained variance of the least-squares linear readout ``x_hat = a M + c``.

    ``M`` (K, D) and ``c`` (D,) are fitted on the training codes in float64 (a rank-revealing
    solver, so dead units do no harm); the score is
    :func:`vaelib.sparse_metrics.explained_variance` on the held-out pair.
    """
    design = [_design(a, name) for a, name in ((a_train, "a_train"), (a_test, "a_test"))]
    x_train = as_tensor("x_train", x_train).reshape(len(design[0]), -1).double()
    solution = torch.linalg.lstsq(design[0], x_train, driver="gelsd").solution  # (K + 1, D)
    return explained_variance(x_test, design[1] @ solution)


def _design(a, name):
    a = as_tensor(name, a).detach().double()
    check_ndim(name, a, 2, "(N, K): N code vectors with K components")
    return torch.cat([a, torch.ones(len(a), 1, dtype=a.dtype)], dim=1)  # (N, K + 1)


def curve_point(model, x_train, y_train, x_test, y_test, probe_iter=100) -> dict:
    """One point of a sparsity curve: L0, dead units, probe accuracy and readout explained variance.

    The probe and the readout are fitted on the training codes and scored on the held-out ones.
    """
    a_train, a_test = codes(model, x_train), codes(model, x_test)
    return {
        "l0": l0(a_test),
        "dead": dead_units(a_test),
        "probe_accuracy": probe_accuracy(a_train, y_train, a_test, y_test, max_iter=probe_iter),
        "readout_ev": readout_explained_variance(a_train, x_train, a_test, x_test),
    }


class Runs:
    """Train each model once, on one training set, and share it between every figure that needs it.

    ``runs.encoder(lambda_lse=1.0, seed=0)`` trains a decoder-free encoder the first time it is
    asked for these settings and returns the same model afterwards; ``runs.sae(...)`` does the
    same for :func:`train_sae_unit_norm` and ``runs.naive_sae(...)`` for
    :func:`vaelib.sparse.train_sae`. ``common`` (e.g. ``width``, ``num_epochs``) applies to all.
    ``cpu_seconds`` adds up the processor time spent training; ``history(model)`` is a model's
    per-epoch mean training loss.
    """

    def __init__(self, x, **common):
        self.x, self.common, self.models, self.cpu_seconds = x, common, {}, 0.0
        self._histories = {}

    def _get(self, kind, settings):
        key = (kind, tuple(sorted(settings.items())))
        if key not in self.models:
            trainer = {"encoder": train_encoder, "sae": train_sae_unit_norm, "naive_sae": train_sae}
            start = time.process_time()
            model, history = trainer[kind](self.x, **{**self.common, **settings})
            self.models[key], self._histories[id(model)] = model, history
            self.cpu_seconds += time.process_time() - start
        return self.models[key]

    def encoder(self, **settings) -> Encoder:
        """The decoder-free encoder trained with these keyword arguments of ``train_encoder``."""
        return self._get("encoder", settings)

    def sae(self, **settings) -> SparseAutoencoder:
        """The unit-norm SAE trained with these keyword arguments of ``train_sae_unit_norm``."""
        return self._get("sae", settings)

    def naive_sae(self, **settings) -> SparseAutoencoder:
        """The SAE without unit-norm columns, trained with these arguments of ``train_sae``."""
        return self._get("naive_sae", settings)

    def history(self, model) -> list:
        """The per-epoch mean training loss of a model these runs trained."""
        if id(model) not in self._histories:
            raise KeyError("this model was not trained by these runs")
        return self._histories[id(model)]

    def __len__(self) -> int:
        return len(self.models)
