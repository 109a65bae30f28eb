package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/medimind/modelops/internal/server"
	"github.com/medimind/modelops/reconciler"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// axeSource is axe-core, the accessibility engine injected into every page the browser test
// opens; make vendor-axe refreshes it from npm.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolations runs axe-core on the page and lists its serious and critical violations,
// each with the rule, what it asks and the first elements it found. Injecting through the
// DevTools protocol is not subject to the page's Content-Security-Policy.
const axeViolations = `(typeof axe === "undefined" ? Promise.reject(new Error("axe-core is not loaded")) :
	axe.run(document, {resultTypes: ["violations"]})).then(r => r.violations
	.filter(v => v.impact === "serious" || v.impact === "critical")
	.map(v => v.id + " (" + v.impact + "): " + v.help + ": " + v.nodes.slice(0, 3).map(n => n.target.join(" ") + " " + n.failureSummary.replace(/\s+/g, " ")).join(" | ")))`

// uiServer serves s with the web UI on, as `modelops run --ui` does, on a loopback listener.
func uiServer(t *testing.T, s *stack, opts runOptions) (*httptest.Server, *runOptions) {
	t.Helper()
	opts.ui = true
	web, err := newUI(s, opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	opts.web = web
	h, err := opts.handler(s, server.NewMetrics(), idleManager(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, &opts
}

// TestRepoWebURL: the UI links commits and pull requests to the --github repository (on its
// Enterprise host), else to an https --repo on github.com, else nowhere.
func TestRepoWebURL(t *testing.T) {
	for _, tc := range []struct {
		repo string
		gh   githubOptions
		want string
	}{
		{"/srv/policies", githubOptions{repo: "medimind/policies"}, "https://github.com/medimind/policies"},
		{"", githubOptions{repo: "medimind/policies", apiURL: "https://ghe.example/api/v3/"}, "https://ghe.example/medimind/policies"},
		{"https://github.com/medimind/policies.git", githubOptions{}, "https://github.com/medimind/policies"},
		{"https://gitlab.example/medimind/policies.git", githubOptions{}, ""},
		{"/srv/policies", githubOptions{}, ""},
		{"http://github.com/medimind/policies", githubOptions{}, ""},
	} {
		if got := repoWebURL(tc.repo, tc.gh); got != tc.want {
			t.Errorf("repoWebURL(%q, %+v) = %q, want %q", tc.repo, tc.gh, got, tc.want)
		}
	}
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestUIAccess checks who gets in: the UI is off without --ui, the login refuses a wrong
// token, a right one sets an HttpOnly, SameSite=Strict cookie that is not the token, every
// answer carries the strict CSP, and --ui-auth=proxy trusts only the proxy's headers.
func TestUIAccess(t *testing.T) {
	repo := runRepo(t, 6)
	ctx := context.Background()
	s, err := openStack(ctx, &repoOptions{repo: repo, branch: "main", stateDir: filepath.Join(t.TempDir(), "state"),
		authorName: "modelops[bot]", authorEmail: "bot@example.com"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.reconciler.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	const token = "ui-secret-123"

	// Without --ui there is no UI.
	t.Setenv("MODELOPS_API_TOKEN", token)
	h, err := runOptions{}.handler(s, server.NewMetrics(), idleManager(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	off := httptest.NewServer(h)
	defer off.Close()
	if resp, err := noRedirect.Get(off.URL + "/ui/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /ui/ without --ui: %v %v, want 404", resp, err)
	}

	// --ui without a token to log in with is refused.
	t.Setenv("MODELOPS_API_TOKEN", "")
	if _, err := newUI(s, runOptions{uiAuth: "token"}, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "API token") {
		t.Fatalf("--ui without a token: %v, want an error naming the API token", err)
	}

	t.Setenv("MODELOPS_API_TOKEN", token)
	srv, _ := uiServer(t, s, runOptions{uiAuth: "token"})
	resp, err := noRedirect.Get(srv.URL + "/")
	if err != nil || resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /: %v %v, want a redirect to /ui/", resp, err)
	}
	resp, err = noRedirect.Get(srv.URL + "/ui")
	if err != nil || resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /ui: %v %v, want a redirect to /ui/", resp, err)
	}
	resp, err = noRedirect.Get(srv.URL + "/ui/")
	if err != nil || resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
		t.Fatalf("GET /ui/ logged out: %v %v, want a redirect to the login", resp, err)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	resp, err = noRedirect.PostForm(srv.URL+"/ui/login", url.Values{"token": {"wrong"}})
	if err != nil || resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("login with a wrong token: %v %v, want 401 and no cookie", resp, err)
	}
	resp, err = noRedirect.PostForm(srv.URL+"/ui/login", url.Values{"token": {token}})
	if err != nil || resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("login with the token: %v %v, want a redirect with a cookie", resp, err)
	}
	c := resp.Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || strings.Contains(c.Value, token) || len(c.Value) < 32 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, a random id and not the token", c)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/ui/", nil)
	req.AddCookie(c)
	resp, err = noRedirect.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("overview with the session: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(body, []byte(`data-model="sepsis-risk"`)) {
		t.Fatalf("the overview does not list sepsis-risk:\n%s", body)
	}
	// A forged cookie is nobody.
	req, _ = http.NewRequest("GET", srv.URL+"/ui/", nil)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: strings.Repeat("0", len(c.Value))})
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a forged session: %v %v, want a redirect to the login", resp, err)
	}

	proxy, _ := uiServer(t, s, runOptions{uiAuth: "proxy"})
	if resp, err := noRedirect.Get(proxy.URL + "/ui/"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("proxy mode without X-Forwarded-User: %v %v, want 401", resp, err)
	}
	req, _ = http.NewRequest("GET", proxy.URL+"/ui/models/sepsis-risk", nil)
	req.Header.Set("X-Forwarded-Email", "ana@example.com")
	resp, err = noRedirect.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("proxy mode with X-Forwarded-Email: %v %v", resp, err)
	}
	if body, _ := io.ReadAll(resp.Body); !bytes.Contains(body, []byte("ana@example.com")) {
		t.Fatal("the model page does not name the proxy's user")
	}
}

// browserProblems collects what must not happen on a page: console errors, uncaught
// exceptions, browser log errors (a CSP violation is one) and failed requests.
type browserProblems struct {
	mu   sync.Mutex
	list []string
}

func (p *browserProblems) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			msg = fmt.Sprintf("console.%s", ev.Type)
			for _, a := range ev.Args {
				msg += " " + string(a.Value) + a.Description
			}
		}
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if e := ev.ExceptionDetails.Exception; e != nil {
			msg += " " + e.Description
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			msg = fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	case *network.EventLoadingFailed:
		// A request cancelled by leaving the page (the event stream) is not a failure.
		if !ev.Canceled {
			msg = fmt.Sprintf("request failed: %s (%s)", ev.ErrorText, ev.BlockedReason)
		}
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			msg = fmt.Sprintf("HTTP %d %s", ev.Response.Status, ev.Response.URL)
		}
	}
	if msg != "" {
		p.mu.Lock()
		p.list = append(p.list, msg)
		p.mu.Unlock()
	}
}

// take returns the problems so far and forgets them.
func (p *browserProblems) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.list
	p.list = nil
	return out
}

// TestUIInABrowser drives the web UI in headless Chromium over the demo's repository (a
// real history: drift reports, a merged retrain, a training run, a canary): every page loads
// with no console error and no failed request, and axe-core finds no serious or critical
// accessibility violation on it; the login refuses a wrong token, the overview lists every
// model, the drift chart has one point per report, the column table sorts, the keyboard
// reaches its controls and its columns' links, a column's histograms show with JavaScript on
// and off, the canary charts mark the rollback, the page updates after a cycle without a
// reload, the layouts hold at 1280 and 390 px, and `modelops demo ui` serves the kept demo.
func TestUIInABrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need Debian's chromium at %s (apt-get install chromium; .ci/run installs it): %v", chromiumPath, err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var story bytes.Buffer
	if err := runDemo(t.Context(), demoOptions{dir: dir, stdout: &story,
		trainCommand: []string{exe, "-test.run=^TestDemoTrainJob$"}, log: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatalf("demo: %v\n%s", err, story.String())
	}
	repoDir := filepath.Join(dir, "policy-repo")
	ctx := context.Background()
	// The demo's clock is simulated; the UI's stack continues it, so that a cycle run here
	// is the next one of the story.
	var clockMu sync.Mutex
	var now time.Time
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	s, err := openStack(ctx, &repoOptions{repo: repoDir, branch: "main", stateDir: filepath.Join(dir, "state"), now: clock,
		dataRoot: repoDir, authorName: "modelops[bot]", authorEmail: "modelops@users.noreply.github.com"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.status.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ms := range st.Models {
		if d, ok := ms.LastDrift(); ok && d.At.After(now) {
			now = d.At.Add(time.Minute)
		}
	}
	const token = "browser-secret-123"
	t.Setenv("MODELOPS_API_TOKEN", token)
	srv, opts := uiServer(t, s, runOptions{uiAuth: "token"})

	alloc, cancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
	defer cancel()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	browser, cancel = context.WithTimeout(browser, 3*time.Minute)
	defer cancel()
	problems := &browserProblems{}
	if err := chromedp.Listen(browser, problems.listen); err != nil {
		t.Fatal(err)
	}
	artifacts := t.ArtifactDir()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(browser, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return n
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(browser, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(loc, srv.URL)
	}
	submit := func(what, tokenValue string) {
		t.Helper()
		do(what, chromedp.SetValue(chromedp.ID("token"), tokenValue))
		if _, err := chromedp.Run(browser, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`form[action="/ui/login"] button`)))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// clean fails the test on any problem since the last check, and on a form control
	// without a label or a chart without an accessible name.
	clean := func(where string) {
		t.Helper()
		if p := problems.take(); len(p) > 0 {
			t.Fatalf("%s: %d problems in the browser:\n%s", where, len(p), strings.Join(p, "\n"))
		}
		if n := eval(`[...document.querySelectorAll("input, select")].filter(e => e.labels.length === 0).length`); n != 0 {
			t.Errorf("%s: %d form controls have no label", where, n)
		}
		if n := eval(`document.querySelectorAll("svg:not([aria-label]):not([aria-labelledby])").length`); n != 0 {
			t.Errorf("%s: %d charts have no accessible name", where, n)
		}
		if _, err := chromedp.Run(browser, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			t.Fatalf("%s: inject axe-core: %v", where, err)
		}
		violations, err := chromedp.Run(browser, chromedp.Evaluate[[]string](axeViolations, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: run axe-core: %v", where, err)
		}
		for _, v := range violations {
			t.Errorf("%s: accessibility: %s", where, v)
		}
	}
	// screenshots writes the page at both widths and checks that nothing overflows the
	// viewport sideways (wide tables scroll inside their own box).
	screenshots := func(name string) {
		t.Helper()
		for _, width := range []int64{1280, 390} {
			do("resize", chromedp.EmulateViewport(width, 900))
			if over := eval(`document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
				wide, _ := chromedp.Run(browser, chromedp.Evaluate[[]string](`[...document.querySelectorAll("main *")]
					.filter(e => !e.closest(".scroll") && e.getBoundingClientRect().right > window.innerWidth)
					.slice(0, 5).map(e => e.tagName + "." + e.className + ": " + e.textContent.slice(0, 60))`))
				t.Errorf("%s at %d px: the page is %d px wider than the viewport; too wide: %q", name, width, over, wide)
			}
			// Quality 100 is a PNG.
			png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(artifacts, fmt.Sprintf("%s-%d.png", name, width)), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do("resize", chromedp.EmulateViewport(1280, 900))
	}

	// / leads to the login; a wrong token is refused, the right one lets in.
	do("open /", chromedp.Navigate(srv.URL+"/"))
	if loc := location(); loc != "/ui/login" {
		t.Fatalf("/ led to %s, want /ui/login", loc)
	}
	clean("login page")
	// axe-core does find what it is here to find: a field without a label.
	do("add an unlabelled field", chromedp.Evaluate[chromedp.Void](`document.body.appendChild(Object.assign(document.createElement("input"), {id: "unlabelled"}))`))
	if v, err := chromedp.Run(browser, chromedp.Evaluate[[]string](axeViolations, chromedp.EvalAwaitPromise)); err != nil || !slices.ContainsFunc(v, func(s string) bool { return strings.HasPrefix(s, "label (critical)") }) {
		t.Fatalf("axe-core on an unlabelled field: %q %v, want the label rule's critical violation", v, err)
	}
	do("remove it", chromedp.Evaluate[chromedp.Void](`document.getElementById("unlabelled").remove()`))
	screenshots("login")
	submit("log in with a wrong token", "not-the-token")
	if loc, n := location(), eval(`document.querySelectorAll("#login-error").length`); loc != "/ui/login" || n != 1 {
		t.Fatalf("a wrong token: at %s with %d error messages, want the login with its error", loc, n)
	}
	if p := problems.take(); len(p) == 0 || !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, "HTTP 401") }) {
		t.Fatalf("a wrong token: the browser saw %q, want the 401 of the login", p)
	}
	submit("log in", token)
	if loc := location(); loc != "/ui/" {
		t.Fatalf("the login led to %s, want /ui/", loc)
	}

	// The overview lists every model of the API's status.
	snap, err := s.reconciler.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sums := snap.Summaries()
	if n := eval(`document.querySelectorAll("tr.model-row").length`); n != len(sums) || len(sums) < 3 {
		t.Fatalf("the overview lists %d models, the status %d", n, len(sums))
	}
	for _, m := range sums {
		if n := eval(fmt.Sprintf(`document.querySelectorAll('tr.model-row[data-model=%q] a[href="/ui/models/%s"]').length`, m.Model, m.Model)); n != 1 {
			t.Errorf("the overview has no link to %s", m.Model)
		}
	}
	clean("overview")
	screenshots("overview")

	// The keyboard alone reaches a model: Tab to its link, Enter.
	focused := ""
	for range 30 {
		do("tab", chromedp.KeyEvent("\t"))
		if href, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.activeElement.getAttribute("href") || ""`)); strings.HasPrefix(href, "/ui/models/") {
			focused = href
			break
		}
	}
	if focused == "" {
		t.Fatal("Tab never reached a model's link on the overview")
	}
	if _, err := chromedp.Run(browser, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.KeyEvent("\r"))); err != nil {
		t.Fatal(err)
	}
	if loc := location(); loc != focused {
		t.Fatalf("Enter on the focused link led to %s, want %s", loc, focused)
	}

	// Every model's page: one drift point per report, the latest report's columns.
	for _, m := range sums {
		do("open "+m.Model, chromedp.Navigate(srv.URL+"/ui/models/"+m.Model))
		ms := snap.Status.Models[m.Model]
		if ms == nil {
			continue
		}
		if n := eval(`document.querySelectorAll('#drift-chart g[data-series="all columns"] circle.pt').length`); n != len(ms.Drift) {
			t.Errorf("%s: the drift chart has %d points, the status %d reports", m.Model, n, len(ms.Drift))
		}
		clean(m.Model + "'s page")
	}

	// The story's model: the column table sorts by score, the report page is complete.
	model := "sepsis-risk"
	ms := snap.Status.Models[model]
	last, _ := ms.LastDrift()
	if last.Columns < 2 {
		t.Fatalf("%s's last report has %d columns", model, last.Columns)
	}
	do("sort the columns", chromedp.Navigate(srv.URL+"/ui/models/"+model+"?sort=score"))
	if n := eval(`document.querySelectorAll("#columns tr.col-row").length`); n != last.Columns {
		t.Fatalf("the column table has %d rows, the report %d columns", n, last.Columns)
	}
	if n := eval(`(() => { const s = [...document.querySelectorAll("#columns tr.col-row td:nth-child(4)")].map(td => parseFloat(td.textContent));
		return s.findIndex((v, i) => i > 0 && v < s[i-1]); })()`); n != -1 {
		t.Fatalf("the columns sorted by score are out of order at row %d", n)
	}
	// The keyboard reaches the column table's filter, its sort control, the button that
	// applies them and then the columns' links, in this order.
	var reached []string
	for range 80 {
		do("tab", chromedp.KeyEvent("\t"))
		el, _ := chromedp.Run(browser, chromedp.Evaluate[string](`(e => e.id || e.className || e.tagName)(document.activeElement)`))
		if len(reached) == 0 || reached[len(reached)-1] != el {
			reached = append(reached, el)
		}
		if el == "col-link" {
			break
		}
	}
	order := []string{"colq", "colsort", "col-apply", "col-link"}
	at := 0
	for _, el := range reached {
		if at < len(order) && el == order[at] {
			at++
		}
	}
	if at != len(order) {
		t.Fatalf("Tab reached %q: want %q in this order", reached, order)
	}
	// Enter on the next column's link (the first one's histograms are shown) shows its
	// histograms in place (JavaScript on).
	do("tab", chromedp.KeyEvent("\t"))
	col, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.activeElement.dataset.col`))
	do("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	do("show a column's histograms", chromedp.KeyEvent("\r"))
	if _, err := chromedp.Run(browser, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector('#column-histogram-svg[data-column=%q]') !== null`, col),
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Enter on %s's link did not show its histograms: %v", col, err)
	}
	if eval(`window.notReloaded === true ? 1 : 0`) != 1 || !strings.Contains(location(), "col="+url.QueryEscape(col)) {
		t.Fatalf("showing %s's histograms reloaded the page or left the address at %s", col, location())
	}
	if n := eval(`document.querySelectorAll("#column-histogram-svg .bar.ref").length`); n < 2 {
		t.Fatalf("%s's histograms have %d reference bars", col, n)
	}
	clean("column histograms")
	// With JavaScript off the link loads the page with that column's histograms.
	other := eval(`document.querySelectorAll("a.col-link").length`) - 1
	scripts := func(off bool) {
		t.Helper()
		if _, err := chromedp.Call(browser, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off}); err != nil {
			t.Fatal(err)
		}
	}
	scripts(true)
	if _, err := chromedp.Run(browser, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr.col-row:nth-child(%d) a.col-link`, other+1))))); err != nil {
		t.Fatal(err)
	}
	scripts(false)
	if n := eval(`(() => { const l = document.querySelectorAll("a.col-link")[` + fmt.Sprint(other) + `]; const s = document.querySelector("#column-histogram-svg");
		return l && s && l.dataset.col === s.dataset.column && l.getAttribute("aria-current") === "true" ? 1 : 0; })()`); n != 1 {
		t.Fatalf("with JavaScript off the last column's link did not show its histograms (at %s)", location())
	}

	// The story's canary of version 13 was rolled back: its checks are listed, and the chart
	// marks the rollback.
	if ms.LastCanary == nil || ms.LastCanary.Outcome != reconciler.CanaryRolledBack {
		t.Fatalf("the demo's story should leave %s with a rolled-back canary; last canary %+v", model, ms.LastCanary)
	}
	if n := eval(`document.querySelectorAll("#canary-checks tbody tr").length`); n != len(ms.LastCanary.Checks) {
		t.Errorf("the canary table lists %d checks, the status %d", n, len(ms.LastCanary.Checks))
	}
	for _, id := range []string{"canary-chart", "canary-weight-chart", "canary-latency-chart"} {
		if n := eval(fmt.Sprintf(`document.querySelectorAll('#%s [data-mark="rollback"]').length`, id)); n != 1 {
			t.Errorf("the canary chart %s has %d rollback marks, want 1", id, n)
		}
	}
	// The weight chart has one point per check and one at the rollback, back at 0%.
	if n := eval(`document.querySelectorAll("#canary-weight-chart circle.pt").length`); n != len(ms.LastCanary.Checks)+1 {
		t.Errorf("the weight chart has %d points, want %d checks and the rollback", n, len(ms.LastCanary.Checks))
	}
	// The story's training run took seconds on the machine; on the simulated clock too.
	durations, err := chromedp.Run(browser, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#runs tbody tr td:nth-child(4)")].map(td => td.textContent)`))
	if err != nil || len(durations) == 0 {
		t.Fatalf("the runs table lists no duration: %v", err)
	}
	for _, d := range durations {
		if took, err := time.ParseDuration(d); err != nil || took > time.Hour {
			t.Errorf("a training run of the story took %q, want the seconds the job took", d)
		}
	}
	screenshots("model")
	do("open the latest report", chromedp.Navigate(srv.URL+"/ui/models/"+model+"/reports/"+strings.TrimSuffix(filepath.Base(last.Report), ".json")))
	if n := eval(`document.querySelectorAll("#columns tr.col-row").length`); n != last.Columns {
		t.Fatalf("the report page shows %d columns, the report has %d", n, last.Columns)
	}
	clean("report page")
	screenshots("report")

	// A cycle two hours later checks the wearable model's drift (every 2h): its page gains
	// the point without a reload.
	wearable := "deterioration-wearable"
	do("open "+wearable, chromedp.Navigate(srv.URL+"/ui/models/"+wearable))
	before := eval(`document.querySelectorAll('#drift-chart g[data-series="all columns"] circle.pt').length`)
	do("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	// Wait until the page's event stream is connected, so that the cycle's event reaches it.
	do("wait for the event stream", chromedp.Sleep(500*time.Millisecond))
	clockMu.Lock()
	now = now.Add(2*time.Hour + 5*time.Minute)
	clockMu.Unlock()
	if _, err := s.reconciler.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	opts.web.CycleDone()
	if _, err := chromedp.Run(browser, chromedp.Poll[chromedp.Void](`document.body.dataset.updates >= 1`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page did not update after the cycle: %v", err)
	}
	after := eval(`document.querySelectorAll('#drift-chart g[data-series="all columns"] circle.pt').length`)
	if eval(`window.notReloaded === true ? 1 : 0`) != 1 {
		t.Fatal("the page was reloaded; it should have updated in place")
	}
	if after != before+1 {
		t.Fatalf("after the cycle the drift chart has %d points, want %d", after, before+1)
	}
	clean("live update")
	t.Logf("screenshots in %s", artifacts)

	// make demo ends by saying how to see the story in a browser; that command serves this
	// demo's directory.
	if !strings.Contains(story.String(), "make demo-ui DEMO_DIR="+dir+"\n") {
		t.Errorf("the story does not end with the command that shows it in the browser:\n%s", story.String())
	}
	checkDemoUI(t, dir)
}

// checkDemoUI runs `modelops demo ui --dir dir` on a free port: it prints the UI's address and
// a token, and the overview it serves lists the story's model. A directory without a demo is
// refused with a sentence that says what to do.
func checkDemoUI(t *testing.T, dir string) {
	t.Helper()
	if err := runDemoUI(t.Context(), t.TempDir(), "127.0.0.1:0", io.Discard); err == nil || !strings.Contains(err.Error(), "run make demo first") {
		t.Errorf("demo ui over an empty directory: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- runDemoUI(ctx, dir, "127.0.0.1:0", pw); pw.Close() }()
	var addr, token string
	sc := bufio.NewScanner(pr)
	for (addr == "" || token == "") && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "The web UI over the demo's repository: "); ok {
			addr = strings.TrimSuffix(a, "/ui/")
		}
		if _, rest, ok := strings.Cut(sc.Text(), "Log in with the demo's token "); ok {
			token, _, _ = strings.Cut(rest, ".")
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo ui: %v", err)
		}
	}()
	if addr == "" || token == "" {
		t.Fatalf("demo ui printed no address and token (%v)", sc.Err())
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(addr+"/ui/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`data-model="sepsis-risk"`)) {
		t.Fatalf("demo ui's overview after the login: %s\n%s", resp.Status, body)
	}
}
