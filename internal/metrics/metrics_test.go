package metrics

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/medimind/modelops/internal/dataset"
)

const header = "timestamp,model_version,score,label,latency_ms,category\n"

// writeFile writes content to name in a temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvaluateErrors(t *testing.T) {
	window := Options{Since: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		name    string
		file    string
		content string
		opts    Options
		want    string
	}{
		{"empty file", "p.csv", "", Options{}, "p.csv: empty file, want a header row (CSV) or a Parquet file"},
		{"only blank lines", "p.csv", "\n\n", Options{}, "p.csv: no header row, want one naming the columns score, label and model_version"},
		{"no score column", "p.csv", "model_version,label\n1,0\n", Options{},
			`p.csv: column "score": no such column, want the columns score, label and model_version`},
		{"no score and no label column", "p.csv", "model_version\n1\n", Options{},
			"p.csv: column \"score\": no such column, want the columns score, label and model_version\n" +
				`p.csv: column "label": no such column, want the columns score, label and model_version`},
		{"duplicate column", "p.csv", "model_version,score,label,score\n1,0.1,0,0.2\n", Options{},
			`p.csv: column "score": duplicate column name`},
		{"label 2", "p.csv", header + "2024-03-01T00:00:00Z,1,0.5,1,3,a\n2024-03-01T00:00:00Z,1,0.5,2,3,a\n", Options{},
			`p.csv: line 3: column "label": want a label 0 or 1 (or true/false), got "2"`},
		{"label yes", "p.csv", header + "2024-03-01T00:00:00Z,1,0.5,yes,3,a\n", Options{},
			`p.csv: line 2: column "label": want a label 0 or 1 (or true/false), got "yes"`},
		{"score not a number", "p.csv", header + ",1,high,1,3,a\n", Options{},
			`p.csv: line 2: column "score": want a number, got "high"`},
		{"infinite score", "p.csv", header + ",1,-inf,1,3,a\n", Options{},
			`p.csv: line 2: column "score": want a finite score, got "-inf"`},
		{"negative latency", "p.csv", header + ",1,0.3,1,-1,a\n", Options{},
			`p.csv: line 2: column "latency_ms": want a finite latency >= 0 in milliseconds, got "-1"`},
		{"latency not a number", "p.csv", header + ",1,0.3,1,3ms,a\n", Options{},
			`p.csv: line 2: column "latency_ms": want a number, got "3ms"`},
		{"no version", "p.csv", header + ",,0.3,1,3,a\n", Options{},
			`p.csv: line 2: column "model_version": want a model version, got an empty cell`},
		{"categories without a category column", "p.csv", "model_version,score,label\n1,0.3,1\n", Options{Categories: []string{"a"}},
			`p.csv: column "category": no such column, needed for the coverage of the expected categories`},
		{"window without a timestamp column", "p.csv", "model_version,score,label\n1,0.3,1\n", window,
			`p.csv: column "timestamp": no such column, needed for a time window`},
		{"window and a bad time", "p.csv", header + "yesterday,1,0.3,1,3,a\n", window,
			`p.csv: line 2: column "timestamp": want a time such as 2024-03-01T12:00:00Z, got "yesterday"`},
		{"window and no time", "p.csv", header + "NA,1,0.3,1,3,a\n", window,
			`p.csv: line 2: column "timestamp": want a time such as 2024-03-01T12:00:00Z, got an empty cell (a time window needs a time on every row)`},
		{"short row", "p.csv", header + ",1,0.3,1,3\n", Options{},
			`p.csv: line 2: row has 5 fields, want 6 like the header`},
		{"bare quote", "p.csv", header + ",1,0.3,1,3,a\"b\n", Options{},
			`p.csv: line 2: bare " in an unquoted field (at line 2, column 13); quote the field and double the "`},
		{"broken gzip", "p.csv.gz", "\x1f\x8b\x08\x00garbage", Options{},
			"p.csv.gz: not a valid gzip file: unexpected EOF"},
		{"text named parquet", "p.parquet", "model_version,score,label\n", Options{},
			"p.parquet: not a valid Parquet file: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.content)
			res, err := Evaluate(context.Background(), path, tt.opts)
			if err == nil {
				t.Fatalf("no error, result %+v", res)
			}
			msg := strings.ReplaceAll(err.Error(), filepath.Dir(path)+string(filepath.Separator), "")
			if strings.HasSuffix(tt.want, ": ") {
				if !strings.HasPrefix(msg, tt.want) {
					t.Errorf("error\n%s\nwant prefix\n%s", msg, tt.want)
				}
			} else if msg != tt.want {
				t.Errorf("error\n%s\nwant\n%s", msg, tt.want)
			}
			if !errors.Is(err, dataset.ErrInvalid) {
				t.Errorf("error %v does not wrap dataset.ErrInvalid", err)
			}
		})
	}
}

func TestEvaluateMissingFile(t *testing.T) {
	_, err := Evaluate(context.Background(), filepath.Join(t.TempDir(), "none.csv"), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestEvaluateBadOptions(t *testing.T) {
	path := writeFile(t, "p.csv", header)
	nan := math.NaN()
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Threshold: &nan}, "threshold NaN: want a finite number"},
		{Options{Categories: []string{"a", " "}}, `expected categories ["a" " "]: empty category name`},
	} {
		_, err := Evaluate(context.Background(), path, tt.opts)
		if err == nil || err.Error() != tt.want {
			t.Errorf("error %v, want %q", err, tt.want)
		}
		if errors.Is(err, dataset.ErrInvalid) {
			t.Errorf("an option error %v is not a data error", err)
		}
	}
}

// TestEvaluateHeaderOnly: a log without rows has no figures, and is not an error.
func TestEvaluateHeaderOnly(t *testing.T) {
	res, err := Evaluate(context.Background(), writeFile(t, "p.csv", "\xEF\xBB\xBF"+header), Options{Categories: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	zero := 0.0
	want := Evaluation{Threshold: DefaultThreshold, Coverage: &zero}
	if res.Samples != 0 || res.AUC != nil || res.LatencyP95Ms != nil || *res.Coverage != 0 || len(res.ByVersion) != 0 {
		t.Errorf("result %+v, want %+v and no versions", res.Evaluation, want)
	}
}

// TestEvaluateVersionFilter: with a version, other versions are seen (Versions) but not
// evaluated, and a version the log lacks gives zero figures, not an error.
func TestEvaluateVersionFilter(t *testing.T) {
	path := writeFile(t, "p.csv", header+",a,0.9,1,1,x\n,b,0.1,0,2,x\n,a,0.2,0,3,x\n,c,0.3,1,4,x\n")
	res, err := Evaluate(context.Background(), path, Options{Version: "zz"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Versions, []string{"a", "b", "c"}) {
		t.Errorf("versions %q, want a, b, c", res.Versions)
	}
	if len(res.ByVersion) != 1 || res.ByVersion["zz"] == nil || res.ByVersion["zz"].Samples != 0 || res.Samples != 0 {
		t.Errorf("result %+v %v, want zero figures under zz only", res.Evaluation, res.ByVersion)
	}
	res, err = Evaluate(context.Background(), path, Options{Version: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 2 || res.AUC == nil || *res.AUC != 1 || *res.LatencyP95Ms != 2.9 || len(res.ByVersion) != 1 {
		t.Errorf("version a: %+v, want 2 samples, auc 1, p95 2.9", res.Evaluation)
	}
}

func TestEvaluateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, name := range []string{"p.csv", "p.parquet"} {
		path := filepath.Join(t.TempDir(), name)
		writeLog(t, path, randomRows(10, 1))
		if _, err := Evaluate(ctx, path, Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error %v, want context.Canceled", name, err)
		}
	}
}

// logRow is a row of a typed Parquet log.
type logRow struct {
	Timestamp time.Time `parquet:"timestamp,timestamp(millisecond)"`
	Version   int64     `parquet:"model_version"`
	Score     *float32  `parquet:"score,optional"`
	Label     *bool     `parquet:"label,optional"`
	Latency   *int32    `parquet:"latency_ms,optional"`
	Category  *string   `parquet:"category,optional,dict"`
}

// randomRows makes n rows with ties, missing values and three versions.
func randomRows(n int, seed uint64) []logRow {
	rng := rand.New(rand.NewPCG(seed, 7))
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]logRow, n)
	for i := range rows {
		r := &rows[i]
		r.Timestamp = base.Add(time.Duration(i) * time.Minute)
		r.Version = int64(12 + rng.IntN(3))
		if rng.Float64() > 0.05 {
			s := float32(math.Round(rng.Float64()*200) / 200)
			r.Score = &s
		}
		if rng.Float64() > 0.1 {
			l := rng.Float64() < 0.3+0.3*float64(ptrOr(r.Score, 0))
			r.Label = &l
		}
		if rng.Float64() > 0.2 {
			lat := int32(rng.IntN(300))
			r.Latency = &lat
		}
		if rng.Float64() > 0.1 {
			c := fmt.Sprintf("site%d", rng.IntN(6))
			r.Category = &c
		}
	}
	return rows
}

func ptrOr[T any](p *T, or T) T {
	if p == nil {
		return or
	}
	return *p
}

// writeLog writes rows as CSV or as typed Parquet (several row groups and pages), by
// the extension of path.
func writeLog(t *testing.T, path string, rows []logRow) {
	t.Helper()
	var buf bytes.Buffer
	if strings.HasSuffix(path, ".parquet") {
		w := parquet.NewGenericWriter[logRow](&buf, parquet.MaxRowsPerRowGroup(700), parquet.PageBufferSize(512))
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		buf.WriteString(header)
		for _, r := range rows {
			cell := func(s string, ok bool) string {
				if !ok {
					return ""
				}
				return s
			}
			fmt.Fprintf(&buf, "%s,%d,%s,%s,%s,%s\n", r.Timestamp.Format(time.RFC3339), r.Version,
				cell(fmt.Sprint(float64(ptrOr(r.Score, 0))), r.Score != nil),
				cell(fmt.Sprint(ptrOr(r.Label, false)), r.Label != nil),
				cell(fmt.Sprint(ptrOr(r.Latency, 0)), r.Latency != nil),
				cell(ptrOr(r.Category, ""), r.Category != nil))
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEvaluateTypedParquet: a Parquet log with typed columns (TIMESTAMP, INT64 versions,
// FLOAT scores, BOOLEAN labels, INT32 latencies, dictionary strings; several row groups
// and many pages) gives the figures of the same log as CSV, which the reference test
// checks against sklearn and NumPy.
func TestEvaluateTypedParquet(t *testing.T) {
	dir := t.TempDir()
	rows := randomRows(3000, 1)
	csvPath, pqPath := filepath.Join(dir, "log.csv"), filepath.Join(dir, "log.parquet")
	writeLog(t, csvPath, rows)
	writeLog(t, pqPath, rows)
	sites := []string{"site0", "site1", "site2", "site3", "site4", "site5", "site6"}
	th := 0.4
	for _, opts := range []Options{
		{},
		{Threshold: &th, Categories: sites},
		{Version: "13", Since: rows[500].Timestamp, Until: rows[2500].Timestamp},
		{Until: rows[1].Timestamp.Add(time.Millisecond)},
	} {
		want, err := Evaluate(context.Background(), csvPath, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Evaluate(context.Background(), pqPath, opts)
		if err != nil {
			t.Fatal(err)
		}
		if want.Samples == 0 || len(want.ByVersion) == 0 {
			t.Fatalf("options %+v: no samples in the CSV result", opts)
		}
		compareResult(t, got, want)
	}
}

func TestEvaluateParquetErrors(t *testing.T) {
	type floatVersion struct {
		Version float64 `parquet:"model_version"`
		Score   float64 `parquet:"score"`
		Label   int32   `parquet:"label"`
	}
	type badLabel struct {
		Version string  `parquet:"model_version"`
		Score   float64 `parquet:"score"`
		Label   int32   `parquet:"label"`
	}
	type nullVersion struct {
		Version *string `parquet:"model_version,optional"`
		Score   float64 `parquet:"score"`
		Label   bool    `parquet:"label"`
	}
	type listScore struct {
		Version string    `parquet:"model_version"`
		Score   []float64 `parquet:"score,list"`
		Label   bool      `parquet:"label"`
	}
	v := "1"
	for _, tt := range []struct {
		name  string
		write func(*bytes.Buffer) error
		want  string
	}{
		{"float version", func(b *bytes.Buffer) error {
			return parquet.Write(b, []floatVersion{{1, 0.5, 1}})
		}, `p.parquet: column "model_version": unsupported type DOUBLE, want a string or an integer`},
		{"label 2 on row 3", func(b *bytes.Buffer) error {
			return parquet.Write(b, []badLabel{{"a", 0.5, 1}, {"a", 0.5, 0}, {"a", 0.5, 2}})
		}, `p.parquet: row 3: column "label": want a label 0 or 1 (or true/false), got 2`},
		{"null version", func(b *bytes.Buffer) error {
			return parquet.Write(b, []nullVersion{{&v, 0.5, true}, {nil, 0.5, true}})
		}, `p.parquet: row 2: column "model_version": want a model version, got an empty cell`},
		{"list score", func(b *bytes.Buffer) error {
			return parquet.Write(b, []listScore{{"a", []float64{0.5}, true}})
		}, `p.parquet: column "score": nested column (a group), want a flat column`},
		{"a footer claiming 4 GB", func(b *bytes.Buffer) error {
			if err := parquet.Write(b, []badLabel{{"a", 0.5, 1}}); err != nil {
				return err
			}
			binary.LittleEndian.PutUint32(b.Bytes()[b.Len()-8:], 0xfffffff0)
			return nil
		}, `p.parquet: not a valid Parquet file: the footer claims 4294967280 bytes of a `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.write(&buf); err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, "p.parquet", buf.String())
			_, err := Evaluate(context.Background(), path, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if msg := strings.ReplaceAll(err.Error(), filepath.Dir(path)+"/", ""); msg != tt.want && !(strings.HasSuffix(tt.want, " ") && strings.HasPrefix(msg, tt.want)) {
				t.Errorf("error\n%s\nwant\n%s", msg, tt.want)
			}
			if !errors.Is(err, dataset.ErrInvalid) {
				t.Errorf("error %v does not wrap dataset.ErrInvalid", err)
			}
		})
	}
}

// TestEvaluateFS reads a log from a file system that is not the operating system's.
func TestEvaluateFS(t *testing.T) {
	var buf bytes.Buffer
	if err := parquet.Write(&buf, randomRows(200, 3)); err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"logs/p.parquet": {Data: buf.Bytes()}, "logs/p.csv": {Data: []byte(header + ",1,0.2,0,,\n,1,0.8,1,,\n")}}
	res, err := EvaluateFS(context.Background(), fsys, "logs/p.parquet", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples+res.Unlabelled != 200 || len(res.Versions) != 3 {
		t.Errorf("result %+v versions %q, want 200 rows of 3 versions", res.Evaluation, res.Versions)
	}
	res, err = EvaluateFS(context.Background(), fsys, "logs/p.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.AUC == nil || *res.AUC != 1 || res.LatencyP95Ms != nil {
		t.Errorf("result %+v, want auc 1 and no latency", res.Evaluation)
	}
}

// bruteAUC counts, over all (positive, negative) pairs, 1 when the positive scores
// higher and 1/2 on a tie, exactly.
func bruteAUC(preds []Prediction) *big.Rat {
	var u2, pos, neg int64
	for _, p := range preds {
		if p.Label < 0 || math.IsNaN(p.Score) {
			continue
		}
		if p.Label == 1 {
			pos++
		} else {
			neg++
		}
		for _, q := range preds {
			if q.Label != 0 || math.IsNaN(q.Score) || p.Label != 1 {
				continue
			}
			switch {
			case p.Score > q.Score:
				u2 += 2
			case p.Score == q.Score:
				u2++
			}
		}
	}
	if pos == 0 || neg == 0 {
		return nil
	}
	return big.NewRat(u2, 2*pos*neg)
}

// TestAccumulatorAUC compares the AUC with pair counting, for every version and for all
// versions together, with and without the distinct-score spill, and again after more
// predictions are added to an accumulator whose Result was already taken.
func TestAccumulatorAUC(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := range 40 {
		grid := float64(1 + rng.IntN(30)) // few distinct scores: many ties
		n := 1 + rng.IntN(400)
		preds := make([]Prediction, n)
		for i := range preds {
			p := &preds[i]
			p.Version = fmt.Sprint(rng.IntN(3))
			p.Score = math.Round(rng.NormFloat64()*grid) / grid
			if trial%2 == 1 {
				p.Score = rng.NormFloat64() // continuous
			}
			if rng.IntN(20) == 0 {
				p.Score = math.NaN()
			}
			p.Label = int8(rng.IntN(2))
			if rng.IntN(15) == 0 {
				p.Label = -1
			}
			if i%3 == 0 {
				p.Score = -p.Score // -0 and +0 among the ties
			}
			p.LatencyMs = math.NaN()
		}
		for _, cap := range []int{0, 1, 5} {
			acc, err := NewAccumulator(Options{maxDistinct: cap})
			if err != nil {
				t.Fatal(err)
			}
			half := n / 2
			for _, p := range preds[:half] {
				if err := acc.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			acc.Result() // sorts; adding more afterwards must still be right
			for _, p := range preds[half:] {
				if err := acc.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			res := acc.Result()
			check := func(where string, got *float64, preds []Prediction) {
				want := bruteAUC(preds)
				if (want == nil) != (got == nil) {
					t.Fatalf("trial %d cap %d %s: auc %v, want %v", trial, cap, where, got, want)
				}
				if want == nil {
					return
				}
				w, _ := want.Float64()
				if *got != w {
					t.Errorf("trial %d cap %d %s: auc %.17g, want %.17g", trial, cap, where, *got, w)
				}
			}
			check("all", res.AUC, preds)
			for v, e := range res.ByVersion {
				var of []Prediction
				for _, p := range preds {
					if p.Version == v {
						of = append(of, p)
					}
				}
				check("version "+v, e.AUC, of)
			}
		}
	}
}

func TestAccumulatorAddRejects(t *testing.T) {
	acc, err := NewAccumulator(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		p    Prediction
		want string
	}{
		{Prediction{Score: math.Inf(1), LatencyMs: math.NaN()}, "invalid prediction: score: want a finite score"},
		{Prediction{Score: 0.5, Label: 2, LatencyMs: math.NaN()}, "invalid prediction: label: want 0, 1 or -1 (missing), got 2"},
		{Prediction{Score: 0.5, LatencyMs: -1}, "invalid prediction: latency: want a finite latency >= 0 in milliseconds"},
		{Prediction{Score: 0.5, LatencyMs: math.Inf(1)}, "invalid prediction: latency: want a finite latency >= 0 in milliseconds"},
	} {
		err := acc.Add(tt.p)
		if err == nil || err.Error() != tt.want || !errors.Is(err, ErrInvalidPrediction) {
			t.Errorf("Add(%+v) = %v, want %q", tt.p, err, tt.want)
		}
	}
	if res := acc.Result(); res.Samples != 0 || res.Unlabelled != 0 || len(res.ByVersion) != 0 {
		t.Errorf("rejected predictions were counted: %+v", res.Evaluation)
	}
}

// TestSelectK compares selection over several slices with sorting, on data with many
// duplicates and on distinct data, for every rank.
func TestSelectK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 60 {
		n := 1 + rng.IntN(300)
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = rng.NormFloat64()
			if trial%2 == 0 {
				vals[i] = float64(rng.IntN(5))
			}
		}
		sorted := slices.Sorted(slices.Values(vals))
		for k := 0; k < n; k++ {
			parts := splitRandomly(rng, slices.Clone(vals))
			if got := selectK(parts, k); got != sorted[k] {
				t.Fatalf("trial %d: selectK(%d) = %v, want %v", trial, k, got, sorted[k])
			}
			var after []float64
			for _, p := range parts {
				after = append(after, p...)
			}
			slices.Sort(after)
			if !slices.Equal(after, sorted) {
				t.Fatalf("trial %d: selection changed the values", trial)
			}
		}
	}
}

// splitRandomly cuts s into up to five slices, some of them empty.
func splitRandomly(rng *rand.Rand, s []float64) [][]float64 {
	var parts [][]float64
	for len(s) > 0 && len(parts) < 4 {
		k := rng.IntN(len(s) + 1)
		parts = append(parts, s[:k])
		s = s[k:]
	}
	return append(parts, s)
}

// TestPercentile95 checks NumPy's linear interpolation by hand on small cases: with
// n values the virtual index is 0.95·(n-1).
func TestPercentile95(t *testing.T) {
	for _, tt := range []struct {
		vals []float64
		want float64
	}{
		{[]float64{7}, 7},
		{[]float64{10, 0}, 9.5},    // h = 0.95: 0 + 10·0.95, from the upper side
		{[]float64{3, 1, 2}, 2.9},  // h = 1.9
		{[]float64{4, 4, 4, 4}, 4}, // ties
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}, 20}, // h = 19 exactly
	} {
		got, ok := percentile95([][]float64{slices.Clone(tt.vals)})
		if !ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("percentile95(%v) = %v, %v; want %v", tt.vals, got, ok, tt.want)
		}
	}
	if _, ok := percentile95([][]float64{nil, {}}); ok {
		t.Error("percentile95 of nothing is ok, want not")
	}
}
