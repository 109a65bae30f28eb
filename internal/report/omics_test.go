package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/drift"
)

func numPtr(f float64) *drift.Number { n := drift.Number(f); return &n }

func omicsReport(findings int) *drift.Report {
	r := &drift.Report{Drifted: true, Share: 0.5, DatasetShare: 0.5,
		Columns: []drift.ColumnReport{{Name: "gene_1", Kind: drift.KindNumeric, Test: drift.TestKS, Score: 0.001, Threshold: 0.05, Drifted: true},
			{Name: "hr", Kind: drift.KindNumeric, Test: drift.TestKS, Score: 0.4, Threshold: 0.05}},
		Groups:  []drift.GroupReport{{Name: "omics", Columns: []string{"gene_1"}, Drifted: true, Share: 1}},
		Quality: []drift.QualityFinding{},
		Batch: &drift.BatchReport{Column: "lab_id", Effect: true,
			Batches:  []drift.BatchInfo{{Name: "A", Rows: 100}, {Name: "C|x", Rows: 90, DriftedShare: 1, Suspect: true}},
			Groups:   []drift.BatchGroupReport{{Name: "omics", Tested: 1, Share: 1, Effect: true}},
			Features: []drift.BatchFeatureReport{{Name: "gene_1", Test: drift.BatchTestKruskal}}},
		Correlation: []drift.CorrelationReport{{Groups: [2]string{"sensor", "omics"}, Tested: 1, Changed: 1, Share: 1, Drifted: true,
			Pairs: []drift.CorrelationPair{{A: "hr", B: "gene_1", RReference: 0.8, RCurrent: 0.01, NReference: 300, NCurrent: 300, Z: -12.5, PValue: 1e-30, QValue: 1e-30}}}},
	}
	for i := range findings {
		r.Quality = append(r.Quality, drift.QualityFinding{Column: fmt.Sprintf("col_%05d", i), Issue: drift.QualityMissingIncrease,
			Reference: numPtr(0), Current: numPtr(0.5), Threshold: numPtr(0.1)})
	}
	r.Recommendations = drift.Recommend(r)
	return r
}

func TestDriftMarkdownPartTwo(t *testing.T) {
	md := DriftMarkdown(omicsReport(2), MarkdownOptions{})
	order := []string{"**Dataset drift: yes.**", "| omics | 1 |", "### Data quality", "| col\\_00001 | missing_increase | 0 | 0.5 | 0.1 |",
		"### Batch effects (lab\\_id)", "Suspect batches: C\\|x.", "| C\\|x | 90 | 1 | yes |", "### Correlation drift",
		"| sensor × omics | 1 | 1 | 1 | yes |", "| hr | gene\\_1 | 0.8 | 0.01 | -12.5 | 1e-30 |", "| column | kind |",
		"### Recommendations", "(`suspect_batches`)", "(`missing_increase`)", "(`one_group_correlation`)", "The full JSON report"}
	at := 0
	for _, want := range order {
		i := strings.Index(md[at:], want)
		if i < 0 {
			t.Fatalf("Markdown lacks %q after byte %d:\n%s", want, at, md)
		}
		at += i
	}
	if md := DriftMarkdown(omicsReport(0), MarkdownOptions{}); !strings.Contains(md, "### Data quality\n\nNo findings.") {
		t.Errorf("no findings are not said:\n%s", md)
	}
	plain := DriftMarkdown(&drift.Report{Columns: omicsReport(0).Columns}, MarkdownOptions{})
	for _, absent := range []string{"Data quality", "Batch", "Correlation", "Recommendations"} {
		if strings.Contains(plain, absent) {
			t.Errorf("a report without part two renders %q", absent)
		}
	}
}

// However many quality findings, the Markdown stays within its bound and still ends with
// the recommendations and the note.
func TestDriftMarkdownPartTwoStaysBounded(t *testing.T) {
	md := DriftMarkdown(omicsReport(20000), MarkdownOptions{MaxBytes: 30000})
	if len(md) > 30000 {
		t.Fatalf("%d bytes, want at most 30000", len(md))
	}
	for _, want := range []string{"more findings, see the full report", "### Recommendations", "The full JSON report"} {
		if !strings.Contains(md, want) {
			t.Errorf("bounded Markdown lacks %q", want)
		}
	}
}

func TestDriftTablePartTwo(t *testing.T) {
	var b bytes.Buffer
	if err := DriftTable(&b, omicsReport(1)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"data quality: 1 findings", "  col_00000: missing_increase (reference 0, current 0.5, threshold 0.1)",
		"batch effect (lab_id): yes; 2 batches, suspect: C|x", "correlation sensor × omics: 1 of 1 pairs changed (share 1), drifted: yes",
		"recommendations:\n  - Drift is concentrated in batch C|x of lab_id"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
