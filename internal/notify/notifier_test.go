package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// secretPath stands for the token a Slack webhook URL carries.
const secretPath = "/services/T0001/B0001/s3cr3tT0k3nXYZ"

func sampleEvent() Event {
	return Event{
		Kind:  KindRollback,
		Model: "sepsis-risk",
		Title: "Canary 13 rolled back",
		Text:  "AUC of version 13 fell 0.031 below production <!channel> & stayed there for 2 checks.",
		URL:   "https://github.example/medimind/models/commit/4f2a9c1?a=1&b=2",
		At:    time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Fields: []Field{
			{Name: "Canary", Value: "13"},
			{Name: "Production", Value: "12"},
			{Name: "AUC drop", Value: "0.031 (max 0.02)"},
		},
	}
}

// recorder is an endpoint that answers with the status codes of plan in turn (200 once
// plan is used up) and records every request body.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
	types  []string
	times  []time.Time
	plan   []func(w http.ResponseWriter)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, b)
	rc.types = append(rc.types, r.Header.Get("Content-Type"))
	rc.times = append(rc.times, time.Now())
	var answer func(http.ResponseWriter)
	if len(rc.plan) > 0 {
		answer, rc.plan = rc.plan[0], rc.plan[1:]
	}
	rc.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (rc *recorder) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}

func closeNow(t *testing.T, n *Notifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func fast() []Option {
	return []Option{WithBackoff(time.Millisecond, 5*time.Millisecond), WithTimeout(5 * time.Second)}
}

func TestNotifyDeliversEachSinkItsPayload(t *testing.T) {
	hook, slack := &recorder{}, &recorder{}
	hookSrv, slackSrv := httptest.NewServer(hook), httptest.NewServer(slack)
	defer hookSrv.Close()
	defer slackSrv.Close()
	n, err := New([]Sink{Webhook("ops", hookSrv.URL+"/hook"), Slack("team", slackSrv.URL+secretPath)}, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	e := sampleEvent()
	n.Notify(e)
	closeNow(t, n)

	if hook.requests() != 1 || slack.requests() != 1 {
		t.Fatalf("requests: webhook %d, slack %d; want 1 each", hook.requests(), slack.requests())
	}
	var got Event
	if err := json.Unmarshal(hook.bodies[0], &got); err != nil {
		t.Fatalf("webhook body is not an Event: %v", err)
	}
	if got.Kind != e.Kind || got.Model != e.Model || got.URL != e.URL || !got.At.Equal(e.At) || len(got.Fields) != 3 {
		t.Errorf("webhook got %+v, want %+v", got, e)
	}
	var msg slackMessage
	if err := json.Unmarshal(slack.bodies[0], &msg); err != nil {
		t.Fatalf("slack body: %v", err)
	}
	if msg.Text == "" || len(msg.Blocks) == 0 {
		t.Errorf("slack message lacks text or blocks: %s", slack.bodies[0])
	}
	for _, ct := range append(hook.types, slack.types...) {
		if ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
	}
	for name, st := range n.Stats() {
		if st.Delivered != 1 || st.Failed != 0 || st.Dropped != 0 {
			t.Errorf("%s stats %+v, want one delivered", name, st)
		}
	}
}

func TestPayloadsMatchGoldenFiles(t *testing.T) {
	for _, tc := range []struct {
		file   string
		encode Encoder
	}{
		{"webhook.golden.json", WebhookPayload},
		{"slack.golden.json", SlackPayload},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := tc.encode(sampleEvent())
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, b, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("payload differs from %s (run with -update if the change is meant):\n%s", path, pretty.Bytes())
			}
		})
	}
}

func TestSlackPayloadKeepsToBlockKitLimits(t *testing.T) {
	e := sampleEvent()
	e.Title = strings.Repeat("t", 400)
	e.Text = strings.Repeat("<&>", 2000)
	e.Fields = nil
	for i := range 14 {
		e.Fields = append(e.Fields, Field{Name: "f", Value: strings.Repeat("v", 3000+i)})
	}
	b, err := SlackPayload(e)
	if err != nil {
		t.Fatal(err)
	}
	var msg slackMessage
	if err := json.Unmarshal(b, &msg); err != nil {
		t.Fatal(err)
	}
	runes := func(s string) int { return len([]rune(s)) }
	for _, bl := range msg.Blocks {
		switch bl.Type {
		case "header":
			if bl.Text.Type != "plain_text" || runes(bl.Text.Text) > slackHeaderMax {
				t.Errorf("header %q: %d characters, type %s", bl.Text.Text[:20], runes(bl.Text.Text), bl.Text.Type)
			}
		case "section":
			if bl.Text != nil {
				if runes(bl.Text.Text) > slackSectionMax || bl.Text.Type != "mrkdwn" {
					t.Errorf("section text: %d characters, type %s", runes(bl.Text.Text), bl.Text.Type)
				}
				if strings.ContainsAny(strings.ReplaceAll(bl.Text.Text, "<https://", ""), "<") {
					t.Errorf("section text has an unescaped '<'")
				}
				if i := strings.LastIndex(bl.Text.Text, "&"); strings.HasSuffix(bl.Text.Text, "…") && i > len(bl.Text.Text)-6 && !strings.Contains(bl.Text.Text[i:], ";") {
					t.Errorf("truncation split an escape: %q", bl.Text.Text[len(bl.Text.Text)-12:])
				}
			}
			if len(bl.Fields) > slackFieldsMax {
				t.Errorf("%d fields, Slack allows %d", len(bl.Fields), slackFieldsMax)
			}
			for _, f := range bl.Fields {
				if runes(f.Text) > slackFieldMax {
					t.Errorf("field of %d characters", runes(f.Text))
				}
			}
			if len(bl.Fields) > 0 && !strings.Contains(bl.Fields[len(bl.Fields)-1].Text, "6 more fields") {
				t.Errorf("last field %q does not say how many were left out", bl.Fields[len(bl.Fields)-1].Text)
			}
		}
	}
}

func TestNotifyRetriesAfterServerErrors(t *testing.T) {
	rc := &recorder{plan: []func(http.ResponseWriter){status(500), status(503)}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n, err := New([]Sink{Webhook("ops", srv.URL)}, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(sampleEvent())
	closeNow(t, n)
	if rc.requests() != 3 {
		t.Errorf("%d requests, want 3 (500, 503, then 200)", rc.requests())
	}
	if st := n.Stats()["ops"]; st.Delivered != 1 || st.Failed != 0 {
		t.Errorf("stats %+v, want delivered after retries", st)
	}
	if !bytes.Equal(rc.bodies[0], rc.bodies[2]) {
		t.Errorf("a retry sent a different body")
	}
}

func TestNotifyWaitsAsRetryAfterAsks(t *testing.T) {
	rc := &recorder{plan: []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	// The backoff alone would wait at most 5ms: a gap of a second can only come from Retry-After.
	n, err := New([]Sink{Webhook("ops", srv.URL)}, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(sampleEvent())
	closeNow(t, n)
	if rc.requests() != 2 {
		t.Fatalf("%d requests, want 2", rc.requests())
	}
	if gap := rc.times[1].Sub(rc.times[0]); gap < 900*time.Millisecond {
		t.Errorf("retried after %v, want about the 1s Retry-After asked for", gap)
	}
	if st := n.Stats()["ops"]; st.Delivered != 1 {
		t.Errorf("stats %+v, want delivered", st)
	}
}

func TestNotifyGivesUpAfterMaxAttemptsWithoutLoggingTheURL(t *testing.T) {
	var always500 []func(http.ResponseWriter)
	for range 10 {
		always500 = append(always500, status(500))
	}
	rc := &recorder{plan: always500}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var logs bytes.Buffer
	n, err := New([]Sink{Slack("team", srv.URL+secretPath)},
		append(fast(), WithMaxAttempts(3), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))...)
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(sampleEvent())
	closeNow(t, n)
	if rc.requests() != 3 {
		t.Errorf("%d requests, want exactly 3 attempts", rc.requests())
	}
	if st := n.Stats()["team"]; st.Failed != 1 || st.Delivered != 0 {
		t.Errorf("stats %+v, want one failed", st)
	}
	if !strings.Contains(logs.String(), "notification not delivered") || !strings.Contains(logs.String(), "attempts=3") {
		t.Errorf("give-up not logged with its attempts: %s", logs.String())
	}
	if strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("log reveals the webhook URL: %s", logs.String())
	}
}

func TestNotifyDoesNotRetryARejectedPayload(t *testing.T) {
	rc := &recorder{plan: []func(http.ResponseWriter){status(http.StatusBadRequest)}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n, err := New([]Sink{Slack("team", srv.URL)}, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(sampleEvent())
	closeNow(t, n)
	if rc.requests() != 1 {
		t.Errorf("%d requests, want 1: a 400 is not retried", rc.requests())
	}
	if st := n.Stats()["team"]; st.Failed != 1 {
		t.Errorf("stats %+v, want one failed", st)
	}
}

func TestUnreachableEndpointErrorHidesTheURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + secretPath
	srv.Close() // nothing listens there any more
	var logs bytes.Buffer
	n, err := New([]Sink{Slack("team", url)},
		append(fast(), WithMaxAttempts(2), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))...)
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(sampleEvent())
	closeNow(t, n)
	if st := n.Stats()["team"]; st.Failed != 1 {
		t.Fatalf("stats %+v, want one failed", st)
	}
	if !strings.Contains(logs.String(), "post to team") {
		t.Errorf("failure not logged with the sink name: %s", logs.String())
	}
	if strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("log reveals the webhook URL: %s", logs.String())
	}
}

func TestNewRejectsBadSinksWithoutQuotingTheURL(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sinks []Sink
		want  string
	}{
		{"relative URL", []Sink{Slack("team", "hooks.example/services/s3cr3t")}, `sink "team": url is not an absolute http or https URL`},
		{"other scheme", []Sink{Webhook("ops", "ftp://h/s3cr3t")}, `sink "ops": url is not`},
		{"duplicate name", []Sink{Webhook("ops", "http://a/s3cr3t"), Webhook("ops", "http://b/")}, `sink "ops": name used twice`},
		{"no name", []Sink{Webhook("", "http://a/")}, "sink 0: name is empty"},
		{"no encoder", []Sink{{Name: "x", URL: "http://a/"}}, `sink "x": no encoder`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.sinks)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error reveals the URL: %v", err)
			}
		})
	}
}

// hanging is an endpoint that holds every request until release is closed (or the client
// gives up), reporting each arrival on arrived.
type hanging struct {
	arrived chan Event
	release chan struct{}
}

func newHanging() *hanging {
	return &hanging{arrived: make(chan Event, 100), release: make(chan struct{})}
}

func (h *hanging) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e Event
	_ = json.NewDecoder(r.Body).Decode(&e)
	h.arrived <- e
	select {
	case <-h.release:
	case <-r.Context().Done():
	}
}

func TestNotifyNeverBlocksAndDropsTheOldest(t *testing.T) {
	h := newHanging()
	srv := httptest.NewServer(h)
	defer srv.Close()
	n, err := New([]Sink{Webhook("ops", srv.URL)}, append(fast(), WithQueueSize(3))...)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(i int) Event { e := sampleEvent(); e.Title = string(rune('a' + i)); return e }
	n.Notify(ev(0))
	<-h.arrived // event 0 is in flight and its endpoint hangs

	// Each Notify returns at once although nothing can be delivered: this loop finishing is
	// the assertion (a blocking Notify would hang the test).
	for i := 1; i <= 10; i++ {
		n.Notify(ev(i))
	}
	st := n.Stats()["ops"]
	if st.Queued != 3 || st.Dropped != 7 {
		t.Fatalf("stats %+v, want 3 queued and 7 dropped", st)
	}
	close(h.release)
	closeNow(t, n)
	var got []string
	got = append(got, "a")
	for range 3 {
		got = append(got, (<-h.arrived).Title)
	}
	if strings.Join(got, "") != "aijk" {
		t.Errorf("delivered %v, want the in-flight event then the 3 newest (a i j k)", got)
	}
	if st := n.Stats()["ops"]; st.Delivered != 4 || st.Dropped != 7 {
		t.Errorf("final stats %+v, want 4 delivered, 7 dropped", st)
	}
}

func TestCloseDrainsTheQueue(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n, err := New([]Sink{Webhook("ops", srv.URL), Slack("team", srv.URL)}, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		n.Notify(sampleEvent())
	}
	closeNow(t, n)
	if rc.requests() != 40 {
		t.Errorf("%d requests after Close, want all 40 delivered", rc.requests())
	}
	n.Notify(sampleEvent())
	if st := n.Stats()["ops"]; st.Delivered != 20 || st.Dropped != 1 {
		t.Errorf("stats %+v, want 20 delivered and the event sent after Close dropped", st)
	}
}

func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	h := newHanging()
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(h.release)
	n, err := New([]Sink{Webhook("ops", srv.URL)}, append(fast(), WithTimeout(time.Hour))...)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		n.Notify(sampleEvent())
	}
	<-h.arrived
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = n.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "4 events undelivered") {
		t.Fatalf("Close = %v, want the deadline and 4 undelivered events", err)
	}
	if st := n.Stats()["ops"]; st.Dropped != 4 || st.Failed != 1 || st.Queued != 0 {
		t.Errorf("stats %+v, want the in-flight one failed and 4 dropped", st)
	}
}

func TestNotifyStampsEventsWithoutATime(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n, err := New([]Sink{Webhook("ops", srv.URL)}, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	e := sampleEvent()
	e.At = time.Time{}
	n.Notify(e)
	closeNow(t, n)
	var got Event
	if err := json.Unmarshal(rc.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	if got.At.Before(before.Add(-time.Second)) || got.At.After(time.Now()) {
		t.Errorf("at = %v, want the time of Notify", got.At)
	}
}
