#!/usr/bin/python3
"""Generate internal/metrics/testdata: prediction logs (CSV) and the figures sklearn and
NumPy compute for them, as `modelops evaluate` defines them (SPEC.md). Run with Debian's
interpreter, which has scikit-learn 1.2 and numpy 1.24:

    /usr/bin/python3 scripts/metrics_reference.py

It writes one CSV per case and reference.json, which lists for every case the file, the
options (threshold, version, categories, since, until) and the expected result:

    {"samples", "positives", "unlabelled", "auc", "precision", "recall", "threshold",
     "latencyP95Ms", "coverage", "byVersion": {"<version>": {...same fields...}}}

Definitions (the contract the Go code is checked against):
  - A row is scored when it has both a label and a score; the others are unlabelled.
  - auc = sklearn.metrics.roc_auc_score over scored rows; null with one class (or none).
  - precision and recall: sklearn precision_score / recall_score of score >= threshold,
    zero_division=0.
  - latencyP95Ms = numpy.percentile(latencies, 95) (method "linear") over the rows with a
    latency, labelled or not; null with none.
  - coverage = share of the expected categories seen on at least one scored row; null
    without an expected list.
  - With a version, the top level is that version's figures and byVersion holds only it;
    without, the top level covers all rows and byVersion every version.
  - A window keeps rows with since <= timestamp < until.

Cells are written as Python's repr writes floats, which Go's ParseFloat reads back to the
same double. Missing cells use pandas' spellings ("", "NaN", "NA", "null").
"""

import csv
import datetime as dt
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import precision_score, recall_score, roc_auc_score

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "internal", "metrics", "testdata")
HEADER = ["timestamp", "model_version", "score", "label", "latency_ms", "category"]
BASE = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)


def ts(seconds):
    return (BASE + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


MISSING = {"", "NaN", "NA", "null", "nan"}


def label_of(cell):
    if cell in MISSING:
        return None
    if cell.lower() == "true":
        return 1
    if cell.lower() == "false":
        return 0
    v = float(cell)
    assert v in (0.0, 1.0), cell
    return int(v)


def num_of(cell):
    return None if cell in MISSING else float(cell)


def figures(rows, threshold, categories):
    """The figures of one group of rows (dicts of parsed cells)."""
    scored = [r for r in rows if r["label"] is not None and r["score"] is not None]
    y = np.array([r["label"] for r in scored], dtype=int)
    s = np.array([r["score"] for r in scored], dtype=float)
    out = {
        "samples": len(scored),
        "positives": int(y.sum()) if len(scored) else 0,
        "unlabelled": len(rows) - len(scored),
        "auc": None,
        "precision": 0.0,
        "recall": 0.0,
        "threshold": threshold,
        "latencyP95Ms": None,
        "coverage": None,
    }
    if len(set(y.tolist())) == 2:
        out["auc"] = float(roc_auc_score(y, s))
    if len(scored):
        pred = (s >= threshold).astype(int)
        out["precision"] = float(precision_score(y, pred, zero_division=0))
        out["recall"] = float(recall_score(y, pred, zero_division=0))
    lat = np.array([r["latency"] for r in rows if r["latency"] is not None], dtype=float)
    if len(lat):
        out["latencyP95Ms"] = float(np.percentile(lat, 95))
    if categories is not None:
        expected = list(dict.fromkeys(categories))
        seen = {r["category"] for r in scored}
        out["coverage"] = sum(1 for c in expected if c in seen) / len(expected)
    return out


def evaluate(records, threshold=0.5, version=None, categories=None, since=None, until=None):
    rows = []
    for rec in records:
        r = dict(zip(HEADER, rec))
        if since is not None or until is not None:
            t = parse_ts(r["timestamp"])
            if since is not None and t < parse_ts(since):
                continue
            if until is not None and t >= parse_ts(until):
                continue
        rows.append({
            "version": r["model_version"],
            "score": num_of(r["score"]),
            "label": label_of(r["label"]),
            "latency": num_of(r["latency_ms"]),
            "category": r["category"],
        })
    versions = sorted({r["version"] for r in rows})
    if version is not None:
        versions = [version]
        top = [r for r in rows if r["version"] == version]
    else:
        top = rows
    res = figures(top, threshold, categories)
    res["byVersion"] = {v: figures([r for r in rows if r["version"] == v], threshold, categories) for v in versions}
    return res


def write_csv(name, records):
    with open(os.path.join(OUT, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(records)


def fmt(v):
    return "" if v is None else repr(float(v))


CASES = []


def case(name, file, records, **opts):
    opts.setdefault("threshold", 0.5)
    CASES.append({"name": name, "file": file, "options": {k: v for k, v in opts.items() if v is not None},
                  "expected": evaluate(records, **opts)})


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.RandomState(20240301)

    # Ties: scores on a 0.1 grid (0.5 itself included, the threshold edge), two versions,
    # latencies with some missing, categories partly covered.
    recs = []
    for i in range(400):
        v = "12" if i % 3 else "13"
        y = int(rng.rand() < 0.4)
        s = round(float(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)), 1)
        lat = "" if i % 17 == 0 else fmt(round(float(rng.gamma(2.0, 20.0)), 3))
        cat = ["icu", "ward", "er", "clinic"][rng.randint(0, 4) if v == "12" else rng.randint(0, 2)]
        recs.append([ts(60 * i), v, fmt(s), str(y), lat, cat])
    write_csv("ties.csv", recs)
    case("ties", "ties.csv", recs)
    case("ties at threshold 0.5 of version 13", "ties.csv", recs, version="13", categories=["icu", "ward", "er", "clinic"])
    case("ties with categories", "ties.csv", recs, categories=["icu", "ward", "er", "clinic", "home"])
    case("ties at threshold 0.3", "ties.csv", recs, threshold=0.3)
    case("ties in a window", "ties.csv", recs, since=ts(60 * 50), until=ts(60 * 250))

    # All scores equal.
    recs = [[ts(i), "1", "0.7", str(i % 3 == 0), fmt(10 + i), "a"] for i in range(30)]
    write_csv("all_ties.csv", recs)
    case("all ties", "all_ties.csv", recs)
    case("all ties at their score", "all_ties.csv", recs, threshold=0.7)
    case("all ties above their score", "all_ties.csv", recs, threshold=0.7000000000000001)

    # One class only: no AUC.
    recs = [[ts(i), "1", fmt(rng.rand()), "1", fmt(rng.rand() * 100), "a"] for i in range(25)]
    write_csv("one_class.csv", recs)
    case("one class", "one_class.csv", recs)

    # Missing labels and scores in every spelling; labels as true/false and 0.0/1.0.
    labels = ["0", "1", "true", "false", "True", "FALSE", "1.0", "0.0", "", "NA", "null", "NaN"]
    scores = lambda: ["" if rng.rand() < 0.1 else "NaN" if rng.rand() < 0.05 else fmt(round(rng.rand(), 2))][0]
    recs = []
    for i in range(300):
        recs.append([ts(i), ["a", "b"][i % 2], scores(), labels[rng.randint(0, len(labels))],
                     "" if rng.rand() < 0.3 else fmt(rng.rand() * 50), ["x", "y", ""][rng.randint(0, 3)]])
    write_csv("missing.csv", recs)
    case("missing labels and scores", "missing.csv", recs, categories=["x", "y", "z"])

    # No latencies at all.
    recs = [[ts(i), "1", fmt(rng.rand()), str(int(rng.rand() < 0.5)), "" if i % 2 else "NaN", "a"] for i in range(20)]
    write_csv("no_latency.csv", recs)
    case("no latency", "no_latency.csv", recs)

    # Interpolation: versions with 1, 2, 3, 20 and 21 latencies (and duplicates in n20).
    recs = []
    for n in (1, 2, 3, 20, 21):
        for i in range(n):
            lat = round(float(rng.exponential(40.0)), 2) if n != 20 or i % 4 else 12.5
            recs.append([ts(i), "n%d" % n, fmt(rng.rand()), str(i % 2), fmt(lat), "a"])
    rng.shuffle(recs)
    write_csv("interpolation.csv", recs)
    case("interpolation", "interpolation.csv", recs)
    for n in (1, 2, 3, 20, 21):
        case("interpolation n=%d" % n, "interpolation.csv", recs, version="n%d" % n)

    # Several versions, continuous scores (few ties), many rows.
    recs = []
    for i in range(6000):
        v = ["12", "13", "14"][rng.randint(0, 3)]
        y = int(rng.rand() < 0.3)
        s = float(1 / (1 + np.exp(-(rng.normal() + 1.2 * y + (0.3 if v == "13" else 0)))))
        lat = fmt(float(rng.lognormal(3, 0.5))) if rng.rand() > 0.02 else ""
        lab = str(y) if rng.rand() > 0.05 else ""
        recs.append([ts(30 * i + rng.randint(0, 30)), v, fmt(s), lab, lat, "site%d" % rng.randint(0, 12)])
    write_csv("versions.csv", recs)
    sites = ["site%d" % k for k in range(14)]
    case("several versions", "versions.csv", recs, categories=sites)
    case("several versions, version 13", "versions.csv", recs, version="13", threshold=0.6)
    case("several versions in a window", "versions.csv", recs, since=ts(30 * 1000), until=ts(30 * 4000), threshold=0.4)
    case("several versions since", "versions.csv", recs, since=ts(30 * 5000), version="14")

    # Threshold edge: scores exactly at the threshold count as positive.
    recs = [[ts(i), "1", fmt(s), str(y), fmt(5), "a"] for i, (s, y) in
            enumerate([(0.25, 1), (0.25, 0), (0.25, 1), (0.2, 0), (0.3, 1), (0.1, 0), (0.25, 0)])]
    write_csv("threshold_edge.csv", recs)
    case("threshold edge", "threshold_edge.csv", recs, threshold=0.25)
    case("threshold above all", "threshold_edge.csv", recs, threshold=0.31)

    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"generator": "scripts/metrics_reference.py",
                   "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__},
                   "cases": CASES}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
