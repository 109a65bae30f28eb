// Package drift is the data-drift statistics engine: per-column two-sample tests
// (Kolmogorov–Smirnov, normed Wasserstein, PSI, Kullback–Leibler, Jensen–Shannon,
// chi-square, two-proportion z), the automatic test choice and the dataset share rule,
// all following Evidently's definitions and agreeing with SciPy/NumPy on the same data
// (see drift-definitions.md in the project's shared documents).
//
// The statistics are plain functions on slices. Compare and Profile apply them to
// dataset.Table values: a Profile prepares the reference once (cleaned, sorted,
// counted) and can be compared with many current tables; columns are processed by a
// bounded pool of GOMAXPROCS workers with reused buffers.
//
// Part two of the definitions adds checks within and across windows: batch effects
// (Kruskal–Wallis or chi-square per feature across the batches of the current window,
// Benjamini–Hochberg q-values, per-batch drifted shares and suspect batches; batch.go)
// and cross-modal correlation drift (Spearman per feature pair of two groups, Fisher Z
// between the windows; correlation.go).
//
// Errors about the data or the options wrap ErrInvalidInput. Nothing here panics on bad
// input; a panic inside a computation is returned as an error.
package drift
