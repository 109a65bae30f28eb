package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/testutil/githubfake"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var (
	ctx = context.Background()
	bot = git.Signature{Name: "modelops[bot]", Email: "bot@example.com"}
)

// env is a GitHub fake seeded with testdata/repo, the repository opened over git as the
// reconciler opens it, and a Forge and Reporter talking to the fake through Transport.
type env struct {
	fake   *githubfake.Server
	repo   *git.Repo
	client *gh.Client
	tr     *Transport
	clock  *fakeClock
	forge  *Forge
	base   string
}

func setup(t *testing.T, token string, opts ...githubfake.Option) *env {
	t.Helper()
	return setupFixture(t, token, "testdata/repo", opts...)
}

// setupFixture is setup with the repository seeded from fixture.
func setupFixture(t *testing.T, token, fixture string, opts ...githubfake.Option) *env {
	t.Helper()
	e := &env{clock: newFakeClock()}
	e.fake = githubfake.New(t, append([]githubfake.Option{githubfake.WithClock(e.clock.Now)}, opts...)...)
	e.fake.Seed(t, "main", fixture)
	var err error
	if e.repo, err = git.Open(ctx, e.fake.GitURL(), git.Options{}); err != nil {
		t.Fatal(err)
	}
	if e.base, err = e.repo.Head(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	auth, err := NewAuth(AuthConfig{Token: Secret(token)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The fake's URL as a GitHub Enterprise URL: the fake serves /api/v3 too.
	e.client, e.tr, err = NewClient(auth, ClientOptions{
		BaseURL: e.fake.URL(), Base: e.fake.HTTPClient().Transport,
		// Writes unspaced, so that the waits tests assert are the retries' only.
		Transport: TransportOptions{Clock: e.clock, Jitter: func() float64 { return 0 }, WriteSpacing: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.forge = New(e.client, e.repo, Options{
		Owner: e.fake.Owner(), Repo: e.fake.Repo(), Tracked: "main", Bot: bot, Now: e.clock.Now,
		HTMLURL: "https://github.example/medimind/policies",
	})
	return e
}

func retrain(model string, from int64, base, digest string) reconciler.ProposalRequest {
	return reconciler.ProposalRequest{
		Model: model, Kind: reconciler.ProposalRetrain, Key: fmt.Sprintf("generation-%d", from+1), Digest: digest,
		Title: fmt.Sprintf("Retrain %s: generation %d → %d (drift)", model, from, from+1),
		Body:  "## Evidence\n\nDrift in 6 of the last 10 reports (" + digest + ").",
		Base:  base, File: "models/" + model + ".yaml",
		Edits:    []policies.Edit{policies.SetRetrainGeneration{From: from, To: from + 1}},
		Trailers: map[string]string{git.TrailerAction: "propose-retrain", git.TrailerModel: model, git.TrailerReason: "drift"},
	}
}

// writes counts the content-creating requests the fake answered since from (an index into
// its requests).
func (e *env) writes(from int) (writes, counted int) {
	reqs := e.fake.Requests()
	for _, c := range reqs[from:] {
		if c.Method != http.MethodGet {
			writes++
		}
		if c.Counted {
			counted++
		}
	}
	return writes, counted
}

func (e *env) pulls() []githubfake.PullRequest { return e.fake.PullRequests() }

func TestPullRequestLifecycle(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)

	// Open: branch, marker, labels and reviewers from .modelops.yaml.
	p, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1"))
	if err != nil {
		t.Fatal(err)
	}
	prs := e.pulls()
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	pr := prs[0]
	if p.Branch != "modelops/sepsis-risk/retrain" || pr.Head != p.Branch || pr.Base != "main" || p.State != reconciler.ProposalOpen || p.Key != "generation-7" || p.URL == "" {
		t.Errorf("proposal %+v, pull request %+v", p, pr)
	}
	if m, ok := parseMarker(pr.Body); !ok || m.Model != "sepsis-risk" || m.Digest != "d1" || m.Base != e.base || !strings.HasPrefix(pr.Body, "<!-- modelops:proposal model=sepsis-risk kind=retrain key=generation-7 digest=d1") {
		t.Errorf("body = %q", pr.Body)
	}
	if fmt.Sprint(pr.Labels) != "[modelops retrain]" || fmt.Sprint(pr.Reviewers) != "[ana-reviewer]" || fmt.Sprint(pr.TeamSlugs) != "[clinical-ml]" {
		t.Errorf("labels %v reviewers %v teams %v", pr.Labels, pr.Reviewers, pr.TeamSlugs)
	}
	// The branch holds the minimal edit on top of the base, with the trailers.
	if err := e.repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := e.repo.ReadCommit(ctx, pr.HeadSHA)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Parents) != 1 || info.Parents[0] != e.base || !strings.Contains(info.Message, "Modelops-Reason: drift") {
		t.Errorf("proposal commit %+v", info)
	}
	before, _ := e.repo.ReadFile(ctx, e.base, "models/sepsis-risk.yaml")
	after, _ := e.repo.ReadFile(ctx, pr.HeadSHA, "models/sepsis-risk.yaml")
	if want := strings.Replace(string(before), "generation: 6", "generation: 7", 1); string(after) != want {
		t.Errorf("edited file:\n%s\nwant:\n%s", after, want)
	}

	// Unchanged: no write at all. The first look at the list after opening costs one
	// request; from then on the list is answered 304, which the rate limit does not count.
	for i := range 3 {
		mark := len(e.fake.Requests())
		if again, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil || again != p {
			t.Fatalf("Ensure again = %+v, %v; want %+v", again, err, p)
		}
		if w, c := e.writes(mark); w != 0 || i > 0 && c != 0 {
			t.Errorf("unchanged Ensure %d made %d writes and %d counted requests", i, w, c)
		}
	}

	// New evidence: the same pull request is updated in place.
	p2, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d2"))
	if err != nil {
		t.Fatal(err)
	}
	prs = e.pulls()
	if len(prs) != 1 || prs[0].Number != pr.Number || !strings.Contains(prs[0].Body, "digest=d2") || p2.Digest != "d2" {
		t.Fatalf("after new evidence: %d pull requests, %+v", len(prs), prs)
	}
	if list, err := e.forge.List(ctx); err != nil || len(list) != 1 || list[0].Digest != "d2" || list[0].State != reconciler.ProposalOpen {
		t.Fatalf("List = %+v, %v", list, err)
	}

	// A person merges it: a real merge commit on main, and the proposal is no longer listed.
	merge, _, err := e.fake.Client(githubfake.PersonalToken).PullRequests.Merge(ctx, "medimind", "policies", pr.Number, "", nil)
	if err != nil || !merge.GetMerged() {
		t.Fatalf("merge: %v", err)
	}
	if err := e.repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	tip, _ := e.repo.Head(ctx, "main")
	mc, err := e.repo.ReadCommit(ctx, tip)
	if err != nil || tip != merge.GetSHA() || len(mc.Parents) != 2 || mc.Parents[0] != e.base {
		t.Fatalf("main's tip %s = %+v (%v), want the merge commit %s of %s", tip, mc, err, merge.GetSHA(), e.base)
	}
	if got, _ := e.repo.ReadFile(ctx, tip, "models/sepsis-risk.yaml"); !strings.Contains(string(got), "generation: 7") {
		t.Errorf("merged file:\n%s", got)
	}
	if list, err := e.forge.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after the merge = %+v, %v", list, err)
	}
}

func TestCloseCommentsThenClosesAndIsNotDeclined(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	if err := e.forge.Close(ctx, "sepsis-risk", reconciler.ProposalRetrain, "the drift is gone"); err != nil {
		t.Fatal(err)
	}
	pr := e.pulls()[0]
	comments := e.fake.Comments(pr.Number)
	if pr.State != "closed" || pr.Merged || len(comments) != 1 || !strings.Contains(comments[0].Body, "the drift is gone") {
		t.Fatalf("after Close: %+v, comments %+v", pr, comments)
	}
	if list, err := e.forge.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after modelops closed it = %+v, %v; want nothing (not declined)", list, err)
	}
	mark := len(e.fake.Requests())
	if err := e.forge.Close(ctx, "sepsis-risk", reconciler.ProposalRetrain, "again"); err != nil {
		t.Fatal(err)
	}
	if w, _ := e.writes(mark); w != 0 {
		t.Errorf("closing with none open made %d writes", w)
	}
}

func TestAPersonClosingAProposalDeclinesIt(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	person := e.fake.Client(githubfake.PersonalToken)
	if _, _, err := person.PullRequests.Edit(ctx, "medimind", "policies", 1, &gh.PullRequest{State: gh.String("closed")}); err != nil {
		t.Fatal(err)
	}
	list, err := e.forge.List(ctx)
	if err != nil || len(list) != 1 || list[0].State != reconciler.ProposalDeclined || list[0].Key != "generation-7" || list[0].Model != "sepsis-risk" {
		t.Fatalf("List = %+v, %v; want the declined proposal", list, err)
	}
	// Proposed again later (new key): a new pull request, and the decline is superseded.
	if _, err := e.forge.Ensure(ctx, retrain("wearable-hr", 2, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	req := retrain("sepsis-risk", 6, e.base, "d9")
	req.Key = "generation-7-again"
	if _, err := e.forge.Ensure(ctx, req); err != nil {
		t.Fatal(err)
	}
	list, err = e.forge.List(ctx)
	if err != nil || len(list) != 2 || list[0].State != reconciler.ProposalOpen || list[0].Key != "generation-7-again" || list[1].Model != "wearable-hr" {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestABodyOverGitHubsLimitIsCutAndKeptInFull(t *testing.T) {
	e := setup(t, githubfake.InstallationToken, githubfake.AllowInvalidRequests())
	req := retrain("sepsis-risk", 6, e.base, "d1")
	req.Body = "## Evidence\n\n" + strings.Repeat("| prot_ß | drifted 🧬 |\n", 6000) // 70,000+ characters
	if _, err := e.forge.Ensure(ctx, req); err != nil {
		t.Fatal(err)
	}
	pr := e.pulls()[0]
	if n := utf8.RuneCountInString(pr.Body); n >= MaxBody || !strings.Contains(pr.Body, "https://github.example/medimind/policies/blob/modelops/status/proposals/sepsis-risk/retrain.md") {
		t.Errorf("body of %d characters ends %q", n, pr.Body[len(pr.Body)-200:])
	}
	if err := e.repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	_, files, err := e.repo.BranchTree(ctx, "modelops/status")
	if err != nil {
		t.Fatal(err)
	}
	if full, err := fs.ReadFile(files, "proposals/sepsis-risk/retrain.md"); err != nil || string(full) != req.Body {
		t.Errorf("the full body on the status branch: %d bytes, %v", len(full), err)
	}
	// GitHub refuses the body uncut.
	_, _, err = e.client.PullRequests.Edit(ctx, "medimind", "policies", pr.Number, &gh.PullRequest{Body: gh.String(req.Body)})
	if status(err) != http.StatusUnprocessableEntity {
		t.Errorf("an uncut body: err = %v, want 422", err)
	}
}

func TestPullRequestLimitsHoldBackNewProposals(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	config := func(spec string) string {
		tip, err := e.repo.UpdateBranch(ctx, "main", func(string, fs.FS) (git.Change, error) {
			return git.Change{Files: map[string][]byte{".modelops.yaml": []byte("apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec: " + spec + "\n")}, Message: "limits", Author: bot}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return tip
	}
	base := config("{prConcurrentLimit: 1, prHourlyLimit: 0}")
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, base, "d1")); err != nil {
		t.Fatal(err)
	}
	mark := len(e.fake.Requests())
	_, err := e.forge.Ensure(ctx, retrain("wearable-hr", 2, base, "d1"))
	if !errors.Is(err, ErrPRLimit) || !strings.Contains(err.Error(), "1 open, prConcurrentLimit is 1") {
		t.Fatalf("err = %v, want ErrPRLimit", err)
	}
	if w, _ := e.writes(mark); w != 0 || len(e.pulls()) != 1 {
		t.Errorf("a held-back proposal made %d writes", w)
	}
	// Updating the open one is never held back.
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, base, "d2")); err != nil {
		t.Errorf("update under the limit: %v", err)
	}

	base = config("{prConcurrentLimit: 0, prHourlyLimit: 1}")
	_, err = e.forge.Ensure(ctx, retrain("wearable-hr", 2, base, "d1"))
	if !errors.Is(err, ErrPRLimit) || !strings.Contains(err.Error(), "1 opened in the last hour, prHourlyLimit is 1") {
		t.Fatalf("err = %v, want the hourly limit", err)
	}
	e.clock.Sleep(ctx, 61*60e9)
	if _, err := e.forge.Ensure(ctx, retrain("wearable-hr", 2, base, "d1")); err != nil {
		t.Errorf("an hour later: %v", err)
	}
}

func TestEnsureWithoutAChangeToProposeIsAnError(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	req := retrain("sepsis-risk", 6, e.base, "d1")
	req.Edits = []policies.Edit{policies.SetRetrainGeneration{From: 6, To: 6}}
	if _, err := e.forge.Ensure(ctx, req); !errors.Is(err, ErrNothingToPropose) {
		t.Errorf("err = %v, want ErrNothingToPropose", err)
	}
	if len(e.pulls()) != 0 {
		t.Error("a pull request was opened")
	}
}

func TestFaultsAreRetriedOrSurfaced(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	e.fake.Inject(githubfake.ServerError("GET", "/repos/*/*/pulls", 1))
	e.fake.Inject(githubfake.BadGateway("POST", "/repos/*/*/pulls", 1))
	e.fake.Inject(githubfake.SecondaryRateLimit("POST", "/repos/*/*/issues/*/labels", 30e9, 1))
	e.fake.Inject(githubfake.TooManyRequests("POST", "/repos/*/*/pulls/*/requested_reviewers", 5e9, 1))
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	// The 502 to the POST is not retried blindly: Ensure looks, finds no pull request, and
	// opens it again, without a wait.
	if got, want := fmt.Sprint(e.clock.sleeps()), "[500ms 30s 5s]"; got != want {
		t.Errorf("waits = %s, want %s", got, want)
	}
	if prs := e.pulls(); len(prs) != 1 || len(prs[0].Labels) != 2 || len(prs[0].Reviewers) != 1 {
		t.Fatalf("after the faults: %+v", prs)
	}

	// A secondary limit without Retry-After backs off from a minute.
	e.fake.Inject(githubfake.Fault{Method: "PATCH", PathPattern: "/repos/*/*/pulls/*", Status: 403, Times: 2,
		Body: map[string]any{"message": "You have exceeded a secondary rate limit.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}})
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d2")); err != nil {
		t.Fatal(err)
	}
	if got := e.clock.sleeps(); fmt.Sprint(got[3:]) != "[1m0s 2m0s]" {
		t.Errorf("secondary-limit waits = %v", got[3:])
	}

	// 422: GitHub's message reaches the caller.
	e.fake.Inject(githubfake.Unprocessable("PATCH", "/repos/*/*/pulls/*", 1, githubfake.FieldError{Resource: "PullRequest", Code: "custom", Message: "base branch was modified; review and try the merge again"}))
	_, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d3"))
	if status(err) != 422 || !strings.Contains(err.Error(), "base branch was modified") {
		t.Errorf("422: err = %v", err)
	}
	// 404 (the list answered Not Found): surfaced, and the next cycle finds the one pull
	// request again instead of opening a second.
	e.fake.Inject(githubfake.NotFound("GET", "/repos/*/*/pulls", 1))
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d4")); status(err) != 404 {
		t.Errorf("404: err = %v", err)
	}
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d4")); err != nil || len(e.pulls()) != 1 {
		t.Errorf("after the 404: %v, %d pull requests", err, len(e.pulls()))
	}
}

// Deleting a pull request's head branch closes it on GitHub: a person deleting the bot's
// branch declines the proposal. A later Ensure (the reconciler sends one only on a manual
// request) pushes the branch again and opens a new pull request.
func TestAProposalBranchDeletedByAPersonDeclinesIt(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	if err := e.repo.DeleteBranch(ctx, "modelops/sepsis-risk/retrain"); err != nil {
		t.Fatal(err)
	}
	list, err := e.forge.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].State != reconciler.ProposalDeclined || list[0].Key != "generation-7" {
		t.Fatalf("after the branch was deleted List = %+v, want the proposal declined", list)
	}
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d2")); err != nil {
		t.Fatal(err)
	}
	prs := e.pulls()
	if len(prs) != 2 || prs[0].State != "closed" || prs[1].State != "open" || prs[1].HeadSHA == "" || !strings.Contains(prs[1].Body, "digest=d2") {
		t.Errorf("after a new Ensure: %+v, want the first closed and a second open with the new digest", prs)
	}
}

func TestAnotherReplicaOpeningTheSamePullRequestIsUpdatedNotDuplicated(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	other := New(e.client, e.repo, Options{Owner: "medimind", Repo: "policies", Tracked: "main", Bot: bot, Now: e.clock.Now})
	if _, err := other.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	// This replica listed before the other opened it: GitHub refuses the second.
	e.fake.Inject(githubfake.Fault{Method: "GET", PathPattern: "/repos/*/*/pulls", Status: 200, Times: 1, Body: "[]"})
	p, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d2"))
	if err != nil {
		t.Fatal(err)
	}
	if prs := e.pulls(); len(prs) != 1 || p.Digest != "d2" || !strings.Contains(prs[0].Body, "digest=d2") {
		t.Errorf("pull requests %+v, proposal %+v", prs, p)
	}
}

// testAppID is the GitHub App the tests authenticate as with tokenMinter.
const testAppID = 12

// tokenMinter answers GitHub's "create an installation access token" (which the fake does
// not serve) with tokens it registers in the fake, valid for validity on the fake's clock,
// and passes every other request on.
type tokenMinter struct {
	next     http.RoundTripper
	fake     *githubfake.Server
	clock    *fakeClock
	validity time.Duration

	mu     sync.Mutex // guards minted
	minted []string
}

func (m *tokenMinter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/app/installations/34/access_tokens") {
		return m.next.RoundTrip(r)
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ey") {
		return nil, fmt.Errorf("token request without the App's JWT")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	tok := fmt.Sprintf("ghs_minted%04d", len(m.minted)+1)
	m.minted = append(m.minted, tok)
	m.fake.AddToken(githubfake.Token{Value: tok, Kind: githubfake.TokenInstallation, Login: "modelops[bot]", ExpiresAt: m.clock.Now().Add(m.validity), AppID: testAppID})
	body := fmt.Sprintf(`{"token":%q,"expires_at":%q}`, tok, time.Now().Add(time.Hour).Format(time.RFC3339))
	return &http.Response{StatusCode: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func TestAnExpiredInstallationTokenIsRefreshedAndTheRequestRetriedOnce(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	minter := &tokenMinter{next: e.fake.HTTPClient().Transport, fake: e.fake, clock: e.clock, validity: time.Hour}
	auth, err := NewAuth(AuthConfig{AppID: testAppID, InstallationID: 34, PrivateKeyFile: privateKey(t)}, minter)
	if err != nil {
		t.Fatal(err)
	}
	client, _, err := NewClient(auth, ClientOptions{BaseURL: e.fake.URL(), Base: minter, Transport: TransportOptions{Clock: e.clock}})
	if err != nil {
		t.Fatal(err)
	}
	f := New(client, e.repo, Options{Owner: "medimind", Repo: "policies", Tracked: "main", Bot: bot, Now: e.clock.Now})
	if _, err := f.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	// GitHub's clock passes the token's expiry before ghinstallation's refresh: 401, a new
	// token, the request again.
	e.clock.Sleep(ctx, 61*time.Minute)
	mark := len(e.fake.Requests())
	if _, err := f.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d2")); err != nil {
		t.Fatal(err)
	}
	if len(minter.minted) != 2 {
		t.Errorf("%d tokens minted, want 2", len(minter.minted))
	}
	reqs := e.fake.Requests()[mark:]
	unauthorized := 0
	for _, c := range reqs {
		if c.Status == http.StatusUnauthorized {
			unauthorized++
		}
	}
	if unauthorized != 1 || !strings.Contains(e.pulls()[0].Body, "digest=d2") {
		t.Errorf("%d answers 401 (want 1); body %q", unauthorized, e.pulls()[0].Body)
	}
}

// A person's fork copies a proposal's branch name and body, marker included. Once the fork
// is deleted GitHub answers its pull request with head.repo null; it is never the proposal.
func TestAForksPullRequestWithACopiedMarkerIsNotAdopted(t *testing.T) {
	for _, deleted := range []bool{false, true} {
		t.Run(fmt.Sprintf("fork deleted %v", deleted), func(t *testing.T) {
			e := setup(t, githubfake.InstallationToken)
			req := retrain("sepsis-risk", 6, e.base, "d1")
			want := marker{Model: req.Model, Kind: req.Kind, Key: req.Key, Digest: req.Digest, Base: req.Base}
			e.fake.OpenForkPullRequest(githubfake.ForkPull{Owner: "mallory", Branch: "modelops/sepsis-risk/retrain", Base: "main",
				Title: req.Title, Body: want.String() + "\n" + req.Body, HeadSHA: e.base, Deleted: deleted})
			if list, err := e.forge.List(ctx); err != nil || len(list) != 0 {
				t.Fatalf("List = %+v, %v; want nothing", list, err)
			}
			p, err := e.forge.Ensure(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if prs := e.pulls(); len(prs) != 2 || p.URL == "" || !strings.HasSuffix(p.URL, "/pull/2") || prs[0].Title != req.Title {
				t.Errorf("proposal %+v, pull requests %+v; want a second, own pull request", p, prs)
			}
		})
	}
}

// A person removing the marker from the body does not wedge the proposal: its branch finds
// the pull request, which gets the marker back.
func TestAPullRequestWhoseMarkerWasRemovedIsFoundByItsBranch(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	person := e.fake.Client(githubfake.PersonalToken)
	if _, _, err := person.PullRequests.Edit(ctx, "medimind", "policies", 1, &gh.PullRequest{Body: gh.String("I rewrote this.")}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
			t.Fatal(err)
		}
	}
	if prs := e.pulls(); len(prs) != 1 || !strings.Contains(prs[0].Body, "digest=d1") {
		t.Errorf("pull requests %+v, want the one with its marker back", prs)
	}
	if err := e.forge.Close(ctx, "sepsis-risk", reconciler.ProposalRetrain, "done"); err != nil || e.pulls()[0].State != "closed" {
		t.Errorf("Close: %v, %+v", err, e.pulls()[0])
	}
}

// Ensure and Close look up the proposal's own branch, not every open pull request.
func TestEnsureReadsOnlyItsBranchsPullRequests(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		e.fake.OpenForkPullRequest(githubfake.ForkPull{Owner: fmt.Sprintf("contributor-%d", i), Branch: "fix", Base: "main", Title: "fix", HeadSHA: e.base})
	}
	mark := len(e.fake.Requests())
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	if ops := e.operations(mark); ops["pulls/list"] != 1 || len(ops) != 1 {
		t.Errorf("an unchanged Ensure among 150 open pull requests: %v, want one pulls/list", ops)
	}
}

func TestWritesThatTookEffectBehindA502AreNotMadeTwice(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	e.fake.Inject(githubfake.TimedOutAfterWriting("POST", "/repos/*/*/pulls", 1))
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	if prs := e.pulls(); len(prs) != 1 || len(prs[0].Labels) != 2 || len(prs[0].Reviewers) != 1 {
		t.Fatalf("pull requests %+v, want one, labelled, with its reviewers", prs)
	}
	e.fake.Inject(githubfake.TimedOutAfterWriting("POST", "/repos/*/*/issues/*/comments", 1))
	if err := e.forge.Close(ctx, "sepsis-risk", reconciler.ProposalRetrain, "the drift is gone"); err != nil {
		t.Fatal(err)
	}
	if c := e.fake.Comments(1); len(c) != 1 || e.pulls()[0].State != "closed" {
		t.Errorf("comments %+v, state %s; want one comment, closed", c, e.pulls()[0].State)
	}
}

func TestEnsureKeepsAPersonsCommitOnThePullRequest(t *testing.T) {
	e := setup(t, githubfake.InstallationToken)
	const branch = "modelops/sepsis-risk/retrain"
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d1")); err != nil {
		t.Fatal(err)
	}
	// A person pushes a commit to the pull request's head with the git command-line client.
	work := filepath.Join(t.TempDir(), "work")
	gitserver.MustGit(t, filepath.Dir(work), "clone", "-q", "-b", branch, e.fake.GitURL(), "work")
	if err := os.WriteFile(filepath.Join(work, "NOTES.md"), []byte("labels from ward 4 are in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.MustGit(t, work, "add", "-A")
	gitserver.MustGit(t, work, "commit", "-q", "-m", "Note the new labels")
	gitserver.MustGit(t, work, "push", "-q", "origin", branch)
	person := strings.TrimSpace(gitserver.MustGit(t, work, "rev-parse", "HEAD"))
	if err := e.repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}

	// New evidence for the same change: the branch already holds it and stays as it is.
	if _, err := e.forge.Ensure(ctx, retrain("sepsis-risk", 6, e.base, "d2")); err != nil {
		t.Fatal(err)
	}
	pr := e.pulls()[0]
	if pr.HeadSHA != person || !strings.Contains(pr.Body, "digest=d2") {
		t.Fatalf("pull request head %s (want the person's %s), body %q", pr.HeadSHA, person, pr.Body)
	}
	comments := e.fake.Comments(pr.Number)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, person[:7]+` by Test Person: "Note the new labels"`) {
		t.Fatalf("comments %+v, want one naming the kept commit", comments)
	}

	// A further edit goes on top of the person's commit, pushed without force.
	req := retrain("sepsis-risk", 7, e.base, "d3")
	req.Edits = append([]policies.Edit{policies.SetRetrainGeneration{From: 6, To: 7}}, req.Edits...)
	if _, err := e.forge.Ensure(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := e.repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	head, _ := e.repo.Head(ctx, branch)
	info, err := e.repo.ReadCommit(ctx, head)
	if err != nil || len(info.Parents) != 1 || info.Parents[0] != person {
		t.Fatalf("branch head %+v (%v), want a commit on top of the person's %s", info, err, person)
	}
	if got, _ := e.repo.ReadFile(ctx, head, "models/sepsis-risk.yaml"); !strings.Contains(string(got), "generation: 8") {
		t.Fatalf("file on the branch:\n%s\nwant generation 8", got)
	}
	if n := len(e.fake.Comments(pr.Number)); n != 1 {
		t.Fatalf("%d comments, want the one note", n)
	}
}
