package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/medimind/modelops/internal/forge"
	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var (
	bot = git.Signature{Name: "modelops[bot]", Email: "bot@example.com"}
	ana = git.Signature{Name: "Ana Reviewer", Email: "ana@hospital.example"}
)

// setup serves the test repository over HTTP on loopback and opens it as the reconciler does.
func setup(t *testing.T) (*gitserver.Server, *git.Repo, *Forge, string) {
	t.Helper()
	srv := gitserver.New(t, gitserver.Options{})
	url := srv.Seed(t, "policies.git", "main", "testdata/repo")
	ctx := context.Background()
	repo, err := git.Open(ctx, url, git.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base, err := repo.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	return srv, repo, New(repo, "main", "modelops/status", bot), base
}

func retrainRequest(base, digest string) reconciler.ProposalRequest {
	return reconciler.ProposalRequest{
		Model: "sepsis-risk", Kind: reconciler.ProposalRetrain, Key: "generation-7", Digest: digest,
		Title: "Retrain sepsis-risk: generation 6 → 7 (drift)", Body: "<!-- modelops:proposal -->\nevidence " + digest,
		Base: base, File: "models/sepsis-risk.yaml",
		Edits:    []policies.Edit{policies.SetRetrainGeneration{From: 6, To: 7}},
		Trailers: map[string]string{"Modelops-Action": "propose-retrain", "Modelops-Model": "sepsis-risk"},
	}
}

// serverRef reads a ref in the server's own repository.
func serverRef(t *testing.T, srv *gitserver.Server, ref string) string {
	t.Helper()
	r, err := gogit.PlainOpen(srv.Dir("policies.git"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Reference(plumbing.ReferenceName(ref), true)
	if err != nil {
		return ""
	}
	return h.Hash().String()
}

func TestEnsureOpensOneProposalWithAMinimalEdit(t *testing.T) {
	srv, repo, f, base := setup(t)
	ctx := context.Background()

	p, err := f.Ensure(ctx, retrainRequest(base, "d1"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Branch != "modelops/sepsis-risk/retrain" || p.Key != "generation-7" || p.State != reconciler.ProposalOpen {
		t.Fatalf("Ensure = %+v", p)
	}
	head := serverRef(t, srv, "refs/heads/modelops/sepsis-risk/retrain")
	if head == "" {
		t.Fatal("the proposal branch was not pushed")
	}
	before, _ := repo.ReadFile(ctx, base, "models/sepsis-risk.yaml")
	after, _ := repo.ReadFile(ctx, head, "models/sepsis-risk.yaml")
	want := strings.Replace(string(before), "generation: 6   #", "generation: 7   #", 1)
	if string(after) != want {
		t.Fatalf("proposed file:\n%s\nwant only the generation line changed:\n%s", after, want)
	}
	commits, err := repo.Log(ctx, "", head, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) < 1 || !strings.Contains(commits[0].Message, "Modelops-Action: propose-retrain") {
		t.Fatalf("proposal commit message lacks its trailers: %+v", commits)
	}

	// Ensuring the same proposal again changes nothing, on the server either.
	statusTip := serverRef(t, srv, "refs/heads/modelops/status")
	if _, err := f.Ensure(ctx, retrainRequest(base, "d1")); err != nil {
		t.Fatal(err)
	}
	if got := serverRef(t, srv, "refs/heads/modelops/sepsis-risk/retrain"); got != head {
		t.Fatalf("an identical Ensure moved the branch %s → %s", head, got)
	}
	if got := serverRef(t, srv, "refs/heads/modelops/status"); got != statusTip {
		t.Fatal("an identical Ensure rewrote the record")
	}

	// New evidence updates the same proposal in place.
	if _, err := f.Ensure(ctx, retrainRequest(base, "d2")); err != nil {
		t.Fatal(err)
	}
	list, err := f.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Digest != "d2" {
		t.Fatalf("List = %+v, want one proposal with the new digest", list)
	}
	rec, err := f.Get(ctx, "sepsis-risk/retrain")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Comments) != 1 || !strings.Contains(rec.Body, "evidence d2") {
		t.Fatalf("updated record = %+v", rec)
	}
}

func TestMergeMakesAMergeCommitByTheReviewer(t *testing.T) {
	srv, repo, f, base := setup(t)
	ctx := context.Background()
	if _, err := f.Ensure(ctx, retrainRequest(base, "d1")); err != nil {
		t.Fatal(err)
	}
	merge, err := f.Merge(ctx, "sepsis-risk/retrain", ana)
	if err != nil {
		t.Fatal(err)
	}
	if got := serverRef(t, srv, "refs/heads/main"); got != merge {
		t.Fatalf("server main = %s, want the merge %s", got, merge)
	}
	commits, err := repo.Log(ctx, "", merge, "")
	if err != nil {
		t.Fatal(err)
	}
	c := commits[0]
	if len(c.Parents) != 2 || c.Author.Name != "Ana Reviewer" {
		t.Fatalf("merge commit = %+v, want two parents authored by Ana", c)
	}
	tip, _ := repo.ReadFile(ctx, merge, "models/sepsis-risk.yaml")
	ps, err := policies.Parse("models/sepsis-risk.yaml", tip)
	if err != nil || len(ps) != 1 || ps[0].Spec.Retrain.Generation != 7 {
		t.Fatalf("merged policy: %v %+v", err, ps)
	}
	if list, _ := f.List(ctx); len(list) != 0 {
		t.Fatalf("a merged proposal is still listed: %+v", list)
	}
	if _, err := f.Merge(ctx, "sepsis-risk/retrain", ana); err == nil {
		t.Fatal("merging a merged proposal again did not fail")
	}

	// A later change comments on the proposal its merge came from, once.
	for range 2 {
		if err := f.CommentOnMerge(ctx, merge, "rolled back in abc123"); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := f.Get(ctx, "sepsis-risk/retrain")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range rec.Comments {
		if c.Text == "rolled back in abc123" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the comment is on the record %d times, want once: %+v", n, rec.Comments)
	}
	if err := f.CommentOnMerge(ctx, base, "x"); !errors.Is(err, reconciler.ErrNoProposal) {
		t.Fatalf("comment on a commit no proposal made: %v, want ErrNoProposal", err)
	}
}

func TestDeclinedProposalIsListedAsDeclinedAndCloseIsIdempotent(t *testing.T) {
	_, _, f, base := setup(t)
	ctx := context.Background()
	if _, err := f.Ensure(ctx, retrainRequest(base, "d1")); err != nil {
		t.Fatal(err)
	}
	if err := f.Decline(ctx, "sepsis-risk/retrain", "ana", "the drift is a lab recalibration"); err != nil {
		t.Fatal(err)
	}
	list, err := f.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].State != reconciler.ProposalDeclined || list[0].Key != "generation-7" {
		t.Fatalf("List = %+v, want the declined proposal", list)
	}
	// modelops closing a proposal that is no longer open does nothing.
	if err := f.Close(ctx, "sepsis-risk", reconciler.ProposalRetrain, "stale"); err != nil {
		t.Fatal(err)
	}
	rec, _ := f.Get(ctx, "sepsis-risk/retrain")
	if rec.State != StateDeclined || !strings.Contains(rec.Comments[len(rec.Comments)-1].Text, "lab recalibration") {
		t.Fatalf("record = %+v", rec)
	}
}

func TestEnsureRefusesAnEditThatNoLongerApplies(t *testing.T) {
	_, _, f, base := setup(t)
	req := retrainRequest(base, "d1")
	req.Edits = []policies.Edit{policies.SetRetrainGeneration{From: 4, To: 5}}
	_, err := f.Ensure(context.Background(), req)
	if !errors.Is(err, policies.ErrConflict) {
		t.Fatalf("Ensure = %v, want ErrConflict", err)
	}
	req.Edits = []policies.Edit{policies.SetRetrainGeneration{From: 5, To: 6}}
	if _, err := f.Ensure(context.Background(), req); !errors.Is(err, ErrNothingToPropose) {
		t.Fatalf("Ensure of a change already made = %v, want ErrNothingToPropose", err)
	}
	if _, err := f.Get(context.Background(), "sepsis-risk/retrain"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed Ensure left a record: %v", err)
	}
}

// personPushes clones branch with the git command-line client, writes files, commits and
// pushes, as a person adding to a proposal does; it returns the commit.
func personPushes(t *testing.T, url, branch string, files map[string]string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	gitserver.MustGit(t, filepath.Dir(work), "clone", "-q", "-b", branch, url, "work")
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitserver.MustGit(t, work, "add", "-A")
	gitserver.MustGit(t, work, "commit", "-q", "-m", "Person's note on the retrain")
	gitserver.MustGit(t, work, "push", "-q", "origin", branch)
	return strings.TrimSpace(gitserver.MustGit(t, work, "rev-parse", "HEAD"))
}

// onServer reports whether commit is in the history of ref on the server.
func onServer(t *testing.T, srv *gitserver.Server, commit, ref string) bool {
	t.Helper()
	_, err := gitserver.Git(srv.Dir("policies.git"), "merge-base", "--is-ancestor", commit, ref)
	return err == nil
}

func TestEnsureNeverForcesOverAPersonsCommit(t *testing.T) {
	srv, repo, f, base := setup(t)
	ctx := context.Background()
	const branch = "modelops/sepsis-risk/retrain"
	if _, err := f.Ensure(ctx, retrainRequest(base, "d1")); err != nil {
		t.Fatal(err)
	}
	person := personPushes(t, srv.URL("policies.git"), branch, map[string]string{"notes/sepsis-risk.md": "retrain with the ward 4 labels\n"})

	// A person pushed after the last fetch: the rebuild is refused, not forced.
	if _, err := f.Ensure(ctx, retrainRequest(base, "d2")); !errors.Is(err, git.ErrNonFastForward) {
		t.Fatalf("Ensure over an unseen push = %v, want ErrNonFastForward", err)
	}
	if !onServer(t, srv, person, "refs/heads/"+branch) {
		t.Fatal("the person's commit was forced off the branch")
	}

	// Seen, it is kept: the branch holds the edit already, so it stays as the person left it.
	if err := repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Ensure(ctx, retrainRequest(base, "d2")); err != nil {
		t.Fatal(err)
	}
	if got := serverRef(t, srv, "refs/heads/"+branch); got != person {
		t.Fatalf("branch at %s, want the person's %s", got, person)
	}
	rec, err := f.Get(ctx, "sepsis-risk/retrain")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Head != person || rec.Digest != "d2" || !strings.Contains(rec.Comments[len(rec.Comments)-1].Text, person[:7]+" by Test Person") {
		t.Fatalf("record = %+v, want the person's head, the new digest and a comment naming the kept commit", rec)
	}

	// An edit that no longer applies on top of the person's work leaves the branch alone,
	// says so on the proposal once, and fails.
	req := retrainRequest(base, "d3")
	req.Key, req.Edits = "generation-8", []policies.Edit{policies.SetRetrainGeneration{From: 6, To: 8}}
	for range 2 {
		if _, err := f.Ensure(ctx, req); !errors.Is(err, forge.ErrPeoplesCommits) || !strings.Contains(err.Error(), "spec.retrain.generation is 7, expected 6") {
			t.Fatalf("Ensure = %v, want ErrPeoplesCommits with the conflict", err)
		}
	}
	if got := serverRef(t, srv, "refs/heads/"+branch); got != person {
		t.Fatalf("branch moved to %s", got)
	}
	rec, _ = f.Get(ctx, "sepsis-risk/retrain")
	n := 0
	for _, c := range rec.Comments {
		if strings.Contains(c.Text, "modelops leaves the branch as it is") {
			n++
		}
	}
	if n != 1 || rec.Key != "generation-7" {
		t.Fatalf("record = %+v, want generation-7 with one comment saying the branch is left alone", rec)
	}
}

// policyWith is the fixture's policy with its first line replaced by comment and the
// generation by gen, as a person edits it on main.
func policyWith(t *testing.T, comment string, gen int) string {
	t.Helper()
	b, err := os.ReadFile("testdata/repo/models/sepsis-risk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "# Sepsis risk: omics + clinical features.", comment, 1)
	return strings.Replace(s, "generation: 6 ", fmt.Sprintf("generation: %d ", gen), 1)
}

func TestMergeRebuildsAProposalTheTipConflictsWith(t *testing.T) {
	srv, repo, f, base := setup(t)
	ctx := context.Background()
	if _, err := f.Ensure(ctx, retrainRequest(base, "d1")); err != nil {
		t.Fatal(err)
	}
	// A person edits the same file on main meanwhile.
	personPushes(t, srv.URL("policies.git"), "main", map[string]string{"models/sepsis-risk.yaml": policyWith(t, "# Sepsis risk, owned by the ICU team.", 6)})
	if err := repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	merge, err := f.Merge(ctx, "sepsis-risk/retrain", ana)
	if err != nil {
		t.Fatalf("Merge = %v, want the proposal rebuilt on main and merged", err)
	}
	got, _ := repo.ReadFile(ctx, merge, "models/sepsis-risk.yaml")
	if want := policyWith(t, "# Sepsis risk, owned by the ICU team.", 7); string(got) != want {
		t.Fatalf("merged file:\n%s\nwant the person's edit and generation 7:\n%s", got, want)
	}
	if serverRef(t, srv, "refs/heads/main") != merge {
		t.Fatal("the merge was not pushed")
	}
}

func TestMergeOfAProposalThatNoLongerAppliesSaysWhatToDo(t *testing.T) {
	srv, repo, f, base := setup(t)
	ctx := context.Background()
	if _, err := f.Ensure(ctx, retrainRequest(base, "d1")); err != nil {
		t.Fatal(err)
	}
	tip := personPushes(t, srv.URL("policies.git"), "main", map[string]string{"models/sepsis-risk.yaml": policyWith(t, "# Sepsis risk.", 9)})
	if err := repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := f.Merge(ctx, "sepsis-risk/retrain", ana)
	if !errors.Is(err, git.ErrConflict) || !strings.Contains(err.Error(), "no longer applies to main") || !strings.Contains(err.Error(), "run `modelops reconcile`") {
		t.Fatalf("Merge = %v, want a conflict saying what to do", err)
	}
	t.Log(err)
	if n := strings.Count(err.Error(), "merge modelops/sepsis-risk/retrain into main"); n != 1 {
		t.Fatalf("the error names the merge %d times, want once: %v", n, err)
	}
	if serverRef(t, srv, "refs/heads/main") != tip {
		t.Fatal("main moved")
	}
}

func TestANewProposalKeepsAPersonsCommitOnADeclinedOnesBranch(t *testing.T) {
	srv, repo, f, base := setup(t)
	ctx := context.Background()
	const branch = "modelops/sepsis-risk/retrain"
	if _, err := f.Ensure(ctx, retrainRequest(base, "d1")); err != nil {
		t.Fatal(err)
	}
	person := personPushes(t, srv.URL("policies.git"), branch, map[string]string{"notes/sepsis-risk.md": "declined: lab recalibration\n"})
	if err := f.Decline(ctx, "sepsis-risk/retrain", "ana", "lab recalibration"); err != nil {
		t.Fatal(err)
	}
	if err := repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	// A later proposal of the same kind is built afresh, with the person's work kept aside.
	req := retrainRequest(base, "d2")
	req.Key = "generation-7-again"
	if _, err := f.Ensure(ctx, req); err != nil {
		t.Fatal(err)
	}
	kept := branch + "-kept-" + person[:12]
	if got := serverRef(t, srv, "refs/heads/"+kept); got != person {
		t.Fatalf("%s is at %q, want the person's %s", kept, got, person)
	}
	head := serverRef(t, srv, "refs/heads/"+branch)
	if onServer(t, srv, person, head) {
		t.Fatal("the new proposal carries the declined proposal's commit")
	}
	rec, _ := f.Get(ctx, "sepsis-risk/retrain")
	if rec.State != StateOpen || rec.Head != head || !strings.Contains(rec.Comments[len(rec.Comments)-1].Text, "kept them on branch "+kept) {
		t.Fatalf("record = %+v, want the new proposal saying where the commits are kept", rec)
	}
}

// A promotion's target is kept with its record, so a reconciler started later knows an open
// promotion proposal makes a canary, not production, without reading it out of the key.
func TestAPromotionsTargetSurvivesARestart(t *testing.T) {
	_, repo, f, base := setup(t)
	ctx := context.Background()
	weight := 10
	req := reconciler.ProposalRequest{
		Model: "sepsis-risk", Kind: reconciler.ProposalPromote, Key: "version-13", Target: reconciler.TargetCanary, Digest: "d1",
		Title: "Promote sepsis-risk: version 13 as canary at 10%", Body: "gate table",
		Base: base, File: "models/sepsis-risk.yaml",
		Edits: []policies.Edit{policies.SetCanary{Canary: policies.Canary{Version: "13", URI: "models:/sepsis-risk/13", Weight: &weight}}},
	}
	if _, err := f.Ensure(ctx, req); err != nil {
		t.Fatal(err)
	}
	list, err := New(repo, "main", "modelops/status", bot).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Target != reconciler.TargetCanary {
		t.Fatalf("List after a restart = %+v, want the promotion with target canary", list)
	}
	// The same key with another target is another proposal: the record is rewritten.
	req.Target = reconciler.TargetProduction
	if _, err := f.Ensure(ctx, req); err != nil {
		t.Fatal(err)
	}
	if list, _ = New(repo, "main", "modelops/status", bot).List(ctx); len(list) != 1 || list[0].Target != reconciler.TargetProduction {
		t.Fatalf("List = %+v, want the target production", list)
	}
}
