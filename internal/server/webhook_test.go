package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/manager"

	"github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/testutil/githubfake"
	"github.com/medimind/modelops/internal/testutil/gitserver"
)

// sign computes what GitHub puts in X-Hub-Signature-256 (the test's own HMAC, independent
// of the library the server verifies with).
func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

type webhookFixture struct {
	c        *client
	triggers atomic.Int64
	logs     *syncBuffer
}

func newWebhook(t *testing.T, opts ...Option) *webhookFixture {
	t.Helper()
	f := &webhookFixture{logs: &syncBuffer{}}
	opts = append([]Option{
		WithGitHubWebhook([]byte(testSecret), func() { f.triggers.Add(1) }),
		WithLogger(slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}, opts...)
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.c = newClient(t, s)
	return f
}

// deliver posts a signed JSON delivery.
func (f *webhookFixture) deliver(event, delivery, body string) response {
	return f.c.do("POST", "/webhooks/github", body,
		"Content-Type", "application/json", "X-GitHub-Event", event, "X-GitHub-Delivery", delivery,
		"X-Hub-Signature-256", sign(testSecret, body))
}

func deliveryOf(t *testing.T, r response) webhookResponse {
	t.Helper()
	var d webhookResponse
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("delivery answer %q: %v", r.body, err)
	}
	return d
}

func TestWebhookAcceptsEventsThatChangeWhatTheReconcilerSees(t *testing.T) {
	for _, tc := range []struct {
		name    string
		event   string
		body    string
		status  string
		trigger bool
	}{
		{"ping", "ping", `{"zen":"Keep it logically awesome.","hook_id":1}`, "accepted", true},
		{"push", "push", `{"ref":"refs/heads/main","after":"4f2a9c1"}`, "accepted", true},
		{"merged pull request", "pull_request", `{"action":"closed","number":4,"pull_request":{"merged":true}}`, "accepted", true},
		{"pull request closed unmerged", "pull_request", `{"action":"closed","number":4,"pull_request":{"merged":false}}`, "accepted", true},
		{"pull request opened", "pull_request", `{"action":"opened","number":5,"pull_request":{}}`, "ignored", false},
		{"issue comment", "issue_comment", `{"action":"created"}`, "ignored", false},
		{"a modelops check re-run", "check_run", `{"action":"rerequested","check_run":{"name":"modelops/drift: sepsis-risk"}}`, "accepted", true},
		{"another check re-run", "check_run", `{"action":"rerequested","check_run":{"name":"ci/build"}}`, "ignored", false},
		{"a check run completed", "check_run", `{"action":"completed","check_run":{"name":"modelops/drift: sepsis-risk"}}`, "ignored", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newWebhook(t)
			r := f.deliver(tc.event, "d-"+tc.name, tc.body)
			d := deliveryOf(t, r)
			if r.status != http.StatusAccepted || d.Status != tc.status || d.Event != tc.event {
				t.Errorf("got %d %+v, want 202 %s", r.status, d, tc.status)
			}
			if got := f.triggers.Load() == 1; got != tc.trigger {
				t.Errorf("reconcile requested %d times, want trigger=%v", f.triggers.Load(), tc.trigger)
			}
		})
	}
}

func TestWebhookRefusesUnsignedDeliveries(t *testing.T) {
	body := `{"ref":"refs/heads/main"}`
	sha1mac := hmac.New(sha1.New, []byte(testSecret))
	sha1mac.Write([]byte(body))
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"no signature", nil},
		{"wrong secret", []string{"X-Hub-Signature-256", sign("guess", body)}},
		{"signature of another body", []string{"X-Hub-Signature-256", sign(testSecret, body+" ")}},
		{"not hex", []string{"X-Hub-Signature-256", "sha256=zz"}},
		{"only the SHA-1 signature", []string{"X-Hub-Signature", "sha1=" + hex.EncodeToString(sha1mac.Sum(nil))}},
		{"SHA-1 in the SHA-256 header", []string{"X-Hub-Signature-256", "sha1=" + hex.EncodeToString(sha1mac.Sum(nil))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newWebhook(t)
			h := append([]string{"Content-Type", "application/json", "X-GitHub-Event", "push", "X-GitHub-Delivery", "d1"}, tc.headers...)
			r := f.c.do("POST", "/webhooks/github", body, h...)
			if r.status != http.StatusUnauthorized || errorOf(t, r).Code != CodeUnauthorized {
				t.Errorf("got %d %s, want 401", r.status, r.body)
			}
			if f.triggers.Load() != 0 {
				t.Errorf("an unsigned delivery requested a reconcile")
			}
			// Nothing was processed: not even its delivery ID was remembered.
			if r := f.deliver("push", "d1", body); deliveryOf(t, r).Status != "accepted" {
				t.Errorf("the signed delivery after a refused one with the same ID: %s", r.body)
			}
		})
	}
}

func TestWebhookDropsRedeliveriesWithBoundedMemory(t *testing.T) {
	f := newWebhook(t, WithDeliveryMemory(2))
	body := `{"ref":"refs/heads/main"}`
	for _, step := range []struct {
		id, want string
	}{
		{"a", "accepted"},
		{"a", "duplicate"},
		{"b", "accepted"},
		{"c", "accepted"}, // forgets a
		{"b", "duplicate"},
		{"a", "accepted"},
	} {
		r := f.deliver("push", step.id, body)
		if d := deliveryOf(t, r); d.Status != step.want {
			t.Errorf("delivery %s: %s, want %s", step.id, d.Status, step.want)
		}
	}
	if f.triggers.Load() != 4 {
		t.Errorf("reconcile requested %d times, want 4 (one per new delivery)", f.triggers.Load())
	}
}

func TestWebhookReadsFormEncodedDeliveries(t *testing.T) {
	f := newWebhook(t)
	body := url.Values{"payload": {`{"action":"closed","pull_request":{"merged":true}}`}}.Encode()
	r := f.c.do("POST", "/webhooks/github", body, "Content-Type", "application/x-www-form-urlencoded",
		"X-GitHub-Event", "pull_request", "X-GitHub-Delivery", "f1", "X-Hub-Signature-256", sign(testSecret, body))
	if d := deliveryOf(t, r); r.status != http.StatusAccepted || d.Status != "accepted" || f.triggers.Load() != 1 {
		t.Errorf("got %d %+v, %d reconciles", r.status, d, f.triggers.Load())
	}
}

func TestWebhookRefusesOtherContentTypes(t *testing.T) {
	f := newWebhook(t)
	r := f.c.do("POST", "/webhooks/github", "ref=main", "Content-Type", "text/plain", "X-GitHub-Event", "push",
		"X-Hub-Signature-256", sign(testSecret, "ref=main"))
	if r.status != http.StatusUnsupportedMediaType || f.triggers.Load() != 0 {
		t.Errorf("got %d %s", r.status, r.body)
	}
}

func TestNudgeCoalescesEventsWhileACycleRuns(t *testing.T) {
	// The run loop's Nudge, as modelops run passes it.
	trigger := make(chan struct{}, 1)
	m, err := manager.New(manager.Options{Cycle: func(context.Context) error { return nil }, Interval: time.Hour, Wake: trigger})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(WithGitHubWebhook([]byte(testSecret), m.Nudge))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	body := `{"ref":"refs/heads/main"}`
	// A cycle is running (nobody reads trigger): ten deliveries must neither block nor queue
	// ten cycles.
	for i := range 10 {
		r := c.do("POST", "/webhooks/github", body, "Content-Type", "application/json", "X-GitHub-Event", "push",
			"X-GitHub-Delivery", strings.Repeat("x", i+1), "X-Hub-Signature-256", sign(testSecret, body))
		if r.status != http.StatusAccepted {
			t.Fatalf("delivery %d: %d", i, r.status)
		}
	}
	if len(trigger) != 1 {
		t.Fatalf("%d cycles pending, want exactly one", len(trigger))
	}
	<-trigger // the loop starts the next cycle
	r := c.do("POST", "/webhooks/github", body, "Content-Type", "application/json", "X-GitHub-Event", "push",
		"X-GitHub-Delivery", "later", "X-Hub-Signature-256", sign(testSecret, body))
	if r.status != http.StatusAccepted || len(trigger) != 1 {
		t.Errorf("an event during the next cycle: %d, %d pending", r.status, len(trigger))
	}
}

// A person pressing "Re-run" on one of modelops' check runs: GitHub delivers check_run
// "rerequested" to the App; the hook gets the check's model and a cycle is requested.
func TestWebhookRerunsTheModelOfARerequestedCheckRun(t *testing.T) {
	var reruns []string
	f := newWebhook(t, WithCheckRerun(func(model string) { reruns = append(reruns, model) }))
	fake := githubfake.New(t, githubfake.WithWebhook(f.c.srv.URL+"/webhooks/github", testSecret))
	fake.Seed(t, "main", "../testutil/githubfake/testdata/seed")
	gh := fake.Client(githubfake.InstallationToken)
	sha := strings.TrimSpace(gitserver.MustGit(t, fake.GitDir(), "rev-parse", "refs/heads/main"))
	for _, name := range []string{"modelops/drift: sepsis-risk", "ci/build"} {
		run, _, err := gh.Checks.CreateCheckRun(t.Context(), fake.Owner(), fake.Repo(), github.CreateCheckRunOptions{Name: name, HeadSHA: sha, Conclusion: github.String("failure")})
		if err != nil {
			t.Fatal(err)
		}
		if err := fake.RerequestCheckRun(run.GetID(), "ana-reviewer"); err != nil {
			t.Fatal(err)
		}
	}
	fake.WaitWebhooks()
	if fmt.Sprint(reruns) != "[sepsis-risk]" || f.triggers.Load() != 1 {
		t.Errorf("reruns %v, %d cycles requested; want [sepsis-risk] and 1", reruns, f.triggers.Load())
	}
	if d := fake.Deliveries(); len(d) != 2 || d[0].Status != http.StatusAccepted || d[1].Status != http.StatusAccepted {
		t.Errorf("deliveries %+v", d)
	}
}
