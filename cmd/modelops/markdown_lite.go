//go:build lite

package main

// renderMarkdown leaves Markdown as it is: the lite build has no terminal renderer.
func renderMarkdown(md string, _ int) (string, error) { return md, nil }
