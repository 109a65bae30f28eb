package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v62/github"

	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.Reporter = (*Reporter)(nil)

// ReporterOptions configures a Reporter.
type ReporterOptions struct {
	// Owner and Repo name the GitHub repository.
	Owner, Repo string
	// Statuses publishes commit statuses instead of check runs, as a personal access token
	// must (check runs need a GitHub App). Without it, the first 403 refusing check runs to
	// a personal access token (classic or fine-grained) switches to statuses too.
	Statuses bool
	// Now stamps completed check runs (default time.Now).
	Now func() time.Time
	// AppID is the GitHub App modelops authenticates as: only its check runs are read and
	// updated (0 without an App).
	AppID int64
	// DetailsURL is where a check without its own details link points, such as a
	// dashboard (default: the status branch on GitHub). GitHub would put the App's homepage
	// there otherwise.
	DetailsURL string
	// HTMLURL is the repository's web address (default https://github.com/<owner>/<repo>);
	// StatusBranch the branch holding the reports (default modelops/status).
	HTMLURL, StatusBranch string
}

// Reporter publishes checks as GitHub check runs, or as commit statuses with a personal
// access token.
type Reporter struct {
	client   *gh.Client
	opts     ReporterOptions
	statuses atomic.Bool
}

// NewReporter returns a Reporter for the repository opts names.
func NewReporter(client *gh.Client, opts ReporterOptions) *Reporter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTMLURL == "" {
		opts.HTMLURL = "https://github.com/" + opts.Owner + "/" + opts.Repo
	}
	if opts.StatusBranch == "" {
		opts.StatusBranch = "modelops/status"
	}
	r := &Reporter{client: client, opts: opts}
	r.statuses.Store(opts.Statuses)
	return r
}

// UsesStatuses reports whether checks are published as commit statuses.
func (r *Reporter) UsesStatuses() bool { return r.statuses.Load() }

// Report publishes c as a check run of this App on c.Commit; an unchanged report writes
// nothing. GitHub appends a check run's annotations on every update and never removes
// them, and shows the latest run of a name: so the latest run of c.Name is updated in
// place only when it carries the same annotations (their digest is its external_id), and
// otherwise a new run is created, so that a recovered check does not keep the drift's
// annotations. Annotations go 50 per request: the first 50 with the create, the rest by
// further updates. Summary and text are cut under 65,535 characters. c.DetailsURL may be
// a URL or a path on the status branch; without one the run links to
// ReporterOptions.DetailsURL or the status branch. With statuses, the commit status of
// context c.Name is set instead.
//
// A write answered 5xx may have taken effect: Report looks again before writing again.
func (r *Reporter) Report(ctx context.Context, c reconciler.CheckReport) error {
	if c.Name == "" || c.Commit == "" {
		return fmt.Errorf("report check %q on %q: expected a name and a commit", c.Name, c.Commit)
	}
	c.DetailsURL = r.detailsURL(c.DetailsURL)
	if !r.statuses.Load() {
		err := untilSettled(func() error { return r.checkRun(ctx, c) })
		if !patForbidden(err) {
			return err
		}
		r.statuses.Store(true)
	}
	return untilSettled(func() error { return r.status(ctx, c) })
}

// detailsURL resolves a check's details link: a URL as it is, a path as that file on the
// status branch, none as the configured link or the status branch.
func (r *Reporter) detailsURL(link string) string {
	switch {
	case strings.Contains(link, "://"):
		return link
	case link != "":
		return r.opts.HTMLURL + "/blob/" + escapePath(r.opts.StatusBranch) + "/" + escapePath(strings.TrimPrefix(link, "/"))
	case r.opts.DetailsURL != "":
		return r.opts.DetailsURL
	}
	return r.opts.HTMLURL + "/tree/" + escapePath(r.opts.StatusBranch)
}

// escapePath escapes each segment of a slash-separated path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// patForbidden reports whether err is GitHub refusing check runs to a personal access
// token: a classic one or a fine-grained one, each with its own message.
func patForbidden(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden &&
		(strings.Contains(er.Message, "Resource not accessible by personal access token") ||
			strings.Contains(er.Message, "You must authenticate via a GitHub App"))
}

// annotationsID is the external_id of a check run carrying annotations: a digest of them.
func annotationsID(as []*gh.CheckRunAnnotation) string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(as) // hashing cannot fail
	return "annotations-" + hex.EncodeToString(h.Sum(nil)[:12])
}

func (r *Reporter) checkRun(ctx context.Context, c reconciler.CheckReport) error {
	opts := &gh.ListCheckRunsOptions{CheckName: gh.String(c.Name), Filter: gh.String("latest"), ListOptions: gh.ListOptions{PerPage: 100}}
	if r.opts.AppID != 0 {
		opts.AppID = gh.Int64(r.opts.AppID)
	}
	runs, _, err := r.client.Checks.ListCheckRunsForRef(ctx, r.opts.Owner, r.opts.Repo, c.Commit, opts)
	if err != nil {
		return fmt.Errorf("find check run %q on %s: %w", c.Name, c.Commit, err)
	}
	var run *gh.CheckRun
	for _, cr := range runs.CheckRuns {
		if cr.GetName() == c.Name && cr.GetHeadSHA() == c.Commit && (r.opts.AppID == 0 || cr.GetApp().GetID() == r.opts.AppID) &&
			(run == nil || cr.GetID() > run.GetID()) {
			run = cr
		}
	}
	title := c.Title
	if title == "" {
		title = c.Name
	}
	summary := truncate(c.Summary, MaxCheckText, "*(cut to fit GitHub's limit; the full report: "+c.DetailsURL+")*")
	if summary == "" {
		summary = title
	}
	text := truncate(c.Text, MaxCheckText, "*(cut to fit GitHub's limit; the full report: "+c.DetailsURL+")*")
	conclusion := ""
	if c.Status == reconciler.CheckCompleted {
		conclusion = string(c.Conclusion)
	}
	annotations := toAnnotations(c.Annotations)
	annotationsOf := annotationsID(annotations)
	output := func(batch []*gh.CheckRunAnnotation) *gh.CheckRunOutput {
		o := &gh.CheckRunOutput{Title: gh.String(title), Summary: gh.String(summary), Annotations: batch}
		if text != "" {
			o.Text = gh.String(text)
		}
		return o
	}

	// sent counts the annotations the run has; changed says its other fields differ.
	sent, changed := 0, false
	if run == nil || run.GetExternalID() != annotationsOf || run.GetOutput().GetAnnotationsCount() > len(annotations) {
		opts := gh.CreateCheckRunOptions{
			Name: c.Name, HeadSHA: c.Commit, Status: gh.String(string(c.Status)), DetailsURL: gh.String(c.DetailsURL),
			ExternalID: gh.String(annotationsOf), Output: output(annotations[:min(MaxAnnotations, len(annotations))]),
		}
		if conclusion != "" {
			opts.Conclusion = gh.String(conclusion)
			opts.CompletedAt = &gh.Timestamp{Time: r.opts.Now()}
		}
		if run, _, err = r.client.Checks.CreateCheckRun(ctx, r.opts.Owner, r.opts.Repo, opts); err != nil {
			return unsettled(fmt.Errorf("create check run %q on %s: %w", c.Name, c.Commit, err))
		}
		sent = min(MaxAnnotations, len(annotations))
	} else {
		o := run.GetOutput()
		sent = o.GetAnnotationsCount()
		changed = run.GetStatus() != string(c.Status) || run.GetConclusion() != conclusion ||
			run.GetDetailsURL() != c.DetailsURL || o.GetTitle() != title || o.GetSummary() != summary || o.GetText() != text
	}
	// The update of the fields carries the next annotations; further updates the rest.
	for changed || sent < len(annotations) {
		batch := annotations[sent:min(sent+MaxAnnotations, len(annotations))]
		opts := gh.UpdateCheckRunOptions{Name: c.Name, Status: gh.String(string(c.Status)), DetailsURL: gh.String(c.DetailsURL), Output: output(batch)}
		if conclusion != "" {
			opts.Conclusion = gh.String(conclusion)
			opts.CompletedAt = &gh.Timestamp{Time: r.opts.Now()}
		}
		if _, _, err := r.client.Checks.UpdateCheckRun(ctx, r.opts.Owner, r.opts.Repo, run.GetID(), opts); err != nil {
			return unsettled(fmt.Errorf("update check run %q on %s: %w", c.Name, c.Commit, err))
		}
		sent += len(batch)
		changed = false
	}
	return nil
}

func toAnnotations(as []reconciler.Annotation) []*gh.CheckRunAnnotation {
	out := make([]*gh.CheckRunAnnotation, len(as))
	for i, a := range as {
		start := max(a.StartLine, 1)
		end := max(a.EndLine, start)
		level := a.Level
		if level == "" {
			level = "notice"
		}
		out[i] = &gh.CheckRunAnnotation{
			Path: gh.String(a.Path), StartLine: gh.Int(start), EndLine: gh.Int(end),
			AnnotationLevel: gh.String(level), Message: gh.String(truncate(a.Message, MaxCheckText, "…")),
		}
	}
	return out
}

// statusState maps a check's status and conclusion to a commit status's state.
func statusState(c reconciler.CheckReport) string {
	if c.Status != reconciler.CheckCompleted {
		return "pending"
	}
	switch c.Conclusion {
	case reconciler.CheckSuccess, reconciler.CheckNeutral:
		return "success"
	case reconciler.CheckFailure:
		return "failure"
	}
	return "error"
}

// statusDescription is the title (or the summary's first line) cut to 140 characters.
func statusDescription(c reconciler.CheckReport) string {
	d := c.Title
	if d == "" {
		d, _, _ = strings.Cut(strings.TrimSpace(c.Summary), "\n")
	}
	if utf8.RuneCountInString(d) > MaxStatusDescription {
		d = string([]rune(d)[:MaxStatusDescription-1]) + "…"
	}
	return d
}

// status sets the commit status of context c.Name on c.Commit, unless the latest one of
// that context already says the same. GitHub keeps at most 1,000 statuses per commit and
// context, so an unchanged report must never add one: the latest of each context is read
// from the combined status, every page of it, however many other contexts the commit has.
func (r *Reporter) status(ctx context.Context, c reconciler.CheckReport) error {
	state, desc := statusState(c), statusDescription(c)
	cur, err := r.latestStatus(ctx, c.Commit, c.Name)
	if err != nil {
		return err
	}
	if cur != nil && cur.GetState() == state && cur.GetDescription() == desc && cur.GetTargetURL() == c.DetailsURL {
		return nil
	}
	st := &gh.RepoStatus{State: gh.String(state), Context: gh.String(c.Name), Description: gh.String(desc), TargetURL: gh.String(c.DetailsURL)}
	if _, _, err := r.client.Repositories.CreateStatus(ctx, r.opts.Owner, r.opts.Repo, c.Commit, st); err != nil {
		return unsettled(fmt.Errorf("set status %q on %s: %w", c.Name, c.Commit, err))
	}
	return nil
}

// latestStatus returns the latest status of context on commit, or nil.
func (r *Reporter) latestStatus(ctx context.Context, commit, context string) (*gh.RepoStatus, error) {
	opts := &gh.ListOptions{PerPage: 100}
	for {
		combined, resp, err := r.client.Repositories.GetCombinedStatus(ctx, r.opts.Owner, r.opts.Repo, commit, opts)
		if err != nil {
			return nil, fmt.Errorf("read the statuses of %s: %w", commit, err)
		}
		for _, s := range combined.Statuses {
			if s.GetContext() == context {
				return s, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}
