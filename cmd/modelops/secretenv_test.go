package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	forgegithub "github.com/medimind/modelops/internal/forge/github"
	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// secretEnv names the GitHub credentials as strings (the lite build has no GitHub forge to
// ask): they stay the forge's names.
func TestSecretEnvNamesTheGitHubCredentials(t *testing.T) {
	for _, name := range []string{forgegithub.EnvToken, forgegithub.EnvGitHubToken, forgegithub.EnvPrivateKey} {
		if !slices.Contains(secretEnv, name) {
			t.Errorf("secretEnv lacks %s", name)
		}
	}
}

// spyPolicy's job reads the environment block of the reconciler that started it (the
// parent of its wrapper) as any process of the same user could.
const spyPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12"}
  retrain:
    generation: %d
    schedule: ""
    job:
      command:
        - sh
        - -c
        - |
          reconciler=$(cut -d' ' -f4 /proc/$PPID/stat)
          echo "$reconciler" > "$MODELOPS_OUTPUT/reconciler-pid"
          tr '\0' '\n' < /proc/$reconciler/environ > "$MODELOPS_OUTPUT/reconciler-environ"
          printf '{"version":"13","uri":"models:/sepsis-risk/13","metrics":{}}' > "$MODELOPS_OUTPUT/result.json"
      gpus: 0
`

// TestJobCannotReadTheReconcilersCredentialsFromProc starts `modelops run` with its
// credentials in plain environment variables. A training job reads the reconciler's
// /proc/<pid>/environ: it finds the reconciler's other variables but none of the
// credentials, which the reconciler still uses (the API accepts the token).
func TestJobCannotReadTheReconcilersCredentialsFromProc(t *testing.T) {
	secrets := map[string]string{
		"MODELOPS_API_TOKEN":      "tok-proc-environ-4b1d",
		"MODELOPS_WEBHOOK_SECRET": "whsec-proc-environ-77aa",
		"MODELOPS_GIT_TOKEN":      "ghs_proc-environ-c0ffee",
		"GITHUB_TOKEN":            "ghp_proc-environ-beef",
		mlflowWebhookSecretEnv:    "mlwh-proc-environ-5eed",
	}
	repo := filepath.Join(t.TempDir(), "repo")
	write := func(gen int) {
		if err := os.MkdirAll(filepath.Join(repo, "models"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, "models", "sepsis-risk.yaml"), fmt.Appendf(nil, spyPolicy, gen), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(6)
	gitserver.MustGit(t, repo, "init", "-q", "-b", "main")
	gitserver.MustGit(t, repo, "add", "-A")
	gitserver.MustGit(t, repo, "commit", "-q", "-m", "Add sepsis-risk")

	state := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(os.Args[0], "run", "--repo", repo, "--state-dir", state, "--interval", "1h", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "MODELOPS_TEST_MARKER=visible")
	for k, v := range secrets {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := startRunProcess(t, cmd)
	waitReady(t, p.base)

	write(7)
	gitserver.MustGit(t, repo, "commit", "-q", "-am", "Raise to generation 7")
	out := filepath.Join(state, "runs", "sepsis-risk", "gen-7", "output")
	waitFile(t, filepath.Join(state, "runs", "sepsis-risk", "gen-7", "exit"), 20*time.Second)

	pid, err := os.ReadFile(filepath.Join(out, "reconciler-pid"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(pid)); got != fmt.Sprint(p.cmd.Process.Pid) {
		t.Fatalf("the job read the environment of pid %s, not of the reconciler %d", got, p.cmd.Process.Pid)
	}
	environ, err := os.ReadFile(filepath.Join(out, "reconciler-environ"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(environ), "MODELOPS_TEST_MARKER=visible") {
		t.Fatalf("the job could not read the reconciler's environment at all:\n%s", environ)
	}
	for name, value := range secrets {
		if strings.Contains(string(environ), value) || strings.Contains(string(environ), name+"=") {
			t.Errorf("the reconciler's /proc environ shows %s", name)
		}
	}

	// The reconciler still has the token: the API accepts it.
	req, _ := http.NewRequest("POST", p.base+"/api/v1/models/sepsis-risk/retrain", strings.NewReader(`{"reason":"check the token"}`))
	req.Header.Set("Authorization", "Bearer "+secrets["MODELOPS_API_TOKEN"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the API answered %d to the token from the environment, want 200", resp.StatusCode)
	}
}
