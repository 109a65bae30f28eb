// Package metrics evaluates a model from its prediction log: per model version, the
// number of labelled samples and positives, AUC-ROC, precision and recall at a
// threshold, the p95 of latency and the coverage of expected categories, exactly as
// `modelops evaluate` defines them (SPEC.md). The promotion gate and canary analysis
// read the same figures through Evaluate and EvaluateFS.
//
// A prediction log is CSV (optionally gzip) with a header row, or Parquet, with the
// columns score, label and model_version and, optionally, latency_ms, category and
// timestamp. It is read as a stream: CSV record by record, Parquet row group by row
// group in batches of values. Nothing of a row is kept but what the figures need.
//
// The figures are exact, not approximated:
//
//   - AUC is the Mann–Whitney U statistic over the distinct scores, which is what
//     sklearn's roc_auc_score computes with ties (a tie counts one half). U is summed in
//     128-bit integers and divided once, so the result is the exact ratio rounded.
//   - Latency p95 is NumPy's default percentile (linear interpolation between the
//     closest ranks), found by selection rather than sorting.
//
// Memory. Per version, scores are counted per distinct value while there are at most
// 65,536 distinct scores (rounded or discrete scores: memory does not grow with the
// rows); past that the version keeps every further score as a float64, 8 bytes per
// labelled row. Latencies are always kept, 8 bytes per row with a latency. Values are
// stored in chunks that double up to 8 MiB, so storage never copies or leaves garbage
// as it grows. A 10-million-row log with continuous scores and latencies therefore
// keeps 160 MB; its measured peak resident memory (TestEvaluatePeakRSS) is about
// 195 MB read from CSV and 180 MB from Parquet.
//
// Errors caused by the content of a log are *dataset.DataError values naming the file,
// the line (CSV) or row (Parquet), the column and what was expected; they wrap
// dataset.ErrInvalid.
package metrics
