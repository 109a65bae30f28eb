package githubfake

import (
	"net/http"
	"time"
	"unicode/utf8"
)

// commitStatus is one commit status.
type commitStatus struct {
	id                     int64
	sha                    string
	state, context         string
	targetURL, description string
	creator                string
	created                time.Time
}

// CommitStatus is a commit status as a test sees it.
type CommitStatus struct {
	SHA, State, Context, TargetURL, Description, Creator string
}

// Statuses returns every commit status, oldest first.
func (s *Server) Statuses() []CommitStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CommitStatus
	for _, st := range s.statuses {
		out = append(out, CommitStatus{SHA: st.sha, State: st.state, Context: st.context,
			TargetURL: st.targetURL, Description: st.description, Creator: st.creator})
	}
	return out
}

const (
	// maxStatusDescription is GitHub's limit on a status description.
	maxStatusDescription = 140
	// maxStatusesPerContext is GitHub's limit on the statuses of one SHA
	// and context; the next one is refused with 422.
	maxStatusesPerContext = 1000
)

func (s *Server) statusJSON(st *commitStatus, simple bool) map[string]any {
	out := map[string]any{
		"url": s.api("/repos/%s/statuses/%s", s.fullName(), st.sha), "id": st.id, "node_id": nodeID("SC", st.id),
		"avatar_url": s.http.URL + "/avatars/" + st.creator, "state": st.state,
		"description": nullIfEmpty(st.description), "target_url": nullIfEmpty(st.targetURL),
		"context": st.context, "created_at": stamp(st.created), "updated_at": stamp(st.created),
	}
	if !simple {
		out["creator"] = s.userJSON(st.creator)
	}
	return out
}

func createStatus(s *Server, rq *request) *response {
	var in struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	sha, err := s.commitOf(rq.params["sha"])
	if err != nil {
		return unprocessable(rq, "No commit found for SHA: "+rq.params["sha"])
	}
	if utf8.RuneCountInString(in.Description) > maxStatusDescription {
		return validationFailed(rq, FieldError{Resource: "Status", Field: "description", Code: "custom",
			Message: "description is too long (maximum is 140 characters)"})
	}
	if in.Context == "" {
		in.Context = "default"
	}
	n := 0
	for _, st := range s.statuses {
		if st.sha == sha && st.context == in.Context {
			n++
		}
	}
	if n >= maxStatusesPerContext {
		return validationFailed(rq, FieldError{Resource: "Status", Code: "custom",
			Message: "This SHA and context has reached the maximum number of statuses."})
	}
	st := &commitStatus{id: s.newIDLocked(), sha: sha, state: in.State, context: in.Context,
		targetURL: in.TargetURL, description: in.Description, creator: rq.token.Login, created: s.now()}
	s.statuses = append(s.statuses, st)
	return &response{status: http.StatusCreated, body: s.statusJSON(st, false)}
}

// statusesFor returns the statuses of sha, newest first.
func (s *Server) statusesFor(sha string) []*commitStatus {
	var out []*commitStatus
	for i := len(s.statuses) - 1; i >= 0; i-- {
		if s.statuses[i].sha == sha {
			out = append(out, s.statuses[i])
		}
	}
	return out
}

func listStatuses(s *Server, rq *request) *response {
	sha, err := s.commitOf(rq.params["ref"])
	if err != nil {
		return notFound(rq)
	}
	rs := &response{status: http.StatusOK}
	out := []any{}
	for _, st := range paginate(s, rq, rs, s.statusesFor(sha)) {
		out = append(out, s.statusJSON(st, false))
	}
	rs.body = out
	return rs
}

// combinedStatus keeps the latest status of each context; the combined
// state is failure if any is error or failure, pending if any is pending
// or there are none, success otherwise.
func combinedStatus(s *Server, rq *request) *response {
	sha, err := s.commitOf(rq.params["ref"])
	if err != nil {
		return notFound(rq)
	}
	seen := map[string]bool{}
	var latest []*commitStatus
	for _, st := range s.statusesFor(sha) {
		if !seen[st.context] {
			seen[st.context] = true
			latest = append(latest, st)
		}
	}
	state := "success"
	if len(latest) == 0 {
		state = "pending"
	}
	for _, st := range latest {
		switch st.state {
		case "error", "failure":
			state = "failure"
		case "pending":
			if state != "failure" {
				state = "pending"
			}
		}
	}
	rs := &response{status: http.StatusOK}
	out := []any{}
	for _, st := range paginate(s, rq, rs, latest) {
		out = append(out, s.statusJSON(st, true))
	}
	rs.body = map[string]any{
		"state": state, "sha": sha, "total_count": len(latest), "statuses": out,
		"repository": s.repoJSON(),
		"commit_url": s.api("/repos/%s/commits/%s", s.fullName(), sha),
		"url":        s.api("/repos/%s/commits/%s/status", s.fullName(), sha),
	}
	return rs
}
