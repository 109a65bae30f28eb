// Package audit reads the history of a policy repository back as a semantic timeline: for
// every commit of the tracked branch's mainline that changed a model's policy, what changed
// in meaning (production 12 → 13, canary weight 10 → 25, generation 6 → 7), who wrote it,
// committed it and merged it, when, and why (the Modelops-* trailers, the pull request number
// and the local forge's proposal record with its evidence).
//
// Build walks the first-parent chain of the branch, so a merge is one event and the merged
// branch's commits are its detail. Models are identified by metadata.name, not by file, so a
// policy renamed, moved to another directory or moved into another file is followed and the
// move is reported. Only files whose blob changed are parsed, and parses are cached by blob
// hash, so auditing a long history costs about one parse per policy version.
package audit
