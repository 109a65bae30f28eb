package githubfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Delivery is one webhook delivery the fake made.
type Delivery struct {
	ID     string
	Event  string
	Action string // the payload's "action", if any
	Status int    // the receiver's status; 0 when the request failed
	Err    error
}

// Deliveries returns the automatic deliveries made so far (see WithWebhook),
// in the order they were sent.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// WaitWebhooks waits until every automatic delivery started so far is done.
func (s *Server) WaitWebhooks() { s.wg.Wait() }

// Deliver POSTs payload as a webhook event like GitHub does: JSON body,
// X-GitHub-Event, X-GitHub-Delivery (a UUID), X-Hub-Signature-256
// ("sha256=" and the hex HMAC-SHA256 of the body keyed with secret) and
// the legacy X-Hub-Signature (HMAC-SHA1), when secret is not empty. It
// returns the receiver's status code. The payload is validated against the
// description's schema for the event and action (x-webhooks); a mismatch
// fails the test.
func (s *Server) Deliver(url, secret, event string, payload any) (int, error) {
	_, status, err := s.deliver(url, secret, event, payload)
	return status, err
}

func (s *Server) deliver(url, secret, event string, payload any) (id string, status int, err error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return "", 0, fmt.Errorf("encode %s payload: %w", event, err)
	}
	if err := s.v.validateWebhook(event, body); err != nil {
		s.tb.Errorf("githubfake: webhook delivery violates GitHub's description: %v", err)
	}
	id, err = deliveryID()
	if err != nil {
		return "", 0, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return id, 0, fmt.Errorf("build %s delivery: %w", event, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/githubfake")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", fmt.Sprint(idOf("repo/"+s.fullName())))
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", "sha256="+signHex(sha256.New, secret, body))
		req.Header.Set("X-Hub-Signature", "sha1="+signHex(sha1.New, secret, body))
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: s.HTTPClient().Transport}
	resp, err := client.Do(req)
	if err != nil {
		return id, 0, fmt.Errorf("deliver %s to %s: %w", event, url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return id, resp.StatusCode, nil
}

func signHex(h func() hash.Hash, secret string, body []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// deliveryID is a random version-4 UUID, as GitHub's delivery GUIDs are.
func deliveryID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate delivery id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

// PullRequestEvent builds the payload of a pull_request event for pull
// request number with action ("opened", "closed", ...), as GitHub sends it.
func (s *Server) PullRequestEvent(action string, number int) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if number < 1 || number > len(s.pulls) {
		return nil, fmt.Errorf("build pull_request event: no pull request #%d", number)
	}
	p := s.pulls[number-1]
	return s.pullPayload(action, p, p.user, nil), nil
}

// PushEvent builds the payload of a push event moving ref (such as
// "refs/heads/main") from before to after.
func (s *Server) PushEvent(ref, before, after, pusher string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushPayload(ref, before, after, pusher)
}

// CheckRunEvent builds the payload of a check_run event for check run id
// with action ("rerequested" when a person presses "Re-run"), as GitHub
// sends it to the App that made the run.
func (s *Server) CheckRunEvent(action string, id int64, sender string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.checkRunByID(strconv.FormatInt(id, 10))
	if c == nil {
		return nil, fmt.Errorf("build check_run event: no check run %d", id)
	}
	return s.checkRunPayload(action, c, sender), nil
}

// RerequestCheckRun plays a person pressing "Re-run" on check run id: with
// WithWebhook, a check_run "rerequested" delivery follows.
func (s *Server) RerequestCheckRun(id int64, sender string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.checkRunByID(strconv.FormatInt(id, 10))
	if c == nil {
		return fmt.Errorf("re-run check run %d: no such check run", id)
	}
	if s.cfg.webhookURL != "" {
		s.deliverAsync("check_run", "rerequested", s.checkRunPayload("rerequested", c, sender))
	}
	return nil
}

func (s *Server) checkRunPayload(action string, c *checkRun, sender string) map[string]any {
	run := s.checkRunJSON(c)
	suite := idOf("suite/" + c.headSHA)
	run["check_suite"] = map[string]any{
		"id": suite, "node_id": nodeID("CS", suite), "head_sha": c.headSHA, "status": "completed",
		"app": s.appJSON(c.appID), "url": s.api("/repos/%s/check-suites/%d", s.fullName(), suite),
	}
	return map[string]any{
		"action": action, "check_run": run, "repository": s.repoJSON(), "sender": s.userJSON(sender),
		"installation": map[string]any{"id": 1, "node_id": nodeID("I", 1)},
	}
}

func (s *Server) pullPayload(action string, p *pull, sender string, extra map[string]any) map[string]any {
	out := map[string]any{
		"action": action, "number": p.number, "pull_request": s.pullJSON(p, true),
		"repository": s.repoJSON(), "sender": s.userJSON(sender),
		"installation": map[string]any{"id": 1, "node_id": nodeID("I", 1)},
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func (s *Server) pushPayload(ref, before, after, pusher string) map[string]any {
	var head any
	commits := []any{}
	if after != zeroSHA {
		if c, err := s.pushCommit(after); err == nil {
			head = c
			commits = append(commits, c)
		} else {
			s.tb.Errorf("githubfake: build push event: %v", err)
		}
	}
	return map[string]any{
		"ref": ref, "before": before, "after": after,
		"created": before == zeroSHA, "deleted": after == zeroSHA, "forced": false,
		"base_ref": nil, "compare": s.html("/%s/compare/%s...%s", s.fullName(), before[:12], after[:12]),
		"commits": commits, "head_commit": head,
		"repository": s.repoJSON(), "pusher": map[string]any{"name": pusher, "email": nil},
		"sender": s.userJSON(pusher),
	}
}

// pushCommit describes the commit sha as a push event's head_commit, with
// the files it changed against its first parent.
func (s *Server) pushCommit(sha string) (map[string]any, error) {
	out, err := s.git1("log", "-1", "--format=%T%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha)
	if err != nil {
		return nil, err
	}
	f := strings.SplitN(out, "\x00", 8)
	if len(f) != 8 {
		return nil, fmt.Errorf("read commit %s: unexpected git log output %q", sha, out)
	}
	added, removed, modified := []any{}, []any{}, []any{}
	if names, err := s.git1("diff-tree", "--no-commit-id", "--name-status", "-r", "--root", sha); err == nil {
		for _, line := range strings.Split(names, "\n") {
			st, name, ok := strings.Cut(line, "\t")
			if !ok {
				continue
			}
			switch st[:1] {
			case "A":
				added = append(added, name)
			case "D":
				removed = append(removed, name)
			default:
				modified = append(modified, name)
			}
		}
	}
	return map[string]any{
		"id": sha, "tree_id": f[0], "distinct": true, "message": f[7], "timestamp": f[6],
		"url":       s.html("/%s/commit/%s", s.fullName(), sha),
		"author":    map[string]any{"name": f[1], "email": f[2], "date": f[3]},
		"committer": map[string]any{"name": f[4], "email": f[5], "date": f[6]},
		"added":     added, "removed": removed, "modified": modified,
	}, nil
}

// pullEvent queues an automatic pull_request delivery. The caller holds
// s.mu; the payload is built now, sent later.
func (s *Server) pullEvent(action string, p *pull, sender string, extra map[string]any) {
	if s.cfg.webhookURL == "" {
		return
	}
	s.deliverAsync("pull_request", action, s.pullPayload(action, p, sender, extra))
}

// pushEvent queues an automatic push delivery. The caller holds s.mu.
func (s *Server) pushEvent(ref, before, after, pusher string) {
	if s.cfg.webhookURL == "" {
		return
	}
	s.deliverAsync("push", "", s.pushPayload(ref, before, after, pusher))
}

// deliverAsync sends deliveries in order, each after the previous one, in
// the background as GitHub does.
func (s *Server) deliverAsync(event, action string, payload map[string]any) {
	prev := s.lastDelivery
	done := make(chan struct{})
	s.lastDelivery = done
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		id, status, err := s.deliver(s.cfg.webhookURL, s.cfg.webhookSecret, event, payload)
		s.mu.Lock()
		s.deliveries = append(s.deliveries, Delivery{ID: id, Event: event, Action: action, Status: status, Err: err})
		s.mu.Unlock()
	}()
}

// observePushes wraps the fake's own git server: after a git push to the
// repository it closes the open pull requests whose head branch the push
// deleted and delivers, with WithWebhook, a push event for each branch the
// push moved and a pull_request "synchronize" event for each open pull
// request whose head moved, as GitHub does.
func (s *Server) observePushes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/git-receive-pack") ||
			strings.Trim(strings.TrimSuffix(r.URL.Path, "/git-receive-pack"), "/") != s.cfg.gitName {
			next.ServeHTTP(w, r)
			return
		}
		before := s.branchTips()
		next.ServeHTTP(w, r)
		after := s.branchTips()
		pusher := "medimind-dev"
		if u, _, ok := r.BasicAuth(); ok {
			pusher = u
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for ref, old := range before {
			if _, ok := after[ref]; !ok {
				s.pushEvent(ref, old, zeroSHA, pusher)
				s.closeHeadless(strings.TrimPrefix(ref, "refs/heads/"), pusher)
			}
		}
		for ref, sha := range after {
			old, ok := before[ref]
			if ok && old == sha {
				continue
			}
			if !ok {
				old = zeroSHA
			}
			s.pushEvent(ref, old, sha, pusher)
			for _, p := range s.pulls {
				if p.state == "open" && p.forkOwner == "" && "refs/heads/"+p.head == ref {
					prev := p.headSHA
					p.headSHA, p.updated = sha, s.now()
					s.pullEvent("synchronize", p, pusher, map[string]any{"before": prev, "after": sha})
				}
			}
		}
	})
}

// branchTips maps each branch of the repository to its commit.
func (s *Server) branchTips() map[string]string {
	refs, err := s.listRefs("refs/heads/")
	if err != nil {
		return nil
	}
	tips := make(map[string]string, len(refs))
	for _, e := range refs {
		tips[e.ref] = e.sha
	}
	return tips
}
