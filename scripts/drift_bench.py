#!/usr/bin/python3
"""The SciPy/NumPy side of the drift benchmark: the same work as Go's
BenchmarkCompare20kx1000 (internal/drift/bench_test.go) on the same shape.

Reference and current are 20,000 x 1,000 standard normal columns from a seeded
generator; every tenth current column is shifted by 0.3 (drift). For every column it
computes the two-sample KS statistic and p-value (scipy.stats.ks_2samp, method auto),
the normed Wasserstein distance (wasserstein_distance / np.std(ref), the std for all
columns at once) and PSI on NumPy's Sturges bins over the pooled column with
Evidently's epsilon filling. It prints the wall and CPU time of that work (data
generation excluded); on a shared machine compare CPU times. Run with Debian's interpreter (numpy 1.24, scipy 1.10):

    /usr/bin/python3 scripts/drift_bench.py [--rows 20000] [--cols 1000] [--repeat 1]

With --reference and --current it reads the two numeric CSV files with pandas' C parser
instead of generating the data, the whole-process comparison with
`modelops drift --reference ref.csv --current cur.csv --tests ks,wasserstein,psi -o json`
(time both with /usr/bin/time -v).
"""

import argparse
import time

import numpy as np
from scipy import stats


def psi(ref, cur):
    bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    r = np.histogram(ref, bins)[0] / len(ref)
    c = np.histogram(cur, bins)[0] / len(cur)
    for p in (r, c):
        m = p[p != 0].min()
        p[p == 0] = m / 1e6 if m <= 0.0001 else 0.0001
    return np.sum((r - c) * np.log(r / c))


def run(ref, cur):
    std = np.maximum(np.std(ref, axis=0), 0.001)
    out = np.empty((ref.shape[1], 4))
    for j in range(ref.shape[1]):
        r, c = ref[:, j], cur[:, j]
        ks = stats.ks_2samp(r, c)
        out[j, 0] = ks.statistic
        out[j, 1] = ks.pvalue
        out[j, 2] = stats.wasserstein_distance(r, c) / std[j]
        out[j, 3] = psi(r, c)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--cols", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--reference", help="numeric CSV file read with pandas (with --current)")
    ap.add_argument("--current", help="numeric CSV file read with pandas (with --reference)")
    args = ap.parse_args()
    if args.reference and args.current:
        import pandas as pd

        ref = pd.read_csv(args.reference, engine="c").to_numpy(dtype=np.float64)
        cur = pd.read_csv(args.current, engine="c").to_numpy(dtype=np.float64)
        args.rows, args.cols = ref.shape
    else:
        rng = np.random.default_rng(1)
        ref = rng.standard_normal((args.rows, args.cols))
        cur = rng.standard_normal((args.rows, args.cols))
        cur[:, ::10] += 0.3
    best = best_cpu = None
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = run(ref, cur)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best = dt if best is None else min(best, dt)
        best_cpu = dc if best_cpu is None else min(best_cpu, dc)
    drifted = int(np.sum(out[:, 1] <= 0.05))
    print("scipy/numpy drift %dx%d: KS+p, normed Wasserstein, PSI per column: "
          "%.3f s wall, %.3f s CPU (best of %d; %d columns with KS p <= 0.05)"
          % (args.rows, args.cols, best, best_cpu, args.repeat, drifted))


if __name__ == "__main__":
    main()
