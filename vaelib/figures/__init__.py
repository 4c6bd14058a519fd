"""Figure modules of single chapters, apart from the computing modules (they import matplotlib)."""
