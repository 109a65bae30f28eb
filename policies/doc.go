// Package policies owns the ModelPolicy types: strict loading of a tree of policy files,
// defaults, validation with file:line:col errors, and minimal-diff edits of policy files that
// keep comments, key order, quoting and indentation. It does no network I/O.
package policies
