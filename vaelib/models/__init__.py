"""Models of the course: encoders, decoders and the VAE (chapters 4, 5 and 6)."""

from vaelib.models.decoders import ConvDecoder, MLPDecoder
from vaelib.models.encoders import ConvEncoder, MLPEncoder, ResNet18Encoder
from vaelib.models.mlp_vae import mlp_vae
from vaelib.models.vae import VAE, LossTerms, VAEOutput, conv_vae, resnet_vae, vae_loss

__all__ = [
    "VAE",
    "LossTerms",
    "VAEOutput",
    "vae_loss",
    "resnet_vae",
    "conv_vae",
    "mlp_vae",
    "ResNet18Encoder",
    "ConvEncoder",
    "MLPEncoder",
    "ConvDecoder",
    "MLPDecoder",
]
