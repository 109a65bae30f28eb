package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	gh "github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/testutil/githubfake"
	"github.com/medimind/modelops/reconciler"
)

func (e *env) reporter(opts ReporterOptions) *Reporter {
	opts.Owner, opts.Repo, opts.Now = e.fake.Owner(), e.fake.Repo(), e.clock.Now
	return NewReporter(e.client, opts)
}

// operations counts the fake's answered requests by operation since from.
func (e *env) operations(from int) map[string]int {
	out := map[string]int{}
	for _, c := range e.fake.Requests()[from:] {
		out[c.Operation]++
	}
	return out
}

func driftCheck(commit string, annotations int) reconciler.CheckReport {
	c := reconciler.CheckReport{
		Name: "modelops/drift: sepsis-risk", Commit: commit, Status: reconciler.CheckCompleted, Conclusion: reconciler.CheckFailure,
		Title: "Drift in 7 of 120 columns", Summary: "Dataset drift: 7 of 120 columns (share 0.06).", Text: "| column | test | p |",
		DetailsURL: "https://github.example/medimind/policies/blob/modelops/status/drift/sepsis-risk/1.json",
	}
	for i := range annotations {
		c.Annotations = append(c.Annotations, reconciler.Annotation{
			Path: "models/sepsis-risk.yaml", StartLine: 9, EndLine: 9, Level: "warning", Message: fmt.Sprintf("column prot_%d drifted", i),
		})
	}
	return c
}

func TestCheckRunAnnotationsGoFiftyPerRequest(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	r := e.reporter(ReporterOptions{})
	mark := len(e.fake.Requests())
	if err := r.Report(ctx, driftCheck(e.base, 120)); err != nil {
		t.Fatal(err)
	}
	if ops := e.operations(mark); ops["checks/create"] != 1 || ops["checks/update"] != 2 {
		t.Errorf("operations = %v, want one create and two updates", ops)
	}
	runs := e.fake.CheckRuns()
	if len(runs) != 1 || len(runs[0].Annotations) != 120 || runs[0].Annotations[119].Message != "column prot_119 drifted" ||
		runs[0].Status != "completed" || runs[0].Conclusion != "failure" || runs[0].HeadSHA != e.base || runs[0].DetailsURL == "" {
		t.Fatalf("check runs = %+v", runs)
	}
	// Reported again unchanged: found, not created again, nothing written.
	mark = len(e.fake.Requests())
	if err := r.Report(ctx, driftCheck(e.base, 120)); err != nil {
		t.Fatal(err)
	}
	if w, _ := e.writes(mark); w != 0 || len(e.fake.CheckRuns()) != 1 {
		t.Errorf("an unchanged report made %d writes, %d check runs", w, len(e.fake.CheckRuns()))
	}
	// Five more annotations later: a new run with all 125, which GitHub shows instead.
	if err := r.Report(ctx, driftCheck(e.base, 125)); err != nil {
		t.Fatal(err)
	}
	if runs := e.fake.CheckRuns(); len(runs) != 2 || len(runs[0].Annotations) != 120 || len(runs[1].Annotations) != 125 {
		t.Errorf("%d runs, want the first with 120 annotations and a second with 125", len(runs))
	}
}

func TestCheckRunSummaryAndTextAreCutUnderTheLimit(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	c := driftCheck(e.base, 0)
	c.Summary = strings.Repeat("drift δ\n", 9000)
	c.Text = strings.Repeat("| prot_1 | ks | 0.001 |\n", 3000)
	if err := e.reporter(ReporterOptions{}).Report(ctx, c); err != nil {
		t.Fatal(err)
	}
	run := e.fake.CheckRuns()[0]
	for name, s := range map[string]string{"summary": run.Summary, "text": run.Text} {
		if n := utf8.RuneCountInString(s); n > MaxCheckText || n < MaxCheckText-2100 || !strings.HasSuffix(s, c.DetailsURL+")*") {
			t.Errorf("%s: %d characters, ends %q", name, n, s[len(s)-80:])
		}
	}
}

func TestTrainingCheckMovesThroughItsStatesOnOneRun(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	r := e.reporter(ReporterOptions{})
	job := reconciler.CheckReport{Name: "modelops/train: sepsis-risk generation 7", Commit: e.base, Title: "Training generation 7"}
	for _, st := range []reconciler.CheckStatus{reconciler.CheckQueued, reconciler.CheckInProgress, reconciler.CheckCompleted} {
		job.Status = st
		if st == reconciler.CheckCompleted {
			job.Conclusion, job.Summary = reconciler.CheckSuccess, "AUC 0.91"
		}
		if err := r.Report(ctx, job); err != nil {
			t.Fatal(err)
		}
		runs := e.fake.CheckRuns()
		if len(runs) != 1 || runs[0].Status != string(st) {
			t.Fatalf("after %s: %+v", st, runs)
		}
	}
	if run := e.fake.CheckRuns()[0]; run.Conclusion != "success" || run.Summary != "AUC 0.91" {
		t.Errorf("completed run = %+v", run)
	}
}

func TestAPersonalTokenFallsBackToCommitStatuses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		token    string
		statuses bool
	}{
		{"by configuration", githubfake.InstallationToken, true},
		{"by GitHub's 403 to a classic token", githubfake.PersonalToken, false},
		{"by GitHub's 403 to a fine-grained token", githubfake.FineGrainedToken, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, tc.token)
			r := e.reporter(ReporterOptions{Statuses: tc.statuses})
			c := driftCheck(e.base, 3)
			c.Title = strings.Repeat("Drift in 7 of 120 columns; ", 10)
			if err := r.Report(ctx, c); err != nil {
				t.Fatal(err)
			}
			if !r.UsesStatuses() {
				t.Error("UsesStatuses = false")
			}
			st := e.fake.Statuses()
			if len(st) != 1 || st[0].Context != c.Name || st[0].State != "failure" || st[0].TargetURL != c.DetailsURL || st[0].SHA != e.base ||
				utf8.RuneCountInString(st[0].Description) != MaxStatusDescription || !strings.HasSuffix(st[0].Description, "…") {
				t.Fatalf("statuses = %+v", st)
			}
			if len(e.fake.CheckRuns()) != 0 {
				t.Error("a check run was created")
			}
			mark := len(e.fake.Requests())
			if err := r.Report(ctx, c); err != nil {
				t.Fatal(err)
			}
			if ops := e.operations(mark); ops["checks/create"]+ops["checks/list-for-ref"] != 0 || len(e.fake.Statuses()) != 1 {
				t.Errorf("reported again: operations %v, %d statuses", ops, len(e.fake.Statuses()))
			}
			c.Status, c.Conclusion = reconciler.CheckCompleted, reconciler.CheckSuccess
			if err := r.Report(ctx, c); err != nil {
				t.Fatal(err)
			}
			if st := e.fake.Statuses(); len(st) != 2 || st[1].State != "success" {
				t.Errorf("statuses = %+v", st)
			}
		})
	}
}

func TestStatusStates(t *testing.T) {
	for _, tc := range []struct {
		status     reconciler.CheckStatus
		conclusion reconciler.CheckConclusion
		want       string
	}{
		{reconciler.CheckQueued, "", "pending"},
		{reconciler.CheckInProgress, "", "pending"},
		{reconciler.CheckCompleted, reconciler.CheckSuccess, "success"},
		{reconciler.CheckCompleted, reconciler.CheckNeutral, "success"},
		{reconciler.CheckCompleted, reconciler.CheckFailure, "failure"},
		{reconciler.CheckCompleted, "cancelled", "error"},
	} {
		if got := statusState(reconciler.CheckReport{Status: tc.status, Conclusion: tc.conclusion}); got != tc.want {
			t.Errorf("%s/%s = %s, want %s", tc.status, tc.conclusion, got, tc.want)
		}
	}
}

// commitPulls plays GitHub's "pull requests associated with a commit" and issue comments,
// which the GitHub fake does not serve.
type commitPulls struct {
	mu       sync.Mutex // guards comments
	comments []string
}

func (s *commitPulls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == "GET" && r.URL.Path == "/repos/o/r/commits/m1/pulls":
		fmt.Fprint(w, `[{"number":4,"state":"closed","merged_at":null,"merge_commit_sha":"x"},{"number":5,"state":"closed","merged_at":"2026-01-02T03:04:05Z","merge_commit_sha":"m1"}]`)
	case r.Method == "GET" && r.URL.Path == "/repos/o/r/commits/direct/pulls":
		fmt.Fprint(w, `[]`)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/repos/o/r/commits/"):
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"message":"No commit found for SHA: unknown"}`)
	case r.Method == "GET" && r.URL.Path == "/repos/o/r/issues/5/comments":
		var out []map[string]string
		for _, c := range s.comments {
			out = append(out, map[string]string{"body": c})
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == "POST" && r.URL.Path == "/repos/o/r/issues/5/comments":
		var c struct{ Body string }
		json.NewDecoder(r.Body).Decode(&c)
		s.comments = append(s.comments, c.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{}`)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
	}
}

func TestCommentOnMergeCommentsOnceOnTheMergedPullRequest(t *testing.T) {
	stub := &commitPulls{}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	client := gh.NewClient(&http.Client{Transport: NewTransport(http.DefaultTransport, TransportOptions{Clock: newFakeClock()})})
	client.BaseURL, _ = url.Parse(srv.URL + "/")
	f := New(client, nil, Options{Owner: "o", Repo: "r", Tracked: "main"})

	for range 2 {
		if err := f.CommentOnMerge(ctx, "m1", "Rolled back: AUC fell by 0.04."); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(stub.comments) != "[Rolled back: AUC fell by 0.04.]" {
		t.Errorf("comments = %q, want one", stub.comments)
	}
	for _, commit := range []string{"direct", "unknown"} {
		if err := f.CommentOnMerge(ctx, commit, "x"); !errors.Is(err, reconciler.ErrNoProposal) {
			t.Errorf("%s: err = %v, want ErrNoProposal", commit, err)
		}
	}
}

// latestRun is the check run GitHub shows for name on commit: the latest of that name.
func (e *env) latestRun(t *testing.T, name, commit string) githubfake.CheckRun {
	t.Helper()
	var latest *githubfake.CheckRun
	for _, run := range e.fake.CheckRuns() {
		if run.Name == name && run.HeadSHA == commit {
			latest = &run
		}
	}
	if latest == nil {
		t.Fatalf("no check run %q on %s", name, commit)
	}
	return *latest
}

func TestARecoveredCheckCarriesNoneOfTheDriftsAnnotations(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	r := e.reporter(ReporterOptions{})
	drifted := driftCheck(e.base, 3)
	if err := r.Report(ctx, drifted); err != nil {
		t.Fatal(err)
	}
	recovered := driftCheck(e.base, 0)
	recovered.Conclusion, recovered.Title = reconciler.CheckSuccess, "No drift"
	if err := r.Report(ctx, recovered); err != nil {
		t.Fatal(err)
	}
	if run := e.latestRun(t, recovered.Name, e.base); run.Conclusion != "success" || len(run.Annotations) != 0 {
		t.Fatalf("the run GitHub shows: %s with %d annotations, want success with none", run.Conclusion, len(run.Annotations))
	}
	// The same annotations with another title: updated in place.
	runs := len(e.fake.CheckRuns())
	drifted.Title = "Drift in 8 of 120 columns"
	for range 2 {
		if err := r.Report(ctx, drifted); err != nil {
			t.Fatal(err)
		}
	}
	drifted.Title = "Drift in 9 of 120 columns"
	if err := r.Report(ctx, drifted); err != nil {
		t.Fatal(err)
	}
	run := e.latestRun(t, drifted.Name, e.base)
	if got := len(e.fake.CheckRuns()); got != runs+1 || run.Title != drifted.Title || len(run.Annotations) != 3 {
		t.Errorf("%d runs (want %d), the latest %q with %d annotations", got, runs+1, run.Title, len(run.Annotations))
	}
}

func TestAnUnchangedCheckWithoutDetailsURLWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		name, configured, reported, want string
	}{
		{"the status branch", "", "", "https://github.com/medimind/policies/tree/modelops/status"},
		{"a report on the status branch", "", "drift/sepsis-risk/1.json", "https://github.com/medimind/policies/blob/modelops/status/drift/sepsis-risk/1.json"},
		{"a dashboard", "https://dashboard.example/models", "", "https://dashboard.example/models"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, githubfake.InstallationToken)
			r := e.reporter(ReporterOptions{DetailsURL: tc.configured})
			c := driftCheck(e.base, 0)
			c.DetailsURL = tc.reported
			if err := r.Report(ctx, c); err != nil {
				t.Fatal(err)
			}
			mark := len(e.fake.Requests())
			if err := r.Report(ctx, c); err != nil {
				t.Fatal(err)
			}
			if w, _ := e.writes(mark); w != 0 {
				t.Errorf("an unchanged report made %d writes", w)
			}
			if run := e.latestRun(t, c.Name, e.base); run.DetailsURL != tc.want {
				t.Errorf("details_url %q, want %q", run.DetailsURL, tc.want)
			}
		})
	}
}

func TestAnUnchangedStatusOnABusyCommitIsNotSetAgain(t *testing.T) {
	e := setup(t, githubfake.PersonalToken)
	r := e.reporter(ReporterOptions{Statuses: true})
	c := driftCheck(e.base, 0)
	if err := r.Report(ctx, c); err != nil {
		t.Fatal(err)
	}
	// Other tools set 150 statuses on the commit since.
	ci := e.fake.Client(githubfake.PersonalToken)
	for i := range 150 {
		if _, _, err := ci.Repositories.CreateStatus(ctx, "medimind", "policies", e.base, &gh.RepoStatus{State: gh.String("success"), Context: gh.String(fmt.Sprintf("ci/%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	mark := len(e.fake.Requests())
	if err := r.Report(ctx, c); err != nil {
		t.Fatal(err)
	}
	if w, _ := e.writes(mark); w != 0 {
		t.Errorf("an unchanged report on a busy commit made %d writes", w)
	}
}

func TestAnotherAppsCheckRunOfTheSameNameIsLeftAlone(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	r := e.reporter(ReporterOptions{AppID: githubfake.DefaultAppID})
	c := driftCheck(e.base, 2)
	if err := r.Report(ctx, c); err != nil {
		t.Fatal(err)
	}
	const other = "ghs_githubfakeOtherAppToken000000001"
	e.fake.AddToken(githubfake.Token{Value: other, Kind: githubfake.TokenInstallation, Login: "other[bot]", AppID: 42})
	if _, _, err := e.fake.Client(other).Checks.CreateCheckRun(ctx, "medimind", "policies", gh.CreateCheckRunOptions{Name: c.Name, HeadSHA: e.base}); err != nil {
		t.Fatal(err)
	}
	mark := len(e.fake.Requests())
	if err := r.Report(ctx, c); err != nil {
		t.Fatal(err)
	}
	if w, _ := e.writes(mark); w != 0 {
		t.Errorf("an unchanged report made %d writes", w)
	}
	c.Conclusion = reconciler.CheckNeutral
	if err := r.Report(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, run := range e.fake.CheckRuns() {
		if run.AppID == 42 && run.Status != "queued" {
			t.Errorf("the other App's run was changed: %+v", run)
		}
	}
}

func TestAWriteThatTookEffectBehindA502IsNotMadeTwice(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		statuses           bool
		count              func(e *env) int
		want               int
	}{
		{"check run", "POST", "/repos/*/*/check-runs", false, func(e *env) int { return len(e.fake.CheckRuns()) }, 1},
		{"annotations", "PATCH", "/repos/*/*/check-runs/*", false, func(e *env) int { return len(e.fake.CheckRuns()[0].Annotations) }, 60},
		{"status", "POST", "/repos/*/*/statuses/*", true, func(e *env) int { return len(e.fake.Statuses()) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, githubfake.InstallationToken)
			r := e.reporter(ReporterOptions{Statuses: tc.statuses})
			e.fake.Inject(githubfake.TimedOutAfterWriting(tc.method, tc.path, 1))
			if err := r.Report(ctx, driftCheck(e.base, 60)); err != nil {
				t.Fatal(err)
			}
			if n := tc.count(e); n != tc.want {
				t.Errorf("%d, want %d", n, tc.want)
			}
		})
	}
}

// A write answered 5xx is looked for and sent again a bounded number of times; a read
// answered 5xx is only retried by Transport.
func TestAFailingWriteIsTriedABoundedNumberOfTimes(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	r := e.reporter(ReporterOptions{})
	e.fake.Inject(githubfake.BadGateway("POST", "/repos/*/*/check-runs", 0))
	mark := len(e.fake.Requests())
	if err := r.Report(ctx, driftCheck(e.base, 0)); status(err) != http.StatusBadGateway {
		t.Fatalf("err = %v, want the 502", err)
	}
	if ops := e.operations(mark); ops["checks/create"] != maxSettleAttempts || ops["checks/list-for-ref"] != maxSettleAttempts {
		t.Errorf("operations %v, want %d looks and %d creates", ops, maxSettleAttempts, maxSettleAttempts)
	}
	e.fake.ClearFaults()
	e.fake.Inject(githubfake.ServerError("GET", "/repos/*/*/commits/*/check-runs", 0))
	mark = len(e.fake.Requests())
	if err := r.Report(ctx, driftCheck(e.base, 0)); status(err) != http.StatusInternalServerError {
		t.Fatalf("err = %v, want the 500", err)
	}
	if ops := e.operations(mark); ops["checks/list-for-ref"] != 4 || len(ops) != 1 {
		t.Errorf("operations %v, want the 4 attempts of Transport's retries only", ops)
	}
}
