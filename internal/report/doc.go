// Package report renders drift reports for people: DriftMarkdown for pull-request bodies
// and GitHub check runs (bounded in size, with a Mermaid chart GitHub renders) and
// DriftTable for the aligned text table of `modelops drift -o table`.
//
// Both take a *drift.Report, whose JSON form stays the machine-readable contract; the
// renderings here may change wording between releases. Column and group names come from
// data files and policies, so every renderer escapes them for its target (Markdown table
// cells, Mermaid strings, terminals).
package report
