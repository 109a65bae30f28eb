package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	forgegithub "github.com/medimind/modelops/internal/forge/github"
	"github.com/medimind/modelops/internal/status"
	"github.com/medimind/modelops/internal/testutil/githubfake"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/reconciler"
)

// e2eModel is the model of testdata/github-e2e.
const e2eModel = "sepsis-risk"

// e2eRetrainBranch is the head branch of the model's retrain pull request.
const e2eRetrainBranch = "modelops/" + e2eModel + "/retrain"

// TestGitHubE2ETrainJob is the training job of the GitHub end-to-end tests: the local runner
// starts this test binary with -test.run=^TestGitHubE2ETrainJob$ and the job environment.
// It lists its environment on stdout (the job log, which the secrets test scans) and
// reports a candidate that fails the default promotion gate (AUC 0.6 on 100 samples), so
// the run ends without a promotion pull request. Under go test it is skipped.
func TestGitHubE2ETrainJob(t *testing.T) {
	out := os.Getenv("MODELOPS_OUTPUT")
	if out == "" || os.Getenv("MODELOPS_MODEL") != e2eModel {
		t.Skip("runs only as the training job started by the GitHub end-to-end tests")
	}
	env := os.Environ()
	slices.Sort(env)
	for _, kv := range env {
		fmt.Println(kv)
	}
	result := `{"version": "13", "uri": "models:/sepsis-risk/13", "metrics": {"auc": 0.6, "samples": 100}}`
	if err := os.WriteFile(filepath.Join(out, "result.json"), []byte(result), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// e2eFixture copies testdata/github-e2e into a temporary directory with this test binary
// as the policy's trainer, ready for Seed.
func e2eFixture(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "fixture")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "github-e2e"))); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "models", e2eModel+".yaml")
	b, err := os.ReadFile(policy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"@trainer@"`)) {
		t.Fatalf("%s names no @trainer@ to replace", policy)
	}
	b = bytes.ReplaceAll(b, []byte(`"@trainer@"`), []byte(strconv.Quote(exe)))
	if err := os.WriteFile(policy, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ghWorld is the GitHub fake serving the fixture's repository and the state directory of the
// reconciler that works on it, one `modelops reconcile --once` at a time.
type ghWorld struct {
	t     *testing.T
	fake  *githubfake.Server
	state string
	app   bool
}

// newGHWorld seeds a fake with the fixture and sets the process environment to the
// credentials: a personal token, or the fake's GitHub App (app).
func newGHWorld(t *testing.T, app bool) *ghWorld {
	t.Helper()
	const appID, installationID = 4242, 777
	var opts []githubfake.Option
	if app {
		opts = append(opts, githubfake.WithApp(appID, installationID))
	}
	fake := githubfake.New(t, opts...)
	fake.Seed(t, "main", e2eFixture(t))
	w := &ghWorld{t: t, fake: fake, state: filepath.Join(t.TempDir(), "state"), app: app}

	// Only the credentials chosen here may be seen, whatever the caller's environment holds.
	for _, k := range []string{forgegithub.EnvAppID, forgegithub.EnvInstallationID, forgegithub.EnvPrivateKeyFile,
		forgegithub.EnvPrivateKey, forgegithub.EnvTokenFile, forgegithub.EnvToken, forgegithub.EnvGitHubToken, "MODELOPS_GIT_TOKEN"} {
		t.Setenv(k, "")
	}
	if app {
		key := filepath.Join(t.TempDir(), "app.pem")
		if err := os.WriteFile(key, fake.AppPrivateKey(), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv(forgegithub.EnvAppID, strconv.Itoa(appID))
		t.Setenv(forgegithub.EnvInstallationID, strconv.Itoa(installationID))
		t.Setenv(forgegithub.EnvPrivateKeyFile, key)
	} else {
		t.Setenv(forgegithub.EnvToken, githubfake.PersonalToken)
	}
	return w
}

// reconcile runs `modelops reconcile --once -o json` against the fake and returns the
// cycle's result; an action that failed fails the test.
func (w *ghWorld) reconcile() *reconciler.CycleResult {
	w.t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"reconcile", "--once", "-o", "json",
		"--repo", w.fake.GitURL(), "--state-dir", w.state,
		"--github", w.fake.Owner() + "/" + w.fake.Repo(), "--github-api-url", w.fake.EnterpriseURL()})
	if err := root.ExecuteContext(w.t.Context()); err != nil {
		w.t.Fatalf("modelops reconcile: %v\n%s", err, out.String())
	}
	var res reconciler.CycleResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		w.t.Fatalf("decode the cycle result: %v\n%s", err, out.String())
	}
	for _, a := range res.Actions {
		if a.Error != "" || a.Skipped {
			w.t.Fatalf("action %s of %s: skipped %v, error %q", a.Action.Kind, a.Action.Model, a.Skipped, a.Error)
		}
	}
	return &res
}

// writes are the requests so far that changed something on GitHub: every counted request
// but a read. Minting an installation token is not counted, and changes nothing in the
// repository.
func (w *ghWorld) writes() []githubfake.Call {
	var out []githubfake.Call
	for _, c := range w.fake.Calls() {
		if c.Method != "GET" && c.Method != "HEAD" {
			out = append(out, c)
		}
	}
	return out
}

// refs lists every ref of the fake's repository with its commit.
func (w *ghWorld) refs() string {
	return gitserver.MustGit(w.t, w.fake.GitDir(), "for-each-ref", "--format=%(refname) %(objectname)")
}

// tip is the commit of a branch of the fake's repository.
func (w *ghWorld) tip(branch string) string {
	return strings.TrimSpace(gitserver.MustGit(w.t, w.fake.GitDir(), "rev-parse", "refs/heads/"+branch))
}

// runs lists the run directories the local runner made for the model.
func (w *ghWorld) runs() []string {
	entries, err := os.ReadDir(filepath.Join(w.state, "runs", e2eModel))
	if err != nil && !os.IsNotExist(err) {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// check is a check as either publication shows it: a check run (App) or the newest commit
// status of that context (token).
type check struct {
	status, conclusion string
	found              bool
}

// check returns the newest check name on commit, as a check run with an App and as a
// commit status (pending → in_progress, success/failure → completed) with a token. More
// than one check run of a name on a commit fails the test: the reporter updates in place.
func (w *ghWorld) check(name, commit string) check {
	w.t.Helper()
	if w.app {
		var got []githubfake.CheckRun
		for _, cr := range w.fake.CheckRuns() {
			if cr.Name == name && cr.HeadSHA == commit {
				got = append(got, cr)
			}
		}
		if len(got) > 1 {
			w.t.Fatalf("%d check runs %q on %s, want one updated in place", len(got), name, commit)
		}
		if len(got) == 0 {
			return check{}
		}
		return check{status: got[0].Status, conclusion: got[0].Conclusion, found: true}
	}
	var c check
	for _, st := range w.fake.Statuses() {
		if st.Context != name || st.SHA != commit {
			continue
		}
		if st.Creator != "medimind-dev" {
			w.t.Errorf("status %q on %s set by %s, want the token's user medimind-dev", name, commit, st.Creator)
		}
		c = check{found: true, status: "completed", conclusion: st.State}
		if st.State == "pending" {
			c = check{found: true, status: "in_progress"}
		}
	}
	return c
}

// actionsOf counts the cycle's actions by kind.
func actionsOf(res *reconciler.CycleResult) map[reconciler.ActionKind]int {
	n := map[reconciler.ActionKind]int{}
	for _, a := range res.Actions {
		n[a.Action.Kind]++
	}
	return n
}

// TestGitHubEndToEnd drives the retrain story through `modelops reconcile --once` against the
// GitHub fake, where every request and response is validated against GitHub's OpenAPI
// description: drift opens one pull request and reports the drift check on the tip; a second
// cycle writes nothing; a person merges through the API; the next cycle launches training
// once and reports it on the merge commit; the run's end is reported; nothing is launched
// again. With a personal token checks are commit statuses, with a GitHub App check runs.
func TestGitHubEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  bool
	}{
		{"a personal token reports commit statuses", false},
		{"a GitHub App reports check runs", true},
	} {
		t.Run(tc.name, func(t *testing.T) { testGitHubEndToEnd(t, tc.app) })
	}
}

func testGitHubEndToEnd(t *testing.T, app bool) {
	w := newGHWorld(t, app)
	driftCheck, trainingCheck := reconciler.DriftCheckName(e2eModel), reconciler.TrainingCheckName(e2eModel)
	seeded := w.tip("main")

	// 1. Drift: one pull request raising the generation, the drift check on the tip.
	res := w.reconcile()
	if n := actionsOf(res); n[reconciler.ActionCheckDrift] != 1 || n[reconciler.ActionProposeRetrain] != 1 {
		t.Fatalf("first cycle: actions %v, want one drift check and one retrain proposal", n)
	}
	prs := w.fake.PullRequests()
	if len(prs) != 1 {
		t.Fatalf("%d pull requests after the first cycle, want 1: %+v", len(prs), prs)
	}
	pr := prs[0]
	if pr.Head != e2eRetrainBranch || pr.Base != "main" || pr.State != "open" || pr.BaseSHA != seeded {
		t.Errorf("pull request #%d: %s → %s (base %s), %s; want %s → main at %s, open", pr.Number, pr.Head, pr.Base, pr.BaseSHA, pr.State, e2eRetrainBranch, seeded)
	}
	for _, want := range []string{
		"<!-- modelops:proposal model=sepsis-risk kind=retrain key=generation-7 ", // the hidden marker
		"### Latest drift report",
		"| column | kind | test | score is | score | threshold | drifted |",
		"| lactate | numeric |",
	} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("the pull request body lacks %q:\n%s", want, pr.Body)
		}
	}
	if !strings.HasPrefix(pr.Body, "<!-- modelops:proposal ") {
		t.Errorf("the pull request body does not start with the hidden marker:\n%.200s", pr.Body)
	}
	if !strings.Contains(pr.Title, "6 → 7") {
		t.Errorf("title %q does not name the generations", pr.Title)
	}
	if !slices.Equal(pr.Labels, []string{"modelops", "retrain"}) || !slices.Equal(pr.Reviewers, []string{"ana"}) {
		t.Errorf("labels %v, reviewers %v; want .modelops.yaml's [modelops retrain] and [ana]", pr.Labels, pr.Reviewers)
	}
	proposed := gitserver.MustGit(t, w.fake.GitDir(), "show", pr.HeadSHA+":models/"+e2eModel+".yaml")
	if !strings.Contains(proposed, "\n    generation: 7   # raised to 7 by the retrain pull request\n") {
		t.Errorf("the head of the pull request does not raise the generation to 7, keeping the comment:\n%s", proposed)
	}
	if c := w.check(driftCheck, seeded); c.status != "completed" || c.conclusion != "failure" {
		t.Errorf("check %q on the tip %s = %+v, want completed with failure (drift counts towards a retrain)", driftCheck, seeded, c)
	}
	if app {
		for _, cr := range w.fake.CheckRuns() {
			if cr.Name == driftCheck && (len(cr.Annotations) == 0 || cr.Annotations[0].Path != "models/"+e2eModel+".yaml") {
				t.Errorf("drift check run annotations %+v, want them on the policy file", cr.Annotations)
			}
		}
		if st := w.fake.Statuses(); len(st) != 0 {
			t.Errorf("an App published commit statuses: %+v", st)
		}
	} else {
		for _, c := range w.fake.Requests() {
			if strings.HasPrefix(c.Operation, "checks/") {
				t.Errorf("a personal token tried check runs: %s %s", c.Method, c.Path)
			}
		}
	}
	if !strings.Contains(w.refs(), "refs/heads/"+status.Branch+" ") {
		t.Errorf("no status branch after the first cycle:\n%s", w.refs())
	}

	// 2. A second cycle: nothing to do, nothing written.
	writes, refs := len(w.writes()), w.refs()
	if res := w.reconcile(); len(res.Actions) != 0 {
		t.Errorf("second cycle: actions %v, want none", actionsOf(res))
	}
	if got := w.writes(); len(got) != writes {
		t.Errorf("the second cycle wrote to GitHub: %+v", got[writes:])
	}
	if got := w.refs(); got != refs {
		t.Errorf("the second cycle moved refs:\nbefore\n%s\nafter\n%s", refs, got)
	}
	if n := len(w.fake.PullRequests()); n != 1 {
		t.Errorf("%d pull requests after the second cycle, want still 1", n)
	}

	// 3. A person merges through the API: a real merge commit on main.
	merged, _, err := w.fake.Client(githubfake.PersonalToken).PullRequests.Merge(t.Context(), w.fake.Owner(), w.fake.Repo(), pr.Number, "", nil)
	if err != nil || !merged.GetMerged() {
		t.Fatalf("merge #%d: %v (%+v)", pr.Number, err, merged)
	}
	merge := merged.GetSHA()
	if w.tip("main") != merge {
		t.Fatalf("main is at %s after the merge, want the merge commit %s", w.tip("main"), merge)
	}
	if parents := strings.Fields(gitserver.MustGit(t, w.fake.GitDir(), "rev-list", "--parents", "-n1", merge)); len(parents) != 3 || parents[1] != seeded || parents[2] != pr.HeadSHA {
		t.Fatalf("merge commit %s has parents %v, want the old tip %s and the pull request's head %s", merge, parents[1:], seeded, pr.HeadSHA)
	}

	// 4. The next cycle launches generation 7 once, reported in progress on the merge commit.
	res = w.reconcile()
	if n := actionsOf(res)[reconciler.ActionLaunchTraining]; n != 1 {
		t.Fatalf("cycle after the merge: actions %v, want one launch", actionsOf(res))
	}
	if got := w.runs(); !slices.Equal(got, []string{"gen-7"}) {
		t.Fatalf("runs of %s = %v, want gen-7 alone", e2eModel, got)
	}
	if c := w.check(trainingCheck, merge); c.status != "in_progress" {
		t.Errorf("check %q on the merge commit = %+v, want in_progress", trainingCheck, c)
	}
	for _, other := range []string{seeded, pr.HeadSHA} {
		if c := w.check(trainingCheck, other); c.found {
			t.Errorf("check %q reported on %s, not on the merge commit %s", trainingCheck, other, merge)
		}
	}
	waitFile(t, filepath.Join(w.state, "runs", e2eModel, "gen-7", "exit"), 30*time.Second)
	res = w.reconcile()
	if n := actionsOf(res)[reconciler.ActionLaunchTraining]; n != 0 {
		t.Errorf("the cycle after the run ended launched %d runs", n)
	}
	if c := w.check(trainingCheck, merge); c.status != "completed" || c.conclusion != "success" {
		t.Errorf("check %q on the merge commit after the run = %+v, want completed with success", trainingCheck, c)
	}
	var ms reconciler.ModelStatus
	record := gitserver.MustGit(t, w.fake.GitDir(), "show", "refs/heads/"+status.Branch+":models/"+e2eModel+".json")
	if err := json.Unmarshal([]byte(record), &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms.Runs) != 1 || ms.Runs[0].Commit != merge || ms.Runs[0].Phase != reconciler.RunSucceeded || ms.LaunchedGeneration != 7 {
		t.Errorf("status of %s: launched %d, runs %+v; want one succeeded run of generation 7 on %s", e2eModel, ms.LaunchedGeneration, ms.Runs, merge)
	}

	// 5. A further cycle launches nothing and writes nothing.
	writes, refs = len(w.writes()), w.refs()
	if res := w.reconcile(); len(res.Actions) != 0 {
		t.Errorf("last cycle: actions %v, want none", actionsOf(res))
	}
	if got := w.runs(); !slices.Equal(got, []string{"gen-7"}) {
		t.Errorf("runs of %s after the last cycle = %v, want gen-7 alone", e2eModel, got)
	}
	if got := w.writes(); len(got) != writes {
		t.Errorf("the last cycle wrote to GitHub: %+v", got[writes:])
	}
	if got := w.refs(); got != refs {
		t.Errorf("the last cycle moved refs:\nbefore\n%s\nafter\n%s", refs, got)
	}
	if n := len(w.fake.PullRequests()); n != 1 {
		t.Errorf("%d pull requests at the end, want the merged one alone", n)
	}
}
