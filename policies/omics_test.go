package policies

import (
	"strings"
	"testing"
)

const omicsPolicyHead = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: sepsis-risk
spec:
  data:
    reference: {path: ref.csv}
    current: {path: cur.csv}
    groups:
      omics: {pattern: "^gene_"}
      sensor: {features: [heart_rate, spo2]}
  drift:
`

func TestOmicsDefaultsFillThePresentBlocks(t *testing.T) {
	ps, err := Parse("p.yaml", []byte(omicsPolicyHead+"    quality: {}\n    batch: {column: lab_id}\n    correlation: {pairs: [[sensor, omics]]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := ps[0].Spec.Drift
	q := d.Quality
	if *q.Missing.Increase != 0.10 || *q.OutOfRange.Share != 0.05 || *q.NewCategories.Share != 0.05 || q.BlocksRetrain {
		t.Errorf("quality defaults = %+v %+v %+v", q.Missing, q.OutOfRange, q.NewCategories)
	}
	if b := d.Batch; b.MinRows != 30 || *b.Alpha != 0.01 || *b.Share != 0.3 || b.HoldRetrain {
		t.Errorf("batch defaults = %+v", b)
	}
	if c := d.Correlation; *c.Alpha != 0.01 || *c.Share != 0.1 || c.MaxPairs != 100000 || len(c.Pairs) != 1 {
		t.Errorf("correlation defaults = %+v", c)
	}

	ps, err = Parse("p.yaml", []byte(omicsPolicyHead+"    quality: {missing: {increase: 0.2}, blocksRetrain: true}\n    batch: {column: lab_id, minRows: 5, alpha: 0.05, share: 1, holdRetrain: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d = ps[0].Spec.Drift
	if *d.Quality.Missing.Increase != 0.2 || *d.Quality.OutOfRange.Share != 0.05 || !d.Quality.BlocksRetrain {
		t.Errorf("quality as written = %+v", d.Quality)
	}
	if b := d.Batch; b.MinRows != 5 || *b.Alpha != 0.05 || *b.Share != 1 || !b.HoldRetrain {
		t.Errorf("batch as written = %+v", b)
	}
	if d.Correlation != nil {
		t.Error("a policy without correlation got one")
	}

	ps, err = Parse("p.yaml", []byte(strings.TrimSuffix(omicsPolicyHead, "  drift:\n")))
	if err != nil {
		t.Fatal(err)
	}
	if d := ps[0].Spec.Drift; d.Quality != nil || d.Batch != nil || d.Correlation != nil {
		t.Error("the part-two checks are on without being configured")
	}
}

// Each rule of the three blocks is reported at its line, all at once.
func TestOmicsValidationErrorsAtFileLine(t *testing.T) {
	tests := []struct {
		name, drift string
		want        []string
	}{
		{"correlation groups must be spec.data.groups keys",
			"    correlation:\n      pairs: [[sensor, omic]]\n",
			[]string{`p.yaml:15:24: spec.drift.correlation.pairs[0][1]: must name a group of spec.data.groups (omics, sensor, sensor2), got "omic"`}},
		{"a pair names exactly two groups",
			"    correlation:\n      pairs:\n        - [sensor, omics]\n        - [sensor]\n        - [omics, sensor]\n        - [omics, omics]\n",
			[]string{
				`p.yaml:17:11: spec.drift.correlation.pairs[1]: must name exactly two feature groups, got 1`,
				`p.yaml:18:11: spec.drift.correlation.pairs[2]: the pair omics × sensor is listed twice`,
				`p.yaml:19:11: spec.drift.correlation.pairs[3]: must name two different groups, got "omics" twice`}},
		{"correlation needs pairs, and fractions in range",
			"    correlation: {pairs: [], alpha: 1, share: 0, maxPairs: -1}\n",
			[]string{
				`p.yaml:14:26: spec.drift.correlation.pairs: must name at least one pair of feature groups, such as [sensor, omics]`,
				`p.yaml:14:37: spec.drift.correlation.alpha: must be between 0 and 1 (exclusive), got 1`,
				`p.yaml:14:47: spec.drift.correlation.share: must be above 0 and at most 1, got 0`,
				`p.yaml:14:60: spec.drift.correlation.maxPairs: must be >= 1, got -1`}},
		{"listed groups above maxPairs are refused before any data is read",
			"    correlation: {pairs: [[sensor, sensor2]], maxPairs: 5}\n",
			[]string{`p.yaml:14:27: spec.drift.correlation.pairs[0]: sensor × sensor2 makes 2 × 3 = 6 feature pairs, above maxPairs 5`}},
		{"the batch column is required and never a group's feature",
			"    batch: {column: heart_rate, minRows: -2, alpha: 0, share: 1.5}\n",
			[]string{
				`p.yaml:11:27: spec.data.groups.sensor.features[0]: column "heart_rate" is the batch column (spec.drift.batch.column), which is never a feature`,
				`p.yaml:14:42: spec.drift.batch.minRows: must be >= 1, got -2`,
				`p.yaml:14:53: spec.drift.batch.alpha: must be between 0 and 1 (exclusive), got 0`,
				`p.yaml:14:63: spec.drift.batch.share: must be above 0 and at most 1, got 1.5`}},
		{"an empty batch column is refused",
			"    batch: {column: \"\"}\n",
			[]string{`p.yaml:14:21: spec.drift.batch.column: is required: the column naming each row's batch (lab, site, plate)`}},
		{"quality thresholds are fractions",
			"    quality: {missing: {increase: 2}, outOfRange: {share: -0.1}}\n",
			[]string{
				`p.yaml:14:35: spec.drift.quality.missing.increase: must be between 0 and 1, got 2`,
				`p.yaml:14:59: spec.drift.quality.outOfRange.share: must be between 0 and 1, got -0.1`}},
		{"an unknown field is an error",
			"    quality: {missingShare: 0.1}\n",
			[]string{`p.yaml:14:15: spec.drift.quality.missingShare: unknown field, expected one of missing, outOfRange, newCategories, blocksRetrain`}},
	}
	head := strings.Replace(omicsPolicyHead, "      sensor: {features: [heart_rate, spo2]}\n",
		"      sensor: {features: [heart_rate, spo2]}\n      sensor2: {features: [a, b, c]}\n", 1)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(head+tc.drift))
			if err == nil {
				t.Fatal("accepted")
			}
			got := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors lack\n%s\nin\n%s", w, got)
				}
			}
		})
	}
}

func TestOmicsNeedsData(t *testing.T) {
	src := "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata: {name: m}\nspec:\n  drift:\n    quality: {}\n    batch: {column: lab}\n    correlation: {pairs: [[a, b]]}\n"
	_, err := Parse("p.yaml", []byte(src))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{
		"spec.drift.quality: needs spec.data",
		"spec.drift.batch: needs spec.data",
		`spec.drift.correlation.pairs[0][0]: must name a group of spec.data.groups (none defined), got "a"`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q in\n%s", w, err)
		}
	}
}
