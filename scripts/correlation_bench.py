#!/usr/bin/python3
"""The SciPy/NumPy side of the correlation drift benchmark: the same work as Go's
BenchmarkCorrelationDrift (internal/drift/correlation_bench_test.go) on the same shape,
written the fast way NumPy allows.

Two windows of 50 sensor and 2,000 omics columns of uniform noise, each omics column
leaning on one sensor column (more strongly in the current window for every tenth). Per
window every column is ranked once (scipy.stats.rankdata, average ties), centred and
scaled to unit norm, and the 50 x 2,000 Spearman coefficients are one matrix product
(NumPy's BLAS); then Fisher's Z, p = 2 norm.sf(|Z|) and Benjamini-Hochberg over the
100,000 pairs, as drift-definitions.md section 11 defines them. It prints the wall and
CPU time of that work (data generation excluded); on a shared machine compare CPU times.
Run with Debian's interpreter (numpy 1.24, scipy 1.10):

    /usr/bin/python3 scripts/correlation_bench.py [--rows 100000] [--repeat 1]
"""

import argparse
import time

import numpy as np
from scipy import stats


def unit_ranks(x):
    r = stats.rankdata(x, axis=0)
    r -= r.mean(axis=0)
    r /= np.sqrt((r * r).sum(axis=0))
    return r


def bh(p):
    m = len(p)
    order = np.argsort(p, kind="stable")
    q = np.minimum(1.0, m * p[order] / np.arange(1, m + 1))
    q = np.minimum.accumulate(q[::-1])[::-1]
    out = np.empty(m)
    out[order] = q
    return out


def windows(rows, na, nb, seed):
    rng = np.random.default_rng(seed)
    out = []
    for current in (False, True):
        a = rng.random((rows, na))
        lean = np.full(nb, 0.2)
        if current:
            lean[::10] = 0.6
        b = a[:, np.arange(nb) % na] * lean + rng.random((rows, nb))
        out.append((a, b))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    (ra, rb), (ca, cb) = windows(args.rows, 50, 2000, 3)
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        r = [unit_ranks(a).T @ unit_ranks(b) for a, b in ((ra, rb), (ca, cb))]
        n = args.rows
        clip = 0.999999
        z = (np.arctanh(np.clip(r[1], -clip, clip)) - np.arctanh(np.clip(r[0], -clip, clip))) / np.sqrt(2 / (n - 3))
        p = 2 * stats.norm.sf(np.abs(z))
        q = bh(p.ravel())
        changed = int((q < 0.01).sum())
        print("rows %d: 100000 pairs, %d changed; wall %.2f s, cpu %.2f s"
              % (n, changed, time.perf_counter() - w0, time.process_time() - c0))


if __name__ == "__main__":
    main()
