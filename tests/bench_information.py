"""Benchmark: vaelib.information against a plain per-pair NumPy loop (a script, not a test).

Times the two entropy bounds (Bhattacharyya and KL, :func:`vaelib.information.entropy_bounds`) for
N points in d dimensions, with a scalar noise variance (Saxe et al.'s KDE case) and with one
variance per point and dimension (a VAE's case), against a per-pair NumPy loop. The per-pair loop
is far too slow to run over all N^2 pairs for large N, so it is timed on the first ``--rows``
components (each against all N) and the time is extrapolated linearly to N rows; the output says
when it was. Run from the repository root:

    PYTHONPATH=$PWD python tests/bench_information.py   # N = 1000, 4000, 10000; d = 128
    PYTHONPATH=$PWD python tests/bench_information.py --sizes 1000 --rows 1000   # no extrapolation

Used for the figures quoted in chapter 6's notes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from vaelib.information import entropy_bounds


def per_pair_terms(mu: np.ndarray, var: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """log mean_j exp(-D_ij) for i < rows, both divergences, one pair at a time (the slow way)."""
    n = mu.shape[0]
    out_bd, out_kl = np.empty(rows), np.empty(rows)
    log_v = np.log(var).sum(1)
    for i in range(rows):
        bd, kl = np.empty(n), np.empty(n)
        for j in range(n):
            vi, vj, dm = var[i], var[j], mu[i] - mu[j]
            kl[j] = 0.5 * (log_v[j] - log_v[i] + np.sum((vi + dm * dm) / vj) - mu.shape[1])
            vb = (vi + vj) / 2
            bd[j] = np.sum(dm * dm / vb) / 8 + 0.5 * np.sum(np.log(vb)) - (log_v[i] + log_v[j]) / 4
        out_bd[i] = np.logaddexp.reduce(-bd) - np.log(n)
        out_kl[i] = np.logaddexp.reduce(-kl) - np.log(n)
    return out_bd, out_kl


def time_call(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--rows", type=int, default=20, help="rows the per-pair loop really runs")
    parser.add_argument("--cases", nargs="+", default=["scalar", "per_point"])
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, d = {args.dim}, float64")
    print(
        "case       N      vaelib (s)   per-pair NumPy (s)   speed-up   agreement of the rows run"
    )
    for case in args.cases:
        for n in args.sizes:
            gen = np.random.default_rng(0)
            mu = gen.standard_normal((n, args.dim))
            var = (
                np.full((n, args.dim), 0.5)
                if case == "scalar"
                else gen.uniform(0.2, 2.0, (n, args.dim))
            )
            var_arg = 0.5 if case == "scalar" else torch.from_numpy(var)
            fast, _ = time_call(
                lambda mu=mu, var_arg=var_arg: entropy_bounds(torch.from_numpy(mu), var_arg)
            )
            rows = min(args.rows, n)
            slow, (bd, kl) = time_call(
                lambda mu=mu, var=var, rows=rows: per_pair_terms(mu, var, rows)
            )
            slow_all = slow * n / rows
            # the same rows from the fast path: run it on those rows' divergences via a small check
            check = entropy_bounds(
                torch.from_numpy(mu[:rows]), var_arg if case == "scalar" else var_arg[:rows]
            )
            ref_bd, ref_kl = per_pair_terms(mu[:rows], var[:rows], rows)
            h_noise = np.mean(0.5 * np.sum(np.log(2 * np.pi * np.e * var[:rows]), axis=1))
            error = max(
                abs(check[0] - (h_noise - ref_bd.mean())), abs(check[1] - (h_noise - ref_kl.mean()))
            )
            note = "" if rows == n else f" (extrapolated from {rows} rows x {n})"
            print(
                f"{case:9s} {n:6d}   {fast:10.2f}   {slow_all:16.1f}{note}   "
                f"{slow_all / fast:8.0f}x   "
                f"max |difference| {error:.1e} nats"
            )


if __name__ == "__main__":
    main()
