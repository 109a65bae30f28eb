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
