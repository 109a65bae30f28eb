package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/registry/mlflow"
	"github.com/medimind/modelops/internal/testutil/githubfake"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/internal/testutil/mlflowfake"
)

// leakScanner looks for known secrets in everything modelops said or wrote. A secret is
// looked for as itself, base64-encoded, as the base64 of the basic-auth pair git sends
// ("x-access-token:<secret>") and percent-encoded, so a leaked Authorization header or a
// token in a URL is found too.
type leakScanner struct {
	forms []secretForm

	mu      sync.Mutex     // guards hits and scanned
	hits    []string       // "<secret> (<form>) in <where>, line <n>"
	scanned map[string]int // items scanned, by kind, so a scan that saw nothing shows
}

type secretForm struct {
	secret, form, value string
}

func newLeakScanner(secrets map[string]string) *leakScanner {
	s := &leakScanner{scanned: map[string]int{}}
	names := make([]string, 0, len(secrets))
	for name := range secrets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := secrets[name]
		s.forms = append(s.forms,
			secretForm{name, "as is", v},
			secretForm{name, "base64", base64.StdEncoding.EncodeToString([]byte(v))},
			secretForm{name, "basic auth", base64.StdEncoding.EncodeToString([]byte(git.TokenUsername + ":" + v))},
		)
		if q := url.QueryEscape(v); q != v {
			s.forms = append(s.forms, secretForm{name, "percent-encoded", q})
		}
	}
	return s
}

// scan records every secret found in data; where names the place, kind counts it.
func (s *leakScanner) scan(kind, where string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanned[kind]++
	for _, f := range s.forms {
		if i := bytes.Index(data, []byte(f.value)); i >= 0 {
			line := bytes.Count(data[:i], []byte("\n")) + 1
			s.hits = append(s.hits, fmt.Sprintf("%s (%s) in %s, line %d", f.secret, f.form, where, line))
		}
	}
}

// scanRepo scans every ref name, commit message, author, tag and blob reachable from every
// ref of the repository at dir (bare or not).
func (s *leakScanner) scanRepo(label, dir string) error {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	refs, err := repo.References()
	if err != nil {
		return fmt.Errorf("list refs of %s: %w", dir, err)
	}
	seenCommits, seenBlobs := map[plumbing.Hash]bool{}, map[plumbing.Hash]bool{}
	return refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		name := ref.Name().String()
		s.scan("ref", fmt.Sprintf("%s: the name of ref %s", label, name), []byte(name))
		from := ref.Hash()
		if tag, err := repo.TagObject(from); err == nil {
			s.scan("tag", fmt.Sprintf("%s: the message of tag %s", label, name), []byte(tag.Message))
			c, err := tag.Commit()
			if err != nil {
				return nil // a tag of a tree or blob: nothing else to walk
			}
			from = c.Hash
		}
		commits, err := repo.Log(&gogit.LogOptions{From: from})
		if err != nil {
			return fmt.Errorf("walk %s of %s: %w", name, dir, err)
		}
		return commits.ForEach(func(c *object.Commit) error {
			if seenCommits[c.Hash] {
				return nil
			}
			seenCommits[c.Hash] = true
			s.scan("commit", fmt.Sprintf("%s: the message of commit %s (%s)", label, c.Hash, name), []byte(c.Message))
			s.scan("commit", fmt.Sprintf("%s: the author and committer of commit %s (%s)", label, c.Hash, name),
				[]byte(c.Author.String()+"\n"+c.Committer.String()))
			files, err := c.Files()
			if err != nil {
				return fmt.Errorf("list files of %s: %w", c.Hash, err)
			}
			return files.ForEach(func(f *object.File) error {
				if seenBlobs[f.Hash] {
					return nil
				}
				seenBlobs[f.Hash] = true
				r, err := f.Reader()
				if err != nil {
					return fmt.Errorf("read %s at %s: %w", f.Name, c.Hash, err)
				}
				defer r.Close()
				b, err := io.ReadAll(r)
				if err != nil {
					return fmt.Errorf("read %s at %s: %w", f.Name, c.Hash, err)
				}
				kind := "blob"
				if strings.HasPrefix(f.Name, "reports/") {
					kind = "report"
				}
				s.scan(kind, fmt.Sprintf("%s: %s at commit %s (%s)", label, f.Name, c.Hash, name), b)
				return nil
			})
		})
	})
}

// scanDir scans every regular file below dir as it lies on disk.
func (s *leakScanner) scanDir(label, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		s.scan("file", fmt.Sprintf("%s: file %s", label, rel), b)
		return nil
	})
}

// apiRecorder keeps every exchange with the GitHub API: the URL, the request body, the
// response headers and body (the request's Authorization header is where a token belongs,
// and is not kept).
type apiRecorder struct {
	next http.Handler

	mu        sync.Mutex // guards exchanges
	exchanges []apiExchange
}

type apiExchange struct {
	method, uri      string
	reqBody, resBody []byte
	resHeader        http.Header
}

type teeWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (a *apiRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	tw := &teeWriter{ResponseWriter: w}
	a.next.ServeHTTP(tw, r)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.exchanges = append(a.exchanges, apiExchange{method: r.Method, uri: r.URL.RequestURI(), reqBody: body,
		resBody: tw.body.Bytes(), resHeader: tw.Header().Clone()})
}

func (a *apiRecorder) scanInto(s *leakScanner) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, e := range a.exchanges {
		where := fmt.Sprintf("GitHub API exchange %d (%s %s)", i, e.method, e.uri)
		s.scan("api", where+": the URL", []byte(e.uri))
		s.scan("api", where+": the request body", e.reqBody)
		var h bytes.Buffer
		_ = e.resHeader.Write(&h)
		s.scan("api", where+": the response headers", h.Bytes())
		s.scan("api", where+": the response body", e.resBody)
	}
}

// scanFake scans what the fake holds: pull requests, their comments, commit statuses and
// check runs.
func scanFake(s *leakScanner, fake *githubfake.Server) {
	for _, pr := range fake.PullRequests() {
		where := fmt.Sprintf("pull request #%d", pr.Number)
		s.scan("pull request", where+": title", []byte(pr.Title))
		s.scan("pull request", where+": body", []byte(pr.Body))
		s.scan("pull request", where+": labels and reviewers", []byte(strings.Join(append(pr.Labels, pr.Reviewers...), "\n")))
		for _, c := range fake.Comments(pr.Number) {
			s.scan("comment", fmt.Sprintf("%s: comment %d", where, c.ID), []byte(c.Body))
		}
	}
	for _, st := range fake.Statuses() {
		s.scan("status", fmt.Sprintf("commit status %q on %s", st.Context, st.SHA), []byte(st.Description+"\n"+st.TargetURL))
	}
	for _, cr := range fake.CheckRuns() {
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n%s\n%s\n%s\n%s\n", cr.Title, cr.Summary, cr.Text, cr.DetailsURL, cr.ExternalID)
		for _, a := range cr.Annotations {
			fmt.Fprintf(&b, "%s\n", a.Message)
		}
		s.scan("check run", fmt.Sprintf("check run %q on %s", cr.Name, cr.HeadSHA), []byte(b.String()))
	}
}

func randomSecret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// TestSecretsNeverAppear runs the retrain story as real modelops processes holding known
// secrets — a GitHub token (MODELOPS_GITHUB_TOKEN), a git token (MODELOPS_GIT_TOKEN, then
// --git-token-file) that the git server requires, and for `modelops run` the API token
// (--api-token-file) and the webhook secret (MODELOPS_WEBHOOK_SECRET) — calls the API with
// and without the right token and delivers signed webhooks, then looks for the secrets in
// every line the processes printed, every HTTP response of the API, every commit message and
// blob of every branch of the repository and of the reconciler's mirror (the status branch's
// reports among them), every file of the state directory (the training job's log lists its
// environment), the pull requests, comments and statuses on the fake, and every request
// body and response of the GitHub API.
func TestSecretsNeverAppear(t *testing.T) {
	ghToken, gitToken := randomSecret(t, "ghp_"), randomSecret(t, "gittoken_")
	apiToken, webhookSecret := randomSecret(t, "apitoken_"), randomSecret(t, "whsecret_")
	mlflowToken := randomSecret(t, "mlflowtoken_")
	secrets := map[string]string{"the GitHub token": ghToken, "the git token": gitToken,
		"the API token": apiToken, "the webhook secret": webhookSecret, "the MLflow token": mlflowToken}
	// MLflow's own environment names the registry and its token (no policy of the fixture
	// has spec.registry, so the token must above all stay out of the jobs' environment).
	mlflowFake := mlflowfake.New(t, mlflowfake.WithBearerToken(mlflowToken))

	gs := gitserver.New(t, gitserver.Options{Username: git.TokenUsername, Password: gitToken})
	gs.Seed(t, "policies.git", "main", e2eFixture(t))
	fake := githubfake.New(t, githubfake.WithGitServer(gs, "policies.git"))
	fake.SetDefaultBranch("main")
	fake.AddToken(githubfake.Token{Value: ghToken, Kind: githubfake.TokenPersonal, Login: "medimind-dev"})
	rec := &apiRecorder{next: fake}
	api := httptest.NewServer(rec)
	t.Cleanup(api.Close)
	// One GitHub error answer on the way, so that an error from the API reaches the log.
	fake.Inject(githubfake.Unprocessable("POST", "/repos/*/*/statuses/*", 1))

	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	tokenFile, apiTokenFile := filepath.Join(dir, "git-token"), filepath.Join(dir, "api-token")
	for f, v := range map[string]string{tokenFile: gitToken, apiTokenFile: apiToken} {
		if err := os.WriteFile(f, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	scan := newLeakScanner(secrets)
	var logs strings.Builder
	// command builds a modelops process with the secrets in its environment (the git token
	// from the file when byFile), its output going to stdout and stderr.
	command := func(byFile bool, stdout, stderr io.Writer, args ...string) *exec.Cmd {
		args = append(args, "--repo", gs.URL("policies.git"), "--state-dir", state)
		if args[0] != "audit" { // an audit reads git history alone: it has no --github
			args = append(args, "--github", fake.Owner()+"/"+fake.Repo(), "--github-api-url", api.URL+githubfake.EnterprisePrefix+"/")
		}
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "MODELOPS_") && !strings.HasPrefix(kv, "GITHUB_TOKEN=") && !strings.HasPrefix(kv, "MLFLOW_") {
				env = append(env, kv)
			}
		}
		// Debug level logs the most; GITHUB_TOKEN (which the forge also accepts) must not
		// reach the training jobs either.
		env = append(env, beCLI+"=1", "MODELOPS_LOG_LEVEL=debug", "GITHUB_TOKEN="+ghToken,
			"MODELOPS_GITHUB_TOKEN="+ghToken, "MODELOPS_WEBHOOK_SECRET="+webhookSecret,
			mlflow.EnvTrackingURI+"="+mlflowFake.URL(), mlflow.EnvTrackingToken+"="+mlflowToken)
		if byFile {
			args = append(args, "--git-token-file", tokenFile)
		} else {
			env = append(env, "MODELOPS_GIT_TOKEN="+gitToken)
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, stdout, stderr
		return cmd
	}
	// modelops runs one modelops process to its end and scans what it printed.
	modelops := func(byFile bool, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := command(byFile, &stdout, &stderr, args...).Run()
		name := "modelops " + strings.Join(args[:2], " ")
		scan.scan("output", name+": stdout", stdout.Bytes())
		scan.scan("output", name+": stderr", stderr.Bytes())
		logs.WriteString(stderr.String())
		if err != nil {
			t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", name, err, stdout.String(), stderr.String())
		}
	}

	modelops(false, "reconcile", "--once") // drift, retrain pull request
	modelops(true, "plan", "-o", "json")
	prs := fake.PullRequests()
	if len(prs) != 1 {
		t.Fatalf("%d pull requests after the first cycle, want 1", len(prs))
	}
	if _, _, err := fake.Client(ghToken).PullRequests.Merge(t.Context(), fake.Owner(), fake.Repo(), prs[0].Number, "", nil); err != nil {
		t.Fatal(err)
	}
	modelops(true, "reconcile", "--once") // launch
	waitFile(t, filepath.Join(state, "runs", e2eModel, "gen-7", "exit"), 30*time.Second)
	modelops(false, "reconcile", "--once") // the run's result
	modelops(true, "audit", e2eModel, "-o", "json")
	serveWithSecrets(t, scan, fake, command(false, nil, nil, "run", "--listen", "127.0.0.1:0", "--interval", "1h", "--api-token-file", apiTokenFile),
		&logs, apiToken, webhookSecret)
	fake.WaitWebhooks()

	if !strings.Contains(logs.String(), `"msg":"report check"`) || !strings.Contains(logs.String(), "422") {
		t.Errorf("the injected GitHub error was not logged; the log:\n%s", logs.String())
	}
	for _, r := range []struct{ label, dir string }{
		{"the git server's repository", gs.Dir("policies.git")},
		{"the reconciler's mirror", filepath.Join(state, "mirror")},
	} {
		if err := scan.scanRepo(r.label, r.dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := scan.scanDir("the state directory", state); err != nil {
		t.Fatal(err)
	}
	scanFake(scan, fake)
	rec.scanInto(scan)

	for _, h := range scan.hits {
		t.Errorf("secret found: %s", h)
	}
	// The places above were really looked at: the logs, the status branch's reports, the job's
	// log listing its environment, the pull request and the API traffic.
	jobLog, err := os.ReadFile(filepath.Join(state, "runs", e2eModel, "gen-7", "log"))
	if err != nil || !bytes.Contains(jobLog, []byte("MODELOPS_MODEL="+e2eModel)) {
		t.Errorf("the training job's log does not list its environment (%v):\n%s", err, jobLog)
	}
	for kind, least := range map[string]int{"output": 10, "commit": 10, "report": 1, "blob": 5, "file": 5, "pull request": 3, "status": 1, "api": 40, "http": 5} {
		if n := scan.scanned[kind]; n < least {
			t.Errorf("scanned %d items of kind %q, want at least %d", n, kind, least)
		}
	}
}

// TestLeakScannerFindsPlantedSecrets proves the scanner of TestSecretsNeverAppear can fail:
// secrets planted in a log line, in a commit message and in a report on a side branch, and
// in an API exchange are found, each with where it was.
func TestLeakScannerFindsPlantedSecrets(t *testing.T) {
	const token, other = "ghp_plantedTOKEN0123456789", "gittoken_planted/+=secret"
	secrets := map[string]string{"the GitHub token": token, "the git token": other}

	t.Run("a log line", func(t *testing.T) {
		s := newLeakScanner(secrets)
		s.scan("output", "modelops reconcile: stderr", []byte("{\"msg\":\"cycle done\"}\n{\"msg\":\"push\",\"url\":\"https://x-access-token:"+token+"@github.com/a/b\"}\n"))
		if want := "the GitHub token (as is) in modelops reconcile: stderr, line 2"; len(s.hits) != 1 || s.hits[0] != want {
			t.Errorf("hits %q, want [%q]", s.hits, want)
		}
	})

	t.Run("a commit message and a report on the status branch", func(t *testing.T) {
		repo := filepath.Join(t.TempDir(), "repo")
		if err := os.MkdirAll(filepath.Join(repo, "reports"), 0o755); err != nil {
			t.Fatal(err)
		}
		gitserver.MustGit(t, repo, "init", "-q", "-b", "main")
		if err := os.WriteFile(filepath.Join(repo, "README.md"), []byte("clean\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		gitserver.MustGit(t, repo, "add", "-A")
		gitserver.MustGit(t, repo, "commit", "-q", "-m", "A clean start")
		gitserver.MustGit(t, repo, "checkout", "-q", "-b", "modelops/status")
		// A report holding an Authorization header's basic-auth pair.
		header := "Basic " + base64.StdEncoding.EncodeToString([]byte(git.TokenUsername+":"+other))
		if err := os.WriteFile(filepath.Join(repo, "reports", "drift.json"), []byte("{\n\"auth\": \""+header+"\"\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		gitserver.MustGit(t, repo, "add", "-A")
		gitserver.MustGit(t, repo, "commit", "-q", "-m", "modelops: record drift\n\nModelops-Evidence: "+token)
		gitserver.MustGit(t, repo, "checkout", "-q", "main")

		s := newLeakScanner(secrets)
		if err := s.scanRepo("planted", repo); err != nil {
			t.Fatal(err)
		}
		// The basic-auth pair's prefix is 15 bytes, so the secret's own base64 is found in it
		// too: both forms name the report.
		var inMessage, inReport bool
		for _, h := range s.hits {
			message := strings.HasPrefix(h, "the GitHub token (as is) in planted: the message of commit ") &&
				strings.HasSuffix(h, "(refs/heads/modelops/status), line 3")
			report := strings.HasPrefix(h, "the git token (") && strings.Contains(h, ") in planted: reports/drift.json at commit ") &&
				strings.HasSuffix(h, "(refs/heads/modelops/status), line 2")
			if !message && !report {
				t.Errorf("unexpected hit %q", h)
			}
			inMessage, inReport = inMessage || message, inReport || (report && strings.HasPrefix(h, "the git token (basic auth)"))
		}
		if !inMessage || !inReport {
			t.Errorf("hits %q, want the commit message (line 3) and the basic-auth pair in reports/drift.json on modelops/status", s.hits)
		}
		if s.scanned["report"] != 1 {
			t.Errorf("scanned %d reports, want 1", s.scanned["report"])
		}
	})

	t.Run("an API request body, percent-encoded", func(t *testing.T) {
		rec := &apiRecorder{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"ok": true}`)
		})}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		resp, err := http.Post(srv.URL+"/repos/a/b/statuses/abc", "application/x-www-form-urlencoded", strings.NewReader("token="+url.QueryEscape(other)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		s := newLeakScanner(secrets)
		rec.scanInto(s)
		want := "the git token (percent-encoded) in GitHub API exchange 0 (POST /repos/a/b/statuses/abc): the request body, line 1"
		if len(s.hits) != 1 || s.hits[0] != want {
			t.Errorf("hits %q, want [%q]", s.hits, want)
		}
	})

	t.Run("nothing planted, nothing found", func(t *testing.T) {
		s := newLeakScanner(secrets)
		s.scan("output", "clean", []byte("ghp_plantedTOKEN012345678 is one character short\n"))
		if len(s.hits) != 0 {
			t.Errorf("hits %q in a clean text", s.hits)
		}
	})
}

// serveWithSecrets runs `modelops run` (cmd, without output set), calls its API with the
// right token and with a wrong one (another secret), delivers a webhook signed with the
// secret and one signed with the wrong secret, stops it with SIGTERM, and scans its output
// and every HTTP response it gave.
func serveWithSecrets(t *testing.T, scan *leakScanner, fake *githubfake.Server, cmd *exec.Cmd, logs *strings.Builder, apiToken, webhookSecret string) {
	t.Helper()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	p := startRunProcess(t, cmd)
	base := p.base
	waitReady(t, base)

	call := func(method, path, token, body string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var dump bytes.Buffer
		fmt.Fprintf(&dump, "%s\n", resp.Status)
		_ = resp.Header.Write(&dump)
		if _, err := io.Copy(&dump, resp.Body); err != nil {
			t.Fatal(err)
		}
		scan.scan("http", fmt.Sprintf("the response of modelops run to %s %s", method, path), dump.Bytes())
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/api/v1/status", apiToken, "", http.StatusOK},
		{"POST", "/api/v1/models/" + e2eModel + "/drift", apiToken, "", http.StatusOK},
		{"POST", "/api/v1/models/" + e2eModel + "/retrain", apiToken, `{"reason": "the spring cohort's labels are in", "by": "ana"}`, http.StatusOK},
		// Another secret as the bearer token: refused, and echoed nowhere.
		{"POST", "/api/v1/models/" + e2eModel + "/retrain", webhookSecret, `{"reason": "forged"}`, http.StatusUnauthorized},
		{"GET", "/metrics", "", "", http.StatusOK},
	} {
		if got := call(c.method, c.path, c.token, c.body); got != c.want {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, got, c.want)
		}
	}

	tip := strings.TrimSpace(gitserver.MustGit(t, fake.GitDir(), "rev-parse", "refs/heads/main"))
	parent := strings.TrimSpace(gitserver.MustGit(t, fake.GitDir(), "rev-parse", "refs/heads/main^"))
	push := fake.PushEvent("refs/heads/main", parent, tip, "ana")
	if status, err := fake.Deliver(base+"/webhooks/github", webhookSecret, "push", push); err != nil || status/100 != 2 {
		t.Errorf("signed delivery: status %d, %v; want 2xx", status, err)
	}
	// Signed with another secret: refused.
	if status, err := fake.Deliver(base+"/webhooks/github", apiToken, "push", push); err != nil || status != http.StatusUnauthorized {
		t.Errorf("delivery signed with the wrong secret: status %d, %v; want 401", status, err)
	}

	err := p.stop(60 * time.Second)
	stderrText := p.log()
	scan.scan("output", "modelops run: stdout", stdout.Bytes())
	scan.scan("output", "modelops run: stderr", []byte(stderrText))
	logs.WriteString(stderrText)
	if err != nil {
		t.Fatalf("modelops run: %v after SIGTERM, want exit 0\n%s", err, stderrText)
	}
	if !strings.Contains(stderrText, "github delivery refused") {
		t.Errorf("the forged delivery was not logged:\n%s", stderrText)
	}
}
