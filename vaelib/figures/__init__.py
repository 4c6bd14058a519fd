"""Figure helpers of the chapters that need more than :mod:`vaelib.plot` (drawing only)."""
