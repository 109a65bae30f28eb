#!/usr/bin/python3
"""Generate internal/metrics/testdata/delong: prediction logs (CSV) and, for each model
version, the AUC and its variance by DeLong's method computed from the textbook
definition, pair by pair, plus the confidence interval and p-value of the difference
between two versions' AUCs. Run with Debian's interpreter (numpy 1.24, scipy 1.10):

    /usr/bin/python3 scripts/delong_reference.py

Definitions (DeLong, DeLong & Clarke-Pearson 1988), the contract the Go code is checked
against. With m positives X_i and n negatives Y_j and psi(X, Y) = 1 if X > Y, 1/2 if
X == Y, 0 otherwise:

    V10(X_i) = (1/n) sum_j psi(X_i, Y_j)      V01(Y_j) = (1/m) sum_i psi(X_i, Y_j)
    AUC = mean of V10 = mean of V01
    S10 = sample variance of V10 (ddof 1)      S01 = sample variance of V01 (ddof 1)
    Var(AUC) = S10/m + S01/n; null (no standard error) when m < 2 or n < 2.

Two versions score different rows, so their AUCs are independent:

    diff = AUC_canary - AUC_production        stdErr = sqrt(Var_canary + Var_production)
    lower, upper = diff -/+ z * stdErr, z = -norm.ppf((1 - confidence) / 2)
    z = diff / stdErr (0 when diff == stdErr == 0; +-inf, written null, when only
    stdErr is 0)                               p = 2 * norm.cdf(-|z|)

The psi matrix is built with numpy (as 2*psi, integers) in blocks of rows; the placement
values' variances are computed exactly with fractions.Fraction from its integer row and
column sums and checked against numpy.var(ddof=1) to 1e-13; the exact value, rounded
once, is written. Nothing here sorts scores or counts ties per distinct value, which is
how the Go code computes the same figures.

The Hanley & McNeil (1982) CT rating data (Table I; the same counts as Stata's
hanley.dta): ratings 1..5 of 58 normal cases (33, 6, 6, 11, 2) and 51 abnormal ones
(3, 2, 2, 11, 33); the published area is 0.8931.

Output: one CSV per log (model_version, score, label) and delong.json:

    {"files": [{"name", "file", "all": FIG, "byVersion": {"<version>": FIG},
                "comparisons": [{"canary", "production", "confidence",
                                 "expected": {"diff", "stdErr", "lower", "upper", "z", "p",
                                              "confidence"} | null,
                                 "error": null | {"side": "canary"|"production",
                                                  "kind": "noAUC"|"noStdErr"}}]}]}
    FIG = {"samples", "positives", "auc", "variance", "aucStdErr"}  (auc, variance and
          aucStdErr null where undefined)

"all" is every row of the log taken as one sample.
"""

import csv
import json
import math
import os
from fractions import Fraction

import numpy as np
import scipy
from scipy.stats import norm

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "internal", "metrics", "testdata", "delong")
BLOCK = 256  # positives per block of the psi matrix, to bound its memory


def placements(pos, neg):
    """Integer row sums r10[i] = 2n*V10(X_i) and column sums r01[j] = 2m*V01(Y_j) of the
    matrix of 2*psi over every (positive, negative) pair."""
    x = np.asarray(pos, dtype=float)
    y = np.asarray(neg, dtype=float)
    r10 = np.zeros(len(x), dtype=np.int64)
    r01 = np.zeros(len(y), dtype=np.int64)
    for start in range(0, len(x), BLOCK):
        xb = x[start:start + BLOCK, None]
        psi2 = 2 * (xb > y[None, :]).astype(np.int64) + (xb == y[None, :]).astype(np.int64)
        r10[start:start + BLOCK] = psi2.sum(axis=1)
        r01 += psi2.sum(axis=0)
    return r10, r01


def sample_var(sums, scale):
    """Exact sample variance (ddof 1) of sums[k] / scale."""
    k = len(sums)
    mean = Fraction(int(sums.sum()), scale * k)
    return sum((Fraction(int(s), scale) - mean) ** 2 for s in sums) / (k - 1)


def figures(rows):
    """The figures of one sample: rows of (score, label)."""
    pos = [s for s, y in rows if y == 1]
    neg = [s for s, y in rows if y == 0]
    m, n = len(pos), len(neg)
    out = {"samples": len(rows), "positives": m, "auc": None, "variance": None, "aucStdErr": None}
    exact = {"auc": None, "variance": None}
    if m == 0 or n == 0:
        return out, exact
    r10, r01 = placements(pos, neg)
    assert r10.sum() == r01.sum()
    auc = Fraction(int(r10.sum()), 2 * m * n)
    out["auc"] = float(auc)
    exact["auc"] = auc
    if m < 2 or n < 2:
        return out, exact
    var = sample_var(r10, 2 * n) / m + sample_var(r01, 2 * m) / n
    numpy_var = np.var(r10 / (2 * n), ddof=1) / m + np.var(r01 / (2 * m), ddof=1) / n
    assert abs(numpy_var - float(var)) <= 1e-13 * float(var), (numpy_var, float(var))
    out["variance"] = float(var)
    out["aucStdErr"] = math.sqrt(float(var))
    exact["variance"] = var
    return out, exact


def compare(canary, production, confidence):
    """The difference of two independent AUCs given their exact figures."""
    for side, e in (("canary", canary), ("production", production)):
        if e["auc"] is None:
            return None, {"side": side, "kind": "noAUC"}
        if e["variance"] is None:
            return None, {"side": side, "kind": "noStdErr"}
    diff = float(canary["auc"] - production["auc"])
    se = math.sqrt(float(canary["variance"] + production["variance"]))
    half = -norm.ppf((1 - confidence) / 2) * se
    if se > 0:
        z = diff / se
    elif diff == 0:
        z = 0.0
    else:
        z = math.copysign(math.inf, diff)
    p = float(2 * norm.cdf(-abs(z)))
    return {"diff": diff, "stdErr": se, "lower": diff - half, "upper": diff + half,
            "z": None if math.isinf(z) else z, "p": p, "confidence": confidence}, None


FILES = []


def log(name, file, versions, comparisons):
    """Write the log of versions ({version: [(score, label)]}, rows interleaved) and
    record its expected figures and comparisons ([(canary, production, confidence)])."""
    rng = np.random.RandomState(len(FILES) + 1)
    records = [(v, s, y) for v, rows in versions.items() for s, y in rows]
    order = rng.permutation(len(records))
    with open(os.path.join(OUT, file), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["model_version", "score", "label"])
        for k in order:
            v, s, y = records[k]
            w.writerow([v, repr(float(s)), str(y)])
    by_version, exact = {}, {}
    for v, rows in versions.items():
        by_version[v], exact[v] = figures(rows)
    every, _ = figures([(s, y) for _, s, y in records])
    comps = []
    for c, p, conf in comparisons:
        expected, err = compare(exact[c], exact[p], conf)
        comps.append({"canary": c, "production": p, "confidence": conf, "expected": expected, "error": err})
    FILES.append({"name": name, "file": file, "all": every, "byVersion": by_version, "comparisons": comps})


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def labelled(scores, labels):
    return [(float(s), int(y)) for s, y in zip(scores, labels)]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.RandomState(19880901)

    # Ties across classes: scores on a 0.1 grid and on a 0.25 grid.
    y = (rng.rand(80) < 0.4).astype(int)
    a = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 1)
    y2 = (rng.rand(120) < 0.5).astype(int)
    b = np.clip(np.round(rng.normal(0.4 + 0.2 * y2, 0.25) * 4) / 4, 0, 1)
    log("ties across classes", "ties.csv", {"a": labelled(a, y), "b": labelled(b, y2)},
        [("a", "b", 0.95), ("b", "a", 0.9)])

    # Degenerate variances: one score for all rows (AUC 1/2), perfect separation (1),
    # inverted (0), and an ordinary version beside them.
    flat = [(0.5, int(i < 12)) for i in range(30)]
    flat2 = [(0.25, int(i < 5)) for i in range(12)]
    perfect = [(0.6 + 0.05 * i, 1) for i in range(6)] + [(0.1 + 0.03 * i, 0) for i in range(9)]
    inverted = [(0.1 * i, 1) for i in range(4)] + [(0.5 + 0.1 * i, 0) for i in range(4)]
    ym = (rng.rand(40) < 0.5).astype(int)
    mixed = labelled(np.round(rng.normal(ym, 1.0), 2), ym)
    log("degenerate variances", "degenerate.csv",
        {"flat": flat, "flat2": flat2, "perfect": perfect, "inverted": inverted, "mixed": mixed},
        [("flat", "flat2", 0.95), ("perfect", "flat", 0.95), ("inverted", "perfect", 0.95),
         ("mixed", "perfect", 0.95), ("flat", "mixed", 0.8)])

    # Tiny samples: below 2 positives or 2 negatives there is no standard error.
    tiny = {
        "1x1": [(0.7, 1), (0.3, 0)],
        "1x4": [(0.6, 1), (0.2, 0), (0.6, 0), (0.9, 0), (0.1, 0)],
        "4x1": [(0.6, 0), (0.2, 1), (0.6, 1), (0.9, 1), (0.1, 1)],
        "2x2": [(0.4, 1), (0.8, 1), (0.4, 0), (0.3, 0)],
        "2x3": [(0.5, 1), (0.9, 1), (0.2, 0), (0.5, 0), (0.95, 0)],
        "0x3": [(0.1, 0), (0.2, 0), (0.3, 0)],
        "3x0": [(0.1, 1), (0.2, 1), (0.3, 1)],
    }
    log("tiny samples", "tiny.csv", tiny,
        [("2x2", "2x3", 0.95), ("1x4", "2x2", 0.95), ("2x2", "4x1", 0.95), ("0x3", "2x2", 0.95),
         ("2x3", "3x0", 0.95), ("1x1", "1x1", 0.95)])

    # Imbalanced: 5 positives against 500 negatives and the reverse; rounded scores too.
    rare_y = np.r_[np.ones(5, int), np.zeros(500, int)]
    rare = sigmoid(rng.normal(1.5 * rare_y, 1.0))
    common_y = np.r_[np.ones(500, int), np.zeros(5, int)]
    common = sigmoid(rng.normal(0.8 * common_y, 1.0))
    rare_ties = np.round(sigmoid(rng.normal(1.2 * rare_y, 1.0)), 2)
    log("imbalanced 5 vs 500", "imbalanced.csv",
        {"rare": labelled(rare, rare_y), "common": labelled(common, common_y),
         "rare_ties": labelled(rare_ties, rare_y)},
        [("rare", "common", 0.95), ("rare_ties", "rare", 0.95), ("common", "rare_ties", 0.99)])

    # Large: 2,000 positives and 3,000 negatives per version, continuous scores for the
    # canary and scores rounded to 3 decimals (many ties) for production.
    ly = np.r_[np.ones(2000, int), np.zeros(3000, int)]
    canary = sigmoid(rng.normal(1.1 * ly, 1.0))
    production = np.round(sigmoid(rng.normal(1.2 * ly, 1.0)), 3)
    log("large 2000 vs 3000", "large.csv",
        {"canary": labelled(canary, ly), "production": labelled(production, ly)},
        [("canary", "production", 0.95), ("canary", "production", 0.99), ("production", "canary", 0.5)])

    # Identical distributions: the difference should not be significant.
    iy = np.r_[np.ones(300, int), np.zeros(700, int)]
    v12 = np.round(sigmoid(rng.normal(0.9 * iy, 1.0)), 4)
    v13 = np.round(sigmoid(rng.normal(0.9 * iy, 1.0)), 4)
    log("identical distributions", "identical.csv",
        {"12": labelled(v12, iy), "13": labelled(v13, iy)},
        [("13", "12", 0.95)])

    # Hanley & McNeil (1982), CT ratings 1..5; label 1 is abnormal.
    normal = [33, 6, 6, 11, 2]
    abnormal = [3, 2, 2, 11, 33]
    ct = [(float(r + 1), 0) for r, k in enumerate(normal) for _ in range(k)]
    ct += [(float(r + 1), 1) for r, k in enumerate(abnormal) for _ in range(k)]
    log("Hanley & McNeil 1982 CT ratings", "hanley_mcneil.csv", {"ct": ct}, [])

    with open(os.path.join(OUT, "delong.json"), "w") as f:
        json.dump({"generator": "scripts/delong_reference.py",
                   "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
                   "files": FILES}, f, indent=1, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
