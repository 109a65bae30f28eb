package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose Sleep returns at once, moving the time on by what was asked.
type fakeClock struct {
	mu    sync.Mutex // guards now and slept
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// script is an httptest server answering each request with the next of answers (the last
// one repeats), recording what it received.
type script struct {
	srv *httptest.Server

	mu       sync.Mutex // guards the fields below
	answers  []func(w http.ResponseWriter, r *http.Request)
	received []*http.Request
	bodies   []string
}

func newScript(t *testing.T, answers ...func(w http.ResponseWriter, r *http.Request)) *script {
	s := &script{answers: answers}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		i := min(len(s.received), len(s.answers)-1)
		s.received = append(s.received, r)
		s.bodies = append(s.bodies, string(b))
		answer := s.answers[i]
		s.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

func answer(code int, header ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"message":"answer %d"}`, code)
	}
}

func answerBody(code int, text string, header ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, text)
	}
}

func do(t *testing.T, c *http.Client, method, url, payload string) (*http.Response, string, error) {
	t.Helper()
	var rd io.Reader
	if payload != "" {
		rd = strings.NewReader(payload)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b), nil
}

// newTestTransport has no jitter and no spacing of writes, so that the waits a test sees
// are those it is about.
func newTestTransport(clock *fakeClock) *Transport {
	return NewTransport(http.DefaultTransport, TransportOptions{Clock: clock, Jitter: func() float64 { return 0 }, WriteSpacing: -1})
}

func TestConditionalRequestsServeTheCachedBodyOn304(t *testing.T) {
	version := "v1"
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		etag := `"` + version + `"`
		w.Header().Set("X-RateLimit-Remaining", "4999")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		fmt.Fprintf(w, `[{"body":%q}]`, version)
	}))
	defer srv.Close()
	tr := newTestTransport(newFakeClock())
	c := &http.Client{Transport: tr}

	for i, want := range []string{"v1", "v1", "v1"} {
		resp, got, err := do(t, c, "GET", srv.URL+"/repos/o/r/pulls", "")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !strings.Contains(got, want) {
			t.Fatalf("GET %d = %d %s, want 200 with %s", i, resp.StatusCode, got, want)
		}
		if resp.Header.Get("X-Ratelimit-Remaining") != "" {
			t.Error("the primary limit's headers reached the client")
		}
		if cached := resp.Header.Get("X-From-Cache") == "1"; cached != (i > 0) {
			t.Errorf("GET %d: X-From-Cache = %v", i, cached)
		}
	}
	if s := tr.Stats(); s.Requests != 3 || s.NotModified != 2 || s.Counted() != 1 {
		t.Errorf("stats = %+v, want 3 requests of which 2 not modified", s)
	}
	mu.Lock()
	version = "v2"
	mu.Unlock()
	if _, got, _ := do(t, c, "GET", srv.URL+"/repos/o/r/pulls", ""); !strings.Contains(got, "v2") {
		t.Errorf("after a change GET = %s, want v2", got)
	}
	// Writes are never cached.
	do(t, c, "POST", srv.URL+"/repos/o/r/pulls", "{}")
	do(t, c, "POST", srv.URL+"/repos/o/r/pulls", "{}")
	if s := tr.Stats(); s.NotModified != 2 || s.Writes != 2 {
		t.Errorf("stats after writes = %+v", s)
	}
}

func TestServerErrorsAreRetriedWithBackoffAndTheBodySentAgain(t *testing.T) {
	for _, tc := range []struct {
		name, method string
		idempotent   bool
	}{{"PUT", "PUT", false}, {"a POST marked idempotent", "POST", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(t, answer(500), answer(502), answer(200))
			clock := newFakeClock()
			c := &http.Client{Transport: newTestTransport(clock)}
			req, err := http.NewRequest(tc.method, s.srv.URL+"/repos/o/r/issues/1/labels", strings.NewReader(`{"labels":["a"]}`))
			if err != nil {
				t.Fatal(err)
			}
			if tc.idempotent {
				req = req.WithContext(idempotentWrite(req.Context()))
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || s.count() != 3 {
				t.Fatalf("status %d after %d requests, want 200 after 3", resp.StatusCode, s.count())
			}
			for i, b := range s.bodies {
				if b != `{"labels":["a"]}` {
					t.Errorf("attempt %d sent %q", i, b)
				}
			}
			// Jitter 0: half of 1s, then half of 2s.
			if got := clock.sleeps(); len(got) != 2 || got[0] != 500*time.Millisecond || got[1] != time.Second {
				t.Errorf("waits = %v, want [500ms 1s]", got)
			}
		})
	}
}

// A POST or PATCH answered 5xx may have taken effect (GitHub's front end gave up on a
// backend that finished): it is handed back to the caller, who looks before writing again.
func TestANonIdempotentWriteIsNotSentAgainAfterA5xx(t *testing.T) {
	for _, method := range []string{"POST", "PATCH"} {
		s := newScript(t, answer(502), answer(200))
		c := &http.Client{Transport: newTestTransport(newFakeClock())}
		resp, _, err := do(t, c, method, s.srv.URL+"/repos/o/r/issues/1/comments", `{"body":"hello"}`)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 502 || s.count() != 1 {
			t.Errorf("%s: status %d after %d requests, want 502 after 1", method, resp.StatusCode, s.count())
		}
	}
}

func TestWritesAreSpacedAtLeastASecondApart(t *testing.T) {
	for _, tc := range []struct {
		spacing time.Duration
		want    string
	}{{0, "[1s 1s]"}, {250 * time.Millisecond, "[250ms 250ms]"}, {-1, "[]"}} {
		s := newScript(t, answer(201))
		clock := newFakeClock()
		c := &http.Client{Transport: NewTransport(http.DefaultTransport, TransportOptions{Clock: clock, WriteSpacing: tc.spacing})}
		for range 3 {
			do(t, c, "POST", s.srv.URL+"/repos/o/r/issues/1/comments", `{"body":"hello"}`)
		}
		do(t, c, "GET", s.srv.URL+"/repos/o/r/issues/1/comments", "")
		if got := fmt.Sprint(clock.sleeps()); got != tc.want {
			t.Errorf("spacing %v: waits %s, want %s", tc.spacing, got, tc.want)
		}
	}
}

func TestServerErrorsAreRetriedABoundedNumberOfTimes(t *testing.T) {
	s := newScript(t, answer(503))
	c := &http.Client{Transport: NewTransport(http.DefaultTransport, TransportOptions{Clock: newFakeClock(), MaxAttempts: 3})}
	resp, _, err := do(t, c, "GET", s.srv.URL+"/x", "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || s.count() != 3 {
		t.Errorf("status %d after %d requests, want 503 after 3", resp.StatusCode, s.count())
	}
	// 501 Not Implemented is not retried.
	s2 := newScript(t, answer(501))
	if resp, _, _ := do(t, c, "GET", s2.srv.URL+"/x", ""); resp.StatusCode != 501 || s2.count() != 1 {
		t.Errorf("501: status %d after %d requests", resp.StatusCode, s2.count())
	}
}

func TestRateLimitAnswersAreWaitedOut(t *testing.T) {
	secondary := `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
	for _, tc := range []struct {
		name    string
		answers []func(http.ResponseWriter, *http.Request)
		want    []time.Duration
	}{
		{"403 with Retry-After", []func(http.ResponseWriter, *http.Request){answerBody(403, secondary, "Retry-After", "30"), answer(200)}, []time.Duration{30 * time.Second}},
		{"429 with Retry-After", []func(http.ResponseWriter, *http.Request){answer(429, "Retry-After", "7"), answer(200)}, []time.Duration{7 * time.Second}},
		{"429 without Retry-After", []func(http.ResponseWriter, *http.Request){answer(429), answer(200)}, []time.Duration{time.Minute}},
		{"secondary limit without Retry-After backs off from a minute", []func(http.ResponseWriter, *http.Request){answerBody(403, secondary), answerBody(403, secondary), answer(200)}, []time.Duration{time.Minute, 2 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(t, tc.answers...)
			clock := newFakeClock()
			c := &http.Client{Transport: newTestTransport(clock)}
			resp, _, err := do(t, c, "POST", s.srv.URL+"/repos/o/r/pulls", "{}")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Errorf("status = %d, want 200", resp.StatusCode)
			}
			if got := clock.sleeps(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("waits = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAForbiddenAnswerThatIsNoLimitIsNotRetried(t *testing.T) {
	s := newScript(t, answerBody(403, `{"message":"Resource not accessible by personal access token"}`))
	clock := newFakeClock()
	c := &http.Client{Transport: newTestTransport(clock)}
	resp, got, err := do(t, c, "POST", s.srv.URL+"/repos/o/r/check-runs", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 403 || s.count() != 1 || len(clock.sleeps()) != 0 || !strings.Contains(got, "personal access token") {
		t.Errorf("status %d after %d requests and waits %v, body %s", resp.StatusCode, s.count(), clock.sleeps(), got)
	}
}

func TestPrimaryLimitIsReadAndWaitedFor(t *testing.T) {
	clock := newFakeClock()
	reset := clock.Now().Add(90 * time.Second)
	limit := func(remaining int) []string {
		return []string{"X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", strconv.Itoa(remaining),
			"X-RateLimit-Used", strconv.Itoa(5000 - remaining), "X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10), "X-RateLimit-Resource", "core"}
	}
	s := newScript(t, answer(200, limit(0)...), answer(200, limit(4999)...))
	tr := newTestTransport(clock)
	c := &http.Client{Transport: tr}
	if _, _, err := do(t, c, "GET", s.srv.URL+"/a", ""); err != nil {
		t.Fatal(err)
	}
	rl := tr.RateLimit()
	if rl.Limit != 5000 || rl.Remaining != 0 || rl.Used != 5000 || !rl.Reset.Equal(reset) || rl.Resource != "core" {
		t.Errorf("RateLimit = %+v", rl)
	}
	if len(clock.sleeps()) != 0 {
		t.Fatalf("waited before the first request: %v", clock.sleeps())
	}
	if _, _, err := do(t, c, "GET", s.srv.URL+"/b", ""); err != nil {
		t.Fatal(err)
	}
	if got := clock.sleeps(); len(got) != 1 || got[0] != 91*time.Second {
		t.Errorf("waits = %v, want [1m31s] (until a second past the reset)", got)
	}
	if tr.RateLimit().Remaining != 4999 {
		t.Errorf("remaining after the reset = %d", tr.RateLimit().Remaining)
	}
}

func TestPrimaryLimitAnswerIsSentAgainAfterTheReset(t *testing.T) {
	clock := newFakeClock()
	reset := strconv.FormatInt(clock.Now().Add(10*time.Second).Unix(), 10)
	s := newScript(t,
		answerBody(403, `{"message":"API rate limit exceeded"}`, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset),
		answer(200, "X-RateLimit-Remaining", "5000"))
	c := &http.Client{Transport: newTestTransport(clock)}
	resp, _, err := do(t, c, "PATCH", s.srv.URL+"/repos/o/r/pulls/1", `{"title":"t"}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || s.count() != 2 || s.bodies[1] != `{"title":"t"}` {
		t.Errorf("status %d after %d requests", resp.StatusCode, s.count())
	}
	if got := clock.sleeps(); len(got) != 1 || got[0] != 11*time.Second {
		t.Errorf("waits = %v, want [11s]", got)
	}
}

func TestAWaitBeyondTheDeadlineIsNotStarted(t *testing.T) {
	s := newScript(t, answer(429, "Retry-After", "600"), answer(200))
	clock := newFakeClock()
	c := &http.Client{Transport: newTestTransport(clock)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.srv.URL+"/x", nil)
	_, err := c.Do(req)
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	if len(clock.sleeps()) != 0 || s.count() != 1 {
		t.Errorf("waits %v, requests %d", clock.sleeps(), s.count())
	}
	// MaxWait bounds a wait without a deadline too.
	s2 := newScript(t, answer(429, "Retry-After", "600"))
	c = &http.Client{Transport: NewTransport(http.DefaultTransport, TransportOptions{Clock: clock, MaxWait: 5 * time.Minute})}
	if _, _, err := do(t, c, "GET", s2.srv.URL+"/x", ""); !errors.Is(err, ErrRateLimited) {
		t.Errorf("MaxWait: err = %v, want ErrRateLimited", err)
	}
	if len(clock.sleeps()) != 0 {
		t.Errorf("waited %v", clock.sleeps())
	}
}

func TestContentCreatingRequestsStayUnderGitHubsLimits(t *testing.T) {
	clock := newFakeClock()
	var mu sync.Mutex
	var sent []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" {
			mu.Lock()
			sent = append(sent, clock.Now())
			mu.Unlock()
		}
	}))
	defer srv.Close()
	c := &http.Client{Transport: newTestTransport(clock)}
	start := clock.Now()
	for range 200 {
		do(t, c, "GET", srv.URL+"/read", "")
	}
	if !clock.Now().Equal(start) {
		t.Fatalf("reads waited %s", clock.Now().Sub(start))
	}
	const n = 700
	for i := range n {
		method := []string{"POST", "PATCH", "PUT", "DELETE"}[i%4]
		if _, _, err := do(t, c, method, srv.URL+"/write", "{}"); err != nil {
			t.Fatal(err)
		}
	}
	if len(sent) != n {
		t.Fatalf("%d writes arrived, want %d", len(sent), n)
	}
	maxIn := func(window time.Duration) int {
		most := 0
		for i := range sent {
			j := i
			for j < len(sent) && sent[j].Sub(sent[i]) < window {
				j++
			}
			most = max(most, j-i)
		}
		return most
	}
	perMinute, perHour := maxIn(time.Minute), maxIn(time.Hour)
	if perMinute > 80 || perHour > 500 {
		t.Errorf("at most %d writes in a minute and %d in an hour, want <= 80 and <= 500", perMinute, perHour)
	}
	// The limits are not much stricter than GitHub's either.
	if perHour < 450 {
		t.Errorf("only %d writes in the busiest hour", perHour)
	}
	t.Logf("%d writes took %s of simulated time; busiest minute %d, busiest hour %d", n, clock.Now().Sub(start), perMinute, perHour)
}
