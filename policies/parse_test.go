package policies

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
)

var update = flag.Bool("update", false, "rewrite the golden .errors files in testdata/invalid")

// TestParseReportsEveryErrorOfEachInvalidFile checks the exact errors, with line and column,
// of every file in testdata/invalid against its .errors golden file.
func TestParseReportsEveryErrorOfEachInvalidFile(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rel := "invalid/" + filepath.Base(file)
			ps, err := Parse(rel, data)
			if err == nil {
				t.Fatalf("Parse(%s) found no errors", rel)
			}
			var merr *multierror.Error
			if !errors.As(err, &merr) {
				t.Fatalf("Parse error is %T, want *multierror.Error", err)
			}
			var lines []string
			for _, e := range merr.Errors {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Errorf("error %v is %T, want *FieldError", e, e)
					continue
				}
				if fe.File != rel || fe.Line < 1 {
					t.Errorf("error %q is not positioned in %s", fe, rel)
				}
				lines = append(lines, fe.Error())
			}
			got := strings.Join(lines, "\n") + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".errors"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run go test -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("errors of %s differ from %s\ngot:\n%s\nwant:\n%s", rel, golden, got, want)
			}
			for _, p := range ps {
				if verr := p.Validate(); verr != nil {
					t.Errorf("Parse returned policy %q that does not validate: %v", p.Metadata.Name, verr)
				}
			}
		})
	}
}

func mustParse(t *testing.T, file string) []*Policy {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Parse(file, data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	return ps
}

func TestParseReadsValidFiles(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		check func(t *testing.T, ps []*Policy)
	}{
		{
			name: "a minimal policy gets the seed figures of the spec",
			file: "valid/minimal.yaml",
			check: func(t *testing.T, ps []*Policy) {
				if len(ps) != 1 {
					t.Fatalf("got %d policies, want 1", len(ps))
				}
				s := ps[0].Spec
				if s.Drift.Interval.Duration != 6*time.Hour || s.Drift.NumericTest != StatTestAuto ||
					s.Drift.CategoricalTest != StatTestAuto || *s.Drift.DatasetShare != 0.5 {
					t.Errorf("drift defaults: %+v", s.Drift)
				}
				pr := s.Promotion
				if *pr.MinImprovement.AUC != 0.03 || *pr.Minimums.AUC != 0.80 || *pr.Minimums.Precision != 0.75 ||
					*pr.Minimums.Recall != 0.70 || *pr.MinSamples != 10000 || *pr.MaxLatencyMs != 200 ||
					*pr.MinCategoryCoverage != 0.95 {
					t.Errorf("promotion defaults wrong")
				}
				ca := s.CanaryAnalysis
				if !reflect.DeepEqual(ca.Steps, []int{10, 25, 50, 100}) || ca.Interval.Duration != 12*time.Hour ||
					ca.Duration.Duration != 48*time.Hour || *ca.MinSamples != 500 || *ca.Confidence != 0.95 ||
					ca.Rollback.Metric != "auc" || *ca.Rollback.MaxDrop != 0.02 || ca.Rollback.FailedChecks != 2 {
					t.Errorf("canary analysis defaults: %+v", ca)
				}
				if s.Retrain != nil {
					t.Errorf("retrain defaults applied without a retrain block: %+v", s.Retrain)
				}
				if s.Canary != nil {
					t.Errorf("a canary appeared: %+v", s.Canary)
				}
				if ps[0].RollbackMaxLatencyMs() != 200 {
					t.Errorf("RollbackMaxLatencyMs = %v, want promotion's 200", ps[0].RollbackMaxLatencyMs())
				}
			},
		},
		{
			name: "only modelops documents of a multi-document file are read, with their index",
			file: "valid/multi-document.yaml",
			check: func(t *testing.T, ps []*Policy) {
				if len(ps) != 2 {
					t.Fatalf("got %d policies, want 2", len(ps))
				}
				if ps[0].Metadata.Name != "first" || ps[0].Doc != 1 || ps[1].Metadata.Name != "second" || ps[1].Doc != 3 {
					t.Errorf("got %s (doc %d) and %s (doc %d), want first (doc 1) and second (doc 3)",
						ps[0].Metadata.Name, ps[0].Doc, ps[1].Metadata.Name, ps[1].Doc)
				}
				if w := ps[0].Spec.Canary.Weight; w == nil || *w != 10 {
					t.Errorf("canary weight = %v, want the first step 10", w)
				}
				r := ps[1].Spec.Retrain
				if r.Schedule == nil || *r.Schedule != "" {
					t.Errorf("an explicit empty schedule became %v, want it kept empty (disabled)", r.Schedule)
				}
				if *r.OnDrift.Share != 0.5 || r.OnDrift.Of != 10 || r.OnPerformanceDrop.Metric != "auc" ||
					*r.OnPerformanceDrop.Drop != 0.05 {
					t.Errorf("retrain trigger defaults: %+v %+v", r.OnDrift, r.OnPerformanceDrop)
				}
				j := r.Job
				if *j.GPUs != 1 || j.GPUResource != "nvidia.com/gpu" || j.Timeout.Duration != 12*time.Hour || *j.BackoffLimit != 0 {
					t.Errorf("job defaults: %+v", j)
				}
				if line, col := ps[1].Position("spec.retrain.schedule"); line != 24 || col != 15 {
					t.Errorf("schedule at %d:%d, want 24:15", line, col)
				}
			},
		},
		{
			name: "merge keys and anchors are applied, and keys written beside a merge win",
			file: "valid/merge-keys.yaml",
			check: func(t *testing.T, ps []*Policy) {
				p := ps[0]
				if got := p.Metadata.Annotations; got["team"] != "ml" || got["tier"] != "research" {
					t.Errorf("annotations = %v, want team ml (merged) and tier research (written)", got)
				}
				j := p.Spec.Retrain.Job
				if *j.GPUs != 2 || j.Image != "registry.example/train:1" || !reflect.DeepEqual(j.Command, []string{"python", "train.py"}) {
					t.Errorf("job = %+v, want the merged image and command with gpus 2", j)
				}
				if *p.Spec.Promotion.Minimums.AUC != 0.9 {
					t.Errorf("minimums.auc = %v", *p.Spec.Promotion.Minimums.AUC)
				}
				if w := p.Spec.CanaryAnalysis.Steps; !reflect.DeepEqual(w, []int{20, 100}) {
					t.Errorf("steps = %v", w)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, tt.file))
		})
	}
}

func TestParseEdgeCases(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		policies int
		errs     []string
	}{
		{name: "an empty file holds no policy and no error", in: ""},
		{name: "a file of comments holds no policy and no error", in: "# nothing yet\n"},
		{name: "a YAML list at the top is not a policy", in: "- a\n- b\n"},
		{name: "a document of another group is ignored", in: "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: [1]}\n"},
		{
			name: "a ModelPolicy without apiVersion is reported",
			in:   "kind: ModelPolicy\nmetadata: {name: x}\n",
			errs: []string{"f.yaml:1:1: apiVersion: is required, expected modelops.medimind.io/v1alpha1"},
		},
		{
			// yaml.v3 reports the line where the enclosing block starts (6); the problem is on 10.
			name: "an indentation error is reported on its line, with the block it breaks",
			in:   "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: a\nspec:\n  production:\n    version: \"1\"\n  drift:\n    interval: 6h\n   numericTest: auto\n",
			errs: []string{"f.yaml:10:4: invalid YAML: did not find expected key (in a block mapping under spec, from line 6; check the indentation)"},
		},
		{
			name: "an alias without its anchor names the line of the alias",
			in:   "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: *nope}\n",
			errs: []string{"f.yaml:3:18: invalid YAML: unknown anchor 'nope' referenced"},
		},
		{
			name: "an error on a missing field points at its nearest parent",
			in:   "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: a}\nspec:\n  production: {version: \"1\"}\n  canary:\n    uri: models:/a/2\n",
			errs: []string{"f.yaml:6:3: spec.canary.version: is required"},
		},
		{
			name: "one bad document does not hide a good one",
			in: "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: a}\nspec: {canary: {version: \"1\"}, production: {version: \"1\"}}\n---\n" +
				"apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: b}\n",
			policies: 1,
			errs:     []string{`f.yaml:4:26: spec.canary.version: must differ from spec.production.version, got "1" for both`},
		},
		{
			name: "a map key that is not a plain word is quoted in the field path",
			in:   "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: a}\nspec:\n  data:\n    reference: {path: r.csv}\n    current: {path: c.csv}\n    groups:\n      \"omics.v2\": {}\n",
			errs: []string{`f.yaml:9:19: spec.data.groups["omics.v2"]: must set exactly one of pattern or features, got neither`},
		},
		{
			name: "an alias that contains itself is an error, not a hang",
			in:   "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: a}\nspec: &s\n  <<: *s\n",
			errs: []string{"f.yaml:5:7: spec: alias *s refers to itself"},
		},
		{
			name: "a null key in a map is an error, not silently dropped",
			in:   "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: a, labels: {~: x}}\n",
			errs: []string{"f.yaml:3:30: metadata.labels: expected a name as key, got null"},
		},
		{
			name: "an integer too large for its field is an error",
			in:   "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: a}\nspec:\n  retrain:\n    job: {command: [x], backoffLimit: 4294967296}\n",
			errs: []string{"f.yaml:6:39: spec.retrain.job.backoffLimit: expected an integer of at most 32 bits, got 4294967296"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Parse("f.yaml", []byte(tt.in))
			if len(ps) != tt.policies {
				t.Errorf("got %d policies, want %d", len(ps), tt.policies)
			}
			var got []string
			for _, fe := range FieldErrors(err) {
				got = append(got, fe.Error())
			}
			if !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.errs)
			}
		})
	}
}

func TestFieldErrorRendersOnlyWhatIsKnown(t *testing.T) {
	tests := []struct {
		name string
		err  FieldError
		want string
	}{
		{"a positioned error has file, line and column", FieldError{"a.yaml", 3, 7, "spec.canary.weight", "must be between 0 and 100, got 150"}, "a.yaml:3:7: spec.canary.weight: must be between 0 and 100, got 150"},
		{"a syntax error has no column", FieldError{"a.yaml", 3, 0, "", "invalid YAML: x"}, "a.yaml:3: invalid YAML: x"},
		{"an error from Validate has only the field", FieldError{Field: "kind", Message: "must be ModelPolicy"}, "kind: must be ModelPolicy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParentPath(t *testing.T) {
	tests := []struct{ path, want string }{
		{"spec.canary.weight", "spec.canary"},
		{"spec.canaryAnalysis.steps[2]", "spec.canaryAnalysis.steps"},
		{`spec.data.groups["a.b[1]"]`, "spec.data.groups"},
		{`spec.data.groups["a.b"].pattern`, `spec.data.groups["a.b"]`},
		{"spec", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := parentPath(tt.path); got != tt.want {
			t.Errorf("parentPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
