#!/usr/bin/env bash
# make bench: the headline benchmarks, each with the workload it measures.
# The drift comparison runs the Go engine and SciPy/NumPy on the same shape in one
# invocation, on the same machine, and prints the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
PY=/usr/bin/python3   # Debian's python3-numpy/python3-scipy (the oldest versions Evidently supports)

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

out=$($GO test -run '^$' -bench 'BenchmarkCompare20kx1000$' -benchtime 3x ./internal/drift | tee /dev/stderr)
go_ns=$(awk '/^BenchmarkCompare20kx1000/ {print $3}' <<<"$out")
py_out=$($PY scripts/drift_bench.py --repeat 1 | tee /dev/stderr)
py_s=$(sed -n 's/.*: \([0-9.]*\) s wall.*/\1/p' <<<"$py_out")
awk -v g="$go_ns" -v p="$py_s" 'BEGIN {
  printf "== drift 20,000x1,000 vs 20,000x1,000 (KS+p, normed Wasserstein, PSI per column)\n"
  printf "   Go %.3f s   SciPy/NumPy %.3f s   Go is %.1fx faster\n", g/1e9, p, p/(g/1e9) }'

echo "== end to end from Parquet (read both files, then the same drift work)"
$GO test -run '^$' -bench 'BenchmarkParquetEndToEnd20kx1000$' -benchtime 3x ./internal/driftcheck

echo "== modelops validate: load 10,000 policies"
$GO test -run '^$' -bench 'BenchmarkLoad10k$' -benchtime 3x ./policies

echo "== reconciler: a no-op cycle over 10,000 policies, warm (modelops run) and cold (a one-shot reconcile on a kept state directory)"
$GO test -run '^$' -bench 'NoopCycle10k$' -benchtime 3x ./cmd/modelops

echo "== end to end from CSV: modelops drift against pandas' C parser + SciPy, whole process, 20,000x1,000 pair"
csvdir=$(mktemp -d)
trap 'rm -rf "$csvdir"' EXIT
$PY - "$csvdir" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(1)
for name, shift in (("ref", 0.0), ("cur", 0.3)):
    a = rng.standard_normal((20000, 1000))
    a[:, ::10] += shift
    np.savetxt(f"{sys.argv[1]}/{name}.csv", a, fmt="%.6f", delimiter=",", comments="",
               header=",".join(f"f{j:04d}" for j in range(1000)))
PY
$GO build -o "$csvdir/modelops" ./cmd/modelops
/usr/bin/time -f "   modelops drift: %e s wall, %U s user, %M KB peak" \
  "$csvdir/modelops" drift --reference "$csvdir/ref.csv" --current "$csvdir/cur.csv" --tests ks,wasserstein,psi -o json >/dev/null
/usr/bin/time -f "   pandas + SciPy: %e s wall, %U s user, %M KB peak" \
  $PY scripts/drift_bench.py --reference "$csvdir/ref.csv" --current "$csvdir/cur.csv" >/dev/null

echo "== the same modelops drift with --state-dir: the first check stores the reference's profile, the second reads it"
/usr/bin/time -f "   first check:  %e s wall, %U s user, %M KB peak" \
  "$csvdir/modelops" drift --reference "$csvdir/ref.csv" --current "$csvdir/cur.csv" --tests ks,wasserstein,psi -o json --state-dir "$csvdir/state" >/dev/null
/usr/bin/time -f "   second check: %e s wall, %U s user, %M KB peak" \
  "$csvdir/modelops" drift --reference "$csvdir/ref.csv" --current "$csvdir/cur.csv" --tests ks,wasserstein,psi -o json --state-dir "$csvdir/state" >/dev/null
