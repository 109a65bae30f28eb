package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// findCmd returns the command at path (e.g. "proposals list") under a fresh root.
func findCmd(t *testing.T, path string) *cobra.Command {
	t.Helper()
	cmd, rest, err := newRootCmd().Find(strings.Fields(path))
	if err != nil || len(rest) > 0 || cmd.CommandPath() != "modelops "+path {
		t.Fatalf("no command %q (found %q, rest %q, err %v)", path, cmd.CommandPath(), rest, err)
	}
	return cmd
}

// TestCommandsListOnlyTheirFlags checks that each command offers the repository flags it uses
// and none it ignores: audit and proposals list used to show --kubeconfig, --job-ttl and
// --router.
func TestCommandsListOnlyTheirFlags(t *testing.T) {
	repo := []string{"repo", "branch", "state-dir", "git-token-file", "ssh-key", "known-hosts"}
	reconciler := []string{"data-root", "github", "github-api-url", "namespace", "kubeconfig", "router", "job-ttl", "traffic-dir"}
	author := []string{"author-name", "author-email"}
	all := append(append(append([]string{}, repo...), reconciler...), author...)
	for _, c := range []struct {
		path string
		has  [][]string
	}{
		{"audit", [][]string{repo}},
		{"proposals list", [][]string{repo}},
		{"proposals show", [][]string{repo}},
		{"proposals merge", [][]string{repo, author}},
		{"proposals close", [][]string{repo, author}},
		{"plan", [][]string{repo, reconciler}},
		{"reconcile", [][]string{repo, reconciler, author}},
		{"run", [][]string{repo, reconciler, author}},
		{"retrain", [][]string{repo, reconciler, author}},
	} {
		cmd := findCmd(t, c.path)
		want := map[string]bool{}
		for _, g := range c.has {
			for _, f := range g {
				want[f] = true
			}
		}
		for _, f := range all {
			if got := cmd.Flags().Lookup(f) != nil || cmd.InheritedFlags().Lookup(f) != nil; got != want[f] {
				t.Errorf("%s: has --%s = %v, want %v", c.path, f, got, want[f])
			}
		}
	}
}
