package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/medimind/modelops/internal/drift"
)

func TestDriftTableGolden(t *testing.T) {
	var b bytes.Buffer
	if err := DriftTable(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	golden(t, "drift-table.golden", b.String())
}

func TestDriftTableQuotesUnprintableNames(t *testing.T) {
	r := newReport([]drift.ColumnReport{
		column("a\tb", drift.KindNumeric, drift.TestKS, 0.5),
		column("\x1b[31mred", drift.KindNumeric, drift.TestKS, 0.5),
		column("plain é", drift.KindNumeric, drift.TestKS, 0.5),
	})
	var b bytes.Buffer
	if err := DriftTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsRune(out, '\x1b') || strings.ContainsRune(out, '\t') {
		t.Errorf("table passes a control character through:\n%q", out)
	}
	for _, want := range []string{`"a\tb"`, `"\x1b[31mred"`, "plain é  "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The kind column starts at the same rune offset in every row: the columns align
	// (tabwriter counts runes, so "é" takes one cell).
	lines := strings.Split(out, "\n")
	kindAt := strings.Index(lines[0], "KIND")
	for _, l := range lines[1:4] {
		i := strings.Index(l, "numeric")
		if i < 0 || utf8.RuneCountInString(l[:i]) != kindAt {
			t.Errorf("row %q does not align with the KIND header at column %d", l, kindAt)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestDriftTableReportsWriteErrors(t *testing.T) {
	err := DriftTable(failingWriter{}, sampleReport())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("DriftTable to a failing writer: %v, want the write error", err)
	}
}

func TestDriftReportsNameTheInvalidValuesDropped(t *testing.T) {
	age, lactate := column("age", drift.KindNumeric, drift.TestKS, 0.5), column("lactate", drift.KindNumeric, drift.TestKS, 0.5)
	age.InvalidCurrent, lactate.InvalidReference, lactate.InvalidCurrent = 3, 1, 1
	r := newReport([]drift.ColumnReport{age, lactate, column("sex", drift.KindCategorical, drift.TestZ, 0.5)})
	want := "5 invalid values (not numbers, in numeric columns) dropped from 2 columns"
	var b bytes.Buffer
	if err := DriftTable(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, b.String())
	}
	if md := DriftMarkdown(r, MarkdownOptions{}); !strings.Contains(md, want) {
		t.Errorf("markdown lacks %q:\n%s", want, md)
	}
	// Without invalid values neither says anything about them.
	if md := DriftMarkdown(sampleReport(), MarkdownOptions{}); strings.Contains(md, "invalid") {
		t.Errorf("markdown mentions invalid values:\n%s", md)
	}
}
