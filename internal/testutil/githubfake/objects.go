package githubfake

import (
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"time"
)

// The JSON representations below carry every field GitHub's description
// requires; the validator checks each response against it.

func (s *Server) api(format string, args ...any) string {
	return s.http.URL + fmt.Sprintf(format, args...)
}

func (s *Server) html(format string, args ...any) string {
	return s.http.URL + "/html" + fmt.Sprintf(format, args...)
}

func (s *Server) fullName() string { return s.cfg.owner + "/" + s.cfg.repo }

func (s *Server) repoAPI() string { return s.api("/repos/%s", s.fullName()) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func stampOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return stamp(*t)
}

func nullIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// idOf derives a stable positive id from a name, for users and teams.
func idOf(name string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int64(h.Sum32()%90_000_000) + 1_000_000
}

func nodeID(kind string, id int64) string { return fmt.Sprintf("%s_fake%d", kind, id) }

// userJSON is a simple-user; a login ending in "[bot]" is a Bot.
func (s *Server) userJSON(login string) map[string]any {
	id := idOf(login)
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	u := s.api("/users/%s", url.PathEscape(login))
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID("U", id), "type": typ, "site_admin": false,
		"avatar_url": s.http.URL + "/avatars/" + url.PathEscape(login), "gravatar_id": "",
		"url": u, "html_url": s.html("/%s", url.PathEscape(login)),
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}",
		"received_events_url": u + "/received_events", "user_view_type": "public",
	}
}

// teamJSON is a team (and team-simple) of the repository's owner.
func (s *Server) teamJSON(slug string) map[string]any {
	id := idOf("team/" + slug)
	u := s.api("/organizations/1/team/%d", id)
	return map[string]any{
		"id": id, "node_id": nodeID("T", id), "url": u, "html_url": s.html("/orgs/%s/teams/%s", s.cfg.owner, slug),
		"name": slug, "slug": slug, "description": nil, "privacy": "closed", "notification_setting": "notifications_enabled",
		"permission": "pull", "members_url": u + "/members{/member}", "repositories_url": u + "/repos",
		"parent": nil, "type": "organization",
	}
}

// repoJSON satisfies repository, full-repository and minimal-repository.
// The caller holds s.mu.
func (s *Server) repoJSON() map[string]any {
	def := s.defaultRef
	created := s.started
	open := 0
	for _, p := range s.pulls {
		if p.state == "open" {
			open++
		}
	}
	id := idOf("repo/" + s.fullName())
	a := s.repoAPI()
	return map[string]any{
		"id": id, "node_id": nodeID("R", id), "name": s.cfg.repo, "full_name": s.fullName(),
		"owner": s.userJSON(s.cfg.owner), "private": true, "visibility": "private",
		"html_url": s.html("/%s", s.fullName()), "description": nil, "fork": false, "url": a,
		"archive_url": a + "/{archive_format}{/ref}", "assignees_url": a + "/assignees{/user}",
		"blobs_url": a + "/git/blobs{/sha}", "branches_url": a + "/branches{/branch}",
		"collaborators_url": a + "/collaborators{/collaborator}", "comments_url": a + "/comments{/number}",
		"commits_url": a + "/commits{/sha}", "compare_url": a + "/compare/{base}...{head}",
		"contents_url": a + "/contents/{+path}", "contributors_url": a + "/contributors",
		"deployments_url": a + "/deployments", "downloads_url": a + "/downloads", "events_url": a + "/events",
		"forks_url": a + "/forks", "git_commits_url": a + "/git/commits{/sha}", "git_refs_url": a + "/git/refs{/sha}",
		"git_tags_url": a + "/git/tags{/sha}", "hooks_url": a + "/hooks",
		"issue_comment_url": a + "/issues/comments{/number}", "issue_events_url": a + "/issues/events{/number}",
		"issues_url": a + "/issues{/number}", "keys_url": a + "/keys{/key_id}", "labels_url": a + "/labels{/name}",
		"languages_url": a + "/languages", "merges_url": a + "/merges", "milestones_url": a + "/milestones{/number}",
		"notifications_url": a + "/notifications{?since,all,participating}", "pulls_url": a + "/pulls{/number}",
		"releases_url": a + "/releases{/id}", "stargazers_url": a + "/stargazers", "statuses_url": a + "/statuses/{sha}",
		"subscribers_url": a + "/subscribers", "subscription_url": a + "/subscription", "tags_url": a + "/tags",
		"teams_url": a + "/teams", "trees_url": a + "/git/trees{/sha}",
		"clone_url": s.GitURL(), "git_url": s.GitURL(), "ssh_url": "git@github.invalid:" + s.fullName() + ".git",
		"svn_url": s.html("/%s", s.fullName()), "mirror_url": nil, "homepage": nil, "language": nil,
		"forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0, "watchers_count": 0,
		"network_count": 0, "subscribers_count": 0, "size": 1, "default_branch": def,
		"open_issues": open, "open_issues_count": open, "is_template": false, "topics": []any{},
		"has_issues": true, "has_projects": false, "has_wiki": false, "has_pages": false,
		"has_downloads": true, "has_discussions": false, "archived": false, "disabled": false,
		"license": nil, "pushed_at": stamp(created), "created_at": stamp(created), "updated_at": stamp(created),
		"allow_merge_commit": true, "allow_squash_merge": true, "allow_rebase_merge": false,
		"delete_branch_on_merge": false, "allow_forking": false, "web_commit_signoff_required": false,
		"permissions": map[string]any{"admin": false, "maintain": false, "push": true, "triage": true, "pull": true},
	}
}

// labelJSON is a label; GitHub's pull-request-simple wants a string
// description, so an absent one is "".
func (s *Server) labelJSON(l *label) map[string]any {
	return map[string]any{
		"id": l.id, "node_id": nodeID("LA", l.id), "url": s.repoAPI() + "/labels/" + url.PathEscape(l.name),
		"name": l.name, "color": l.color, "description": l.description, "default": false,
	}
}
