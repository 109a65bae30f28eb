package reconciler

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/policies"
)

// registryPolicy is sepsis-risk at production 12, with a canary 14 at weight (none when 0),
// reconciled to the registered model "sepsis-risk" with the default aliases.
func registryPolicy(weight int, enforce bool) *policies.Policy {
	return policy("sepsis-risk", func(s *policies.ModelPolicySpec) {
		s.Registry = &policies.RegistrySpec{Enforce: &enforce}
		if weight > 0 {
			s.Canary = &policies.Canary{Version: "14", Weight: &weight}
		}
	})
}

var readyVersions = map[string]RegistryVersion{"12": {Status: RegistryReady}, "14": {Status: RegistryReady}}

// summary writes actions as "kind alias→version" for compact assertions.
func summary(actions []Action) string {
	var out []string
	for _, a := range actions {
		s := string(a.Kind) + " " + a.Registry.Alias
		if a.Registry.Version != "" {
			s += "→" + a.Registry.Version
		}
		if a.Registry.Drift {
			s += " (drift)"
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

func TestPlanRegistryFollowsTheTipOnceTheRouterServesIt(t *testing.T) {
	served := func(canaryWeight int) *Traffic {
		t := &Traffic{Production: "12"}
		if canaryWeight > 0 {
			t.Canary, t.Weight = "14", canaryWeight
		}
		return t
	}
	for _, tc := range []struct {
		name    string
		weight  int
		served  *Traffic
		aliases map[string]string
		applied map[string]string
		want    string
	}{
		{"a fresh registry gets the production alias", 0, served(0), nil, nil, "set-alias champion→12"},
		{"in step: nothing to do", 10, served(10), map[string]string{"champion": "12", "challenger": "14"}, map[string]string{"champion": "12", "challenger": "14"}, ""},
		{"a canary the router does not serve yet waits for the traffic", 10, served(0), map[string]string{"champion": "12"}, map[string]string{"champion": "12"}, ""},
		{"a canary served gets the canary alias", 10, served(10), map[string]string{"champion": "12"}, map[string]string{"champion": "12"}, "set-alias challenger→14"},
		{"a rollback removes the canary alias at once, champion stays", 0, served(10), map[string]string{"champion": "12", "challenger": "14"}, map[string]string{"champion": "12", "challenger": "14"}, "delete-alias challenger"},
		{"without a router the aliases follow the tip", 10, nil, map[string]string{"champion": "12"}, nil, "set-alias challenger→14"},
		{"other aliases are left alone", 0, served(0), map[string]string{"champion": "12", "staging": "9"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanRegistry("c1", registryPolicy(tc.weight, true), tc.served, RegistryObservation{Aliases: tc.aliases, Applied: tc.applied, Versions: readyVersions})
			if s := summary(got); s != tc.want {
				t.Fatalf("plan = %q, want %q", s, tc.want)
			}
		})
	}
}

func TestPlanRegistrySetsBackOrReportsAnAliasMovedOutsideGit(t *testing.T) {
	obs := RegistryObservation{
		Aliases:  map[string]string{"champion": "9"},
		Applied:  map[string]string{"champion": "12"},
		Versions: readyVersions,
	}
	got := PlanRegistry("c1", registryPolicy(0, true), &Traffic{Production: "12"}, obs)
	if s := summary(got); s != "set-alias champion→12 (drift)" {
		t.Fatalf("enforced: %q", s)
	}
	if !strings.Contains(got[0].Reason, "moved outside git to version 9") || got[0].Registry.Observed != "9" {
		t.Errorf("reason %q, observed %q", got[0].Reason, got[0].Registry.Observed)
	}
	got = PlanRegistry("c1", registryPolicy(0, false), &Traffic{Production: "12"}, obs)
	if s := summary(got); s != "report-registry-drift champion→12 (drift)" {
		t.Fatalf("not enforced: %q", s)
	}
	// A person deleting the alias is drift too.
	obs.Aliases = nil
	if s := summary(PlanRegistry("c1", registryPolicy(0, true), &Traffic{Production: "12"}, obs)); s != "set-alias champion→12 (drift)" {
		t.Fatalf("deleted by hand: %q", s)
	}
}

func TestPlanRegistryKeysChangeWithWhatTheyRepair(t *testing.T) {
	p := registryPolicy(0, true)
	plan := func(observed string) Action {
		obs := RegistryObservation{Aliases: map[string]string{"champion": observed}, Applied: map[string]string{"champion": "12"}, Versions: readyVersions}
		return PlanRegistry("c1", p, &Traffic{Production: "12"}, obs)[0]
	}
	a, b, again := plan("9"), plan("10"), plan("9")
	if a.Key == b.Key || a.Key != again.Key {
		t.Fatalf("keys %q, %q, %q: want one per observed state, stable across cycles", a.Key, b.Key, again.Key)
	}
	if a.Key != "set-alias/sepsis-risk/champion/12/from-9" {
		t.Errorf("key = %q", a.Key)
	}
}

func TestPlanRegistryWaitsForAReadyVersion(t *testing.T) {
	for status, want := range map[string]string{
		RegistryPending: "still PENDING_REGISTRATION",
		RegistryFailed:  "failed its registration in the model registry: artifact copy failed",
		"":              "does not exist in the model registry",
	} {
		obs := RegistryObservation{
			Aliases:  map[string]string{"champion": "12"},
			Versions: map[string]RegistryVersion{"12": {Status: RegistryReady}, "14": {Status: status, Message: "artifact copy failed"}},
		}
		got := PlanRegistry("c1", registryPolicy(10, true), &Traffic{Production: "12", Canary: "14", Weight: 10}, obs)
		if s := summary(got); s != "await-registry-version challenger→14" || !strings.Contains(got[0].Reason, want) {
			t.Errorf("status %q: plan %q (%s), want a wait saying %q", status, s, got[0].Reason, want)
		}
	}
}

func TestCheckRegistryVersion(t *testing.T) {
	if err := CheckRegistryVersion("m", "14", RegistryVersion{Status: RegistryReady}); err != nil {
		t.Errorf("READY: %v", err)
	}
	if err := CheckRegistryVersion("m", "14", RegistryVersion{Status: RegistryPending}); !errors.Is(err, ErrRegistryPending) {
		t.Errorf("PENDING: %v, want ErrRegistryPending", err)
	}
	err := CheckRegistryVersion("m", "14", RegistryVersion{Status: RegistryFailed, Message: "no artifacts"})
	if err == nil || errors.Is(err, ErrRegistryPending) || !strings.Contains(err.Error(), "no artifacts") {
		t.Errorf("FAILED: %v, want the reason and no wait", err)
	}
}

func TestPlanRegistryWithoutARegistryBlockPlansNothing(t *testing.T) {
	p := policy("sepsis-risk", nil)
	if got := PlanRegistry("c1", p, &Traffic{Production: "12"}, RegistryObservation{Aliases: map[string]string{"champion": "9"}}); got != nil {
		t.Fatalf("plan = %q", summary(got))
	}
}

func TestPlanRegistryCleanupNeverTouchesWhatGitReferences(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	keep, most := 3, 2
	p := policy("sepsis-risk", func(s *policies.ModelPolicySpec) {
		s.Registry = &policies.RegistrySpec{Cleanup: &policies.RegistryCleanup{KeepLast: &keep, MaxPerCycle: &most, OlderThan: policies.Duration{Duration: 90 * 24 * time.Hour}}}
	})
	old, recent := now.Add(-100*24*time.Hour), now.Add(-10*24*time.Hour)
	var versions []RegistryVersionAge
	for i := 1; i <= 10; i++ {
		created := old
		if i == 6 {
			created = recent
		}
		versions = append(versions, RegistryVersionAge{Version: strconv.Itoa(i), Created: created, Aliased: i == 2})
	}
	// 8..10 are the newest three; 1 is referenced by a commit within the audit retention,
	// 2 carries an alias, 6 is too young: 3 and 4 go, oldest first, two per cycle.
	got := PlanRegistryCleanup("c1", p, versions, map[string]bool{"1": true}, now)
	var picked []string
	for _, a := range got {
		if a.Kind != ActionCleanupVersion || a.Registry.Cleanup != policies.CleanupDelete {
			t.Errorf("action %+v", a)
		}
		picked = append(picked, a.Registry.Version)
	}
	if strings.Join(picked, ",") != "3,4" {
		t.Fatalf("cleaned up %v, want 3,4", picked)
	}
	if got[0].Key != "cleanup-version/sepsis-risk/3/delete" {
		t.Errorf("key %q", got[0].Key)
	}
	// Without a cleanup block nothing is ever removed.
	if got := PlanRegistryCleanup("c1", registryPolicy(0, true), versions, nil, now); got != nil {
		t.Fatalf("no cleanup block planned %q", summary(got))
	}
}

// TestPlanCleansUpOnlyWhatNothingReferences: through Plan, the versions a cleanup may take
// leave out the tip's production and canary, every version a mainline commit named, the
// versions open promotion proposals would serve (a declined one protects nothing), and
// those an alias points at; with the history unknown nothing is planned, and a version
// tagged archived is not tagged again.
func TestPlanCleansUpOnlyWhatNothingReferences(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	keep, most := 2, 10
	mk := func(action string) *policies.Policy {
		return policy("sepsis-risk", func(s *policies.ModelPolicySpec) {
			w := 10
			s.Production = &policies.ModelVersion{Version: "3"}
			s.Canary = &policies.Canary{Version: "4", Weight: &w}
			s.Registry = &policies.RegistrySpec{Name: "sepsis-risk", Aliases: policies.RegistryAliases{Production: "champion", Canary: "challenger"},
				Cleanup: &policies.RegistryCleanup{KeepLast: &keep, MaxPerCycle: &most, Action: action, OlderThan: policies.Duration{Duration: 90 * 24 * time.Hour}}}
		})
	}
	var all []RegistryVersionAge
	for i := 1; i <= 12; i++ {
		all = append(all, RegistryVersionAge{Version: strconv.Itoa(i), Created: now.Add(-200 * 24 * time.Hour), Archived: i == 9})
	}
	props := []Proposal{
		{Model: "sepsis-risk", Kind: ProposalPromote, State: ProposalOpen, Key: promoteKey("5")},
		{Model: "sepsis-risk", Kind: ProposalPromote, State: ProposalDeclined, Key: promoteKey("6")},
		{Model: "sepsis-risk", Kind: ProposalRetrain, State: ProposalOpen, Key: "gen-8"},
		{Model: "sepsis-risk", Kind: ProposalPromote, State: ProposalOpen, Target: TargetProduction, Key: fullPromotionKey("10")},
	}
	cleaned := func(p *policies.Policy, history map[string]bool, props []Proposal) string {
		obs := RegistryObservation{Aliases: map[string]string{"champion": "3", "challenger": "4", "legacy": "7"}, Versions: readyVersions, All: all, History: history}
		var out []string
		for _, a := range Plan(PlanInput{Now: now, Commit: "c1", Models: []ModelState{{Policy: p, Status: &ModelStatus{Model: "sepsis-risk"}, Proposals: props, Registry: &obs}}}) {
			if a.Kind == ActionCleanupVersion {
				out = append(out, a.Registry.Version)
			}
		}
		return strings.Join(out, ",")
	}
	// 11 and 12 are the newest two; 3 and 4 serve at the tip; 1 was named in history; 5 is
	// proposed as canary and 10 as production; 7 carries an alias.
	if got := cleaned(mk(policies.CleanupDelete), map[string]bool{"1": true}, props); got != "2,6,8,9" {
		t.Errorf("delete cleaned up %q, want 2,6,8,9", got)
	}
	if got := cleaned(mk(policies.CleanupTag), map[string]bool{"1": true}, props); got != "2,6,8" {
		t.Errorf("tag cleaned up %q, want 2,6,8 (9 is archived already)", got)
	}
	if got := cleaned(mk(policies.CleanupDelete), nil, props); got != "" {
		t.Errorf("with the history unknown cleaned up %q, want nothing", got)
	}
	most = 2
	if got := cleaned(mk(policies.CleanupDelete), map[string]bool{"1": true}, props); got != "2,6" {
		t.Errorf("with maxPerCycle 2 cleaned up %q, want the oldest two, 2,6", got)
	}
}

func TestVersionsNamedInReadsEveryModelDocument(t *testing.T) {
	content := `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: sepsis-risk}
spec:
  production: {version: 12}
  canary: {version: "14", weight: 10}
---
apiVersion: modelops.medimind.io/v1alpha1
kind: RepositoryConfig
spec: {}
---
apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: readmission}
spec:
  production: {version: "v3"}
  drift: {interval: [not, a, duration]}
`
	got := versionsNamedIn([]byte(content))
	if strings.Join(got["sepsis-risk"], ",") != "12,14" || strings.Join(got["readmission"], ",") != "v3" || len(got) != 2 {
		t.Errorf("versionsNamedIn = %v", got)
	}
	if got := versionsNamedIn([]byte("{not yaml")); len(got) != 0 {
		t.Errorf("a broken file named %v", got)
	}
}
