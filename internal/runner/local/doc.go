// Package local runs training jobs as local processes: the embedded default runner of
// modelops. Each run of (model, generation) owns a directory; the directory is the run's
// record, so a restarted reconciler finds its runs again and never starts one twice.
package local
