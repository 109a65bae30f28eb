package githubfake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// comment is an issue comment on a pull request.
type comment struct {
	id               int64
	issue            int
	body             string
	user             string
	created, updated time.Time
}

// label is a repository label.
type label struct {
	id          int64
	name, color string
	description string
}

// Comment is an issue comment as a test sees it.
type Comment struct {
	ID    int64
	Issue int
	Body  string
	User  string
}

// Comments returns the comments on pull request number, oldest first.
func (s *Server) Comments(number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.issue == number {
			out = append(out, Comment{ID: c.id, Issue: c.issue, Body: c.body, User: c.user})
		}
	}
	return out
}

func (s *Server) commentJSON(c *comment) map[string]any {
	u := s.api("/repos/%s/issues/comments/%d", s.fullName(), c.id)
	return map[string]any{
		"id": c.id, "node_id": nodeID("IC", c.id), "url": u,
		"html_url":  s.html("/%s/pull/%d#issuecomment-%d", s.fullName(), c.issue, c.id),
		"issue_url": s.api("/repos/%s/issues/%d", s.fullName(), c.issue),
		"body":      c.body, "user": s.userJSON(c.user), "author_association": "CONTRIBUTOR",
		"created_at": stamp(c.created), "updated_at": stamp(c.updated),
		"reactions": map[string]any{
			"url": u + "/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
			"confused": 0, "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0,
		},
	}
}

func (s *Server) issueByNumber(raw string) *pull { return s.pullByNumber(raw) }

func listComments(s *Server, rq *request) *response {
	p := s.issueByNumber(rq.params["issue_number"])
	if p == nil {
		return notFound(rq)
	}
	var since time.Time
	if v := rq.query.Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	var sel []*comment
	for _, c := range s.comments {
		if c.issue == p.number && !c.updated.Before(since) {
			sel = append(sel, c)
		}
	}
	rs := &response{status: http.StatusOK}
	out := []any{}
	for _, c := range paginate(s, rq, rs, sel) {
		out = append(out, s.commentJSON(c))
	}
	rs.body = out
	return rs
}

func createComment(s *Server, rq *request) *response {
	p := s.issueByNumber(rq.params["issue_number"])
	if p == nil {
		return notFound(rq)
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	if fe := bodyTooLong(in.Body); fe != nil {
		fe.Resource = "IssueComment"
		return validationFailed(rq, *fe)
	}
	now := s.now()
	c := &comment{id: s.newIDLocked(), issue: p.number, body: in.Body, user: rq.token.Login, created: now, updated: now}
	s.comments = append(s.comments, c)
	p.comments++
	body := s.commentJSON(c)
	rs := &response{status: http.StatusCreated, body: body}
	rs.setHeader("Location", body["url"].(string))
	return rs
}

func updateComment(s *Server, rq *request) *response {
	id, _ := strconv.ParseInt(rq.params["comment_id"], 10, 64)
	var c *comment
	for _, x := range s.comments {
		if x.id == id {
			c = x
		}
	}
	if c == nil {
		return notFound(rq)
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	if fe := bodyTooLong(in.Body); fe != nil {
		fe.Resource = "IssueComment"
		return validationFailed(rq, *fe)
	}
	c.body, c.updated = in.Body, s.now()
	return &response{status: http.StatusOK, body: s.commentJSON(c)}
}

func (s *Server) issueLabels(p *pull) []any {
	out := []any{}
	for _, name := range p.labels {
		if l := s.labels[strings.ToLower(name)]; l != nil {
			out = append(out, s.labelJSON(l))
		}
	}
	return out
}

func listIssueLabels(s *Server, rq *request) *response {
	p := s.issueByNumber(rq.params["issue_number"])
	if p == nil {
		return notFound(rq)
	}
	rs := &response{status: http.StatusOK}
	rs.body = paginate(s, rq, rs, s.issueLabels(p))
	return rs
}

// labelNames reads the body forms GitHub accepts for adding labels:
// {"labels": ["a"]}, {"labels": [{"name": "a"}]}, ["a"] and [{"name": "a"}].
func labelNames(raw []byte) []string {
	var wrapped struct {
		Labels json.RawMessage `json:"labels"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && wrapped.Labels != nil {
		raw = wrapped.Labels
	}
	var names []string
	if json.Unmarshal(raw, &names) == nil {
		return names
	}
	var objs []struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &objs) == nil {
		for _, o := range objs {
			names = append(names, o.Name)
		}
	}
	return names
}

func addIssueLabels(s *Server, rq *request) *response {
	p := s.issueByNumber(rq.params["issue_number"])
	if p == nil {
		return notFound(rq)
	}
	for _, name := range labelNames(rq.body) {
		key := strings.ToLower(name)
		l := s.labels[key]
		if l == nil {
			l = &label{id: s.newIDLocked(), name: name, color: "ededed"}
			s.labels[key] = l
		}
		if !slices.ContainsFunc(p.labels, func(n string) bool { return strings.EqualFold(n, name) }) {
			p.labels = append(p.labels, l.name)
			s.pullEvent("labeled", p, rq.token.Login, map[string]any{"label": s.labelJSON(l)})
		}
	}
	p.updated = s.now()
	return &response{status: http.StatusOK, body: s.issueLabels(p)}
}

func removeIssueLabel(s *Server, rq *request) *response {
	p := s.issueByNumber(rq.params["issue_number"])
	if p == nil {
		return notFound(rq)
	}
	name := rq.params["name"]
	i := slices.IndexFunc(p.labels, func(n string) bool { return strings.EqualFold(n, name) })
	if i < 0 {
		return errorResponse(rq, http.StatusNotFound, "Label does not exist")
	}
	p.labels = slices.Delete(p.labels, i, i+1)
	p.updated = s.now()
	return &response{status: http.StatusOK, body: s.issueLabels(p)}
}
