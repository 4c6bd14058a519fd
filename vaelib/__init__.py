"""vaelib: the library behind an executable course on variational autoencoders and the
information theory of deep learning. Each module holds one concept of the course."""

__version__ = "0.1.0"
