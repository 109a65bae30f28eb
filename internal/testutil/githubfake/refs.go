package githubfake

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// The git refs endpoints act on the backing repository itself: a ref
// created, moved or deleted here is what a clone sees.

func (s *Server) refJSON(e refEntry) map[string]any {
	typ := e.typ
	if typ == "" {
		typ = "commit"
	}
	return map[string]any{
		"ref": e.ref, "node_id": nodeID("REF", idOf(e.ref)),
		"url": s.api("/repos/%s/git/%s", s.fullName(), escapeRef(e.ref)),
		"object": map[string]any{
			"type": typ, "sha": e.sha,
			"url": s.api("/repos/%s/git/%ss/%s", s.fullName(), typ, e.sha),
		},
	}
}

// escapeRef escapes each segment of a ref, keeping the slashes.
func escapeRef(ref string) string {
	parts := strings.Split(ref, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func (s *Server) entry(ref string) (refEntry, bool) {
	refs, err := s.listRefs(ref)
	if err != nil {
		return refEntry{}, false
	}
	for _, e := range refs {
		if e.ref == ref {
			return e, true
		}
	}
	return refEntry{}, false
}

func getRef(s *Server, rq *request) *response {
	e, ok := s.entry("refs/" + strings.TrimPrefix(rq.params["ref"], "refs/"))
	if !ok {
		return notFound(rq)
	}
	return &response{status: http.StatusOK, body: s.refJSON(e)}
}

func listMatchingRefs(s *Server, rq *request) *response {
	prefix := "refs/" + strings.TrimPrefix(rq.params["ref"], "refs/")
	refs, err := s.listRefs("refs/")
	if err != nil {
		s.tb.Errorf("githubfake: list refs: %v", err)
		return errorResponse(rq, http.StatusInternalServerError, "Server Error")
	}
	out := []any{}
	for _, e := range refs {
		if strings.HasPrefix(e.ref, prefix) {
			out = append(out, s.refJSON(e))
		}
	}
	return &response{status: http.StatusOK, body: out}
}

// validRefName applies git's rules through git check-ref-format.
func (s *Server) validRefName(ref string) bool {
	if !strings.HasPrefix(ref, "refs/") || strings.Count(ref, "/") < 2 {
		return false
	}
	_, err := s.git1("check-ref-format", ref)
	return err == nil
}

func createRef(s *Server, rq *request) *response {
	var in struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	if !s.validRefName(in.Ref) {
		return unprocessable(rq, "Reference name is not valid")
	}
	if _, ok := s.entry(in.Ref); ok {
		return unprocessable(rq, "Reference already exists")
	}
	if len(in.SHA) != 40 || s.refSHA(in.SHA) == "" {
		return unprocessable(rq, "Object does not exist")
	}
	if err := s.updateRef(in.Ref, in.SHA, "", "create ref through the API"); err != nil {
		return unprocessable(rq, "Reference already exists")
	}
	e, _ := s.entry(in.Ref)
	if strings.HasPrefix(in.Ref, "refs/heads/") {
		s.pushEvent(in.Ref, zeroSHA, in.SHA, rq.token.Login)
	}
	rs := &response{status: http.StatusCreated, body: s.refJSON(e)}
	rs.setHeader("Location", s.refJSON(e)["url"].(string))
	return rs
}

func updateRef(s *Server, rq *request) *response {
	ref := "refs/" + strings.TrimPrefix(rq.params["ref"], "refs/")
	var in struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if err := rq.decode(&in); err != nil {
		return problemsParsingJSON(rq)
	}
	old, ok := s.entry(ref)
	if !ok {
		return unprocessable(rq, "Reference does not exist")
	}
	if len(in.SHA) != 40 || s.refSHA(in.SHA) == "" {
		return unprocessable(rq, "Object does not exist")
	}
	if !in.Force {
		ff, err := s.isAncestor(old.sha, in.SHA)
		if err != nil || !ff {
			return unprocessable(rq, "Update is not a fast forward")
		}
	}
	if err := s.updateRef(ref, in.SHA, old.sha, "update ref through the API"); err != nil {
		// A push moved the ref between the read and the update.
		return unprocessable(rq, "Update is not a fast forward")
	}
	e, _ := s.entry(ref)
	if strings.HasPrefix(ref, "refs/heads/") {
		s.pushEvent(ref, old.sha, in.SHA, rq.token.Login)
	}
	return &response{status: http.StatusOK, body: s.refJSON(e)}
}

func deleteRef(s *Server, rq *request) *response {
	ref := "refs/" + strings.TrimPrefix(rq.params["ref"], "refs/")
	old, ok := s.entry(ref)
	if !ok {
		return unprocessable(rq, "Reference does not exist")
	}
	if err := s.deleteRef(ref, old.sha); err != nil {
		return unprocessable(rq, "Reference does not exist")
	}
	if strings.HasPrefix(ref, "refs/heads/") {
		s.pushEvent(ref, old.sha, zeroSHA, rq.token.Login)
		s.closeHeadless(strings.TrimPrefix(ref, "refs/heads/"), rq.token.Login)
	}
	return &response{status: http.StatusNoContent}
}

func getRepo(s *Server, rq *request) *response {
	return &response{status: http.StatusOK, body: s.repoJSON()}
}

func (s *Server) contentEntryJSON(commit string, e treeEntry, withContent bool) (map[string]any, error) {
	typ := map[string]string{"blob": "file", "tree": "dir", "commit": "submodule"}[e.typ]
	if e.mode == "120000" {
		typ = "symlink"
	}
	self := s.api("/repos/%s/contents/%s?ref=%s", s.fullName(), escapeRef(e.path), commit)
	kind := map[string]string{"file": "blobs", "symlink": "blobs", "dir": "trees", "submodule": "commits"}[typ]
	gitURL := s.api("/repos/%s/git/%s/%s", s.fullName(), kind, e.sha)
	html := s.html("/%s/blob/%s/%s", s.fullName(), commit, escapeRef(e.path))
	var download any
	if typ == "file" {
		download = s.html("/raw/%s/%s/%s", s.fullName(), commit, escapeRef(e.path))
	}
	out := map[string]any{
		"type": typ, "name": path.Base(e.path), "path": e.path, "sha": e.sha, "size": e.size,
		"url": self, "git_url": gitURL, "html_url": html, "download_url": download,
		"_links": map[string]any{"self": self, "git": gitURL, "html": html},
	}
	if withContent && typ == "file" {
		data, err := s.catBlob(e.sha)
		if err != nil {
			return nil, err
		}
		out["content"] = wrapBase64(base64.StdEncoding.EncodeToString(data))
		out["encoding"] = "base64"
	}
	return out, nil
}

// wrapBase64 breaks base64 text into lines of 60 as GitHub's contents API does.
func wrapBase64(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	return b.String()
}

func getContent(s *Server, rq *request) *response {
	ref := rq.query.Get("ref")
	if ref == "" {
		ref = s.defaultRef
	}
	commit, err := s.commitOf(ref)
	if err != nil {
		return errorResponse(rq, http.StatusNotFound, "No commit found for the ref "+ref)
	}
	p := strings.Trim(rq.params["path"], "/")
	entries, err := s.lsTree(commit, p, false)
	if err != nil || len(entries) != 1 || entries[0].path != p {
		return notFound(rq)
	}
	if entries[0].typ != "tree" {
		body, err := s.contentEntryJSON(commit, entries[0], true)
		if err != nil {
			s.tb.Errorf("githubfake: read %s at %s: %v", p, commit, err)
			return errorResponse(rq, http.StatusInternalServerError, "Server Error")
		}
		return &response{status: http.StatusOK, body: body}
	}
	children, err := s.lsTree(commit, p, true)
	if err != nil {
		return notFound(rq)
	}
	out := []any{}
	for _, e := range children {
		j, err := s.contentEntryJSON(commit, e, false)
		if err != nil {
			return notFound(rq)
		}
		out = append(out, j)
	}
	return &response{status: http.StatusOK, body: out}
}
