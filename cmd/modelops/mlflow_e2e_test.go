package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/registry/mlflow"
	routerfile "github.com/medimind/modelops/internal/router/file"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/internal/testutil/mlflowfake"
	"github.com/medimind/modelops/reconciler"
)

// registryPolicy is the model of the MLflow end-to-end test: production 12, and the canary
// a person adds. Its canary is judged every second on at least 20 labelled predictions a
// version and rolled back after one failed check.
const registryPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12", uri: "models:/sepsis-risk@champion"}
%s  metrics:
    predictions: {path: logs/predictions.csv}
  canaryAnalysis:
    steps: [10, 100]
    interval: 1s
    duration: 1h
    minSamples: 20
    rollback: {metric: auc, maxDrop: 0.02, failedChecks: 1}
  registry: {name: sepsis-risk}
`

// mlflowWorld is a policy repository on the embedded git server whose .modelops.yaml names
// the MLflow fake, and the state of the reconciler working on it.
type mlflowWorld struct {
	t                      *testing.T
	fake                   *mlflowfake.Server
	url, work, state, data string
}

func newMLflowWorld(t *testing.T) *mlflowWorld {
	fake := mlflowfake.New(t)
	fixture := t.TempDir()
	writeFiles(t, fixture, map[string]string{
		".modelops.yaml":          fmt.Sprintf("apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  mlflow: {trackingURI: %q}\n", fake.URL()),
		"models/sepsis-risk.yaml": fmt.Sprintf(registryPolicy, ""),
	})
	srv := gitserver.New(t, gitserver.Options{})
	w := &mlflowWorld{t: t, fake: fake, url: srv.Seed(t, "policies.git", "main", fixture),
		work: filepath.Join(t.TempDir(), "work"), state: filepath.Join(t.TempDir(), "state"), data: t.TempDir()}
	gitserver.MustGit(t, filepath.Dir(w.work), "clone", "-q", w.url, w.work)
	for _, k := range []string{mlflow.EnvTrackingURI, mlflow.EnvTrackingToken, mlflow.EnvTrackingUsername, mlflow.EnvTrackingPassword} {
		t.Setenv(k, "")
	}
	return w
}

// reconcile runs `modelops reconcile --once -o json`; an action that failed fails the test.
func (w *mlflowWorld) reconcile() *reconciler.CycleResult {
	w.t.Helper()
	code, out, errOut := runCLI(w.t, "reconcile", "--once", "-o", "json", "--repo", w.url, "--state-dir", w.state, "--data-root", w.data)
	var res reconciler.CycleResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
		w.t.Fatalf("modelops reconcile: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	for _, a := range res.Actions {
		if a.Error != "" || a.Skipped {
			w.t.Fatalf("action %s: skipped %v, error %q", a.Action.Key, a.Skipped, a.Error)
		}
	}
	return &res
}

// commitPolicy commits the policy with canary (YAML lines of spec, or "") as a person.
func (w *mlflowWorld) commitPolicy(canary, message string) {
	w.t.Helper()
	gitserver.MustGit(w.t, w.work, "pull", "-q", "--ff-only")
	writeFiles(w.t, w.work, map[string]string{"models/sepsis-risk.yaml": fmt.Sprintf(registryPolicy, canary)})
	gitserver.MustGit(w.t, w.work, "-c", "user.name=Dr Person", "-c", "user.email=person@example.org", "commit", "-q", "-am", message)
	gitserver.MustGit(w.t, w.work, "push", "-q", "origin", "main")
}

// condition returns the model's condition of type ct from `modelops status -o json`.
func (w *mlflowWorld) condition(ct string) reconciler.Condition {
	w.t.Helper()
	code, out, errOut := runCLI(w.t, "status", "--repo", w.url, "--state-dir", w.state, "-o", "json")
	var got statusOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		w.t.Fatalf("status -o json: exit %d, %v\n%s", code, err, errOut)
	}
	for _, m := range got.Models {
		for _, c := range m.Conditions {
			if m.Model == "sepsis-risk" && c.Type == ct {
				return c
			}
		}
	}
	return reconciler.Condition{}
}

func kindsOf(res *reconciler.CycleResult) []string {
	var out []string
	for _, a := range res.Actions {
		out = append(out, string(a.Action.Kind))
	}
	return out
}

// writePredictions writes the serving log: n labelled predictions a version since since,
// production separating the classes perfectly and the canary inverting them.
func (w *mlflowWorld) writePredictions(since time.Time, n int) {
	w.t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,model_version,score,label\n")
	step := time.Since(since) / time.Duration(2*n+2)
	at := since.Add(step)
	for i := range n {
		label := i % 2
		for _, v := range []struct {
			version string
			score   float64
		}{{"12", 0.1 + 0.8*float64(label)}, {"14", 0.9 - 0.8*float64(label)}} {
			fmt.Fprintf(&b, "%s,%s,%g,%d\n", at.UTC().Format(time.RFC3339Nano), v.version, v.score, label)
			at = at.Add(step)
		}
	}
	writeFiles(w.t, w.data, map[string]string{"logs/predictions.csv": b.String()})
}

// TestMLflowRegistryFollowsGit drives the registry story through `modelops reconcile --once`
// on the embedded git server and the MLflow fake, which checks every request and response
// against its contract: the champion alias follows production 12 once the router serves it;
// a canary of 14 committed on the tip gets 10 % of the traffic and then the challenger
// alias, in the same cycle; a person moving champion in the "UI" has it set back and
// reported (RegistryDrift), across processes; the failing canary is rolled back by a commit,
// and the next cycle takes its traffic and deletes challenger, champion still on 12 and 14
// tagged with why it was rolled back.
func TestMLflowRegistryFollowsGit(t *testing.T) {
	w := newMLflowWorld(t)
	for range 14 {
		w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "models:/m"})
	}

	res := w.reconcile()
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "12" || len(got) != 1 {
		t.Fatalf("aliases after the first cycle = %v (actions %v), want champion → 12", got, kindsOf(res))
	}
	if tags := w.fake.VersionTags("sepsis-risk", "12"); tags[mlflow.TagCommit] != res.Commit {
		t.Errorf("version 12 tags %v, want modelops.commit %s", tags, res.Commit)
	}
	if res := w.reconcile(); len(res.Actions) != 0 {
		t.Fatalf("a converged cycle planned %v", kindsOf(res))
	}

	w.commitPolicy("  canary: {version: \"14\", uri: \"models:/sepsis-risk@challenger\", weight: 10}\n", "Canary 14 at 10%")
	canaryStart := time.Now()
	res = w.reconcile()
	if got := strings.Join(kindsOf(res), " "); got != "apply-traffic set-alias" {
		t.Fatalf("canary cycle actions = %q, want apply-traffic then set-alias", got)
	}
	if tr, err := routerfile.Read(filepath.Join(w.state, "traffic"), "sepsis-risk"); err != nil || tr.Canary != "14" || tr.Weight != 10 || tr.Production != "12" {
		t.Fatalf("router serves %+v (%v), want 12 with canary 14 at 10", tr, err)
	}
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "12" || got["challenger"] != "14" {
		t.Fatalf("aliases after the canary cycle = %v, want champion → 12, challenger → 14", got)
	}

	// A person moves champion in MLflow's UI: set back, reported.
	w.fake.MoveAlias("sepsis-risk", "champion", "13")
	code, out, errOut := runCLI(t, "plan", "-o", "json", "--repo", w.url, "--state-dir", w.state, "--data-root", w.data)
	var plan planOutput
	if err := json.Unmarshal([]byte(out), &plan); err != nil || code != 0 || len(plan.Actions) != 1 ||
		plan.Actions[0].Key != "set-alias/sepsis-risk/champion/12/from-13" {
		t.Fatalf("modelops plan: exit %d, %v, %+v\n%s", code, err, plan.Actions, errOut)
	}
	res = w.reconcile()
	if len(res.Actions) != 1 || res.Actions[0].Action.Key != plan.Actions[0].Key || !res.Actions[0].Action.Registry.Drift {
		t.Fatalf("after the person's move the cycle planned %v, want one set-alias marked as drift", kindsOf(res))
	}
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "12" {
		t.Fatalf("champion = %s after the set-back, want 12", got["champion"])
	}
	if c := w.condition(reconciler.ConditionRegistryDrift); c.Status != reconciler.ConditionTrue || c.Reason != reconciler.AliasSetBackReason ||
		!strings.Contains(c.Message, "moved outside git to version 13") {
		t.Fatalf("RegistryDrift = %+v, want True AliasSetBack naming version 13", c)
	}

	// The canary fails its check: modelops commits the rollback, then takes the traffic
	// back and deletes challenger.
	for time.Since(canaryStart) < 1500*time.Millisecond {
		time.Sleep(100 * time.Millisecond)
	}
	w.writePredictions(canaryStart, 30)
	res = w.reconcile()
	if !strings.Contains(strings.Join(kindsOf(res), " "), "rollback") {
		t.Fatalf("the failing canary's cycle did %v, want a rollback", kindsOf(res))
	}
	res = w.reconcile()
	if got := strings.Join(kindsOf(res), " "); got != "apply-traffic delete-alias" {
		t.Fatalf("after the rollback commit the cycle did %q, want apply-traffic then delete-alias", got)
	}
	if got := w.fake.Aliases("sepsis-risk"); got["champion"] != "12" || len(got) != 1 {
		t.Fatalf("aliases after the rollback = %v, want champion → 12 alone", got)
	}
	if tags := w.fake.VersionTags("sepsis-risk", "14"); !strings.Contains(tags[reconciler.TagRolledBack], "rollback") {
		t.Fatalf("version 14 tags %v, want modelops.rolled-back with the reason", tags)
	}
	if c := w.condition(reconciler.ConditionRegistryDrift); c.Status != reconciler.ConditionFalse {
		t.Errorf("RegistryDrift after the aliases are back = %+v, want False", c)
	}
}
