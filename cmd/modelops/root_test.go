package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	runnerlocal "github.com/medimind/modelops/internal/runner/local"
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

func TestVersionFlagAndCommand(t *testing.T) {
	want := "modelops " + buildVersion() + "\n"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || out != want {
			t.Errorf("%v: exit %d, stdout %q (stderr %q), want %q", args, code, out, errOut, want)
		}
	}
}

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{"v1.4.0-3-gabc", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.4.0-3-gabc"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "devel+0123456789ab"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "devel+0123456789ab-dirty"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"", nil, "devel"},
	} {
		if got := versionOf(c.stamped, c.info); got != c.want {
			t.Errorf("versionOf(%q, %+v) = %q, want %q", c.stamped, c.info, got, c.want)
		}
	}
}

// TestReconcileRunsOneCycleByDefault: reconcile without --once used to refuse (exit 2).
func TestReconcileRunsOneCycleByDefault(t *testing.T) {
	repo := runRepo(t, 6)
	for _, args := range [][]string{{}, {"--once"}} {
		args = append([]string{"reconcile", "--repo", repo, "--state-dir", t.TempDir()}, args...)
		code, out, errOut := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(out, "Cycle at ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	code, _, errOut := runCLI(t, "reconcile", "--repo", repo, "--once=false")
	if code != 2 || !strings.Contains(errOut, "modelops run") {
		t.Errorf("--once=false: exit %d, stderr %q", code, errOut)
	}
}

// TestLogLevel checks that a one-shot command logs warnings only by default, so its human
// output is not interleaved with the reconciler's info records, and that --log-level and -q
// choose.
func TestLogLevel(t *testing.T) {
	t.Setenv("MODELOPS_LOG_LEVEL", "")
	infoLines := func(args ...string) (int, string) {
		t.Helper()
		repo := runRepo(t, 6)
		args = append([]string{"reconcile", "--repo", repo, "--state-dir", t.TempDir()}, args...)
		code, out, errOut := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s %s", args, code, out, errOut)
		}
		return strings.Count(errOut, `"level":"INFO"`), errOut
	}
	if n, errOut := infoLines(); n != 0 {
		t.Errorf("reconcile logged %d info records by default:\n%s", n, errOut)
	}
	if n, errOut := infoLines("--log-level", "info"); n == 0 {
		t.Errorf("reconcile --log-level info logged no info record:\n%s", errOut)
	}
	if n, errOut := infoLines("-q"); n != 0 || errOut != "" {
		t.Errorf("reconcile -q logged:\n%s", errOut)
	}
	expectInvalidInput(t, []string{"reconcile", "--repo", ".", "--log-level", "loud"}, "--log-level", "debug, info, warn or error")
}

// TestTrainerContract checks that run and reconcile document how a training job reports its
// result, and that the documented example is a result the runner accepts.
func TestTrainerContract(t *testing.T) {
	res, err := runnerlocal.ParseResult([]byte(resultExample))
	if err != nil || res.Version != "13" || res.Metrics.AUC == nil || res.Metrics.Samples != 12000 {
		t.Fatalf("the documented result does not parse as one: %+v, %v", res, err)
	}
	for _, path := range []string{"run", "reconcile"} {
		code, out, errOut := runCLI(t, path, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d, %s", path, code, errOut)
		}
		for _, want := range []string{"$MODELOPS_OUTPUT/result.json", "/dev/termination-log", `"version": "13"`, "image, gpus, resources and nodeSelector are ignored"} {
			if !strings.Contains(out, want) {
				t.Errorf("modelops %s --help does not say %q", path, want)
			}
		}
	}
}

// TestProposalsShowRendersMarkdownOnATerminal: on a terminal the body's Markdown is rendered
// (no "###" left), with -o markdown or off a terminal it is printed as written.
func TestProposalsShowRendersMarkdownOnATerminal(t *testing.T) {
	repo, state := runRepo(t, 6), t.TempDir()
	code, out, errOut := runCLI(t, "retrain", "sepsis-risk", "--reason", "labels from the new assay", "--repo", repo, "--state-dir", state)
	if code != 0 {
		t.Fatalf("retrain: exit %d, %s %s", code, out, errOut)
	}
	// It used to say "proposal sepsis-risk/retrain: retrain proposal sepsis-risk/retrain".
	if want := "Retrain of sepsis-risk requested: retrain proposal sepsis-risk/retrain\nReview it: modelops proposals show sepsis-risk/retrain --repo " + repo + "\n"; out != want {
		t.Errorf("retrain printed %q, want %q", out, want)
	}
	show := func(output string, width int) string {
		t.Helper()
		var out strings.Builder
		opts := &proposalsOptions{output: output, stdout: &out, width: width}
		opts.repo, opts.branch, opts.stateDir = repo, "main", state
		if err := runProposalsShow(t.Context(), opts, "sepsis-risk/retrain"); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	raw := show("table", 0)
	if !strings.Contains(raw, "### Evidence") || !strings.Contains(raw, "labels from the new assay") {
		t.Fatalf("the body as written lacks its Evidence heading or the reason:\n%s", raw)
	}
	if md := show("markdown", 80); md != raw {
		t.Errorf("-o markdown on a terminal differs from the body as written:\n%s", md)
	}
	rendered := show("table", 80)
	if strings.Contains(rendered, "### Evidence") || !strings.Contains(rendered, "Evidence") || !strings.Contains(rendered, "labels from the new assay") {
		t.Errorf("on a terminal the Markdown is not rendered:\n%s", rendered)
	}
}
