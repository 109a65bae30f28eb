package policies

import (
	"strings"
	"testing"
	"time"
)

const registryPolicyHead = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  production: {version: "12"}
`

func TestRegistryDefaults(t *testing.T) {
	ps, err := Parse("p.yaml", []byte(registryPolicyHead+"  registry:\n    cleanup: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := ps[0].Spec.Registry
	if r.Name != "sepsis-risk" || r.Aliases.Production != "champion" || r.Aliases.Canary != "challenger" || !*r.Enforce {
		t.Errorf("registry defaults = %+v", r)
	}
	c := r.Cleanup
	if *c.KeepLast != 10 || c.OlderThan.Duration != 90*24*time.Hour || c.Action != CleanupDelete || *c.MaxPerCycle != 5 {
		t.Errorf("cleanup defaults = %+v", c)
	}
	ps, err = Parse("p.yaml", []byte(registryPolicyHead+"  registry: {name: Sepsis Risk, aliases: {production: prod}, enforce: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := ps[0].Spec.Registry; r.Name != "Sepsis Risk" || r.Aliases.Production != "prod" || *r.Enforce || r.Cleanup != nil {
		t.Errorf("registry as written = %+v", r)
	}
	ps, _ = Parse("p.yaml", []byte(registryPolicyHead))
	if ps[0].Spec.Registry != nil {
		t.Error("a policy without spec.registry got one")
	}
}

func TestRegistryProblemsAreReportedAtTheirPosition(t *testing.T) {
	src := registryPolicyHead + `  registry:
    aliases:
      production: latest
      canary: V3
    enforce: sometimes
    cleanup:
      keepLast: 0
      action: archive
      olderThan: 90days
      maxPerCycle: 0
    owner: ana
`
	_, err := Parse("models/p.yaml", []byte(src))
	want := []string{
		`models/p.yaml:9:19: spec.registry.aliases.production: must not be "latest"`,
		`models/p.yaml:10:15: spec.registry.aliases.canary: must not be "V3"`,
		`models/p.yaml:11:14: spec.registry.enforce: expected true or false, got "sometimes"`,
		`models/p.yaml:13:17: spec.registry.cleanup.keepLast: must be 1 or more, got 0`,
		`models/p.yaml:14:15: spec.registry.cleanup.action: must be one of delete, tag, got "archive"`,
		`models/p.yaml:15:18: spec.registry.cleanup.olderThan: expected a duration such as 6h, 90m, 30d or 1d12h, got "90days"`,
		`models/p.yaml:16:20: spec.registry.cleanup.maxPerCycle: must be 1 or more, got 0`,
		`models/p.yaml:17:5: spec.registry.owner: unknown field`,
	}
	got := FieldErrors(err)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i].Error(), w) {
			t.Errorf("error %d = %q\nwant prefix %q", i, got[i].Error(), w)
		}
	}
}

func TestRegistryAliasesMustDiffer(t *testing.T) {
	_, err := Parse("p.yaml", []byte(registryPolicyHead+"  registry: {aliases: {canary: champion}}\n"))
	if err == nil || !strings.Contains(err.Error(), `spec.registry.aliases.canary: must differ from the production alias, got "champion" for both`) {
		t.Fatalf("%v", err)
	}
}

func TestRepositoryConfigReadsTheMLflowTrackingURI(t *testing.T) {
	head := "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  mlflow:\n    trackingURI: "
	for uri, want := range map[string]string{
		"https://mlflow.example":        "",
		"databricks":                    "",
		"mlflow.example":                `.modelops.yaml:5:18: spec.mlflow.trackingURI: must be an http or https URL`,
		"https://ops:pw@mlflow.example": `.modelops.yaml:5:18: spec.mlflow.trackingURI: must not hold credentials`,
	} {
		c, err := ParseRepositoryConfig(".modelops.yaml", []byte(head+uri+"\n"))
		switch {
		case want == "" && (err != nil || c.Spec.MLflow.TrackingURI != uri):
			t.Errorf("%s: %+v %v", uri, c, err)
		case want != "" && (err == nil || !strings.HasPrefix(FieldErrors(err)[0].Error(), want)):
			t.Errorf("%s: %v, want %s", uri, err, want)
		}
	}
}

// TestCleanupAgeTakesDays: olderThan reads as people write it (ParseDuration's own cases
// are in window_test.go).
func TestCleanupAgeTakesDays(t *testing.T) {
	ps, err := Parse("p.yaml", []byte(registryPolicyHead+"  registry:\n    cleanup: {olderThan: 30d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ps[0].Spec.Registry.Cleanup.OlderThan.Duration; got != 30*24*time.Hour {
		t.Errorf("cleanup.olderThan 30d = %v", got)
	}
}
