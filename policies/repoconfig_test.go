package policies

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseRepositoryConfigReadsEveryField(t *testing.T) {
	src := `apiVersion: modelops.medimind.io/v1alpha1
kind: RepositoryConfig
spec:
  labels: [modelops, "ml: retrain"]
  reviewers: [ana-reviewer]
  teamReviewers: [clinical-ml]
  canarySteps: pullRequest
  rollback: commit
  prConcurrentLimit: 0
  prHourlyLimit: 5
`
	c, err := ParseRepositoryConfig(".modelops.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Spec
	if strings.Join(s.Labels, ",") != "modelops,ml: retrain" || s.Reviewers[0] != "ana-reviewer" || s.TeamReviewers[0] != "clinical-ml" {
		t.Errorf("names = %q %q %q", s.Labels, s.Reviewers, s.TeamReviewers)
	}
	if s.CanarySteps != ChangePullRequest || s.Rollback != ChangeCommit {
		t.Errorf("modes = %q, %q", s.CanarySteps, s.Rollback)
	}
	// 0 is kept as written (unlimited), not replaced by the default.
	if LimitOf(s.PRConcurrentLimit) != 0 || LimitOf(s.PRHourlyLimit) != 5 {
		t.Errorf("limits = %d, %d", LimitOf(s.PRConcurrentLimit), LimitOf(s.PRHourlyLimit))
	}
}

func TestRepositoryConfigDefaults(t *testing.T) {
	c, err := ParseRepositoryConfig("c.yaml", []byte("apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Spec
	if s.CanarySteps != ChangeCommit || s.Rollback != ChangeCommit ||
		LimitOf(s.PRConcurrentLimit) != DefaultPRConcurrentLimit || LimitOf(s.PRHourlyLimit) != DefaultPRHourlyLimit {
		t.Errorf("defaults = %+v", s)
	}
	// A repository without the file gets the same.
	d, err := LoadRepositoryConfig(fstest.MapFS{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.CanarySteps != s.CanarySteps || *d.Spec.PRHourlyLimit != *s.PRHourlyLimit || d.Kind != KindRepositoryConfig {
		t.Errorf("default config = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("the default config is invalid: %v", err)
	}
}

func TestLoadRepositoryConfigReadsTheFileAtTheRoot(t *testing.T) {
	fsys := fstest.MapFS{RepositoryConfigFile: {Data: []byte("apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec: {prHourlyLimit: 7}\n")}}
	c, err := LoadRepositoryConfig(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if LimitOf(c.Spec.PRHourlyLimit) != 7 {
		t.Errorf("prHourlyLimit = %d, want 7", LimitOf(c.Spec.PRHourlyLimit))
	}
	fsys[RepositoryConfigFile] = &fstest.MapFile{Data: []byte("kind: RepositoryConfig\nspec: {prHourlyLimit: -1}\n")}
	if _, err := LoadRepositoryConfig(fsys); err == nil || !strings.Contains(err.Error(), ".modelops.yaml:1:1: apiVersion: must be") ||
		!strings.Contains(err.Error(), ".modelops.yaml:2:23: spec.prHourlyLimit: must be 0 (unlimited) or more, got -1") {
		t.Errorf("invalid file: err = %v", err)
	}
}

func TestParseRepositoryConfigReportsEveryProblemAtItsPosition(t *testing.T) {
	src := `apiVersion: modelops.medimind.io/v1alpha1
kind: RepositoryConfig
spec:
  labels: [modelops, modelops, ""]
  reviewer: [ana]
  teamReviewers: [medimind/clinical-ml]
  canarySteps: pr
  rollback: [commit]
  prConcurrentLimit: -2
  prHourlyLimit: many
`
	_, err := ParseRepositoryConfig(".modelops.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`.modelops.yaml:4:22: spec.labels[1]: duplicate "modelops", first at spec.labels[0]`,
		`.modelops.yaml:4:32: spec.labels[2]: must not be empty`,
		`.modelops.yaml:5:3: spec.reviewer: unknown field, did you mean reviewers?`,
		`.modelops.yaml:6:19: spec.teamReviewers[0]: must be a team slug without the organisation`,
		`.modelops.yaml:7:16: spec.canarySteps: must be one of commit, pullRequest, got "pr"`,
		`.modelops.yaml:8:13: spec.rollback: expected a single value, got a list`,
		`.modelops.yaml:9:22: spec.prConcurrentLimit: must be 0 (unlimited) or more, got -2`,
		`.modelops.yaml:10:18: spec.prHourlyLimit: expected an integer, got "many"`,
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

func TestParseRepositoryConfigRejectsMalformedFiles(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"empty", "", `c.yaml: is empty, expected a RepositoryConfig document`},
		{"not a mapping", "- a\n", `c.yaml:1:1: expected a RepositoryConfig mapping, got a list`},
		{"two documents", "kind: RepositoryConfig\n---\nkind: RepositoryConfig\n", `c.yaml:2:1: expected one document, found more`},
		{"bad YAML", "spec: [\n", `c.yaml:2:1: invalid YAML`},
		{"wrong kind", "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\n", `c.yaml:2:7: kind: must be RepositoryConfig, got "ModelPolicy"`},
		{"bad reviewer", "apiVersion: modelops.medimind.io/v1alpha1\nkind: RepositoryConfig\nspec:\n  reviewers: [-ana]\n", `c.yaml:4:15: spec.reviewers[0]: must be a GitHub user name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRepositoryConfig("c.yaml", []byte(tc.src))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant prefix %q", err, tc.want)
			}
		})
	}
}

func TestRepositoryConfigDefaultIsIdempotentAndValidateAgrees(t *testing.T) {
	c := &RepositoryConfig{APIVersion: APIVersion, Kind: KindRepositoryConfig}
	before := c.Validate()
	c.Default()
	once := *c
	c.Default()
	if c.Spec.PRConcurrentLimit != once.Spec.PRConcurrentLimit || c.Spec.CanarySteps != once.Spec.CanarySteps {
		t.Error("Default is not idempotent")
	}
	if (before == nil) != (c.Validate() == nil) {
		t.Errorf("Validate before Default = %v, after = %v", before, c.Validate())
	}
}

func TestRepositoryConfigListsTheServiceAccountsTrainingMayRunAs(t *testing.T) {
	src := `apiVersion: modelops.medimind.io/v1alpha1
kind: RepositoryConfig
spec:
  kubernetes:
    serviceAccounts: [trainer, gpu-trainer]
`
	c, err := ParseRepositoryConfig(".modelops.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Spec.Kubernetes.ServiceAccounts, ","); got != "trainer,gpu-trainer" {
		t.Errorf("serviceAccounts = %q", got)
	}

	bad := `apiVersion: modelops.medimind.io/v1alpha1
kind: RepositoryConfig
spec:
  kubernetes:
    serviceAccounts: [trainer, modelops, Trainer, trainer]
    serviceAccount: trainer
`
	_, err = ParseRepositoryConfig(".modelops.yaml", []byte(bad))
	want := []string{
		`.modelops.yaml:5:32: spec.kubernetes.serviceAccounts[1]: must not be the reconciler's own ServiceAccount: training code would get the reconciler's rights, got "modelops"`,
		`.modelops.yaml:5:42: spec.kubernetes.serviceAccounts[2]: must be a ServiceAccount name (a lowercase RFC 1123 subdomain`,
		`.modelops.yaml:5:51: spec.kubernetes.serviceAccounts[3]: duplicate "trainer", first at spec.kubernetes.serviceAccounts[0]`,
		`.modelops.yaml:6:5: spec.kubernetes.serviceAccount: unknown field, did you mean serviceAccounts?`,
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
