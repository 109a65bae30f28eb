package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/internal/testutil/mlflowfake"
	"github.com/medimind/modelops/reconciler"
)

// cleanupPolicy is sepsis-risk at a production version, cleaning up the registry's old
// versions two per cycle and keeping the newest three.
const cleanupPolicy = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "%s", uri: "models:/sepsis-risk@champion"}
  registry:
    name: sepsis-risk
    cleanup: {keepLast: 3, olderThan: 90d, maxPerCycle: 2}
`

// TestMLflowCleanupKeepsWhatGitReferences: fourteen versions registered 200 days ago, the
// repository's history naming 2 (production before 12), a person's alias on 5. `modelops
// plan` shows the cleanup; each cycle deletes at most two versions, the oldest first, never 2
// (a git revert of the promotion must find it), never 5, 12 or the newest three, and the
// status branch records each deletion.
func TestMLflowCleanupKeepsWhatGitReferences(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now().Add(-200 * 24 * time.Hour)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	w := newMLflowWorld(t, fmt.Sprintf(cleanupPolicy, "2"), mlflowfake.WithClock(now), mlflowfake.WithReadyAfter(0))
	for range 14 {
		w.fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "models:/m"})
	}
	mu.Lock()
	clock = time.Now()
	mu.Unlock()
	w.fake.MoveAlias("sepsis-risk", "legacy", "5")
	w.commitPolicy(fmt.Sprintf(cleanupPolicy, "12"), "Promote 12")

	cleanups := func(actions []reconciler.Action) []string {
		var out []string
		for _, a := range actions {
			if a.Kind == reconciler.ActionCleanupVersion {
				out = append(out, a.Registry.Version)
			}
		}
		return out
	}
	code, out, errOut := runCLI(t, "plan", "-o", "json", "--repo", w.url, "--state-dir", w.state, "--data-root", w.data)
	var plan planOutput
	if err := json.Unmarshal([]byte(out), &plan); err != nil || code != 0 {
		t.Fatalf("modelops plan: exit %d, %v\n%s", code, err, errOut)
	}
	if got := cleanups(plan.Actions); !slices.Equal(got, []string{"1", "3"}) {
		t.Fatalf("modelops plan cleans up %v, want 1 and 3", got)
	}
	for _, v := range []string{"1", "3"} {
		if w.fake.VersionTags("sepsis-risk", v) == nil {
			t.Fatalf("modelops plan deleted version %s", v)
		}
	}

	for _, want := range [][]string{{"1", "3"}, {"4", "6"}} {
		res := w.reconcile()
		var got []string
		for _, a := range res.Actions {
			if a.Action.Kind == reconciler.ActionCleanupVersion {
				got = append(got, a.Action.Registry.Version)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("cycle cleaned up %v (actions %v), want %v", got, kindsOf(res), want)
		}
		for _, v := range want {
			if w.fake.VersionTags("sepsis-risk", v) != nil {
				t.Errorf("version %s still exists after its cleanup", v)
			}
		}
	}
	for _, v := range []string{"2", "5", "7", "12", "13", "14"} {
		if w.fake.VersionTags("sepsis-risk", v) == nil {
			t.Errorf("version %s was deleted; git history, an alias or keepLast protect it", v)
		}
	}

	gitserver.MustGit(t, w.work, "fetch", "-q", "origin", "modelops/status")
	var ms reconciler.ModelStatus
	if err := json.Unmarshal([]byte(gitserver.MustGit(t, w.work, "show", "FETCH_HEAD:models/sepsis-risk.json")), &ms); err != nil {
		t.Fatal(err)
	}
	var recorded []string
	for _, c := range ms.RegistryCalls {
		if c.Action == reconciler.ActionCleanupVersion && c.Cleanup == "delete" && strings.Contains(c.Reason, "nothing in git references it") {
			recorded = append(recorded, c.Version)
		}
	}
	if !slices.Equal(recorded, []string{"1", "3", "4", "6"}) {
		t.Fatalf("the status branch records the cleanups %v (%+v), want 1, 3, 4, 6", recorded, ms.RegistryCalls)
	}
}
