// Package demo is `modelops demo`: the retrain story told on the embedded defaults.
//
// It builds a real git repository from the example policies, writes synthetic reference and
// current data with drift planted where the story needs it (Data, WriteData), drives the
// reconcile loop through cycles on a simulated clock, merges the retrain proposal as a
// reviewer would, and lets the local runner train the next generation with the demo trainer
// (Train: a logistic regression fitted with gonum, judged on a held-out split by AUC,
// precision and recall). Run tells the story; the caller builds the reconcile stack (Open),
// so the story runs on exactly the wiring `modelops reconcile` uses.
package demo
