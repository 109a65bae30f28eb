//go:build !lite

package main

import (
	"os"

	"github.com/charmbracelet/glamour"
	"github.com/charmbracelet/glamour/styles"
)

// renderMarkdown renders a proposal's Markdown body for a terminal width columns wide (the
// GLAMOUR_STYLE environment variable picks another style than dark).
func renderMarkdown(md string, width int) (string, error) {
	style := glamour.WithStandardStyle(styles.DarkStyle)
	if os.Getenv("GLAMOUR_STYLE") != "" {
		style = glamour.WithEnvironmentConfig()
	}
	r, err := glamour.NewTermRenderer(style, glamour.WithWordWrap(width))
	if err != nil {
		return "", err
	}
	return r.Render(md)
}
