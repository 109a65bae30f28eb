package githubfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// receiver is a webhook endpoint that checks signatures with go-github's
// ValidatePayload, as the reconciler's HTTP server will.
type receiver struct {
	secret string
	mu     sync.Mutex
	events []any
	heads  []http.Header
	bodies [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := github.ValidatePayload(r, []byte(rc.secret))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	ev, err := github.ParseWebHook(github.WebHookType(r), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.events = append(rc.events, ev)
	rc.heads = append(rc.heads, r.Header.Clone())
	rc.bodies = append(rc.bodies, body)
	w.WriteHeader(http.StatusNoContent)
}

func TestDeliverSignsLikeGitHub(t *testing.T) {
	rc := &receiver{secret: "s3cret"}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := seeded(t)
	pushBranch(t, s, "feature", "f.txt", "f\n")
	if _, _, err := s.Client(InstallationToken).PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	payload, err := s.PullRequestEvent("opened", 1)
	if err != nil {
		t.Fatal(err)
	}
	code, err := s.Deliver(hook.URL, "s3cret", "pull_request", payload)
	if err != nil || code != http.StatusNoContent {
		t.Fatalf("deliver: %v status %d", err, code)
	}
	if code, _ := s.Deliver(hook.URL, "wrong", "pull_request", payload); code != http.StatusUnauthorized {
		t.Errorf("delivery signed with another secret: receiver answered %d, want 401", code)
	}
	if len(rc.events) != 1 {
		t.Fatalf("receiver accepted %d events", len(rc.events))
	}
	ev, ok := rc.events[0].(*github.PullRequestEvent)
	if !ok || ev.GetAction() != "opened" || ev.GetNumber() != 1 || ev.GetPullRequest().GetHead().GetRef() != "feature" || ev.GetRepo().GetFullName() != "medimind/policies" {
		t.Fatalf("event %T %+v", rc.events[0], rc.events[0])
	}
	h := rc.heads[0]
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(rc.bodies[0])
	if h.Get("X-Hub-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("X-Hub-Signature-256 %q", h.Get("X-Hub-Signature-256"))
	}
	if h.Get("X-GitHub-Event") != "pull_request" || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(h.Get("X-GitHub-Delivery")) {
		t.Errorf("headers %v", h)
	}
}

func TestMergeDeliversClosedAndPushEvents(t *testing.T) {
	rc := &receiver{secret: "hook"}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := seeded(t, WithWebhook(hook.URL, "hook"))
	gh := s.Client(InstallationToken)
	before := gitOut(t, s, "rev-parse", "main")
	pushBranch(t, s, "modelops/sepsis-risk/retrain", "f.txt", "f\n")
	if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("modelops/sepsis-risk/retrain"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	res, _, err := gh.PullRequests.Merge(ctx, "medimind", "policies", 1, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.WaitWebhooks()

	// The git push of the branch, then the API's own events.
	if len(rc.events) != 4 {
		t.Fatalf("received %d events, want push, opened, closed, push", len(rc.events))
	}
	_, ok0 := rc.events[0].(*github.PushEvent)
	opened, ok1 := rc.events[1].(*github.PullRequestEvent)
	closed, ok2 := rc.events[2].(*github.PullRequestEvent)
	push, ok3 := rc.events[3].(*github.PushEvent)
	if !ok0 || !ok1 || !ok2 || !ok3 {
		t.Fatalf("events %T %T %T %T", rc.events[0], rc.events[1], rc.events[2], rc.events[3])
	}
	if opened.GetAction() != "opened" || closed.GetAction() != "closed" || !closed.GetPullRequest().GetMerged() ||
		closed.GetPullRequest().GetMergeCommitSHA() != res.GetSHA() {
		t.Errorf("pull_request events: %q, %q merged %v sha %s", opened.GetAction(), closed.GetAction(), closed.GetPullRequest().GetMerged(), closed.GetPullRequest().GetMergeCommitSHA())
	}
	if push.GetRef() != "refs/heads/main" || push.GetBefore() != before || push.GetAfter() != res.GetSHA() || push.GetHeadCommit().GetID() != res.GetSHA() {
		t.Errorf("push event ref %s %s..%s", push.GetRef(), push.GetBefore(), push.GetAfter())
	}
	for _, d := range s.Deliveries() {
		if d.Err != nil || d.Status != http.StatusNoContent || d.ID == "" {
			t.Errorf("delivery %+v", d)
		}
	}
}

func TestDeliverValidatesPayload(t *testing.T) {
	rc := &receiver{secret: "s"}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	rec := &recordingTB{TB: t}
	s := New(rec)
	s.Seed(t, "main", "testdata/seed")
	if _, err := s.Deliver(hook.URL, "s", "pull_request", map[string]any{"action": "closed", "number": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(hook.URL, "s", "deployment", map[string]any{"action": "created"}); err != nil {
		t.Fatal(err)
	}
	errs := rec.Errors()
	if len(errs) != 2 || !strings.Contains(errs[0], `pull-request-closed payload does not match`) || !strings.Contains(errs[0], `property "pull_request" is missing`) ||
		!strings.Contains(errs[1], "webhook deployment-created is not in the subset") {
		t.Fatalf("reported %q", errs)
	}
	main := gitOut(t, s, "rev-parse", "main")
	if _, err := s.Deliver(hook.URL, "s", "push", s.PushEvent("refs/heads/main", zeroSHA, main, "medimind-dev")); err != nil {
		t.Fatal(err)
	}
	if errs := rec.Errors(); len(errs) != 2 {
		t.Fatalf("a well-formed push event was reported: %q", errs[2:])
	}
	if len(rc.events) != 3 {
		t.Fatalf("receiver got %d events", len(rc.events))
	}
	if push := rc.events[2].(*github.PushEvent); len(push.HeadCommit.Added) != 2 || !push.GetCreated() {
		t.Errorf("push of the seed commit: added %v created %v", push.HeadCommit.Added, push.GetCreated())
	}
}

func TestAutomaticPullRequestEventsMatchTheDescription(t *testing.T) {
	rc := &receiver{secret: "hook"}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := seeded(t, WithWebhook(hook.URL, "hook"))
	gh := s.Client(InstallationToken)
	pushBranch(t, s, "feature", "f.txt", "f\n")
	if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.PullRequests.Edit(ctx, "medimind", "policies", 1, &github.PullRequest{Title: github.String("t2"), Body: github.String("b")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "medimind", "policies", 1, []string{"modelops"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.PullRequests.Edit(ctx, "medimind", "policies", 1, &github.PullRequest{State: github.String("closed")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.PullRequests.Edit(ctx, "medimind", "policies", 1, &github.PullRequest{State: github.String("open")}); err != nil {
		t.Fatal(err)
	}
	s.WaitWebhooks()
	var got []string
	for _, ev := range rc.events {
		pe, ok := ev.(*github.PullRequestEvent)
		if !ok {
			continue // the push of the branch
		}
		got = append(got, pe.GetAction())
		if pe.GetAction() == "edited" && pe.GetChanges().GetTitle().GetFrom() != "t" {
			t.Errorf("edited event changes %+v, want title from %q", pe.GetChanges(), "t")
		}
		if pe.GetAction() == "labeled" && pe.GetLabel().GetName() != "modelops" {
			t.Errorf("labeled event label %+v", pe.GetLabel())
		}
	}
	if strings.Join(got, ",") != "opened,edited,labeled,closed,reopened" {
		t.Errorf("actions %v", got)
	}
}

func TestGitPushDeliversPushAndSynchronize(t *testing.T) {
	rc := &receiver{secret: "hook"}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := seeded(t, WithWebhook(hook.URL, "hook"))
	gh := s.Client(InstallationToken)
	first := pushBranch(t, s, "feature", "f.txt", "f\n")
	if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	// A second push to the head branch.
	dir := t.TempDir()
	gitserver.MustGit(t, dir, "clone", "-q", "-b", "feature", s.GitURL(), "w")
	gitserver.MustGit(t, dir+"/w", "commit", "-q", "--allow-empty", "-m", "more")
	gitserver.MustGit(t, dir+"/w", "push", "-q", "origin", "feature")
	second := strings.TrimSpace(gitserver.MustGit(t, dir+"/w", "rev-parse", "HEAD"))
	s.WaitWebhooks()

	var got []string
	for _, ev := range rc.events {
		switch e := ev.(type) {
		case *github.PushEvent:
			got = append(got, "push "+e.GetRef()+" "+e.GetAfter())
		case *github.PullRequestEvent:
			got = append(got, "pull_request "+e.GetAction()+" "+e.GetAfter())
		}
	}
	want := []string{"push refs/heads/feature " + first, "pull_request opened ", "push refs/heads/feature " + second, "pull_request synchronize " + second}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRerequestingACheckRunDeliversCheckRunRerequested(t *testing.T) {
	rc := &receiver{secret: "hook"}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := seeded(t, WithWebhook(hook.URL, "hook"))
	sha := gitOut(t, s, "rev-parse", "refs/heads/main")
	run, _, err := s.Client(InstallationToken).Checks.CreateCheckRun(ctx, "medimind", "policies", github.CreateCheckRunOptions{
		Name: "modelops/drift: sepsis-risk", HeadSHA: sha, Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("Drift"), Summary: github.String("3 of 10 columns")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RerequestCheckRun(run.GetID(), "ana-reviewer"); err != nil {
		t.Fatal(err)
	}
	s.WaitWebhooks()
	if d := s.Deliveries(); len(d) != 1 || d[0].Event != "check_run" || d[0].Status != http.StatusNoContent || d[0].Err != nil {
		t.Fatalf("deliveries %+v", d)
	}
	ev, ok := rc.events[0].(*github.CheckRunEvent)
	if !ok || ev.GetAction() != "rerequested" || ev.GetCheckRun().GetName() != "modelops/drift: sepsis-risk" || ev.GetSender().GetLogin() != "ana-reviewer" {
		t.Errorf("event %+v", rc.events[0])
	}
	if err := s.RerequestCheckRun(1, "ana-reviewer"); err == nil {
		t.Error("re-running an unknown check run: no error")
	}
}
