package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// checkRun is a check run; annotations accumulate over updates as on
// GitHub.
type checkRun struct {
	id, appID              int64
	name, headSHA          string
	status, conclusion     string
	detailsURL, externalID string
	startedAt, completedAt *time.Time
	title, summary, text   *string
	annotations            []Annotation
}

// Annotation is a check-run annotation as sent by the client.
type Annotation struct {
	Path            string  `json:"path"`
	StartLine       int     `json:"start_line"`
	EndLine         int     `json:"end_line"`
	StartColumn     *int    `json:"start_column,omitempty"`
	EndColumn       *int    `json:"end_column,omitempty"`
	AnnotationLevel string  `json:"annotation_level"`
	Message         string  `json:"message"`
	Title           *string `json:"title,omitempty"`
	RawDetails      *string `json:"raw_details,omitempty"`
}

// CheckRun is a check run as a test sees it.
type CheckRun struct {
	ID, AppID            int64
	Name, HeadSHA        string
	Status, Conclusion   string
	DetailsURL           string
	ExternalID           string
	Title, Summary, Text string
	Annotations          []Annotation
}

// CheckRuns returns every check run, oldest first.
func (s *Server) CheckRuns() []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, c := range s.checkRuns {
		out = append(out, CheckRun{
			ID: c.id, AppID: c.appID, Name: c.name, HeadSHA: c.headSHA, Status: c.status, Conclusion: c.conclusion,
			DetailsURL: c.detailsURL, ExternalID: c.externalID,
			Title: deref(c.title), Summary: deref(c.summary), Text: deref(c.text),
			Annotations: append([]Annotation(nil), c.annotations...),
		})
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func strOrNil(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// appSlug names the GitHub App id: "modelops" for the fake's own App
// (DefaultAppID or WithApp's), "app-<id>" for another one.
func (s *Server) appSlug(id int64) string {
	if id == DefaultAppID || s.app != nil && id == s.app.id {
		return "modelops"
	}
	return fmt.Sprintf("app-%d", id)
}

// appHomepage is the homepage URL the App id was registered with, which
// GitHub uses as a check run's details_url when the App gives none.
func (s *Server) appHomepage(id int64) string {
	return "https://" + s.appSlug(id) + ".example/"
}

// appJSON is the GitHub App (an integration) id.
func (s *Server) appJSON(id int64) map[string]any {
	created := stamp(s.started)
	slug := s.appSlug(id)
	return map[string]any{
		"id": id, "slug": slug, "node_id": nodeID("A", id), "client_id": "Iv1.fake",
		"owner": s.userJSON(s.cfg.owner), "name": slug, "description": slug + " reconciler",
		"external_url": s.appHomepage(id), "html_url": s.html("/apps/%s", slug),
		"created_at": created, "updated_at": created,
		"permissions": map[string]any{"checks": "write", "contents": "write", "pull_requests": "write", "statuses": "write", "metadata": "read"},
		"events":      []any{"check_run", "pull_request", "push"},
	}
}

func (s *Server) checkRunJSON(c *checkRun) map[string]any {
	u := s.api("/repos/%s/check-runs/%d", s.fullName(), c.id)
	var conclusion any
	if c.conclusion != "" {
		conclusion = c.conclusion
	}
	prs := []any{}
	for _, p := range s.pulls {
		s.refresh(p)
		if p.state == "open" && p.forkOwner == "" && p.headSHA == c.headSHA {
			prs = append(prs, map[string]any{
				"id": p.id, "number": p.number, "url": s.api("/repos/%s/pulls/%d", s.fullName(), p.number),
				"head": map[string]any{"ref": p.head, "sha": p.headSHA, "repo": map[string]any{"id": idOf("repo/" + s.fullName()), "url": s.repoAPI(), "name": s.cfg.repo}},
				"base": map[string]any{"ref": p.base, "sha": p.baseSHA, "repo": map[string]any{"id": idOf("repo/" + s.fullName()), "url": s.repoAPI(), "name": s.cfg.repo}},
			})
		}
	}
	return map[string]any{
		"id": c.id, "node_id": nodeID("CR", c.id), "head_sha": c.headSHA, "name": c.name,
		"url": u, "html_url": s.html("/%s/runs/%d", s.fullName(), c.id),
		"details_url": nullIfEmpty(c.detailsURL), "external_id": c.externalID,
		"status": c.status, "conclusion": conclusion,
		"started_at": stampOrNil(c.startedAt), "completed_at": stampOrNil(c.completedAt),
		"output": map[string]any{
			"title": strOrNil(c.title), "summary": strOrNil(c.summary), "text": strOrNil(c.text),
			"annotations_count": len(c.annotations), "annotations_url": u + "/annotations",
		},
		"check_suite":   map[string]any{"id": idOf("suite/" + c.headSHA)},
		"app":           s.appJSON(c.appID),
		"pull_requests": prs,
	}
}

// checkRunInput is the body of create and update; pointers tell "absent"
// from "empty".
type checkRunInput struct {
	Name        *string    `json:"name"`
	HeadSHA     string     `json:"head_sha"`
	DetailsURL  *string    `json:"details_url"`
	ExternalID  *string    `json:"external_id"`
	Status      *string    `json:"status"`
	Conclusion  *string    `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Output      *struct {
		Title       *string      `json:"title"`
		Summary     *string      `json:"summary"`
		Text        *string      `json:"text"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
}

// personalTokenRefused is GitHub's answer to a check-run write with a
// personal access token: only GitHub Apps may write check runs. A classic
// token (ghp_…) and a fine-grained one (github_pat_…) get different
// messages.
func personalTokenRefused(rq *request) *response {
	if rq.token.Kind != TokenPersonal {
		return nil
	}
	if strings.HasPrefix(rq.token.Value, fineGrainedPrefix) {
		return errorResponse(rq, http.StatusForbidden, "Resource not accessible by personal access token")
	}
	return errorResponse(rq, http.StatusForbidden, "You must authenticate via a GitHub App.")
}

func (s *Server) applyCheckRun(c *checkRun, in *checkRunInput) {
	now := s.now()
	if in.Name != nil {
		c.name = *in.Name
	}
	if in.DetailsURL != nil {
		c.detailsURL = *in.DetailsURL
	}
	if in.ExternalID != nil {
		c.externalID = *in.ExternalID
	}
	if in.Status != nil {
		c.status = *in.Status
	}
	if in.StartedAt != nil {
		t := in.StartedAt.UTC()
		c.startedAt = &t
	}
	if in.Conclusion != nil {
		c.conclusion, c.status = *in.Conclusion, "completed"
	}
	if c.status == "completed" {
		switch {
		case in.CompletedAt != nil:
			t := in.CompletedAt.UTC()
			c.completedAt = &t
		case c.completedAt == nil:
			c.completedAt = &now
		}
	}
	if o := in.Output; o != nil {
		if o.Title != nil {
			c.title = o.Title
		}
		if o.Summary != nil {
			c.summary = o.Summary
		}
		if o.Text != nil {
			c.text = o.Text
		}
		c.annotations = append(c.annotations, o.Annotations...)
	}
}

// conclusionRequired refuses to complete a run without a conclusion: GitHub
// requires one with status "completed" or completed_at.
func conclusionRequired(rq *request, c *checkRun, in *checkRunInput) *response {
	completing := (in.Status != nil && *in.Status == "completed") || in.CompletedAt != nil
	if !completing || in.Conclusion != nil || c.conclusion != "" {
		return nil
	}
	return validationFailed(rq, FieldError{Resource: "CheckRun", Field: "conclusion", Code: "missing_field",
		Message: "conclusion is required when status is completed or completed_at is given"})
}

func createCheckRun(s *Server, rq *request) *response {
	if rs := personalTokenRefused(rq); rs != nil {
		return rs
	}
	var in checkRunInput
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	sha, err := s.commitOf(in.HeadSHA)
	if err != nil || len(in.HeadSHA) != 40 {
		return unprocessable(rq, "No commit found for SHA: "+in.HeadSHA)
	}
	now := s.now()
	c := &checkRun{id: s.newIDLocked(), appID: rq.token.AppID, headSHA: sha, status: "queued", startedAt: &now}
	if rs := conclusionRequired(rq, c, &in); rs != nil {
		return rs
	}
	s.applyCheckRun(c, &in)
	if c.detailsURL == "" {
		// "If the integrator does not provide this, then the homepage of
		// the GitHub app is used."
		c.detailsURL = s.appHomepage(c.appID)
	}
	s.checkRuns = append(s.checkRuns, c)
	body := s.checkRunJSON(c)
	return &response{status: http.StatusCreated, body: body}
}

func (s *Server) checkRunByID(raw string) *checkRun {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil
	}
	for _, c := range s.checkRuns {
		if c.id == id {
			return c
		}
	}
	return nil
}

func getCheckRun(s *Server, rq *request) *response {
	c := s.checkRunByID(rq.params["check_run_id"])
	if c == nil {
		return notFound(rq)
	}
	return &response{status: http.StatusOK, body: s.checkRunJSON(c)}
}

func updateCheckRun(s *Server, rq *request) *response {
	if rs := personalTokenRefused(rq); rs != nil {
		return rs
	}
	c := s.checkRunByID(rq.params["check_run_id"])
	if c == nil {
		return notFound(rq)
	}
	if c.appID != rq.token.AppID {
		// Only the App that created a check run may change it.
		return errorResponse(rq, http.StatusForbidden, "Resource not accessible by integration")
	}
	var in checkRunInput
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	if rs := conclusionRequired(rq, c, &in); rs != nil {
		return rs
	}
	s.applyCheckRun(c, &in)
	return &response{status: http.StatusOK, body: s.checkRunJSON(c)}
}

func listAnnotations(s *Server, rq *request) *response {
	c := s.checkRunByID(rq.params["check_run_id"])
	if c == nil {
		return notFound(rq)
	}
	rs := &response{status: http.StatusOK}
	out := []any{}
	for _, a := range paginate(s, rq, rs, c.annotations) {
		var m map[string]any
		raw, _ := json.Marshal(a)
		_ = json.Unmarshal(raw, &m)
		for _, k := range []string{"start_column", "end_column", "title", "raw_details"} {
			if _, ok := m[k]; !ok {
				m[k] = nil
			}
		}
		m["blob_href"] = s.html("/%s/blob/%s/%s", s.fullName(), c.headSHA, a.Path)
		out = append(out, m)
	}
	rs.body = out
	return rs
}

func listCheckRunsForRef(s *Server, rq *request) *response {
	sha, err := s.commitOf(rq.params["ref"])
	if err != nil {
		return unprocessable(rq, "No commit found for SHA: "+rq.params["ref"])
	}
	name, status := rq.query.Get("check_name"), rq.query.Get("status")
	appID, _ := strconv.ParseInt(rq.query.Get("app_id"), 10, 64)
	latest := rq.query.Get("filter") != "all"
	seen := map[string]bool{}
	var sel []*checkRun
	// Newest first, so "latest" keeps the most recent run of each name.
	for i := len(s.checkRuns) - 1; i >= 0; i-- {
		c := s.checkRuns[i]
		if c.headSHA != sha || (name != "" && c.name != name) || (status != "" && c.status != status) ||
			(appID != 0 && c.appID != appID) {
			continue
		}
		if latest && seen[c.name] {
			continue
		}
		seen[c.name] = true
		sel = append(sel, c)
	}
	rs := &response{status: http.StatusOK}
	runs := []any{}
	for _, c := range paginate(s, rq, rs, sel) {
		runs = append(runs, s.checkRunJSON(c))
	}
	rs.body = map[string]any{"total_count": len(sel), "check_runs": runs}
	return rs
}
