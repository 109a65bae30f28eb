package githubfake

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		check      func(t *testing.T, err error, resp *github.Response)
	}{
		{"500 server error", ServerError("GET", "/repos/*/*/pulls/*", 1), http.StatusInternalServerError, func(t *testing.T, err error, _ *github.Response) {
			if er := errorResponseOf(t, err); er.Message != "Server Error" {
				t.Errorf("message %q", er.Message)
			}
		}},
		{"502 bad gateway", BadGateway("", "/repos/**", 1), http.StatusBadGateway, nil},
		{"403 secondary rate limit with Retry-After", SecondaryRateLimit("GET", "/repos/*/*/pulls/*", 90*time.Second, 1), http.StatusForbidden, func(t *testing.T, err error, _ *github.Response) {
			var ae *github.AbuseRateLimitError
			if !errors.As(err, &ae) || ae.RetryAfter == nil || *ae.RetryAfter != 90*time.Second {
				t.Errorf("error %T %v, want *github.AbuseRateLimitError with RetryAfter 90s", err, err)
			}
		}},
		{"429 with Retry-After", TooManyRequests("GET", "/repos/*/*/pulls/1", time.Minute, 1), http.StatusTooManyRequests, func(t *testing.T, _ error, resp *github.Response) {
			if resp.Header.Get("Retry-After") != "60" {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		}},
		{"422 validation failed", Unprocessable("GET", "/repos/*/*/pulls/*", 1, FieldError{Resource: "PullRequest", Field: "base", Code: "invalid"}), http.StatusUnprocessableEntity, func(t *testing.T, err error, _ *github.Response) {
			if er := errorResponseOf(t, err); len(er.Errors) != 1 || er.Errors[0].Field != "base" {
				t.Errorf("errors %+v", er.Errors)
			}
		}},
		{"401 expired token", ExpiredToken("", "/repos/**", 1), http.StatusUnauthorized, func(t *testing.T, err error, _ *github.Response) {
			if er := errorResponseOf(t, err); er.Message != "Bad credentials" {
				t.Errorf("message %q", er.Message)
			}
		}},
		{"404 on a deleted branch", NotFound("GET", "/repos/*/*/pulls/1", 1), http.StatusNotFound, nil},
		{"a custom body and header", Fault{Method: "GET", PathPattern: "/repos/medimind/policies/pulls/1", Status: http.StatusServiceUnavailable,
			Header: http.Header{"X-Test": {"yes"}}, Body: `{"message":"Service Unavailable","code":"maintenance"}`, Times: 1},
			http.StatusServiceUnavailable, func(t *testing.T, _ error, resp *github.Response) {
				if resp.Header.Get("X-Test") != "yes" {
					t.Errorf("header X-Test %q", resp.Header.Get("X-Test"))
				}
			}},
	}
	s := seeded(t)
	pushBranch(t, s, "feature", "f.txt", "f\n")
	if _, _, err := s.Client(InstallationToken).PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gh := s.Client(InstallationToken) // go-github remembers a secondary limit per client
			s.Inject(tc.fault)
			_, resp, err := gh.PullRequests.Get(ctx, "medimind", "policies", 1)
			if status(resp) != tc.wantStatus || err == nil {
				t.Fatalf("status %d err %v, want %d", status(resp), err, tc.wantStatus)
			}
			if resp.Header.Get("X-RateLimit-Remaining") == "" || resp.Header.Get("X-RateLimit-Resource") != "core" {
				t.Errorf("fault without rate-limit headers: %v", resp.Header)
			}
			if tc.check != nil {
				tc.check(t, err, resp)
			}
			// Times: 1, so the next request is served.
			pr, _, err := s.Client(InstallationToken).PullRequests.Get(ctx, "medimind", "policies", 1)
			if err != nil || pr.GetNumber() != 1 {
				t.Fatalf("after the fault: %v", err)
			}
		})
	}
}

func TestFaultMatchingAndTimes(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	s.Inject(ServerError("POST", "/repos/*/*/git/refs", 2))
	s.Inject(NotFound("", "/repos/*/*/git/ref/heads/**", 0))
	main := gitOut(t, s, "rev-parse", "main")
	create := func() int {
		_, resp, _ := gh.Git.CreateRef(ctx, "medimind", "policies", &github.Reference{Ref: github.String("refs/heads/x"), Object: &github.GitObject{SHA: github.String(main)}})
		return status(resp)
	}
	if got := []int{create(), create(), create()}; got[0] != 500 || got[1] != 500 || got[2] != 201 {
		t.Errorf("statuses %v, want 500 500 201", got)
	}
	for range 3 {
		if _, resp, _ := gh.Git.GetRef(ctx, "medimind", "policies", "heads/x"); status(resp) != http.StatusNotFound {
			t.Errorf("ref behind a permanent 404 fault: status %d", status(resp))
		}
	}
	if _, resp, _ := gh.Git.GetRef(ctx, "medimind", "policies", "tags/none"); status(resp) != http.StatusNotFound {
		t.Errorf("unknown tag: %d", status(resp))
	}
	s.ClearFaults()
	if _, _, err := gh.Git.GetRef(ctx, "medimind", "policies", "heads/x"); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/repos/*/*/pulls/*", "/repos/o/r/pulls/1", true},
		{"/repos/*/*/pulls/*", "/repos/o/r/pulls/1/merge", false},
		{"/repos/**", "/repos/o/r/git/ref/heads/a/b", true},
		{"/repos/*/*/git/refs/**", "/repos/o/r/git/refs", true},
		{"/repos/*/*/git/ref/**/b", "/repos/o/r/git/ref/heads/a/b", true},
		{"/rate_limit", "/repos/o/r", false},
	} {
		if got := matchPath(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matchPath(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

func TestTokens(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := seeded(t, WithClock(func() time.Time { return now }))
	s.AddToken(Token{Value: "ghs_short", Kind: TokenInstallation, Login: "modelops[bot]", ExpiresAt: now.Add(time.Hour)})
	if _, _, err := s.Client("ghs_short").Repositories.Get(ctx, "medimind", "policies"); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	now = now.Add(time.Hour)
	_, resp, err := s.Client("ghs_short").Repositories.Get(ctx, "medimind", "policies")
	if status(resp) != http.StatusUnauthorized || errorResponseOf(t, err).Message != "Bad credentials" {
		t.Fatalf("expired token: status %d %v", status(resp), err)
	}
	if _, resp, _ := s.Client("ghp_unknown").Repositories.Get(ctx, "medimind", "policies"); status(resp) != http.StatusUnauthorized {
		t.Errorf("unknown token: status %d, want 401", status(resp))
	}
	// Without a token the private repository does not exist, as on GitHub;
	// GET /rate_limit answers with the anonymous limit.
	anon := s.Client("")
	if _, resp, _ := anon.Repositories.Get(ctx, "medimind", "policies"); status(resp) != http.StatusNotFound || resp.Rate.Limit != 60 || resp.Rate.Remaining != 59 {
		t.Errorf("no token: status %d limit %d remaining %d, want 404 60 59", status(resp), resp.Rate.Limit, resp.Rate.Remaining)
	}
	if rl, _, err := anon.RateLimit.Get(ctx); err != nil || rl.GetCore().Limit != 60 || rl.GetCore().Remaining != 59 {
		t.Errorf("anonymous rate_limit: %v %+v", err, rl.GetCore())
	}
	// "token <t>" works as well as "Bearer <t>".
	req, _ := http.NewRequest("GET", s.URL()+"repos/medimind/policies", nil)
	req.Header.Set("Authorization", "token "+PersonalToken)
	r, err := s.HTTPClient().Do(req)
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("token scheme: %v %d", err, r.StatusCode)
	}
	r.Body.Close()
	for _, c := range s.Requests() {
		if c.Status == http.StatusUnauthorized && c.Counted {
			t.Errorf("a 401 counted against the rate limit: %+v", c)
		}
	}
}

func TestRateLimitHeadersETagAndCounting(t *testing.T) {
	s := seeded(t, WithRateLimit(5))
	gh := s.Client(InstallationToken)
	var remaining []int
	var etag string
	for range 2 {
		_, resp, err := gh.Repositories.Get(ctx, "medimind", "policies")
		if err != nil {
			t.Fatal(err)
		}
		remaining = append(remaining, resp.Rate.Remaining)
		if resp.Rate.Limit != 5 || resp.Header.Get("X-RateLimit-Used") != strconv.Itoa(5-resp.Rate.Remaining) || resp.Rate.Reset.IsZero() {
			t.Errorf("rate headers %v", resp.Header)
		}
		etag = resp.Header.Get("ETag")
	}
	if remaining[0] != 4 || remaining[1] != 3 {
		t.Fatalf("remaining %v, want [4 3]", remaining)
	}
	if etag == "" {
		t.Fatal("no ETag on GET")
	}

	req, err := gh.NewRequest("GET", "repos/medimind/policies", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", etag)
	resp, _ := gh.Do(ctx, req, nil)
	if status(resp) != http.StatusNotModified || resp.Rate.Remaining != 3 {
		t.Fatalf("conditional GET: status %d remaining %d, want 304 and 3 (a 304 is free)", status(resp), resp.Rate.Remaining)
	}
	// The representation changes, so does the ETag.
	pushBranch(t, s, "feature", "f.txt", "f\n")
	if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", etag)
	resp, err = gh.Do(ctx, req, nil)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag {
		t.Fatalf("conditional GET after a change: %v status %d", err, status(resp))
	}

	rl, _, err := gh.RateLimit.Get(ctx)
	if err != nil || rl.GetCore().Remaining != 1 || rl.GetCore().Limit != 5 {
		t.Fatalf("rate_limit: %v %+v", err, rl.GetCore())
	}
	_, resp, err = gh.Repositories.Get(ctx, "medimind", "policies")
	if err != nil || resp.Rate.Remaining != 0 {
		t.Fatalf("last call: %v remaining %d", err, resp.Rate.Remaining)
	}
	// A fresh client: go-github would refuse locally after Remaining 0.
	_, resp, err = s.Client(InstallationToken).Repositories.Get(ctx, "medimind", "policies")
	var rle *github.RateLimitError
	if status(resp) != http.StatusForbidden || !errors.As(err, &rle) {
		t.Fatalf("over the limit: status %d err %T %v, want 403 *github.RateLimitError", status(resp), err, err)
	}
	// Another token has its own window.
	if _, _, err := s.Client(PersonalToken).Repositories.Get(ctx, "medimind", "policies"); err != nil {
		t.Fatalf("other token: %v", err)
	}

	var ops []string
	for _, c := range s.Calls() {
		ops = append(ops, c.Method+" "+c.Operation+" "+strconv.Itoa(c.Status))
	}
	want := []string{"GET repos/get 200", "GET repos/get 200", "POST pulls/create 201", "GET repos/get 200", "GET repos/get 200", "GET repos/get 403", "GET repos/get 200"}
	if len(ops) != len(want) {
		t.Fatalf("Calls() = %v, want %v", ops, want)
	}
	for i := range want {
		if ops[i] != want[i] {
			t.Errorf("Calls()[%d] = %s, want %s", i, ops[i], want[i])
		}
	}
	if n := len(s.Requests()); n != len(want)+2 {
		t.Errorf("Requests() has %d, want %d (Calls plus the 304 and GET /rate_limit)", n, len(want)+2)
	}
}

func TestRateLimitWindowResetsAfterAnHour(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := seeded(t, WithRateLimit(1), WithClock(func() time.Time { return now }))
	_, resp, err := s.Client(InstallationToken).Repositories.Get(ctx, "medimind", "policies")
	if err != nil || resp.Rate.Remaining != 0 || !resp.Rate.Reset.Time.Equal(now.Add(time.Hour)) {
		t.Fatalf("first call: %v remaining %d reset %v", err, resp.Rate.Remaining, resp.Rate.Reset)
	}
	if _, resp, _ := s.Client(InstallationToken).Repositories.Get(ctx, "medimind", "policies"); status(resp) != http.StatusForbidden {
		t.Fatalf("second call in the hour: status %d, want 403", status(resp))
	}
	now = now.Add(time.Hour)
	_, resp, err = s.Client(InstallationToken).Repositories.Get(ctx, "medimind", "policies")
	if err != nil || resp.Rate.Remaining != 0 || !resp.Rate.Reset.Time.Equal(now.Add(time.Hour)) {
		t.Fatalf("after the reset: %v remaining %d reset %v", err, resp.Rate.Remaining, resp.Rate.Reset)
	}
}

func TestEnterprisePrefixAndTLS(t *testing.T) {
	s := seeded(t, WithTLS())
	pushBranch(t, s, "feature", "f.txt", "f\n")
	gh, err := github.NewClient(s.HTTPClient()).WithAuthToken(InstallationToken).WithEnterpriseURLs(s.EnterpriseURL(), s.EnterpriseURL())
	if err != nil {
		t.Fatal(err)
	}
	if gh.BaseURL.String() != s.EnterpriseURL() || gh.BaseURL.Scheme != "https" {
		t.Fatalf("base URL %s", gh.BaseURL)
	}
	for range 3 {
		if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := gh.PullRequests.Edit(ctx, "medimind", "policies", len(s.PullRequests()), &github.PullRequest{State: github.String("closed")}); err != nil {
			t.Fatal(err)
		}
	}
	prs, resp, err := gh.PullRequests.List(ctx, "medimind", "policies", &github.PullRequestListOptions{State: "closed", ListOptions: github.ListOptions{PerPage: 2}})
	if err != nil || len(prs) != 2 || resp.NextPage != 2 {
		t.Fatalf("list through /api/v3: %v len %d next %d", err, len(prs), resp.NextPage)
	}
	if prs[0].GetNumber() != 3 {
		t.Errorf("newest first: got #%d", prs[0].GetNumber())
	}
	if link := resp.Header.Get("Link"); link == "" || !strings.Contains(link, "/api/v3/repos/medimind/policies/pulls?") {
		t.Errorf("Link %q does not keep the prefix", link)
	}
	for _, c := range s.Requests() {
		if c.Path[:7] != "/repos/" {
			t.Errorf("recorded path %q keeps the prefix", c.Path)
		}
	}
}

func TestETagsAreSpecificToTheToken(t *testing.T) {
	s := seeded(t)
	const next = "ghs_githubfakeNextInstallationToken01"
	s.AddToken(Token{Value: next, Kind: TokenInstallation, Login: "modelops[bot]"})
	_, resp, err := s.Client(InstallationToken).Repositories.Get(ctx, "medimind", "policies")
	if err != nil {
		t.Fatal(err)
	}
	etag := resp.Header.Get("ETag")
	for token, want := range map[string]int{InstallationToken: http.StatusNotModified, next: http.StatusOK} {
		gh := s.Client(token)
		req, err := gh.NewRequest("GET", "repos/medimind/policies", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("If-None-Match", etag)
		if resp, _ := gh.Do(ctx, req, nil); status(resp) != want {
			t.Errorf("the first token's ETag sent with %s: status %d, want %d", token[:8]+"…", status(resp), want)
		}
	}
}

func TestATimedOutWriteTakesEffect(t *testing.T) {
	s := seeded(t)
	gh := s.Client(InstallationToken)
	pushBranch(t, s, "feature", "f.txt", "f\n")
	if _, _, err := gh.PullRequests.Create(ctx, "medimind", "policies", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	s.Inject(TimedOutAfterWriting("POST", "/repos/*/*/issues/*/comments", 1))
	if _, resp, _ := gh.Issues.CreateComment(ctx, "medimind", "policies", 1, &github.IssueComment{Body: github.String("hi")}); status(resp) != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", status(resp))
	}
	if c := s.Comments(1); len(c) != 1 || c[0].Body != "hi" {
		t.Errorf("comments %+v, want the one the 502 hid", c)
	}
}
