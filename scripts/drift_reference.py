#!/usr/bin/python3
"""Generate internal/drift/testdata/reference.json (part one of drift-definitions.md),
reference_omics.json (part two: batch effects, correlation drift) and
reconciler/testdata/adaptive_reference.json (§12, the adaptive schedule's intervals over
sequences of report verdicts): drift test cases with the values
SciPy and NumPy compute for them, following Evidently's definitions
(drift-definitions.md); and internal/dataset/testdata/windows/ (§8, windows of a timestamped
log): the logs, and windows_reference.json with the rows pandas selects from them. Run with
Debian's interpreter, which has numpy 1.24 and scipy 1.10:

    /usr/bin/python3 scripts/drift_reference.py

Inputs. Small samples are written out in full. Large samples (the exact/asymptotic KS
boundary, the Kolmogorov branches, the large-n cases) are described by a generator spec
that Go expands to the very same numbers: a 64-bit LCG in integer arithmetic
(state = state*6364136223846793005 + 1442695040888963407 mod 2**64) gives
u = (2*(state >> 12) + 1) / 2**53 in (0, 1) exactly, and every distribution below uses
only + - * / and floor, which IEEE-754 rounds identically in Python and Go (no libm
calls, whose last bit may differ). A checksum of each expanded sample is stored too,
so the Go test proves its expansion is identical before comparing results.

The output is deterministic: running the script twice gives the same file.
"""

import json
import math
import os
import re
import shutil
import sys
import warnings
from math import gcd

import numpy as np
import pandas as pd
import scipy
from scipy import special, stats
from scipy.spatial import distance

MASK = (1 << 64) - 1
LCG_A = 6364136223846793005
LCG_C = 1442695040888963407


def lcg_uniforms(seed):
    state = seed & MASK
    while True:
        state = (state * LCG_A + LCG_C) & MASK
        yield (2 * (state >> 12) + 1) / 9007199254740992.0  # 2**53


def generate(spec):
    """Expand a generator spec; keep in step with gen.go's expand in the Go tests."""
    n, dist = spec["n"], spec["dist"]
    loc, scale = spec.get("loc", 0.0), spec.get("scale", 1.0)
    out = []
    if dist == "grid":
        # Evenly spaced: loc + scale*(i+0.5)/n.
        for i in range(n):
            out.append(loc + scale * ((i + 0.5) / n))
    else:
        u = lcg_uniforms(spec["seed"])
        for _ in range(n):
            if dist == "uniform":
                x = loc + scale * next(u)
            elif dist == "normal":
                # Irwin-Hall: the sum of 12 uniforms minus 6 has mean 0 and variance 1.
                s = 0.0
                for _ in range(12):
                    s += next(u)
                x = loc + scale * (s - 6.0)
            elif dist == "cauchy":
                # A ratio of uniforms: heavy tails on both sides.
                a = next(u)
                b = next(u)
                x = loc + scale * ((a - 0.5) / b)
            elif dist == "pareto":
                # Heavy right tail, like a lognormal's: scale/u.
                x = loc + scale / next(u)
            elif dist == "int":
                # Integers loc .. loc+k-1: many ties.
                x = loc + math.floor(next(u) * spec["k"])
            else:
                raise ValueError("unknown dist " + dist)
            out.append(x)
    q = spec.get("quantum")
    if q:
        out = [math.floor(x * q) / q for x in out]
    return out


def enc(values):
    """JSON-encode a numeric sample: NaN and +-Inf as strings."""
    res = []
    for v in values:
        if isinstance(v, str) or v is None:
            res.append(v)
        elif math.isnan(v):
            res.append("nan")
        elif math.isinf(v):
            res.append("inf" if v > 0 else "-inf")
        else:
            res.append(v)
    return res


def fnum(x):
    """A float for JSON: NaN and +-Inf as strings."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


# --- Evidently's definitions, written against SciPy/NumPy ---------------------------

def clean(values, numeric):
    if numeric:
        return [v for v in values if not (math.isnan(v) or math.isinf(v))]
    return [v for v in values if v is not None]


def value_counts(ref, cur):
    keys = sorted(set(ref) | set(cur))
    rc, cc = {}, {}
    for v in ref:
        rc[v] = rc.get(v, 0) + 1
    for v in cur:
        cc[v] = cc.get(v, 0) + 1
    return keys, [rc.get(k, 0) for k in keys], [cc.get(k, 0) for k in keys]


def auto_test(kind, n_ref, n_values):
    if n_ref <= 1000:
        if kind == "numeric" and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if kind == "numeric" and n_values > 5:
        return "wasserstein"
    return "jensenshannon"


def binned(ref, cur, kind, feel_zeroes):
    """utils.get_binned_data."""
    edges = None
    if kind == "numeric" and len(set(ref)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        r = np.histogram(ref, edges)[0] / len(ref)
        c = np.histogram(cur, edges)[0] / len(cur)
    else:
        _, rc, cc = value_counts(list(ref), list(cur))
        r = np.array(rc) / len(ref)
        c = np.array(cc) / len(cur)
    if feel_zeroes:
        for p in (r, c):
            m = min(p[p != 0])
            np.place(p, p == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return r, c, edges


def kolmogn_branch(n, x):
    """Which branch of scipy.stats._ksstats._kolmogn computes the survival function."""
    if x >= 1.0:
        return "x>=1"
    if x <= 0.0:
        return "x<=0"
    t = n * x
    if t <= 1.0:
        if t <= 0.5:
            return "t<=0.5"
        return "ruben-gambino-low-n<=140" if n <= 140 else "ruben-gambino-low-n>140"
    if t >= n - 1:
        return "ruben-gambino-high"
    if x >= 0.5:
        return "2smirnov-x>=0.5"
    nx2 = t * x
    if n <= 140:
        if nx2 <= 0.754693:
            return "dmtw-n<=140"
        if nx2 <= 4:
            return "pomeranz"
        return "miller-2smirnov"
    if nx2 >= 370.0:
        return "zero-nx2>=370"
    if nx2 >= 2.2:
        return "2smirnov-nx2>=2.2"
    if nx2 >= 18.0:
        return "cdf-one"
    if n <= 100000 and n * x**1.5 <= 1.4:
        return "dmtw-n>140"
    return "pelz-good"


def ks_details(ref, cur):
    n1, n2 = len(ref), len(cur)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stats.ks_2samp(ref, cur)
    fallback = any("Exact calculation unsuccessful" in str(w.message) for w in caught)
    out = {"statistic": float(res.statistic), "pvalue": fnum(res.pvalue)}
    if max(n1, n2) <= 10000 and not fallback:
        out["method"] = "exact"
    else:
        m, n = sorted([float(n1), float(n2)], reverse=True)
        en = int(np.round(m * n / (m + n)))
        out["method"] = "asymp-after-exact-failed" if fallback else "asymp"
        out["N"] = en
        out["branch"] = kolmogn_branch(en, float(res.statistic))
    return out


def compute(kind, ref_raw, cur_raw):
    numeric = kind == "numeric" or not isinstance(next((v for v in ref_raw if v is not None), 0.0), str)
    ref = clean(ref_raw, numeric)
    cur = clean(cur_raw, numeric)
    exp = {
        "n_ref": len(ref), "n_cur": len(cur),
        "missing_ref": len(ref_raw) - len(ref), "missing_cur": len(cur_raw) - len(cur),
    }
    keys, rc, cc = value_counts(ref, cur)
    exp["n_values"] = len(keys)
    exp["nunique_ref"] = len(set(ref))
    exp["auto_test"] = auto_test(kind, len(ref), len(keys))
    if numeric:
        ref_a = np.array(ref, dtype=np.float64)
        cur_a = np.array(cur, dtype=np.float64)
    else:
        ref_a, cur_a = ref, cur
    res = {}
    if kind == "numeric":
        res["ks"] = ks_details(ref_a, cur_a)
        res["wasserstein"] = {"score": fnum(
            stats.wasserstein_distance(ref_a, cur_a) / max(np.std(ref_a), 0.001))}
    # PSI, KL, JS
    r, c, edges = binned(ref_a, cur_a, kind, True)
    res["psi"] = {"score": fnum(np.sum((r - c) * np.log(r / c)))}
    res["kl_div"] = {"score": fnum(stats.entropy(r, c))}
    r0, c0, _ = binned(ref_a, cur_a, kind, False)
    res["jensenshannon"] = {"score": fnum(distance.jensenshannon(r0, c0))}
    if edges is not None:
        exp["edges"] = [float(e) for e in edges]
    # chisquare (Evidently: f_exp = ref counts * n_cur/n_ref)
    k_norm = len(cur) / len(ref)
    f_exp = [x * k_norm for x in rc]
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = stats.chisquare(cc, f_exp)
    res["chisquare"] = {"statistic": fnum(chi[0]), "pvalue": fnum(chi[1])}
    # z: two proportions of the indicator 1{x != smallest key}
    if len(set(ref)) == 1 and len(set(cur)) == 1 and ref[0] == cur[0]:
        res["z"] = {"statistic": 0.0, "pvalue": 1.0}
    else:
        k0 = keys[0]
        n1, n2 = len(ref), len(cur)
        p1 = float(sum(0 if x == k0 else 1 for x in ref)) / n1
        p2 = float(sum(0 if x == k0 else 1 for x in cur)) / n2
        P = float(p1 * n1 + p2 * n2) / (n1 + n2)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
        res["z"] = {"statistic": fnum(z), "pvalue": fnum(2 * (1 - stats.norm.cdf(np.abs(z))))}
    thresholds = {"ks": 0.05, "chisquare": 0.05, "z": 0.05}
    for t, v in res.items():
        thr = thresholds.get(t, 0.1)
        s = v["pvalue"] if "pvalue" in v else v["score"]
        s = float(s)
        if t == "ks":
            v["drifted"] = bool(s <= thr)
        elif t in ("chisquare", "z"):
            v["drifted"] = bool(s < thr)
        else:
            v["drifted"] = bool(s >= thr)
    exp["tests"] = res
    return exp


# --- the cases ----------------------------------------------------------------------

def gen(**kw):
    return {"gen": kw}


def cases():
    cs = []

    def add(name, kind, ref, cur):
        cs.append({"name": name, "kind": kind, "ref": ref, "cur": cur})

    # Ties, sizes, constants.
    add("ties integers", "numeric", [1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 5], [2, 3, 3, 3, 4, 4, 4, 5, 6, 6])
    add("ties all equal pooled except one", "numeric", [1, 1, 1, 1, 1], [1, 1, 1, 1, 2])
    add("constant both sides same", "numeric", [7.5] * 10, [7.5] * 12)
    add("constant both sides different", "numeric", [7.5] * 10, [8.5] * 12)
    add("constant reference only", "numeric", [3.0] * 40,
        gen(dist="normal", n=50, seed=11, loc=3.0, scale=0.5))
    add("constant current only", "numeric", gen(dist="normal", n=50, seed=12, loc=3.0, scale=0.5),
        [3.0] * 40)
    add("tiny n=1 vs n=1", "numeric", [0.5], [1.5])
    add("tiny n=1 vs n=3", "numeric", [0.5], [0.25, 0.5, 1.5])
    add("tiny n=2 vs n=3", "numeric", [0.1, 0.9], [0.2, 0.3, 1.1])
    add("tiny n=3 vs n=3", "numeric", [1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    add("unequal sizes 37 vs 113", "numeric", gen(dist="normal", n=37, seed=21),
        gen(dist="normal", n=113, seed=22, loc=0.4))
    add("equal sizes 250 vs 250", "numeric", gen(dist="normal", n=250, seed=23),
        gen(dist="normal", n=250, seed=24, loc=0.15))
    add("equal sizes 1000 vs 1000 no drift", "numeric", gen(dist="normal", n=1000, seed=25),
        gen(dist="normal", n=1000, seed=26))
    add("ties quantised normal 600 vs 900", "numeric",
        gen(dist="normal", n=600, seed=27, quantum=4), gen(dist="normal", n=900, seed=28, loc=0.1, quantum=4))

    # The exact/asymptotic boundary of ks_2samp.
    add("ks exact n1==n2 10000", "numeric", gen(dist="normal", n=10000, seed=31),
        gen(dist="normal", n=10000, seed=32, loc=0.03))
    add("ks exact 10000 vs 9999", "numeric", gen(dist="normal", n=10000, seed=33),
        gen(dist="normal", n=9999, seed=34, loc=0.03))
    add("ks asymptotic 10001 vs 10000", "numeric", gen(dist="normal", n=10001, seed=35),
        gen(dist="normal", n=10000, seed=36, loc=0.03))
    add("ks exact 9999 vs 7 drifted", "numeric", gen(dist="normal", n=9999, seed=37),
        gen(dist="normal", n=7, seed=38, loc=2.0))
    add("ks asymptotic 800 vs 12000", "numeric", gen(dist="normal", n=800, seed=39),
        gen(dist="normal", n=12000, seed=40, loc=0.05))

    # Each branch of the Simard-L'Ecuyer decision tree on the default path (a grid
    # reference against a shifted grid current; the shift picks the branch).
    branch_cases = [
        ("x<=0", 12000, 12000, 0.0),
        ("t<=0.5", 12000, 800, 0.0),
        ("ruben-gambino-low-n>140", 12000, 800, 0.0003),
        ("ruben-gambino-low-n<=140", 10001, 60, 0.004),
        ("dmtw-n<=140", 10001, 60, 0.05),
        ("pomeranz", 10001, 60, 0.2),
        ("miller-2smirnov", 10001, 60, 0.35),
        ("2smirnov-x>=0.5", 10001, 60, 0.6),
        ("ruben-gambino-high", 10001, 60, 0.99),
        ("x>=1", 10001, 60, 2.0),
        ("dmtw-n>140", 12000, 800, 0.005),
        ("pelz-good", 12000, 800, 0.03),
        ("2smirnov-nx2>=2.2", 12000, 800, 0.1),
        ("zero-nx2>=370", 20000, 20000, 0.3),
        ("pelz-good", 200002, 200002, 0.002),
    ]
    for want, n1, n2, shift in branch_cases:
        add("kolmogn branch %s (%d vs %d)" % (want, n1, n2), "numeric",
            gen(dist="grid", n=n1), gen(dist="grid", n=n2, loc=shift))
        cs[-1]["want_branch"] = want

    # Sturges bins: pooled sizes that are powers of two, and the 20-unique switch.
    for n1, n2 in ((32, 32), (100, 156), (512, 512), (3000, 1096)):
        add("sturges pooled %d" % (n1 + n2), "numeric", gen(dist="normal", n=n1, seed=41 + n1),
            gen(dist="normal", n=n2, seed=42 + n2, loc=0.2))
    # log2(64)+1 = 7, yet with a span of 0.07 the quotient ptp/(ptp/7) rounds above 7
    # and NumPy makes 8 bins; likewise 12 instead of 11 for 1024 values spanning 0.09.
    for n, span in ((64, 0.07), (1024, 0.09)):
        half = n // 2
        ref = [span * i / (half - 1) for i in range(half)]
        ref[-1] = span
        cur = [span * (i + 0.25) / half for i in range(half)]
        add("sturges pooled %d span %g: one bin more" % (n, span), "numeric", ref, cur)
    add("21 unique reference values: histogram", "numeric",
        [float(i) for i in range(21)] * 3, [float(i) + 0.5 for i in range(25)])
    add("20 unique reference values: values", "numeric",
        [float(i) for i in range(20)] * 3, [float(i) + 0.5 for i in range(25)])
    add("heavy tails cauchy", "numeric", gen(dist="cauchy", n=700, seed=51),
        gen(dist="cauchy", n=650, seed=52, scale=1.5))
    add("heavy tails pareto large", "numeric", gen(dist="pareto", n=3000, seed=53),
        gen(dist="pareto", n=2500, seed=54, scale=1.2))

    # Automatic test choice boundaries.
    add("n_ref 1000 normal: ks", "numeric", gen(dist="normal", n=1000, seed=61),
        gen(dist="normal", n=1200, seed=62, loc=0.1))
    add("n_ref 1001 normal: wasserstein", "numeric", gen(dist="normal", n=1001, seed=63),
        gen(dist="normal", n=1200, seed=64, loc=0.1))
    add("5 values small: chisquare", "numeric", gen(dist="int", n=300, seed=65, k=5),
        gen(dist="int", n=280, seed=66, k=5))
    add("6 values small: ks", "numeric", gen(dist="int", n=300, seed=67, k=6),
        gen(dist="int", n=280, seed=68, k=6))
    add("2 values small: z", "numeric", gen(dist="int", n=300, seed=69, k=2),
        gen(dist="int", n=280, seed=70, k=2, loc=0.0))
    add("3 values small: chisquare", "numeric", gen(dist="int", n=300, seed=71, k=3),
        gen(dist="int", n=280, seed=72, k=3))
    add("5 values large: jensenshannon", "numeric", gen(dist="int", n=1500, seed=73, k=5),
        gen(dist="int", n=1400, seed=74, k=5, loc=1.0))
    add("6 values large: wasserstein", "numeric", gen(dist="int", n=1500, seed=75, k=6),
        gen(dist="int", n=1400, seed=76, k=6))

    # Missing values and infinities are dropped before anything is counted: 1500 rows
    # with 600 missing is small data (KS).
    ref = generate({"dist": "normal", "n": 1500, "seed": 81})
    for i in range(0, 1500, 5):
        ref[i] = float("nan")
    for i in range(1, 1500, 5):
        ref[i] = float("nan") if i % 2 else float("inf")
    ref[2] = float("-inf")
    cur = generate({"dist": "normal", "n": 400, "seed": 82, "loc": 0.2})
    cur[0] = float("nan")
    cur[3] = float("inf")
    add("missing and infinite cells", "numeric", ref, cur)

    # Categorical columns.
    add("categorical strings code-point order", "categorical",
        ["b", "a", "B", "é", "Z", "a", "a", "b", "Z", "é"], ["a", "B", "b", "b", "Z", "é", "é", "é"])
    add("categorical unseen category", "categorical",
        ["x", "y", "x", "y", "x"], ["x", "y", "z", "x", "y", "x"])
    add("categorical one key", "categorical", ["only"] * 8, ["only"] * 5)
    add("categorical two keys z", "categorical",
        ["no"] * 40 + ["yes"] * 60, ["no"] * 70 + ["yes"] * 30)
    add("categorical two keys z far", "categorical",
        ["no"] * 900 + ["yes"] * 100, ["no"] * 100 + ["yes"] * 900)
    add("categorical missing", "categorical",
        ["a", None, "b", "a", None, "c"], ["a", "b", None, "b", "c", "c", "c"])
    add("categorical large jensenshannon", "categorical",
        ["k%d" % (i % 7) for i in range(1200)], ["k%d" % ((i * i) % 9) for i in range(900)])
    add("numeric values as categories", "categorical",
        [10.0, 2.0, 2.0, 10.0, 33.0, 2.0], [2.0, 33.0, 33.0, 4.0, 10.0])
    add("categorical constant both sides different", "categorical", ["a"] * 6, ["b"] * 4)
    return cs


def expand(side):
    if isinstance(side, dict):
        return generate(side["gen"])
    return [float(v) if isinstance(v, int) else v for v in side]


def checksum(values):
    # The exact float sum in a fixed order, as a hex string, and the count.
    s = 0.0
    for v in values:
        s += v
    return {"n": len(values), "sum": s.hex()}


def kolmogn_table():
    """kstwo.sf(d, n) on a grid covering every branch, and smirnov(n, d)."""
    rows = []
    ns = [1, 2, 3, 5, 10, 60, 140, 141, 750, 5000, 10000, 100001, 250000]
    ds = [0.0, 1e-6, 0.0004, 0.001, 0.003, 0.006, 0.01, 0.02, 0.05, 0.1, 0.15, 0.25, 0.3,
          0.45, 0.5, 0.6, 0.8, 0.95, 0.999, 1.0]
    for n in ns:
        for d in ds:
            rows.append({"n": n, "d": d, "sf": fnum(stats.kstwo.sf(d, n)),
                         "branch": kolmogn_branch(n, d)})
    sm = []
    for n in [1, 2, 5, 10, 60, 141, 750, 1012, 1013, 5000, 10000]:
        for d in [0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 0.7, 0.99, 1.0]:
            sm.append({"n": n, "d": d, "sf": fnum(special.smirnov(n, d))})
    return rows, sm


# --- Part two (drift-definitions.md §10, §11): batch effects and correlation drift --

def bh(p):
    """Benjamini-Hochberg as §10 writes it (SciPy 1.10 lacks false_discovery_control):
    with p sorted ascending, q_(i) = min over j >= i of min(1, m*p_(j)/j)."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for k in range(m - 1, -1, -1):
        i = order[k]
        running = min(running, m * p[i] / (k + 1))
        q[i] = running
    return q


def kruskal_or_nan(groups):
    try:
        h, p = stats.kruskal(*groups)
    except ValueError:  # all numbers identical
        return float("nan"), float("nan")
    return float(h), float(p)


def is_missing(v):
    return v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))


def batch_expected(case):
    """§10 on one table: per feature the test, statistic, p, q, effect; group shares."""
    labels = case["batch"]
    min_rows, alpha, share = case["minRows"], case["alpha"], case["share"]
    names = sorted({b for b in labels if b is not None})
    feats, tested, pvals = [], [], []
    for f in case["features"]:
        by = {b: [] for b in names}
        for b, v in zip(labels, f["values"]):
            if b is None or is_missing(v):
                continue
            by[b].append(v)
        kept = [by[b] for b in names if len(by[b]) >= min_rows]
        stat = p = float("nan")
        if f["kind"] == "numeric":
            test = "kruskal"
            if len(kept) >= 2:
                stat, p = kruskal_or_nan([np.array(g, dtype=float) for g in kept])
        else:
            test = "chi2_contingency"
            if len(kept) >= 2:
                cats = sorted({v for g in kept for v in g})
                table = np.array([[g.count(c) for c in cats] for g in kept], dtype=float)
                table = table[:, table.sum(axis=0) > 0]
                res = stats.chi2_contingency(table, correction=False)
                stat, p = float(res[0]), float(res[1])
        feats.append({"name": f["name"], "test": test, "statistic": fnum(stat), "pvalue": fnum(p),
                      "tested": not math.isnan(p)})
        if not math.isnan(p):
            tested.append(len(feats) - 1)
            pvals.append(p)
    for k, q in zip(tested, bh(pvals)):
        feats[k]["qvalue"] = q
        feats[k]["effect"] = q < alpha
    groups = []
    for g in case["groups"]:
        t = [f for f in feats if f["name"] in g["features"] and f["tested"]]
        e = sum(1 for f in t if f["effect"])
        s = e / len(t) if t else 0.0
        groups.append({"name": g["name"], "tested": len(t), "share": s, "effect": bool(t) and s >= share})
    rows = {b: sum(1 for x in labels if x == b) for b in names}
    return {"features": feats, "groups": groups,
            "batches": [{"name": b, "rows": rows[b]} for b in names],
            "effect": any(g["effect"] for g in groups)}


def rand_ints(seed, n, k, loc=0):
    u = lcg_uniforms(seed)
    return [float(loc + math.floor(next(u) * k)) for _ in range(n)]


def rand_normal(seed, n, loc=0.0, scale=1.0):
    return generate({"dist": "normal", "n": n, "seed": seed, "loc": loc, "scale": scale})


def batch_cases():
    cs = []
    # Four labs: A and B of 40 rows, C of 45 with shifted values, D of 12 (below minRows).
    labels = ["A"] * 40 + ["B"] * 40 + ["C"] * 45 + ["D"] * 12 + [None] * 5
    n = len(labels)
    shift = [3.0 if b == "C" else 0.0 for b in labels]
    cats = ["x", "y", "z"]
    u = lcg_uniforms(77)
    cat_ab = [cats[math.floor(next(u) * 3)] for _ in range(n)]
    # A category only lab D holds: a zero column once D is dropped.
    cat_zero = [("w" if b == "D" else c) for b, c in zip(labels, cat_ab)]
    cat_shift = [("z" if b == "C" and i % 3 else c) for i, (b, c) in enumerate(zip(labels, cat_ab))]
    ties = rand_ints(5, n, 4)
    feats = [
        {"name": "ties_null", "kind": "numeric", "values": ties},
        {"name": "ties_shift", "kind": "numeric", "values": [v + (1.0 if b == "C" else 0.0) for v, b in zip(rand_ints(6, n, 5), labels)]},
        {"name": "normal_shift", "kind": "numeric", "values": [v + s for v, s in zip(rand_normal(8, n), shift)]},
        {"name": "normal_null", "kind": "numeric", "values": rand_normal(9, n)},
        {"name": "constant", "kind": "numeric", "values": [2.5] * n},
        {"name": "constant_but_small_batch", "kind": "numeric", "values": [(9.0 if b == "D" else 1.0) for b in labels]},
        {"name": "with_missing", "kind": "numeric", "values": [(float("nan") if i % 7 == 0 else v) for i, v in enumerate(rand_normal(10, n))]},
        {"name": "cat_null", "kind": "categorical", "values": cat_ab},
        {"name": "cat_zero_column", "kind": "categorical", "values": cat_zero},
        {"name": "cat_shift", "kind": "categorical", "values": cat_shift},
        {"name": "cat_constant", "kind": "categorical", "values": ["k"] * n},
        {"name": "cat_missing", "kind": "categorical", "values": [(None if i % 5 == 0 else c) for i, c in enumerate(cat_shift)]},
    ]
    groups = [{"name": "omics", "features": [f["name"] for f in feats if f["kind"] == "numeric"]},
              {"name": "clinical", "features": [f["name"] for f in feats if f["kind"] == "categorical"]},
              {"name": "all", "features": [f["name"] for f in feats]}]
    cs.append({"name": "four labs, one small", "batch": labels, "minRows": 30, "alpha": 0.01, "share": 0.3,
               "features": feats, "groups": groups})
    # Only one lab reaches minRows: nothing is tested.
    cs.append({"name": "one batch above minRows", "batch": labels, "minRows": 41, "alpha": 0.01, "share": 0.3,
               "features": feats[:3] + feats[7:9], "groups": groups[:1]})
    # Numeric batch labels and a looser alpha.
    nl = [float(1 + (i % 3)) for i in range(90)]
    cs.append({"name": "three plates, small minRows", "batch": ["%g" % v for v in nl], "batch_numeric": nl,
               "minRows": 5, "alpha": 0.2, "share": 0.5,
               "features": [{"name": "t%d" % k, "kind": "numeric", "values": [v + (0.5 * k if p == 3.0 else 0.0) for v, p in zip(rand_ints(20 + k, 90, 6), nl)]} for k in range(5)],
               "groups": [{"name": "g", "features": ["t%d" % k for k in range(5)]}]})
    for c in cs:
        c["expected"] = batch_expected(c)
    return cs


def spearman_pair(x, y):
    rows = [(a, b) for a, b in zip(x, y) if not is_missing(a) and not is_missing(b)]
    n = len(rows)
    if n < 2:
        return float("nan"), n
    xs = np.array([a for a, _ in rows]); ys = np.array([b for _, b in rows])
    if xs.min() == xs.max() or ys.min() == ys.max():
        return float("nan"), n
    return float(stats.spearmanr(xs, ys).correlation), n


def correlation_expected(case):
    alpha, share = case["alpha"], case["share"]
    pairs = []
    for a in case["a"]:
        for b in case["b"]:
            rr, nr = spearman_pair(case["ref"][a], case["ref"][b])
            rc, nc = spearman_pair(case["cur"][a], case["cur"][b])
            entry = {"a": a, "b": b, "rReference": fnum(rr), "rCurrent": fnum(rc), "nReference": nr, "nCurrent": nc}
            if nr >= 10 and nc >= 10 and not math.isnan(rr) and not math.isnan(rc):
                c = 0.999999
                z = (math.atanh(max(-c, min(c, rc))) - math.atanh(max(-c, min(c, rr)))) / math.sqrt(1 / (nr - 3) + 1 / (nc - 3))
                entry["z"] = z
                entry["pValue"] = float(2 * stats.norm.sf(abs(z)))
                entry["tested"] = True
            else:
                entry["tested"] = False
            pairs.append(entry)
    tested = [p for p in pairs if p["tested"]]
    for p, q in zip(tested, bh([p["pValue"] for p in tested])):
        p["qValue"] = q
        p["changed"] = q < alpha
    changed = sum(1 for p in tested if p["changed"])
    s = changed / len(tested) if tested else 0.0
    return {"pairs": pairs, "tested": len(tested), "changed": changed, "share": s,
            "drifted": bool(tested) and s >= share}


def correlation_cases():
    n = 60
    base = rand_normal(31, n)
    noise = rand_normal(32, n)
    noise2 = rand_normal(33, n)
    def table(flip):
        t = {
            "s_lin": base,
            "s_ties": rand_ints(34 + flip, n, 5),
            "s_const": [1.0] * n,
            "s_missing": [(float("nan") if i % 4 == 0 else v) for i, v in enumerate(noise)],
            "o_same": [3 * v + 1 for v in base],                       # r = +1
            "o_neg": [-v * v * v for v in base],                       # r = -1
            "o_mix": [v + (0.3 if not flip else -0.8) * w for v, w in zip(noise2, base)],
            "o_few": [(v if i < 9 else float("nan")) for i, v in enumerate(noise2)],  # n < 10
            "o_inf": [(float("inf") if i % 6 == 0 else v) for i, v in enumerate(rand_ints(40 + flip, n, 8))],
        }
        if flip:
            t["o_same"] = [-v for v in t["o_same"]]
        return t
    ref, cur = table(0), table(1)
    case = {"name": "sensor x omics", "a": ["s_lin", "s_ties", "s_const", "s_missing"],
            "b": ["o_same", "o_neg", "o_mix", "o_few", "o_inf"], "alpha": 0.01, "share": 0.1,
            "ref": ref, "cur": cur}
    case["expected"] = correlation_expected(case)
    # Ten rows exactly: the smallest tested n.
    small = {"name": "ten rows", "a": ["x"], "b": ["y", "z"], "alpha": 0.05, "share": 0.5,
             "ref": {"x": base[:10], "y": noise[:10], "z": noise2[:9] + [float("nan")]},
             "cur": {"x": base[10:20], "y": [-v for v in base[10:20]], "z": noise2[10:20]}}
    small["expected"] = correlation_expected(small)
    return [case, small]


def suspects_expected(case):
    """The per-batch drifted shares and suspects of section 10: part one's automatic test
    (compute, above) of the whole reference against each batch's rows, and against the
    pooled rows of every other batch; a feature with no value in the rows is not drifted."""
    share = case["datasetShare"]
    labels = case["batch"]
    names = sorted({b for b in labels if b is not None})

    def drifted_share(rows):
        drifted = 0
        for f in case["features"]:
            cur = [f["cur"][i] for i in rows]
            numeric = f["kind"] == "numeric"
            if not clean(cur, numeric):
                continue
            exp = compute(f["kind"], f["ref"], cur)
            drifted += exp["tests"][exp["auto_test"]]["drifted"]
        return drifted / len(case["features"])

    out = []
    for b in names:
        own = drifted_share([i for i, x in enumerate(labels) if x == b])
        suspect = False
        if own >= share and len(names) >= 2:
            suspect = drifted_share([i for i, x in enumerate(labels) if x is not None and x != b]) < share
        out.append({"name": b, "rows": sum(1 for x in labels if x == b), "driftedShare": own, "suspect": suspect})
    return out


def suspect_cases():
    labels = ["A"] * 80 + ["B"] * 80 + ["C"] * 80 + ["D"] * 12 + [None] * 8
    n = len(labels)
    u = lcg_uniforms(91)
    cats = ["x", "y", "z"]
    cat_ref = [cats[math.floor(next(u) * 3)] for _ in range(400)]
    cat_cur = [("z" if b == "C" and i % 2 else cats[math.floor(next(u) * 3)]) for i, b in enumerate(labels)]
    feats = [
        {"name": "f_norm", "kind": "numeric", "ref": rand_normal(92, 400),
         "cur": [v + (1.0 if b == "C" else 0.0) for v, b in zip(rand_normal(93, n), labels)]},
        {"name": "f_ties", "kind": "numeric", "ref": rand_ints(94, 400, 8),
         "cur": [v + (2.0 if b == "C" else 0.0) for v, b in zip(rand_ints(95, n, 8), labels)]},
        {"name": "f_null", "kind": "numeric", "ref": rand_normal(96, 400), "cur": rand_normal(97, n)},
        {"name": "cat", "kind": "categorical", "ref": cat_ref, "cur": cat_cur},
        {"name": "f_empty_in_d", "kind": "numeric", "ref": rand_normal(98, 400),
         "cur": [(float("nan") if b == "D" else v) for v, b in zip(rand_normal(99, n), labels)]},
    ]
    cs = [{"name": "lab C shifted, lab D small with an empty feature", "datasetShare": 0.3, "batch": labels, "features": feats}]
    two = dict(cs[0], name="labs B and C shifted: no suspect")
    two["features"] = [dict(f, cur=[v + 1.5 if b == "B" else v for v, b in zip(f["cur"], labels)]) if f["kind"] == "numeric" else f
                       for f in feats]
    cs.append(two)
    for c in cs:
        c["expected"] = suspects_expected(c)
        c["features"] = [dict(f, ref=enc(f["ref"]), cur=enc(f["cur"])) for f in c["features"]]
    return cs


def quality_expected(case):
    """§9 with pandas, as the definitions write it: m counts missing, NaN and +-inf cells
    (invalid cells apart) over all rows of the window; the shares are over cleaned values."""
    import pandas as pd
    o = case["options"]
    cat = set(case["categorical"])
    cur = {c["name"]: c for c in case["cur"]}
    ref_names = {c["name"] for c in case["ref"]}
    out = []

    def series(col, numeric):
        if numeric:
            return pd.Series(col["values"], dtype=float).replace([np.inf, -np.inf], np.nan)
        return pd.Series([None if is_missing(v) else ("%s" % v if isinstance(v, str) else repr_g(v)) for v in col["values"]], dtype=object)

    for r in case["ref"]:
        name = r["name"]
        if name not in cur:
            out.append({"column": name, "issue": "removed", "reference": None, "current": None, "threshold": None})
            continue
        c = cur[name]
        is_num = lambda col: all(isinstance(v, float) for v in col["values"])
        numeric = is_num(r) and is_num(c) and name not in cat
        rs, cs = series(r, numeric), series(c, numeric)
        m_ref = (int(rs.isna().sum()) - r["invalid"]) / len(rs)
        m_cur = (int(cs.isna().sum()) - c["invalid"]) / len(cs)
        if m_cur - m_ref > o["missing"]:
            out.append({"column": name, "issue": "missing_increase", "reference": m_ref, "current": m_cur, "threshold": o["missing"]})
        rc, cc = rs.dropna(), cs.dropna()
        if len(rc) and len(cc):
            if numeric:
                share = float(((cc < rc.min()) | (cc > rc.max())).mean())
                if share > o["outOfRange"]:
                    out.append({"column": name, "issue": "out_of_range", "reference": None, "current": share, "threshold": o["outOfRange"]})
            else:
                share = float((~cc.isin(set(rc))).mean())
                if share > o["newCategories"]:
                    out.append({"column": name, "issue": "new_categories", "reference": None, "current": share, "threshold": o["newCategories"]})
        if cc.nunique() == 1 and rc.nunique() > 1:
            out.append({"column": name, "issue": "became_constant", "reference": float(rc.nunique()), "current": 1.0, "threshold": None})
        if r["invalid"] or c["invalid"]:
            out.append({"column": name, "issue": "type_mismatch", "reference": float(r["invalid"]), "current": float(c["invalid"]), "threshold": None})
    for c in case["cur"]:
        if c["name"] not in ref_names:
            out.append({"column": c["name"], "issue": "added", "reference": None, "current": None, "threshold": None})
    return out


def repr_g(v):
    """A number as Go's strconv.FormatFloat(v, 'g', -1, 64) writes the small integers and
    short decimals used here."""
    return ("%d" % v) if float(v).is_integer() else repr(float(v))


def quality_cases():
    n = 100
    nan, inf = float("nan"), float("inf")
    lact_ref = [0.5 + 3.5 * i / (n - 1) for i in range(n)]                   # [0.5, 4]
    lact_cur = [(nan if i % 5 == 0 else (9.0 if i % 10 == 1 else (4.0 if i % 10 == 3 else 0.5 + i / 50))) for i in range(n)]
    age_ref = [(nan if i % 10 == 0 else 20.0 + i) for i in range(n)]        # m = 0.1
    age_cur = [(nan if i % 5 == 0 else 20.0 + i) for i in range(n)]         # m = 0.2: a rise of exactly 0.1
    wards = ["A", "B", "C"]
    ward_ref = [wards[i % 3] for i in range(n)]
    ward_cur = [("ICU-9" if i % 12 == 0 else wards[i % 3]) for i in range(n)]
    sex_ref = [("F" if i % 2 else "M") if i % 9 else None for i in range(n)]
    sex_cur = ["F" if i % 4 else None for i in range(n)]
    spo2_ref = [90.0 + (i % 9) for i in range(n)]
    spo2_cur = [(inf if i % 3 == 0 else (-inf if i % 3 == 1 else 97.0)) for i in range(n)]
    hr_ref = [60.0 + (i % 40) for i in range(n)]
    hr_cur = [(nan if i in (5, 17, 71) else 61.0 + (i % 30)) for i in range(n)]
    code_ref = [float(1 + i % 4) for i in range(n)]
    code_cur = [float(1 + i % 6) for i in range(n)]                          # 5 and 6 unseen: 1/3 new
    col = lambda name, v, inv=0: {"name": name, "values": v, "invalid": inv}
    ref = [col("lactate", lact_ref), col("age", age_ref), col("ward", ward_ref), col("sex", sex_ref),
           col("spo2", spo2_ref), col("heart_rate", hr_ref), col("ward_code", code_ref), col("gene_old", rand_normal(61, n))]
    cur = [col("gene_new", rand_normal(62, n)), col("lactate", lact_cur), col("age", age_cur), col("ward", ward_cur),
           col("sex", sex_cur), col("spo2", spo2_cur), col("heart_rate", hr_cur, 3), col("ward_code", code_cur)]
    cs = [{"name": "clinical window, default thresholds", "categorical": ["ward_code"],
           "options": {"missing": 0.10, "outOfRange": 0.05, "newCategories": 0.05}, "ref": ref, "cur": cur},
          {"name": "looser thresholds", "categorical": [],
           "options": {"missing": 0.5, "outOfRange": 0.2, "newCategories": 0.3}, "ref": ref, "cur": cur}]
    for c in cs:
        c["expected"] = quality_expected(c)
    return cs


def part_two():
    kr = []
    for name, groups in [
        ("ties", [[1, 2, 2, 3, 3, 3], [2, 3, 3, 4, 4], [1, 1, 2, 5]]),
        ("no ties", [[0.5, 1.25, 3.0], [2.0, 4.5, 6.0, 7.5], [8.0, 9.5]]),
        ("identical", [[4, 4, 4], [4, 4]]),
        ("one group", [[1, 2, 3]]),
        ("large shift", [rand_normal(50, 200), rand_normal(51, 150, loc=0.5), rand_ints(52, 90, 3)]),
    ]:
        if len(groups) < 2:
            h = p = float("nan")
        else:
            h, p = kruskal_or_nan([np.array(g, dtype=float) for g in groups])
        kr.append({"name": name, "groups": [[float(v) for v in g] for g in groups], "h": fnum(h), "p": fnum(p)})
    ct = []
    for name, table in [
        ("2x2", [[10, 20], [30, 25]]),
        ("3x3", [[12, 5, 9], [7, 14, 3], [20, 1, 6]]),
        ("zero column", [[12, 0, 9], [7, 0, 3]]),
        ("one column", [[5], [9], [4]]),
    ]:
        a = np.array(table, dtype=float)
        a = a[:, a.sum(axis=0) > 0]
        res = stats.chi2_contingency(a, correction=False)
        ct.append({"name": name, "table": table, "statistic": fnum(res[0]), "p": fnum(res[1]), "dof": int(res[2])})
    bhc = []
    for p in [[0.01, 0.04, 0.03, 0.2], [0.5, 0.5, 0.001, 0.9, 0.02], [1.0], [0.04, 0.04, 0.04]]:
        bhc.append({"p": p, "q": bh(p)})
    spear = []
    for name, x, y in [("ties", [1, 2, 2, 3, 4, 4, 4, 5], [2, 1, 3, 3, 5, 4, 6, 6]),
                       ("r=+1", [1, 2, 3, 4, 5], [10, 20, 30, 40, 50]),
                       ("r=-1", [1, 2, 3, 4, 5], [5, 4, 3, 2, 1]),
                       ("missing", [1, float("nan"), 3, 4, 5, 6], [2, 3, float("inf"), 1, 6, 5])]:
        r, n = spearman_pair([float(v) for v in x], [float(v) for v in y])
        spear.append({"name": name, "x": enc([float(v) for v in x]), "y": enc([float(v) for v in y]), "r": fnum(r), "n": n})
    def enc_case(c):
        c = dict(c)
        for side in ("ref", "cur"):
            if side in c and isinstance(c[side], dict):
                c[side] = {k: enc(v) for k, v in c[side].items()}
        if c.get("categorical") is not None and "options" in c:
            c["ref"] = [dict(x, values=enc(x["values"])) for x in c["ref"]]
            c["cur"] = [dict(x, values=enc(x["values"])) for x in c["cur"]]
            return c
        if "features" in c:
            c["features"] = [dict(f, values=enc(f["values"])) for f in c["features"]]
        return c
    return {"kruskal": kr, "contingency": ct, "bh": bhc, "spearman": spear,
            "batch": [enc_case(c) for c in batch_cases()],
            "correlation": [enc_case(c) for c in correlation_cases()],
            "quality": [enc_case(c) for c in quality_cases()],
            "suspects": suspect_cases()}


# --- Windows of a timestamped log (drift-definitions.md §8) --------------------------
#
# The logs are written to internal/dataset/testdata/windows/ as CSV; the Go tests read them
# as they are and converted to Parquet (a TIMESTAMP column, null where the text is no
# timestamp). pandas parses the timestamps and selects the rows; the windows, the pruning
# of date=YYYY-MM-DD directories and the drop count are written out here independently.

TS_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
                      r"(?:[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?)?$")
DAY = pd.Timedelta(days=1)


def parse_duration(s):
    """'180d', '36h', '1d12h' as a Timedelta (days are 24 hours)."""
    total = pd.Timedelta(0)
    for num, unit in re.findall(r"([0-9]+)([dh])", s):
        total += pd.Timedelta(days=int(num)) if unit == "d" else pd.Timedelta(hours=int(num))
    return total


def window_bounds(at, w):
    to = at - parse_duration(w.get("ago", "0d"))
    return to - parse_duration(w["last"]), to


def parse_timestamps(col):
    """RFC 3339 ('t' or a space for 'T', 'z' for 'Z'), without a zone UTC, or a date alone."""
    def norm(v):
        if not isinstance(v, str) or not TS_SHAPE.match(v):
            return None
        if len(v) > 10:
            v = v[:10] + "T" + v[11:]
            if v.endswith("z"):
                v = v[:-1] + "Z"
        return v
    return pd.to_datetime(col.map(norm), utc=True, errors="coerce")


def log_files(root, windows):
    """The files of the log at root with the windows each is read for: every file below a
    directory but names starting with '.' or '_'; a date=YYYY-MM-DD directory (the UTC day
    [D, D+1d)) is entered only for the windows that overlap that day."""
    if os.path.isfile(root):
        return [(root, set(range(len(windows))))]
    out = []

    def walk(d, ws):
        for name in sorted(os.listdir(d)):
            if name.startswith(".") or name.startswith("_"):
                continue
            p = os.path.join(d, name)
            if not os.path.isdir(p):
                out.append((p, ws))
                continue
            sub = set(ws)
            if name.startswith("date="):
                day = pd.Timestamp(name[len("date="):], tz="UTC")
                sub = {i for i in ws if day < windows[i][1] and day + DAY > windows[i][0]}
            if sub:
                walk(p, sub)
    walk(root, set(range(len(windows))))
    return out


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def window_expected(case, base):
    at = pd.Timestamp(case["at"])
    names = ("reference", "current")
    bounds = [window_bounds(at, case[n]) for n in names]
    files = log_files(os.path.join(base, case["source"]), bounds)
    picked, dropped = [[], []], [0, 0]
    for path, ws in files:
        df = pd.read_csv(path, dtype={"ts": str}, keep_default_na=False)
        t = parse_timestamps(df["ts"])
        for i in sorted(ws):
            dropped[i] += int(t.isna().sum())
            picked[i].append(df[(t >= bounds[i][0]) & (t < bounds[i][1])])
    exp = {}
    xs = []
    for i, n in enumerate(names):
        rows = pd.concat(picked[i]) if picked[i] else pd.DataFrame({"id": [], "x": []})
        exp[n] = {"from": rfc3339(bounds[i][0]), "to": rfc3339(bounds[i][1]), "rows": len(rows),
                  "droppedRows": dropped[i], "ids": sorted(int(v) for v in rows["id"])}
        xs.append([float(v) for v in rows["x"]])
    exp["insufficientData"] = any(exp[n]["rows"] < case[n]["minRows"] for n in names)
    if not exp["insufficientData"]:
        c = compute("numeric", xs[0], xs[1])
        test = c["auto_test"]
        exp["x"] = dict(c["tests"][test], test=test)
    return exp


def write_log(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("id,ts,x\n")
        for r in rows:
            f.write("%d,%s,%r\n" % r)


def x_value(i, shift=0.0):
    # Deterministic, varied values; the current days get a shift.
    return round(((i * 7919) % 1000) / 100.0 + shift, 4)


def window_logs(base):
    """Write the logs of the window cases below base and return the cases."""
    if os.path.isdir(base):
        shutil.rmtree(base)
    at = "2026-12-07T00:00:00Z"
    T = pd.Timestamp(at)
    ids = iter(range(1, 100000))

    def rows_every(start, end, step, shift_from=None, fmt=None, shift=3.0):
        out, t = [], start
        while t < end:
            i = next(ids)
            s = shift if shift_from is not None and t >= shift_from else 0.0
            out.append((i, fmt(t) if fmt else t.strftime("%Y-%m-%dT%H:%M:%SZ"), x_value(i, s)))
            t += step
        return out

    def rows_at(stamps, shift=0.0):
        return [(next(ids), s, x_value(k + 1, shift)) for k, s in enumerate(stamps)]

    cases = []
    # On the boundaries: T-7d and T-30d are in, T is out, a nanosecond before T-30d is out.
    rows = rows_every(pd.Timestamp("2026-10-20T06:00:00Z"), T + 2 * DAY, pd.Timedelta(hours=12),
                      shift_from=T - 7 * DAY)
    rows += rows_at(["2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z", "2026-11-07T00:00:00Z",
                     "2026-11-06T23:59:59.999999999Z", "2026-12-06T23:59:59.999999999Z",
                     "2026-11-30T01:00:00+01:00", "2026-11-29T23:59:59.5-00:00",
                     "2026-12-07T01:00:00+01:00"])
    write_log(os.path.join(base, "boundaries.csv"), rows)
    cases.append({"name": "rows on both boundaries", "source": "boundaries.csv", "at": at,
                  "reference": {"last": "30d", "minRows": 10}, "current": {"last": "7d", "minRows": 5}})

    # Without a zone (UTC), a date alone, a space or lower-case t and z.
    fmts = [lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"), lambda t: t.strftime("%Y-%m-%d"),
            lambda t: t.strftime("%Y-%m-%d %H:%M:%S"), lambda t: t.strftime("%Y-%m-%dt%H:%M:%S.25z")]
    rows = []
    for k, f in enumerate(fmts):
        rows += rows_every(pd.Timestamp("2026-10-25T00:00:00Z") + k * pd.Timedelta(hours=6), T + DAY,
                           pd.Timedelta(hours=24), shift_from=T - 7 * DAY, fmt=f)
    rows += rows_at(["2026-11-30", "2026-12-07", "2026-11-30T00:00:00", "2026-12-07 00:00:00"])
    write_log(os.path.join(base, "nozone.csv"), rows)
    cases.append({"name": "timestamps without a zone and dates alone", "source": "nozone.csv", "at": at,
                  "reference": {"last": "30d", "minRows": 10}, "current": {"last": "7d", "minRows": 5}})

    # Bad timestamps are in no window and counted.
    rows = rows_every(pd.Timestamp("2026-11-01T03:00:00Z"), T, pd.Timedelta(hours=20), shift_from=T - 7 * DAY)
    rows += rows_at(["", "not a date", "2026-02-30T00:00:00Z", "2026-12-01T24:00:00Z", "1764547200",
                     "2026/12/01", "2026-12-01T10:00Z", "NA", "2026-12-01T10:00:00+0100", "2026-12-1"])
    write_log(os.path.join(base, "bad.csv"), rows)
    cases.append({"name": "bad timestamps dropped and counted", "source": "bad.csv", "at": at,
                  "reference": {"last": "30d", "minRows": 10}, "current": {"last": "7d", "minRows": 5}})

    # The same season a year earlier: the values follow the day of the year.
    rows = []
    t = pd.Timestamp("2024-11-01T12:00:00Z")
    while t < T + 3 * DAY:
        i = next(ids)
        rows.append((i, t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     round(5 + 4 * math.sin(2 * math.pi * t.dayofyear / 365.0) + ((i * 7919) % 100) / 100.0, 4)))
        t += pd.Timedelta(hours=9)
    write_log(os.path.join(base, "seasonal.csv"), rows)
    cases.append({"name": "a seasonal reference a year ago", "source": "seasonal.csv", "at": at,
                  "reference": {"last": "30d", "ago": "365d", "minRows": 50},
                  "current": {"last": "30d", "minRows": 50}})
    cases.append({"name": "a rolling reference over the seasons", "source": "seasonal.csv", "at": at,
                  "reference": {"last": "180d", "ago": "30d", "minRows": 50},
                  "current": {"last": "30d", "minRows": 50}})

    # Day partitions: reference [11-16, 11-30), current [11-30, 12-07). The days 11-15 and
    # 12-07 only touch a window's open end, 11-10 and 2025-06-01 lie outside: a corrupt
    # file there would fail the read. A partition's rows are in a window only if the
    # partition is read for it, whatever their timestamps say.
    part = os.path.join(base, "partitions")
    day = pd.Timestamp("2026-11-16T00:00:00Z")
    while day < T:
        write_log(os.path.join(part, "date=" + day.strftime("%Y-%m-%d"), "part-0.csv"),
                  rows_every(day + pd.Timedelta(hours=1), day + DAY, pd.Timedelta(hours=5),
                             shift_from=T - 7 * DAY))
        day += DAY
    write_log(os.path.join(part, "date=2026-11-20", "part-1.csv"),
              rows_at(["2026-12-02T10:00:00Z", "bad", "2026-11-20T23:00:00Z"]))
    write_log(os.path.join(part, "date=2026-12-03", "part-1.csv"),
              rows_at(["2026-11-25T10:00:00Z", "", "2026-12-03T08:00:00Z"], shift=3.0))
    write_log(os.path.join(part, "lab=b", "date=2026-12-05", "part-0.csv"),
              rows_at(["2026-12-05T01:00:00Z", "2026-12-05T02:00:00Z"], shift=3.0))
    write_log(os.path.join(part, "lab=b", "date=2026-11-18", "part-0.csv"),
              rows_at(["2026-11-18T01:00:00Z"]))
    write_log(os.path.join(part, "date=2026-11-10", "part-0.csv"), rows_at(["2026-11-20T10:00:00Z"]))
    for d in ("2025-06-01", "2026-11-15", "2026-12-07"):
        os.makedirs(os.path.join(part, "date=" + d), exist_ok=True)
        with open(os.path.join(part, "date=" + d, "part-0.parquet"), "wb") as f:
            f.write(b"PAR1 not a Parquet file: reading it fails PAR1")
    with open(os.path.join(part, "_SUCCESS"), "wb"):
        pass
    with open(os.path.join(part, ".part-0.csv.crc"), "wb") as f:
        f.write(b"\x00\x01crc")
    cases.append({"name": "day partitions outside a window are not read", "source": "partitions", "at": at,
                  "reference": {"last": "14d", "ago": "7d", "minRows": 20},
                  "current": {"last": "7d", "minRows": 20}})

    # Too few current rows: insufficient data, reported with the counts.
    rows = rows_every(pd.Timestamp("2026-10-01T00:00:00Z"), T - 9 * DAY, pd.Timedelta(hours=7))
    rows += rows_at(["2026-12-02T00:00:00Z", "2026-12-04T00:00:00Z", "2026-12-06T00:00:00Z", "junk"], shift=3.0)
    write_log(os.path.join(base, "sparse.csv"), rows)
    cases.append({"name": "too few current rows is insufficient data", "source": "sparse.csv", "at": at,
                  "reference": {"last": "60d", "minRows": 30}, "current": {"last": "7d", "minRows": 5}})
    return cases


def window_cases(base):
    cases = window_logs(base)
    for c in cases:
        c["expected"] = window_expected(c, base)
    return cases


HOUR = 3600 * 10**9  # nanoseconds


def adaptive_sequence(interval, lo, hi, verdicts):
    """drift-definitions.md §12 over a sequence of report verdicts: the interval in force
    after each report. Intervals are integer nanoseconds (Python integers: no overflow);
    halving rounds down to a whole nanosecond."""
    out = []
    current = interval
    for v in verdicts:
        if v == "drifted":
            current = max(lo, current // 2)
        elif v == "no-drift":
            current = min(hi, current * 2)
        elif v == "insufficient-data":
            pass
        else:
            raise ValueError(v)
        out.append(current)
    return out


def adaptive_cases():
    D, N, I = "drifted", "no-drift", "insufficient-data"
    u = lcg_uniforms(1207)
    long_run = []
    for _ in range(250):
        x = next(u)
        long_run.append(D if x < 0.4 else N if x < 0.85 else I)
    specs = [
        ("drifted reports halve down to min", 6 * HOUR, HOUR, 24 * HOUR, [D] * 5),
        ("reports without drift double up to max", 6 * HOUR, HOUR, 24 * HOUR, [N] * 5),
        ("insufficient data keeps the interval", 6 * HOUR, HOUR, 24 * HOUR, [I, D, I, N, I, I]),
        ("alternating", 6 * HOUR, HOUR, 24 * HOUR, [D, N] * 4),
        ("an odd nanosecond count rounds down when halved", 6 * HOUR + 1, 1, 24 * HOUR, [D, N, D, D, N]),
        ("min equal to max keeps one interval", 6 * HOUR, 6 * HOUR, 6 * HOUR, [D, N, I, D]),
        ("the interval at min", HOUR, HOUR, 24 * HOUR, [D, N, N, D, D]),
        ("a max that is not a power of two of the interval", 90 * 60 * 10**9, 20 * 60 * 10**9, 7 * HOUR, [N, N, N, D, D, D, D]),
        ("250 reports, more than the status keeps (lcg seed 1207)", 6 * HOUR, HOUR, 24 * HOUR, long_run),
    ]
    return [{"name": name, "interval": iv, "min": lo, "max": hi, "verdicts": vs,
             "intervals": adaptive_sequence(iv, lo, hi, vs)} for name, iv, lo, hi, vs in specs]


def main():
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                            "internal", "drift", "testdata", "reference.json")
    out_cases = []
    for c in cases():
        ref = expand(c["ref"])
        cur = expand(c["cur"])
        exp = compute(c["kind"], ref, cur)
        if "want_branch" in c:
            got = exp["tests"]["ks"].get("branch")
            if got != c["want_branch"]:
                sys.exit("case %r: want branch %s, got %s (D=%r)" % (
                    c["name"], c["want_branch"], got, exp["tests"]["ks"]["statistic"]))
        entry = {"name": c["name"], "kind": c["kind"]}
        for side, raw, vals in (("ref", c["ref"], ref), ("cur", c["cur"], cur)):
            if isinstance(raw, dict):
                entry[side] = raw
                entry[side + "_check"] = checksum(vals)
            else:
                entry[side] = enc(vals)
        entry["expected"] = exp
        out_cases.append(entry)
    kt, sm = kolmogn_table()
    doc = {
        "about": "Generated by scripts/drift_reference.py with numpy %s and scipy %s; do not edit."
                 % (np.__version__, scipy.__version__),
        "generator": "lcg64 a=6364136223846793005 c=1442695040888963407; u=(2*(state>>12)+1)/2^53",
        "cases": out_cases,
        "kolmogn": kt,
        "smirnov": sm,
    }
    two = part_two()
    two_path = os.path.join(os.path.dirname(out_path), "reference_omics.json")
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    two["about"] = doc["about"] + " Part two of drift-definitions.md (batch effects, correlation drift)."
    with open(two_path, "w") as f:
        json.dump(two, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    adaptive_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                 "reconciler", "testdata", "adaptive_reference.json")
    adaptive = {"about": "Generated by scripts/drift_reference.py; do not edit. The adaptive drift "
                         "schedule of drift-definitions.md §12; durations in nanoseconds.",
                "cases": adaptive_cases()}
    with open(adaptive_path, "w") as f:
        json.dump(adaptive, f, indent=1)
        f.write("\n")
    print("wrote %s: %d adaptive schedule cases" % (os.path.normpath(adaptive_path), len(adaptive["cases"])))
    win_base = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                            "internal", "dataset", "testdata", "windows")
    win = {"about": "Generated by scripts/drift_reference.py with pandas %s, numpy %s and scipy %s; "
                    "do not edit. Windows of a timestamped log (drift-definitions.md section 8)."
                    % (pd.__version__, np.__version__, scipy.__version__),
           "cases": window_cases(win_base)}
    win_path = os.path.join(win_base, "..", "windows_reference.json")
    with open(win_path, "w") as f:
        json.dump(win, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %s: %d cases, %d kolmogn rows, %d smirnov rows; part two: %s; %d window cases"
          % (os.path.normpath(out_path), len(out_cases), len(kt), len(sm),
             ", ".join("%d %s" % (len(v), k) for k, v in two.items() if k != "about"), len(win["cases"])))


if __name__ == "__main__":
    main()
