package driftcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/policies"
)

// omicsCSVs writes a reference and a current window of 300 rows from labs A, B and C:
// sensor features hr and spo2, omics features gene_1..gene_3, clinical lactate and ward.
// In the current window lab C reads every gene 3 higher (a batch effect), lactate is
// missing in 30 % of the rows, gene_1 no longer follows hr, old_marker is gone and
// new_marker appeared.
func omicsCSVs() (ref, cur string) {
	src := rand.New(rand.NewPCG(11, 12))
	write := func(current bool) string {
		var b strings.Builder
		extra := "old_marker"
		if current {
			extra = "new_marker"
		}
		fmt.Fprintf(&b, "lab_id,hr,spo2,gene_1,gene_2,gene_3,lactate,ward,%s\n", extra)
		for i := range 300 {
			lab := "ABC"[i%3 : i%3+1]
			hr, spo2 := src.NormFloat64(), src.NormFloat64()
			g1 := 0.8*hr + 0.6*src.NormFloat64()
			if current {
				g1 = src.NormFloat64()
			}
			genes := []float64{g1, src.NormFloat64(), src.NormFloat64()}
			if current && lab == "C" {
				for k := range genes {
					genes[k] += 3
				}
			}
			lactate := fmt.Sprintf("%.4f", 1+src.Float64())
			if current && i%10 < 3 {
				lactate = ""
			}
			fmt.Fprintf(&b, "%s,%.6f,%.6f,%.6f,%.6f,%.6f,%s,%s,%.3f\n", lab, hr, spo2, genes[0], genes[1], genes[2],
				lactate, []string{"icu", "ward", "er"}[src.IntN(3)], src.Float64())
		}
		return b.String()
	}
	return write(false), write(true)
}

func omicsPolicy(t *testing.T, drift string) *policies.Policy {
	t.Helper()
	src := `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: sepsis-risk}
spec:
  data:
    reference: {path: ref.csv}
    current: {path: cur.csv}
    exclude: [lab_id]
    groups:
      sensor: {features: [hr, spo2]}
      omics: {pattern: "^gene_"}
  drift:
    datasetShare: 0.3
` + drift
	ps, err := policies.Parse("models/sepsis-risk.yaml", []byte(src))
	if err != nil || len(ps) != 1 {
		t.Fatalf("parse test policy: %v", err)
	}
	return ps[0]
}

// A policy with quality, batch and correlation gets all three in its report, read from
// real CSV text: the batch column (listed in exclude) is read but never a feature, a
// column on one side only is a quality finding, lab C is the suspect batch, only the
// omics group drifted with its correlations to the sensors, and the recommendations say
// so.
func TestCheckRunsQualityBatchAndCorrelation(t *testing.T) {
	ref, cur := omicsCSVs()
	data := fstest.MapFS{"ref.csv": {Data: []byte(ref)}, "cur.csv": {Data: []byte(cur)}}
	p := omicsPolicy(t, "    quality: {}\n    batch: {column: lab_id}\n    correlation: {pairs: [[sensor, omics]]}\n")
	res, err := New(nil).Check(context.Background(), p, data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var rep drift.Report
	if err := json.Unmarshal(res.Report, &rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Columns {
		if c.Name == "lab_id" || c.Name == "old_marker" || c.Name == "new_marker" {
			t.Errorf("column %s was drift-tested", c.Name)
		}
	}
	if len(rep.Columns) != 7 {
		t.Errorf("%d columns tested, want the 7 features", len(rep.Columns))
	}
	var issues []string
	for _, f := range rep.Quality {
		issues = append(issues, f.Column+" "+string(f.Issue))
	}
	// Lab C's genes, 3 higher, lie above the reference's range in a third of the rows.
	if want := []string{"gene_1 out_of_range", "gene_2 out_of_range", "gene_3 out_of_range", "lactate missing_increase",
		"old_marker removed", "new_marker added"}; !slices.Equal(issues, want) {
		t.Errorf("quality findings %v, want %v", issues, want)
	}
	b := rep.Batch
	if b == nil || b.Column != "lab_id" || len(b.Batches) != 3 || len(b.Features) != 7 {
		t.Fatalf("batch report %+v, want lab_id with 3 batches and the 7 features", b)
	}
	for _, x := range b.Batches {
		if x.Rows != 100 || x.Suspect != (x.Name == "C") {
			t.Errorf("batch %+v: want 100 rows, suspect only for C", x)
		}
	}
	if !b.Effect {
		t.Error("a shift of 3 in one lab of three is no batch effect")
	}
	if len(rep.Correlation) != 1 || rep.Correlation[0].Groups != [2]string{"sensor", "omics"} || rep.Correlation[0].Tested != 6 {
		t.Fatalf("correlation %+v, want sensor × omics with 2 × 3 pairs tested", rep.Correlation)
	}
	if top := rep.Correlation[0].Pairs[0]; top.A != "hr" || top.B != "gene_1" || !(float64(top.RReference) > 0.6) {
		t.Errorf("largest |Z| pair %+v, want hr × gene_1, correlated in the reference only", top)
	}
	var rules []drift.RecommendationRule
	for _, r := range rep.Recommendations {
		rules = append(rules, r.Rule)
	}
	// Only the omics group drifted, and its correlations with the sensors changed (gene_1
	// no longer follows hr).
	if want := []drift.RecommendationRule{drift.RuleSuspectBatches, drift.RuleMissingIncrease, drift.RuleOutOfRange,
		drift.RuleSchemaChange, drift.RuleOneGroupCorrelation}; !slices.Equal(rules, want) {
		t.Errorf("recommendations %v, want %v: %+v", rules, want, rep.Recommendations)
	}
	if !strings.Contains(rep.Recommendations[0].Text, "batch C of lab_id") {
		t.Errorf("suspect recommendation %q does not name lab C", rep.Recommendations[0].Text)
	}
	if res.QualityFindings != 6 || !slices.Equal(res.SuspectBatches, []string{"C"}) || res.BatchColumn != "lab_id" {
		t.Errorf("result carries quality %d, suspects %v of %q; want 6, [C] of lab_id", res.QualityFindings, res.SuspectBatches, res.BatchColumn)
	}
	for _, want := range []string{"### Data quality", "### Batch effects (lab\\_id)", "Suspect batches: C.", "### Correlation drift", "### Recommendations"} {
		if !strings.Contains(res.Markdown, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, res.Markdown)
		}
	}
	if i, j := strings.Index(res.Markdown, "### Recommendations"), strings.Index(res.Markdown, "| column | kind |"); i < j {
		t.Error("the recommendations do not come after the column table")
	}
}

// Without quality a column on one side only stays an error, and without any part-two
// check the report has none of their keys.
func TestCheckWithoutPartTwoKeepsTheContract(t *testing.T) {
	ref, cur := omicsCSVs()
	data := fstest.MapFS{"ref.csv": {Data: []byte(ref)}, "cur.csv": {Data: []byte(cur)}}
	_, err := New(nil).Check(context.Background(), omicsPolicy(t, "    batch: {column: lab_id}\n"), data, time.Now())
	if err == nil || !strings.Contains(err.Error(), "old_marker") {
		t.Fatalf("a column in the reference only was accepted without quality: %v", err)
	}
	cur = strings.ReplaceAll(cur, "new_marker", "old_marker")
	data["cur.csv"] = &fstest.MapFile{Data: []byte(cur)}
	res, err := New(nil).Check(context.Background(), omicsPolicy(t, ""), data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"quality"`, `"batch"`, `"correlation"`, `"recommendations"`} {
		if strings.Contains(string(res.Report), key) {
			t.Errorf("a report without part two has %s", key)
		}
	}
	var rep drift.Report
	if err := json.Unmarshal(res.Report, &rep); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Columns, func(c drift.ColumnReport) bool { return c.Name == "old_marker" }) {
		t.Error("old_marker, in both files, was not tested")
	}
}

func TestCheckNeedsTheBatchColumnInTheCurrentData(t *testing.T) {
	ref, cur := omicsCSVs()
	cur = strings.Replace(cur, "lab_id,", "site,", 1)
	data := fstest.MapFS{"ref.csv": {Data: []byte(ref)}, "cur.csv": {Data: []byte(cur)}}
	_, err := New(nil).Check(context.Background(), omicsPolicy(t, "    quality: {}\n    batch: {column: lab_id}\n"), data, time.Now())
	if !errors.Is(err, drift.ErrInvalidInput) || !strings.Contains(err.Error(), `batch column "lab_id"`) {
		t.Fatalf("error %v, want invalid input naming the batch column", err)
	}
}

// With quality on, a column with no value left in the current window is a
// missing_increase finding and is left out of the column tests, instead of failing the
// check; without quality it fails it, as before.
func TestCheckAnEmptiedColumnIsAFindingWithQuality(t *testing.T) {
	ref, cur := omicsCSVs()
	cur = strings.ReplaceAll(cur, "new_marker", "old_marker")
	lines := strings.Split(cur, "\n")
	for i := 1; i < len(lines); i++ {
		if f := strings.Split(lines[i], ","); len(f) == 9 {
			f[6] = ""
			lines[i] = strings.Join(f, ",")
		}
	}
	data := fstest.MapFS{"ref.csv": {Data: []byte(ref)}, "cur.csv": {Data: []byte(strings.Join(lines, "\n"))}}
	if _, err := New(nil).Check(context.Background(), omicsPolicy(t, ""), data, time.Now()); err == nil || !strings.Contains(err.Error(), "lactate") {
		t.Fatalf("an empty column without quality: %v, want an error naming lactate", err)
	}
	res, err := New(nil).Check(context.Background(), omicsPolicy(t, "    quality: {}\n"), data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var rep drift.Report
	if err := json.Unmarshal(res.Report, &rep); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(rep.Columns, func(c drift.ColumnReport) bool { return c.Name == "lactate" }) || len(rep.Columns) != 7 {
		t.Errorf("%d columns tested, lactate among them?", len(rep.Columns))
	}
	if !slices.ContainsFunc(rep.Quality, func(f drift.QualityFinding) bool {
		return f.Column == "lactate" && f.Issue == drift.QualityMissingIncrease && *f.Current == 1 && *f.Reference == 0
	}) {
		t.Errorf("quality %+v lacks lactate missing 0 → 1", rep.Quality)
	}
}

func TestOmicsOptionsFromThePolicy(t *testing.T) {
	p := omicsPolicy(t, "    quality: {missing: {increase: 0.2}, outOfRange: {share: 0.3}}\n    batch: {column: plate, minRows: 7, alpha: 0.05, share: 0.5}\n"+
		"    correlation: {pairs: [[sensor, omics]], alpha: 0.02, share: 0.4, maxPairs: 9}\n")
	o := OmicsOptions(p)
	if q := o.Quality; q == nil || q.MissingIncrease != 0.2 || q.OutOfRangeShare != 0.3 || q.NewCategoriesShare != 0.05 {
		t.Errorf("quality %+v", o.Quality)
	}
	if o.BatchColumn != "plate" || o.Batch != (drift.BatchOptions{MinRows: 7, Alpha: 0.05, Share: 0.5}) {
		t.Errorf("batch %q %+v", o.BatchColumn, o.Batch)
	}
	if !slices.Equal(o.CorrelationPairs, [][2]string{{"sensor", "omics"}}) ||
		o.Correlation != (drift.CorrelationOptions{Alpha: 0.02, Share: 0.4, MaxPairs: 9, Top: 20}) {
		t.Errorf("correlation %v %+v", o.CorrelationPairs, o.Correlation)
	}
	if o := OmicsOptions(omicsPolicy(t, "")); o.Configured() || o.Batch != drift.DefaultBatchOptions() {
		t.Errorf("a policy without part two: %+v", o)
	}
	read := o.ReadOptions(dataset.Options{Exclude: []string{"id", "plate"}})
	if !slices.Equal(read.Exclude, []string{"id"}) {
		t.Errorf("the batch column stays excluded from reading: %v", read.Exclude)
	}
}

// The batch column and the columns quality leaves to its findings may be named in the
// policy's kinds and groups: the check goes on without them.
func TestCheckColumnsNamedInThePolicyButTakenOut(t *testing.T) {
	ref, cur := omicsCSVs()
	data := fstest.MapFS{"ref.csv": {Data: []byte(ref)}, "cur.csv": {Data: []byte(cur)}}
	src := `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: sepsis-risk}
spec:
  data:
    reference: {path: ref.csv}
    current: {path: cur.csv}
    categorical: [ward, lab_id]
    numeric: [old_marker]
    groups:
      legacy: {features: [old_marker, spo2]}
  drift:
    quality: {}
    batch: {column: lab_id}
`
	ps, err := policies.Parse("models/sepsis-risk.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := New(nil).Report(context.Background(), ps[0], data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != 1 || !slices.Equal(rep.Groups[0].Columns, []string{"spo2"}) {
		t.Errorf("groups %+v, want legacy with spo2 only", rep.Groups)
	}
	if rep.Batch == nil || len(rep.Batch.Batches) != 3 {
		t.Errorf("batch %+v", rep.Batch)
	}
}

// The part-two checks run on the windows of a timestamped log as on two files, and the
// insufficient_data recommendation reads the windows.
func TestCheckRunsPartTwoOnTheWindowsOfALog(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("ts,lab_id,x,y\n")
	for i := range 120 {
		ts := at.Add(-time.Duration(i+1) * 12 * time.Hour) // 60 days back
		lab := "AB"[i%2 : i%2+1]
		x := float64(i % 17)
		if ts.After(at.Add(-30*24*time.Hour)) && lab == "B" {
			x += 40
		}
		fmt.Fprintf(&b, "%s,%s,%g,%d\n", ts.Format(time.RFC3339), lab, x, i%13)
	}
	data := fstest.MapFS{"log.csv": {Data: []byte(b.String())}}
	policy := func(curMin int) *policies.Policy {
		src := fmt.Sprintf(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: sepsis-risk}
spec:
  data:
    source: {path: log.csv, timestamp: ts}
    reference: {last: 30d, ago: 30d, minRows: 10}
    current: {last: 30d, minRows: %d}
  drift:
    quality: {}
    batch: {column: lab_id, minRows: 5}
`, curMin)
		ps, err := policies.Parse("models/sepsis-risk.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return ps[0]
	}
	rep, err := New(nil).ReportAt(context.Background(), policy(10), data, at)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Windows == nil || rep.Windows.Current.Rows != 60 || rep.Batch == nil || len(rep.Batch.Batches) != 2 || !rep.Batch.Batches[1].Suspect {
		t.Fatalf("windows %+v, batch %+v: want 60 current rows, lab B suspect", rep.Windows, rep.Batch)
	}
	if len(rep.Columns) != 2 || rep.Quality == nil {
		t.Errorf("columns %d, quality %v: want x and y tested, quality checked", len(rep.Columns), rep.Quality)
	}
	rep, err = New(nil).ReportAt(context.Background(), policy(1000), data, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recommendations) != 1 || rep.Recommendations[0].Rule != drift.RuleInsufficientData ||
		!strings.Contains(rep.Recommendations[0].Text, "current window holds 60 of the 1000 rows") {
		t.Errorf("recommendations %+v, want insufficient_data for the current window", rep.Recommendations)
	}
}
