package githubfake

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

func annotations(n int, prefix string) []*github.CheckRunAnnotation {
	var out []*github.CheckRunAnnotation
	for i := range n {
		out = append(out, &github.CheckRunAnnotation{
			Path: github.String("models/sepsis-risk.yaml"), StartLine: github.Int(i + 1), EndLine: github.Int(i + 1),
			AnnotationLevel: github.String("warning"), Message: github.String(fmt.Sprintf("%s %d drifted", prefix, i)),
		})
	}
	return out
}

func TestCheckRunAnnotationsAccumulate(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	sha := gitOut(t, s, "rev-parse", "refs/heads/main")

	run, resp, err := gh.Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{
		Name: "modelops/drift sepsis-risk", HeadSHA: sha, Status: github.String("in_progress"),
		Output: &github.CheckRunOutput{Title: github.String("Drift"), Summary: github.String("3 of 10 columns"), Annotations: annotations(50, "a")},
	})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create check run: %v status %d", err, status(resp))
	}
	if run.GetStatus() != "in_progress" || run.GetOutput().GetAnnotationsCount() != 50 || run.GetApp().GetSlug() != "modelops" {
		t.Fatalf("created: status %q annotations %d", run.GetStatus(), run.GetOutput().GetAnnotationsCount())
	}
	run, _, err = gh.Checks.UpdateCheckRun(ctx, "medimind", "policies", run.GetID(), github.UpdateCheckRunOptions{
		Name: "modelops/drift sepsis-risk", Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("Drift"), Summary: github.String("6 of 10 columns"), Text: github.String("details"), Annotations: annotations(20, "b")},
	})
	if err != nil {
		t.Fatalf("update check run: %v", err)
	}
	if run.GetStatus() != "completed" || run.GetConclusion() != "failure" || run.CompletedAt == nil ||
		run.GetOutput().GetAnnotationsCount() != 70 || run.GetOutput().GetSummary() != "6 of 10 columns" {
		t.Fatalf("updated: status %q conclusion %q annotations %d summary %q", run.GetStatus(), run.GetConclusion(), run.GetOutput().GetAnnotationsCount(), run.GetOutput().GetSummary())
	}
	var all []*github.CheckRunAnnotation
	opts := &github.ListOptions{PerPage: 30}
	for {
		page, resp, err := gh.Checks.ListCheckRunAnnotations(ctx, "medimind", "policies", run.GetID(), opts)
		if err != nil {
			t.Fatalf("list annotations: %v", err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) != 70 || all[0].GetMessage() != "a 0 drifted" || all[69].GetMessage() != "b 19 drifted" {
		t.Fatalf("annotations: %d, first %q last %q", len(all), all[0].GetMessage(), all[len(all)-1].GetMessage())
	}

	// A second run of the same name: "latest" shows only it, "all" both.
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "modelops/drift sepsis-risk", HeadSHA: sha, Conclusion: github.String("success")}); err != nil {
		t.Fatal(err)
	}
	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, "medimind", "policies", "main", nil)
	if err != nil || list.GetTotal() != 1 || list.CheckRuns[0].GetConclusion() != "success" {
		t.Fatalf("list latest: %v total %d", err, list.GetTotal())
	}
	list, _, err = gh.Checks.ListCheckRunsForRef(ctx, "medimind", "policies", sha, &github.ListCheckRunsOptions{Filter: github.String("all")})
	if err != nil || list.GetTotal() != 2 {
		t.Fatalf("list all: %v total %d", err, list.GetTotal())
	}
	if got := s.CheckRuns(); len(got) != 2 || len(got[0].Annotations) != 70 || got[0].Text != "details" {
		t.Errorf("CheckRuns() = %d runs", len(got))
	}
}

func TestCheckRunLimits(t *testing.T) {
	s := seeded(t, AllowInvalidRequests())
	gh := s.Client(InstallationToken)
	sha := gitOut(t, s, "rev-parse", "refs/heads/main")
	tests := []struct {
		name   string
		output github.CheckRunOutput
		field  string
	}{
		{"51 annotations in one request", github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(51, "x")}, "output.annotations"},
		{"a summary over 65535 characters", github.CheckRunOutput{Title: github.String("t"), Summary: github.String(strings.Repeat("s", 65536))}, "output.summary"},
		{"a text over 65535 characters", github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Text: github.String(strings.Repeat("s", 65536))}, "output.text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := gh.Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "n", HeadSHA: sha, Output: &tc.output})
			if status(resp) != http.StatusUnprocessableEntity {
				t.Fatalf("status %d (%v), want 422", status(resp), err)
			}
			er := errorResponseOf(t, err)
			if len(er.Errors) == 0 || er.Errors[0].Field != tc.field || er.Errors[0].Resource != "CheckRun" {
				t.Errorf("errors %+v, want field %s", er.Errors, tc.field)
			}
		})
	}
	if _, resp, _ := gh.Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "n", HeadSHA: sha, Status: github.String("completed")}); status(resp) != http.StatusUnprocessableEntity {
		t.Errorf("completed without a conclusion: status %d, want 422", status(resp))
	}
	// Exactly at the limits is accepted.
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "n", HeadSHA: sha,
		Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(strings.Repeat("s", 65535)), Annotations: annotations(50, "x")}}); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	if _, resp, _ := gh.Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "n", HeadSHA: strings.Repeat("ab", 20)}); status(resp) != http.StatusUnprocessableEntity {
		t.Errorf("unknown head_sha: status %d, want 422", status(resp))
	}
}

func TestPersonalTokensAreRefusedCheckRunsEachWithGitHubsMessage(t *testing.T) {
	s := seeded(t)
	sha := gitOut(t, s, "rev-parse", "refs/heads/main")
	for token, want := range map[string]string{
		PersonalToken:    "You must authenticate via a GitHub App.",
		FineGrainedToken: "Resource not accessible by personal access token",
	} {
		_, resp, err := s.Client(token).Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "n", HeadSHA: sha})
		if status(resp) != http.StatusForbidden {
			t.Fatalf("check run with %s: status %d (%v), want 403", token[:11], status(resp), err)
		}
		if er := errorResponseOf(t, err); er.Message != want {
			t.Errorf("%s: message %q, want %q", token[:11], er.Message, want)
		}
	}
}

func TestCheckRunDetailsURLDefaultsToTheAppsHomepage(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	sha := gitOut(t, s, "rev-parse", "refs/heads/main")
	run, _, err := gh.Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "n", HeadSHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	if run.GetDetailsURL() == "" || run.GetDetailsURL() != run.GetApp().GetExternalURL() {
		t.Errorf("details_url %q, want the App's homepage %q", run.GetDetailsURL(), run.GetApp().GetExternalURL())
	}
	run, _, err = gh.Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "m", HeadSHA: sha, DetailsURL: github.String("https://example.invalid/r")})
	if err != nil || run.GetDetailsURL() != "https://example.invalid/r" {
		t.Errorf("details_url given: %q, %v", run.GetDetailsURL(), err)
	}
}

func TestCheckRunsBelongToTheirApp(t *testing.T) {
	s := seeded(t)
	const other = "ghs_githubfakeOtherAppToken000000001"
	s.AddToken(Token{Value: other, Kind: TokenInstallation, Login: "other[bot]", AppID: 42})
	sha := gitOut(t, s, "rev-parse", "refs/heads/main")
	mine, _, err := s.Client(InstallationToken).Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "n", HeadSHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	theirs, _, err := s.Client(other).Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{Name: "n", HeadSHA: sha})
	if err != nil || theirs.GetApp().GetID() != 42 {
		t.Fatalf("other App's run: %v, app %d", err, theirs.GetApp().GetID())
	}
	for _, tc := range []struct {
		app  int64
		want int64
	}{{0, theirs.GetID()}, {DefaultAppID, mine.GetID()}, {42, theirs.GetID()}} {
		opts := &github.ListCheckRunsOptions{CheckName: github.String("n")}
		if tc.app != 0 {
			opts.AppID = github.Int64(tc.app)
		}
		list, _, err := s.Client(InstallationToken).Checks.ListCheckRunsForRef(ctx, "medimind", "policies", sha, opts)
		if err != nil || list.GetTotal() != 1 || list.CheckRuns[0].GetID() != tc.want {
			t.Errorf("app_id %d: %v, %d runs, want run %d", tc.app, err, list.GetTotal(), tc.want)
		}
	}
	_, resp, _ := s.Client(InstallationToken).Checks.UpdateCheckRun(ctx, "medimind", "policies", theirs.GetID(), github.UpdateCheckRunOptions{Name: "n", Status: github.String("in_progress")})
	if status(resp) != http.StatusForbidden {
		t.Errorf("update of another App's run: status %d, want 403", status(resp))
	}
}

func TestStatusesAreCappedPerSHAAndContext(t *testing.T) {
	s := seeded(t)
	gh := s.Client(PersonalToken)
	sha := gitOut(t, s, "rev-parse", "refs/heads/main")
	create := func(context string) int {
		_, resp, _ := gh.Repositories.CreateStatus(ctx, "medimind", "policies", sha, &github.RepoStatus{State: github.String("pending"), Context: github.String(context)})
		return status(resp)
	}
	for i := range maxStatusesPerContext {
		if st := create("busy"); st != http.StatusCreated {
			t.Fatalf("status %d: %d", i, st)
		}
	}
	if st := create("busy"); st != http.StatusUnprocessableEntity {
		t.Errorf("status 1001 of a context: %d, want 422", st)
	}
	if st := create("other"); st != http.StatusCreated {
		t.Errorf("another context: %d, want 201", st)
	}
}

func TestCombinedStatusPaginatesTheLatestOfEachContext(t *testing.T) {
	s := seeded(t)
	gh := s.Client(PersonalToken)
	sha := gitOut(t, s, "rev-parse", "refs/heads/main")
	for i := range 120 {
		for _, state := range []string{"pending", "success"} {
			if _, _, err := gh.Repositories.CreateStatus(ctx, "medimind", "policies", sha, &github.RepoStatus{State: github.String(state), Context: github.String(fmt.Sprintf("c%d", i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	seen := map[string]bool{}
	opts := &github.ListOptions{PerPage: 100}
	pages := 0
	for {
		combined, resp, err := gh.Repositories.GetCombinedStatus(ctx, "medimind", "policies", sha, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, st := range combined.Statuses {
			if seen[st.GetContext()] || st.GetState() != "success" {
				t.Errorf("context %s: seen again or not the latest (%s)", st.GetContext(), st.GetState())
			}
			seen[st.GetContext()] = true
		}
		if combined.GetTotalCount() != 120 || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if pages != 2 || len(seen) != 120 {
		t.Errorf("%d pages, %d contexts, want 2 and 120", pages, len(seen))
	}
}

func TestPersonalTokenFallsBackToStatuses(t *testing.T) {
	s := seeded(t)
	gh := s.Client(PersonalToken)
	sha := gitOut(t, s, "rev-parse", "refs/heads/main")

	for _, st := range []struct{ state, context string }{{"pending", "modelops/drift"}, {"failure", "modelops/drift"}, {"success", "modelops/canary"}} {
		got, resp, err := gh.Repositories.CreateStatus(ctx, "medimind", "policies", sha, &github.RepoStatus{
			State: github.String(st.state), Context: github.String(st.context), Description: github.String("drift 6/10"), TargetURL: github.String("https://example.invalid/report")})
		if err != nil || resp.StatusCode != http.StatusCreated || got.GetCreator().GetLogin() != "medimind-dev" {
			t.Fatalf("create status: %v status %d", err, status(resp))
		}
	}
	list, _, err := gh.Repositories.ListStatuses(ctx, "medimind", "policies", "main", nil)
	if err != nil || len(list) != 3 || list[0].GetState() != "success" {
		t.Fatalf("list statuses: %v len %d", err, len(list))
	}
	combined, _, err := gh.Repositories.GetCombinedStatus(ctx, "medimind", "policies", sha, nil)
	if err != nil || combined.GetState() != "failure" || combined.GetTotalCount() != 2 {
		t.Fatalf("combined: %v state %q total %d", err, combined.GetState(), combined.GetTotalCount())
	}
	if _, resp, _ := gh.Repositories.CreateStatus(ctx, "medimind", "policies", sha, &github.RepoStatus{State: github.String("success"), Description: github.String(strings.Repeat("d", 141))}); status(resp) != http.StatusUnprocessableEntity {
		t.Errorf("long description: status %d, want 422", status(resp))
	}
	if got := s.Statuses(); len(got) != 3 {
		t.Errorf("Statuses() = %d", len(got))
	}
}
