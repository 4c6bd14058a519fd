"""The classic MLP VAE of PyTorch's example (pytorch/examples, vae/main.py): the reference model.

784 -> 400 (ReLU) -> 2 x 20 (mu, log_var); 20 -> 400 (ReLU) -> 784, Bernoulli likelihood,
reconstruction summed over pixels plus the KL (beta = 1). Built from
:class:`~vaelib.models.encoders.MLPEncoder` and :class:`~vaelib.models.decoders.MLPDecoder`
inside the same :class:`~vaelib.models.vae.VAE`, so it is trained and scored by exactly the same
loss code as chapter 4's ResNet VAE.

Used in chapter 4 (the comparison table).
"""

from __future__ import annotations

from vaelib.models.decoders import MLPDecoder
from vaelib.models.encoders import MLPEncoder
from vaelib.models.vae import VAE


def mlp_vae(latent_dim: int = 20, hidden: int = 400, activation: str = "relu") -> VAE:
    """The 784-400-20 Bernoulli MLP VAE of PyTorch's example (Kingma & Welling: 500 tanh).

    ``activation`` is the encoder's hidden nonlinearity ("relu" or "tanh", chapter 6).
    """
    return VAE(
        MLPEncoder(latent_dim, hidden, activation),
        MLPDecoder(latent_dim, hidden),
        likelihood="bernoulli",
    )
