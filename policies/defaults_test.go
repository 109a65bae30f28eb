package policies

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// rawPolicies decodes the policy documents of a file without defaults.
func rawPolicies(t *testing.T, path string) []ModelPolicy {
	t.Helper()
	ps, err := Parse(path, mustRead(t, path))
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	var out []ModelPolicy
	for _, p := range ps {
		var docs []yaml.Node
		dec := yaml.NewDecoder(bytes.NewReader(mustRead(t, path)))
		for {
			var n yaml.Node
			if dec.Decode(&n) != nil {
				break
			}
			docs = append(docs, n)
		}
		var mp ModelPolicy
		if err := docs[p.Doc].Decode(&mp); err != nil {
			t.Fatalf("decode %s doc %d: %v", path, p.Doc, err)
		}
		out = append(out, mp)
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func validFixtures(t *testing.T) []string {
	t.Helper()
	a, _ := filepath.Glob("../examples/policy-repo/models/*.yaml")
	b, _ := filepath.Glob("testdata/valid/*.yaml")
	files := append(a, b...)
	if len(files) < 5 {
		t.Fatalf("found only %d fixtures", len(files))
	}
	return files
}

func TestDefaultIsIdempotent(t *testing.T) {
	for _, file := range validFixtures(t) {
		for _, raw := range rawPolicies(t, file) {
			t.Run(file+"/"+raw.Metadata.Name, func(t *testing.T) {
				once := deepCopy(t, raw)
				once.Default()
				twice := deepCopy(t, once)
				twice.Default()
				if !reflect.DeepEqual(once, twice) {
					t.Errorf("Default changed an already defaulted policy:\nonce  %+v\ntwice %+v", once.Spec, twice.Spec)
				}
				if reflect.DeepEqual(once, raw) {
					t.Errorf("Default changed nothing; every fixture leaves some field out")
				}
			})
		}
	}
}

func TestValidateOfDefaultedExamplesIsClean(t *testing.T) {
	for _, file := range validFixtures(t) {
		for _, raw := range rawPolicies(t, file) {
			t.Run(file+"/"+raw.Metadata.Name, func(t *testing.T) {
				if err := raw.Validate(); err != nil {
					t.Errorf("Validate before Default: %v", err)
				}
				raw.Default()
				if err := raw.Validate(); err != nil {
					t.Errorf("Validate after Default: %v", err)
				}
			})
		}
	}
}

func TestDefaultKeepsWhatIsWritten(t *testing.T) {
	zero, one, empty := 0.0, 1.0, ""
	weight := 0
	p := ModelPolicy{Spec: ModelPolicySpec{
		Canary: &Canary{Version: "2", Weight: &weight},
		Drift:  DriftSpec{DatasetShare: &zero, Threshold: &one, NumericTest: StatTestPSI},
		Retrain: &RetrainSpec{
			Schedule: &empty,
			OnDrift:  &DriftTrigger{Disabled: true},
			Job:      &JobSpec{Command: []string{"x"}, GPUs: &weight},
		},
		CanaryAnalysis: CanaryAnalysisSpec{Steps: []int{5, 100}},
	}}
	p.Default()
	s := p.Spec
	switch {
	case *s.Canary.Weight != 0:
		t.Errorf("a written canary weight 0 became %d", *s.Canary.Weight)
	case *s.Drift.DatasetShare != 0:
		t.Errorf("a written datasetShare 0 became %v", *s.Drift.DatasetShare)
	case s.Drift.NumericTest != StatTestPSI:
		t.Errorf("numericTest became %s", s.Drift.NumericTest)
	case *s.Retrain.Schedule != "":
		t.Errorf("an empty schedule became %q", *s.Retrain.Schedule)
	case !s.Retrain.OnDrift.Disabled || *s.Retrain.OnDrift.Share != 0.5:
		t.Errorf("onDrift = %+v, want disabled with the default share filled in", s.Retrain.OnDrift)
	case *s.Retrain.Job.GPUs != 0:
		t.Errorf("gpus 0 became %d", *s.Retrain.Job.GPUs)
	case !reflect.DeepEqual(s.CanaryAnalysis.Steps, []int{5, 100}):
		t.Errorf("steps = %v", s.CanaryAnalysis.Steps)
	}
}

func TestCanaryWeightDefaultsToTheFirstStep(t *testing.T) {
	p := ModelPolicy{Spec: ModelPolicySpec{Canary: &Canary{Version: "2"}, CanaryAnalysis: CanaryAnalysisSpec{Steps: []int{5, 100}}}}
	p.Default()
	if p.Spec.Canary.Weight == nil || *p.Spec.Canary.Weight != 5 {
		t.Fatalf("weight = %v, want the first step 5", p.Spec.Canary.Weight)
	}
}

// deepCopy copies a policy through YAML so that defaults applied to the copy leave the
// original alone.
func deepCopy(t *testing.T, p ModelPolicy) ModelPolicy {
	t.Helper()
	b, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var out ModelPolicy
	if err := yaml.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAdaptiveBoundsDefaultAroundTheInterval: an empty adaptive block takes 1h and 24h, widened
// to hold drift.interval, so it is always valid; a written bound is kept.
func TestAdaptiveBoundsDefaultAroundTheInterval(t *testing.T) {
	for _, tc := range []struct {
		name               string
		interval, min, max time.Duration
		wantMin, wantMax   time.Duration
	}{
		{name: "the default interval takes 1h and 24h", wantMin: time.Hour, wantMax: 24 * time.Hour},
		{name: "a 30m interval lowers min to it", interval: 30 * time.Minute, wantMin: 30 * time.Minute, wantMax: 24 * time.Hour},
		{name: "a 48h interval raises max to it", interval: 48 * time.Hour, wantMin: time.Hour, wantMax: 48 * time.Hour},
		{name: "written bounds are kept", interval: 6 * time.Hour, min: 2 * time.Hour, max: 12 * time.Hour, wantMin: 2 * time.Hour, wantMax: 12 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ModelPolicy{APIVersion: APIVersion, Kind: KindModelPolicy, Metadata: ObjectMeta{Name: "m"}}
			p.Spec.Drift.Interval.Duration = tc.interval
			p.Spec.Drift.Adaptive = &AdaptiveSchedule{Min: Duration{tc.min}, Max: Duration{tc.max}}
			if err := p.Validate(); err != nil {
				t.Fatalf("before Default: %v", err)
			}
			p.Default()
			if a := p.Spec.Drift.Adaptive; a.Min.Duration != tc.wantMin || a.Max.Duration != tc.wantMax {
				t.Errorf("adaptive = {min %s, max %s}, want {min %s, max %s}", a.Min, a.Max, tc.wantMin, tc.wantMax)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("after Default: %v", err)
			}
		})
	}
}
