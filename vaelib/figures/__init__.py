"""Figures of the chapters, apart from the modules that compute (those never import matplotlib)."""
