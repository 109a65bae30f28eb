package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// must (check runs need a GitHub App). Without it, the first 403 "Resource not
	// accessible by personal access token" switches to statuses too.
	Statuses bool
	// Now stamps completed check runs (default time.Now).
	Now func() time.Time
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
	r := &Reporter{client: client, opts: opts}
	r.statuses.Store(opts.Statuses)
	return r
}

// UsesStatuses reports whether checks are published as commit statuses.
func (r *Reporter) UsesStatuses() bool { return r.statuses.Load() }

// Report creates the check run (c.Name, c.Commit) or updates the latest one of that name in
// place; an unchanged report writes nothing. Annotations go 50 per request: the first 50
// with the create, the rest by further updates; an update in place sends only the
// annotations the run does not have yet (GitHub appends annotations, it never replaces
// them). Summary and text are cut under 65,535 characters. With statuses, the commit
// status of context c.Name is set instead.
func (r *Reporter) Report(ctx context.Context, c reconciler.CheckReport) error {
	if c.Name == "" || c.Commit == "" {
		return fmt.Errorf("report check %q on %q: expected a name and a commit", c.Name, c.Commit)
	}
	if !r.statuses.Load() {
		err := r.checkRun(ctx, c)
		if !patForbidden(err) {
			return err
		}
		r.statuses.Store(true)
	}
	return r.status(ctx, c)
}

// patForbidden reports whether err is GitHub refusing check runs to a personal access
// token.
func patForbidden(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden &&
		strings.Contains(er.Message, "Resource not accessible by personal access token")
}

func (r *Reporter) checkRun(ctx context.Context, c reconciler.CheckReport) error {
	runs, _, err := r.client.Checks.ListCheckRunsForRef(ctx, r.opts.Owner, r.opts.Repo, c.Commit, &gh.ListCheckRunsOptions{
		CheckName: gh.String(c.Name), Filter: gh.String("latest"), ListOptions: gh.ListOptions{PerPage: 100},
	})
	if err != nil {
		return fmt.Errorf("find check run %q on %s: %w", c.Name, c.Commit, err)
	}
	var run *gh.CheckRun
	for _, cr := range runs.CheckRuns {
		if cr.GetName() == c.Name && cr.GetHeadSHA() == c.Commit && (run == nil || cr.GetID() > run.GetID()) {
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
	output := func(batch []*gh.CheckRunAnnotation) *gh.CheckRunOutput {
		o := &gh.CheckRunOutput{Title: gh.String(title), Summary: gh.String(summary), Annotations: batch}
		if text != "" {
			o.Text = gh.String(text)
		}
		return o
	}

	// sent counts the annotations the run has; changed says its other fields differ.
	sent, changed := 0, false
	if run == nil {
		opts := gh.CreateCheckRunOptions{
			Name: c.Name, HeadSHA: c.Commit, Status: gh.String(string(c.Status)),
			Output: output(annotations[:min(MaxAnnotations, len(annotations))]),
		}
		if c.DetailsURL != "" {
			opts.DetailsURL = gh.String(c.DetailsURL)
		}
		if conclusion != "" {
			opts.Conclusion = gh.String(conclusion)
			opts.CompletedAt = &gh.Timestamp{Time: r.opts.Now()}
		}
		if run, _, err = r.client.Checks.CreateCheckRun(ctx, r.opts.Owner, r.opts.Repo, opts); err != nil {
			return fmt.Errorf("create check run %q on %s: %w", c.Name, c.Commit, err)
		}
		sent = min(MaxAnnotations, len(annotations))
	} else {
		o := run.GetOutput()
		sent = min(o.GetAnnotationsCount(), len(annotations))
		changed = run.GetStatus() != string(c.Status) || run.GetConclusion() != conclusion ||
			run.GetDetailsURL() != c.DetailsURL || o.GetTitle() != title || o.GetSummary() != summary || o.GetText() != text
	}
	// The update of the fields carries the next annotations; further updates the rest.
	for changed || sent < len(annotations) {
		batch := annotations[sent:min(sent+MaxAnnotations, len(annotations))]
		opts := gh.UpdateCheckRunOptions{Name: c.Name, Status: gh.String(string(c.Status)), Output: output(batch)}
		if c.DetailsURL != "" {
			opts.DetailsURL = gh.String(c.DetailsURL)
		}
		if conclusion != "" {
			opts.Conclusion = gh.String(conclusion)
			opts.CompletedAt = &gh.Timestamp{Time: r.opts.Now()}
		}
		if _, _, err := r.client.Checks.UpdateCheckRun(ctx, r.opts.Owner, r.opts.Repo, run.GetID(), opts); err != nil {
			return fmt.Errorf("update check run %q on %s: %w", c.Name, c.Commit, err)
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
// that context already says the same.
func (r *Reporter) status(ctx context.Context, c reconciler.CheckReport) error {
	state, desc := statusState(c), statusDescription(c)
	statuses, _, err := r.client.Repositories.ListStatuses(ctx, r.opts.Owner, r.opts.Repo, c.Commit, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return fmt.Errorf("list statuses of %s: %w", c.Commit, err)
	}
	// GitHub lists the newest first; the newest of a context is the one shown.
	for _, s := range statuses {
		if s.GetContext() != c.Name {
			continue
		}
		if s.GetState() == state && s.GetDescription() == desc && s.GetTargetURL() == c.DetailsURL {
			return nil
		}
		break
	}
	st := &gh.RepoStatus{State: gh.String(state), Context: gh.String(c.Name), Description: gh.String(desc)}
	if c.DetailsURL != "" {
		st.TargetURL = gh.String(c.DetailsURL)
	}
	if _, _, err := r.client.Repositories.CreateStatus(ctx, r.opts.Owner, r.opts.Repo, c.Commit, st); err != nil {
		return fmt.Errorf("set status %q on %s: %w", c.Name, c.Commit, err)
	}
	return nil
}
