package report

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/medimind/modelops/internal/drift"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update after checking the change):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func num(f float64) *drift.Number {
	n := drift.Number(f)
	return &n
}

// column builds a column report whose verdict follows drift.Drifted, so that hand-made
// reports are consistent with what the engine would say.
func column(name string, kind drift.Kind, test drift.Test, score float64) drift.ColumnReport {
	thr := drift.DefaultThreshold(test)
	d := drift.Drifted(test, score, thr)
	tr := drift.TestResult{Score: drift.Number(score), Threshold: thr, Drifted: d}
	if isPValue(test) {
		tr.Statistic = num(1.5)
	}
	return drift.ColumnReport{
		Name: name, Kind: kind, NReference: 100, NCurrent: 120,
		Test: test, Score: drift.Number(score), Threshold: thr, Drifted: d,
		Stats: map[drift.Test]drift.TestResult{test: tr},
	}
}

// newReport applies the dataset share rule to cols as drift.Compare does.
func newReport(cols []drift.ColumnReport, groups ...drift.GroupReport) *drift.Report {
	r := &drift.Report{DatasetShare: drift.DefaultDatasetShare, Columns: cols, Groups: groups}
	if r.Groups == nil {
		r.Groups = []drift.GroupReport{}
	}
	if len(cols) > 0 {
		r.Share = float64(countDrifted(cols)) / float64(len(cols))
	}
	r.Drifted = r.Share >= r.DatasetShare
	return r
}

// sampleReport mixes every kind of score: p-values (one of them 0, one NaN), distances
// far past and just under their thresholds, and names that need escaping.
func sampleReport() *drift.Report {
	cols := []drift.ColumnReport{
		column("age", drift.KindNumeric, drift.TestKS, 0.8),
		column("heart_rate", drift.KindNumeric, drift.TestKS, 1.2e-7),
		column("ward", drift.KindCategorical, drift.TestChiSquare, 0),
		column("gene_BRCA1", drift.KindNumeric, drift.TestWasserstein, 0.35),
		column("prot_TP53", drift.KindNumeric, drift.TestWasserstein, 0.09),
		column("sex", drift.KindCategorical, drift.TestChiSquare, math.NaN()),
		column("met_a|b `x` \"q\"\nnext", drift.KindNumeric, drift.TestPSI, 811.7),
		column("spo2", drift.KindNumeric, drift.TestJensenShannon, 0.12),
	}
	return newReport(cols,
		drift.GroupReport{Name: "omics", Columns: []string{"gene_BRCA1", "prot_TP53", "met_a|b `x` \"q\"\nnext"}, Drifted: true, Share: 2.0 / 3},
		drift.GroupReport{Name: "sensor", Columns: []string{"heart_rate", "spo2"}, Drifted: true, Share: 1},
		drift.GroupReport{Name: "clinical", Columns: []string{"age", "sex", "ward"}, Drifted: false, Share: 1.0 / 3},
	)
}

func TestDriftMarkdownGolden(t *testing.T) {
	clean := newReport([]drift.ColumnReport{
		column("age", drift.KindNumeric, drift.TestKS, 1),
		column("ward", drift.KindCategorical, drift.TestZ, 0.4),
	})
	var many []drift.ColumnReport
	for i := range 300 {
		many = append(many, column(fmt.Sprintf("gene_%03d", i), drift.KindNumeric, drift.TestWasserstein, float64(i)/1000))
	}
	tests := []struct {
		name string
		r    *drift.Report
		opts MarkdownOptions
	}{
		{"drift-markdown.golden", sampleReport(), MarkdownOptions{Title: "Data drift: sepsis-risk", ReportLink: "https://example.com/status/drift/sepsis-risk.json"}},
		{"drift-markdown-clean.golden", clean, MarkdownOptions{ReportLink: "drift/sepsis-risk/2026-05-02T10:00:00Z.json"}},
		{"drift-markdown-truncated.golden", newReport(many), MarkdownOptions{MaxBytes: MinMaxBytes}},
		{"drift-markdown-max-columns.golden", sampleReport(), MarkdownOptions{MaxColumns: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DriftMarkdown(tc.r, tc.opts)
			golden(t, tc.name, got)
			if max := max(tc.opts.MaxBytes, MinMaxBytes); tc.opts.MaxBytes != 0 && len(got) > max {
				t.Errorf("length %d bytes, want at most %d", len(got), max)
			}
		})
	}
}

func TestDriftMarkdownSummary(t *testing.T) {
	got := DriftMarkdown(sampleReport(), MarkdownOptions{})
	// heart_rate, ward, gene_BRCA1, met_… and spo2 are past their thresholds.
	want := "**Dataset drift: yes.** 5 of 8 columns drifted (share 0.625 ≥ dataset threshold 0.5).\n"
	if !strings.HasPrefix(got, want) {
		t.Errorf("summary line:\n got %q\nwant prefix %q", strings.SplitN(got, "\n", 2)[0], want)
	}
	r := newReport([]drift.ColumnReport{column("a", drift.KindNumeric, drift.TestKS, 0.5)})
	got = DriftMarkdown(r, MarkdownOptions{})
	want = "**Dataset drift: no.** 0 of 1 column drifted (share 0 < dataset threshold 0.5).\n"
	if !strings.HasPrefix(got, want) {
		t.Errorf("summary line:\n got %q\nwant prefix %q", strings.SplitN(got, "\n", 2)[0], want)
	}
	if strings.Contains(got, "```mermaid") {
		t.Error("a report with no drifted column has a chart")
	}
}

func TestRankedPutsTheMostDriftedFirst(t *testing.T) {
	cols := []drift.ColumnReport{
		column("ks-near", drift.KindNumeric, drift.TestKS, 0.04),        // 1.25x
		column("not-drifted-far", drift.KindNumeric, drift.TestKS, 0.9), // 0.056x
		column("w-far", drift.KindNumeric, drift.TestWasserstein, 5),    // 50x
		column("nan", drift.KindCategorical, drift.TestChiSquare, math.NaN()),
		column("chi-zero", drift.KindCategorical, drift.TestChiSquare, 0),  // inf
		column("psi-near", drift.KindNumeric, drift.TestPSI, 0.11),         // 1.1x
		column("not-drifted-near", drift.KindNumeric, drift.TestPSI, 0.09), // 0.9x
		column("ks-far", drift.KindNumeric, drift.TestKS, 1e-5),            // 5000x
		column("a-chi-zero", drift.KindCategorical, drift.TestChiSquare, 0),
	}
	var got []string
	for _, c := range Ranked(cols) {
		got = append(got, c.Name)
	}
	want := []string{"a-chi-zero", "chi-zero", "ks-far", "w-far", "ks-near", "psi-near", "not-drifted-near", "not-drifted-far", "nan"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Ranked order\n got %v\nwant %v", got, want)
	}
	if cols[0].Name != "ks-near" {
		t.Error("Ranked reordered its input")
	}
}

func TestPastThreshold(t *testing.T) {
	tests := []struct {
		c    drift.ColumnReport
		want float64
	}{
		{column("p", drift.KindNumeric, drift.TestKS, 0.01), 5},
		{column("z", drift.KindCategorical, drift.TestZ, 0.5), 0.1},
		{column("w", drift.KindNumeric, drift.TestWasserstein, 0.25), 2.5},
		{column("js", drift.KindNumeric, drift.TestJensenShannon, 0.05), 0.5},
		{column("zero", drift.KindCategorical, drift.TestChiSquare, 0), math.Inf(1)},
	}
	for _, tc := range tests {
		if got := PastThreshold(tc.c); math.Abs(got-tc.want) > 1e-12*math.Abs(tc.want) && got != tc.want {
			t.Errorf("PastThreshold(%s %s score %v) = %v, want %v", tc.c.Name, tc.c.Test, tc.c.Score, got, tc.want)
		}
	}
	if got := PastThreshold(column("nan", drift.KindCategorical, drift.TestChiSquare, math.NaN())); !math.IsNaN(got) {
		t.Errorf("PastThreshold of a NaN score = %v, want NaN", got)
	}
}

// hostileAlphabet is what random names are drawn from: every character that means
// something to Markdown, GitHub tables, Mermaid or a terminal, plus multi-byte runes.
var hostileAlphabet = []rune("ab_|`\"'\\*~[]()<>!&$#;:%\n\r\t\x00\x1b -é日\u2028🙂")

func randomName(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteRune(hostileAlphabet[rng.IntN(len(hostileAlphabet))])
	}
	// Invalid UTF-8 now and then: CSV headers are bytes.
	if rng.IntN(10) == 0 {
		b.WriteByte(0xff)
	}
	return b.String()
}

var allTests = []drift.Test{drift.TestKS, drift.TestChiSquare, drift.TestZ, drift.TestWasserstein, drift.TestPSI, drift.TestKLDiv, drift.TestJensenShannon}

func randomReport(rng *rand.Rand, n, nameLen int) *drift.Report {
	cols := make([]drift.ColumnReport, n)
	for i := range cols {
		test := allTests[rng.IntN(len(allTests))]
		score := rng.Float64()
		if !isPValue(test) {
			score *= 0.3
		}
		switch rng.IntN(20) {
		case 0:
			score = 0
		case 1:
			score = math.NaN()
		}
		kind := drift.KindNumeric
		if test == drift.TestChiSquare || test == drift.TestZ {
			kind = drift.KindCategorical
		}
		cols[i] = column(fmt.Sprintf("%d:%s", i, randomName(rng, nameLen)), kind, test, score)
	}
	var groups []drift.GroupReport
	for i := range rng.IntN(4) {
		groups = append(groups, drift.GroupReport{Name: randomName(rng, 12), Columns: []string{cols[i%n].Name}, Share: rng.Float64(), Drifted: rng.IntN(2) == 0})
	}
	return newReport(cols, groups...)
}

// expectedText is what a name should read as once rendered: control characters as
// spaces, invalid bytes as U+FFFD, cut to limit runes.
func expectedText(name string, limit int) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = truncateRunes(name, limit)
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, name)
}

// splitRow splits a Markdown table row at the pipes that are not backslash-escaped, as
// GitHub's table parser does, and returns the raw cells.
func splitRow(t *testing.T, row string) []string {
	t.Helper()
	if !strings.HasPrefix(row, "| ") || !strings.HasSuffix(row, " |") {
		t.Fatalf("row %q does not start with \"| \" and end with \" |\"", row)
	}
	var cells []string
	inner := row[2 : len(row)-2]
	start := 0
	for i := 0; i < len(inner); i++ {
		switch inner[i] {
		case '\\':
			i++
		case '|':
			cells = append(cells, strings.TrimSuffix(inner[start:i], " "))
			i++ // the space after the pipe
			start = i + 1
		}
	}
	return append(cells, inner[start:])
}

// unescapeCell reads a cell written by escapeText back, failing on any character that
// Markdown would not take literally.
func unescapeCell(t *testing.T, cell string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(cell); i++ {
		switch c := cell[i]; {
		case c == '\\' && i+1 < len(cell) && strings.IndexByte(markdownSpecial, cell[i+1]) >= 0:
			b.WriteByte(cell[i+1])
			i++
		case c == '\\':
			t.Fatalf("cell %q: backslash before %q is not an escape", cell, cell[i+1:])
		case strings.IndexByte("`*_~[]<>&$#|", c) >= 0:
			t.Fatalf("cell %q: unescaped %q", cell, c)
		case c == '\n' || c == '\r':
			t.Fatalf("cell %q: line break", cell)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

var moreLine = regexp.MustCompile(`(?m)^… and (\d+) more columns, see the full report\.$`)

// checkMarkdown asserts the structural properties of DriftMarkdown's output for r.
func checkMarkdown(t *testing.T, r *drift.Report, opts MarkdownOptions, md string) {
	t.Helper()
	limit := opts.MaxBytes
	if limit == 0 {
		limit = DefaultMaxBytes
	}
	limit = max(limit, MinMaxBytes)
	if len(md) > limit {
		t.Fatalf("%d columns: output is %d bytes, limit %d", len(r.Columns), len(md), limit)
	}
	if !utf8.ValidString(md) {
		t.Fatal("output is not valid UTF-8")
	}
	ranked := Ranked(r.Columns)
	lines := strings.Split(md, "\n")
	rows := 0
	inColumns := false
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "| column |"):
			inColumns = true
			if lines[i+1] != "| --- | --- | --- | --- | ---: | ---: | --- |" {
				t.Fatalf("column table delimiter row is %q", lines[i+1])
			}
		case inColumns && strings.HasPrefix(line, "| ---"):
		case inColumns && strings.HasPrefix(line, "|"):
			cells := splitRow(t, line)
			if len(cells) != 7 {
				t.Fatalf("row %q has %d cells, want 7", line, len(cells))
			}
			c := ranked[rows]
			if got, want := unescapeCell(t, cells[0]), expectedText(c.Name, maxNameRunes); got != want {
				t.Fatalf("row %d names %q, want %q (rank order)", rows, got, want)
			}
			if cells[2] != string(c.Test) || cells[3] != scoreIs(c.Test) || cells[4] != formatNumber(float64(c.Score)) {
				t.Fatalf("row %d = %q, want test %s score %s", rows, cells, c.Test, formatNumber(float64(c.Score)))
			}
			rows++
		case inColumns:
			inColumns = false
		case strings.HasPrefix(line, "| group |"):
		case strings.HasPrefix(line, "|") && !strings.HasPrefix(line, "| ---"):
			cells := splitRow(t, line)
			if len(cells) != 4 {
				t.Fatalf("group row %q has %d cells, want 4", line, len(cells))
			}
			unescapeCell(t, cells[0])
		}
	}
	hidden := 0
	if m := moreLine.FindStringSubmatch(md); m != nil {
		hidden, _ = strconv.Atoi(m[1])
	}
	if rows+hidden != len(r.Columns) {
		t.Fatalf("%d rows shown + %d said to be left out, want %d columns", rows, hidden, len(r.Columns))
	}
	checkChart(t, ranked, md)
}

// checkChart parses the Mermaid block as Mermaid's xychart lexer would: a string runs
// from '"' to the next '"', and only "[", ", " and "]" may lie between the labels.
func checkChart(t *testing.T, ranked []drift.ColumnReport, md string) {
	t.Helper()
	start := strings.Index(md, "```mermaid\n")
	if start < 0 {
		return
	}
	block := md[start+len("```mermaid\n"):]
	end := strings.Index(block, "\n```\n")
	if end < 0 {
		t.Fatal("Mermaid block is not closed")
	}
	lines := strings.Split(block[:end], "\n")
	if len(lines) != 5 || lines[0] != "xychart-beta horizontal" {
		t.Fatalf("Mermaid block has lines %q", lines)
	}
	axis, ok := strings.CutPrefix(lines[2], "    x-axis ")
	if !ok {
		t.Fatalf("third line %q is not the x-axis", lines[2])
	}
	// '<', '>' and '%' would let Mermaid's preprocessing rewrite the line.
	if strings.ContainsAny(axis, "<>%") {
		t.Fatalf("x-axis %q holds '<', '>' or '%%'", axis)
	}
	parts := strings.Split(axis, `"`)
	if len(parts)%2 == 0 {
		t.Fatalf("x-axis %q has an odd number of quotes", axis)
	}
	var labels []string
	for i, p := range parts {
		if i%2 == 1 {
			labels = append(labels, p)
			continue
		}
		want := ", "
		switch i {
		case 0:
			want = "["
		case len(parts) - 1:
			want = "]"
		}
		if p != want {
			t.Fatalf("x-axis %q: %q between labels, want %q", axis, p, want)
		}
	}
	values := strings.Split(strings.TrimSuffix(strings.TrimPrefix(lines[4], "    bar ["), "]"), ", ")
	if len(values) != len(labels) || len(labels) > ChartColumns {
		t.Fatalf("%d labels and %d bar values, want equal and at most %d", len(labels), len(values), ChartColumns)
	}
	number := regexp.MustCompile(`^[+-]?(?:\d+(?:\.\d+)?|\.\d+)$`) // Mermaid's NUMBER_WITH_DECIMAL
	decode := strings.NewReplacer("#quot;", `"`, "#35;", "#", "#37;", "%", "#lt;", "<", "#gt;", ">")
	j := 0
	for _, c := range ranked {
		if j == len(labels) {
			break
		}
		if math.IsNaN(PastThreshold(c)) {
			continue
		}
		if !c.Drifted {
			t.Fatalf("chart shows %q, which did not drift", labels[j])
		}
		if got, want := decode.Replace(labels[j]), expectedText(c.Name, maxChartNameRunes); got != want {
			t.Fatalf("chart label %d decodes to %q, want %q", j, got, want)
		}
		if !number.MatchString(values[j]) {
			t.Fatalf("bar value %q is not a Mermaid number", values[j])
		}
		v, _ := strconv.ParseFloat(values[j], 64)
		if want := min(PastThreshold(c), ChartCap); math.Abs(v-want) > 0.005 {
			t.Fatalf("bar %d = %v, want %v", j, v, want)
		}
		j++
	}
}

func TestDriftMarkdownTwentyThousandLongColumnNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := randomReport(rng, 20000, 300)
	md := DriftMarkdown(r, MarkdownOptions{Title: "Data drift", ReportLink: "https://example.com/r.json"})
	checkMarkdown(t, r, MarkdownOptions{}, md)
	if !moreLine.MatchString(md) {
		t.Error("no \"… and N more columns\" line for 20,000 columns")
	}
	t.Logf("20,000 columns: %d bytes", len(md))
}

// TestDriftMarkdownProperties renders random reports (hostile names, every test, NaN and
// zero scores, random sizes and limits) and checks the size bound, the table structure,
// the escaping of every name and the chart.
func TestDriftMarkdownProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 300 {
		n := 1 + rng.IntN(400)
		if i%50 == 0 {
			n = 5000 + rng.IntN(5000)
		}
		r := randomReport(rng, n, rng.IntN(200))
		opts := MarkdownOptions{MaxBytes: rng.IntN(70000), MaxColumns: rng.IntN(3) * rng.IntN(100)}
		if rng.IntN(2) == 0 {
			opts.Title = randomName(rng, rng.IntN(300))
		}
		switch rng.IntN(3) {
		case 0:
			opts.ReportLink = "https://example.com/" + webSafe(randomName(rng, rng.IntN(50)))
		case 1:
			opts.ReportLink = randomName(rng, rng.IntN(1200))
		}
		md := DriftMarkdown(r, opts)
		checkMarkdown(t, r, opts, md)
		if t.Failed() {
			t.Fatalf("case %d: %d columns, options %+v", i, n, opts)
		}
	}
}

func webSafe(s string) string {
	return strings.NewReplacer("\n", "", "\r", "", "\t", "", "\x00", "", "\x1b", "").Replace(s)
}

func TestEscapeTextRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for range 2000 {
		name := randomName(rng, rng.IntN(40))
		row := "| " + escapeCell(name) + " |"
		cells := splitRow(t, row)
		if len(cells) != 1 || unescapeCell(t, cells[0]) != expectedText(name, maxNameRunes) {
			t.Fatalf("escapeCell(%q) = %q reads back as %q", name, escapeCell(name), cells)
		}
		if strings.ContainsAny(escapeCell(name), "\n\r") {
			t.Fatalf("escapeCell(%q) holds a line break", name)
		}
	}
}

func TestTruncateRunes(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"日本語テキスト", 4, "日本語…"},
		{"", 1, ""},
	}
	for _, tc := range tests {
		if got := truncateRunes(tc.in, tc.n); got != tc.want {
			t.Errorf("truncateRunes(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// BenchmarkDriftMarkdown renders the report of a wide dataset (20,000 columns with
// 120-character names), the case where ranking and cutting the table matter.
func BenchmarkDriftMarkdown(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := randomReport(rng, 20000, 120)
	b.ReportAllocs()
	for b.Loop() {
		if md := DriftMarkdown(r, MarkdownOptions{}); len(md) > DefaultMaxBytes {
			b.Fatalf("%d bytes", len(md))
		}
	}
}
