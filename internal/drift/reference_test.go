package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/medimind/modelops/internal/dataset"
)

// The reference values in testdata/reference.json come from SciPy 1.10 / NumPy 1.24
// (scripts/drift_reference.py). Statistics and p-values must agree to 1e-9 relative;
// values near zero to 1e-12 absolute.
const (
	relTol = 1e-9
	absTol = 1e-12
)

type refFile struct {
	Cases   []refCase `json:"cases"`
	Kolmogn []struct {
		N      int     `json:"n"`
		D      float64 `json:"d"`
		SF     jsonNum `json:"sf"`
		Branch string  `json:"branch"`
	} `json:"kolmogn"`
	Smirnov []struct {
		N  int     `json:"n"`
		D  float64 `json:"d"`
		SF jsonNum `json:"sf"`
	} `json:"smirnov"`
}

type refCase struct {
	Name     string          `json:"name"`
	Kind     Kind            `json:"kind"`
	Ref      json.RawMessage `json:"ref"`
	Cur      json.RawMessage `json:"cur"`
	RefCheck *checksum       `json:"ref_check"`
	CurCheck *checksum       `json:"cur_check"`
	Expected struct {
		NRef       int       `json:"n_ref"`
		NCur       int       `json:"n_cur"`
		MissingRef int       `json:"missing_ref"`
		MissingCur int       `json:"missing_cur"`
		NValues    int       `json:"n_values"`
		NUniqueRef int       `json:"nunique_ref"`
		AutoTest   Test      `json:"auto_test"`
		Edges      []float64 `json:"edges"`
		Tests      map[Test]struct {
			Score     *jsonNum `json:"score"`
			Statistic *jsonNum `json:"statistic"`
			PValue    *jsonNum `json:"pvalue"`
			Method    string   `json:"method"`
			Branch    string   `json:"branch"`
			Drifted   bool     `json:"drifted"`
		} `json:"tests"`
	} `json:"expected"`
}

type checksum struct {
	N   int    `json:"n"`
	Sum string `json:"sum"` // float.hex() of the sequential sum
}

// jsonNum reads a JSON number or one of the strings "nan", "inf", "-inf".
type jsonNum float64

func (n *jsonNum) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		f, err := parseSpecial(s)
		*n = jsonNum(f)
		return err
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*n = jsonNum(f)
	return err
}

func parseSpecial(s string) (float64, error) {
	switch s {
	case "nan":
		return math.NaN(), nil
	case "inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	return 0, fmt.Errorf("unexpected string %q for a number", s)
}

// side decodes one sample: a generator spec, numbers (with "nan"/"inf" strings) or
// strings (null = missing).
func side(t *testing.T, raw json.RawMessage, check *checksum) dataset.Column {
	t.Helper()
	var spec struct {
		Gen *genSpec `json:"gen"`
	}
	if raw[0] == '{' {
		if err := json.Unmarshal(raw, &spec); err != nil {
			t.Fatal(err)
		}
		vals := spec.Gen.expand()
		if check == nil {
			t.Fatal("generated sample without checksum")
		}
		sum := 0.0
		for _, v := range vals {
			sum += v
		}
		want, err := strconv.ParseFloat(check.Sum, 64)
		if err != nil {
			t.Fatalf("parse checksum %q: %v", check.Sum, err)
		}
		if len(vals) != check.N || sum != want {
			t.Fatalf("generator expands differently from Python: n=%d sum=%x, want n=%d sum=%s", len(vals), sum, check.N, check.Sum)
		}
		return dataset.Column{Name: "x", Float: vals}
	}
	var items []any
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatal(err)
	}
	strs := false
	for _, it := range items {
		if s, ok := it.(string); ok {
			if _, err := parseSpecial(s); err != nil {
				strs = true
			}
		}
		if it == nil {
			strs = true
		}
	}
	if !strs {
		vals := make([]float64, len(items))
		for i, it := range items {
			switch v := it.(type) {
			case float64:
				vals[i] = v
			case string:
				vals[i], _ = parseSpecial(v)
			}
		}
		return dataset.Column{Name: "x", Float: vals}
	}
	col := dataset.Column{Name: "x", Codes: make([]int32, len(items))}
	index := map[string]int32{}
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			col.Codes[i] = -1
			continue
		}
		code, seen := index[s]
		if !seen {
			code = int32(len(col.Dict))
			index[s] = code
			col.Dict = append(col.Dict, s)
		}
		col.Codes[i] = code
	}
	return col
}

func loadReference(t *testing.T) refFile {
	t.Helper()
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var f refFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode testdata/reference.json: %v", err)
	}
	return f
}

// close reports whether got agrees with want to relTol relative or absTol absolute;
// NaN matches NaN and infinities match exactly.
func close(got, want float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return got == want || (math.IsNaN(got) && math.IsNaN(want))
	}
	d := math.Abs(got - want)
	return d <= relTol*math.Abs(want) || d <= absTol
}

func TestReferenceCases(t *testing.T) {
	f := loadReference(t)
	if len(f.Cases) < 50 {
		t.Fatalf("only %d reference cases", len(f.Cases))
	}
	branches := map[string]bool{}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ref := side(t, c.Ref, c.RefCheck)
			cur := side(t, c.Cur, c.CurCheck)
			opts := Options{AllTests: true}
			if c.Kind == KindCategorical {
				opts.Categorical = []string{"x"}
			}
			p, err := NewProfile(context.Background(), &dataset.Table{Source: "ref", Columns: []dataset.Column{ref}}, opts)
			if err != nil {
				t.Fatal(err)
			}
			cp := p.columns[0]
			r, ev, err := p.prepare(cp, &cur, new(scratch))
			if err != nil {
				t.Fatal(err)
			}
			e := c.Expected
			if r.NReference != e.NRef || r.NCurrent != e.NCur || r.MissingReference != e.MissingRef || r.MissingCurrent != e.MissingCur {
				t.Errorf("sizes: got n=%d/%d missing=%d/%d, want n=%d/%d missing=%d/%d",
					r.NReference, r.NCurrent, r.MissingReference, r.MissingCurrent, e.NRef, e.NCur, e.MissingRef, e.MissingCur)
			}
			if ev.nValues != e.NValues || cp.nunique != e.NUniqueRef {
				t.Errorf("unique values: got pooled %d, reference %d; want %d, %d", ev.nValues, cp.nunique, e.NValues, e.NUniqueRef)
			}
			if got := AutoTest(c.Kind, r.NReference, ev.nValues); got != e.AutoTest {
				t.Errorf("auto test: got %s, want %s", got, e.AutoTest)
			}
			if e.Edges != nil {
				a, b := cp.sorted, ev.cur
				edges := SturgesEdges(min(a[0], b[0]), max(a[len(a)-1], b[len(b)-1]), len(a)+len(b))
				if len(edges) != len(e.Edges) {
					t.Fatalf("edges: got %d, want %d: %v", len(edges), len(e.Edges), edges)
				}
				for i := range edges {
					if edges[i] != e.Edges[i] {
						t.Errorf("edge %d: got %v, want %v (bit-exact)", i, edges[i], e.Edges[i])
					}
				}
			}
			for name, want := range e.Tests {
				score, stat := ev.run(name)
				wantScore := want.Score
				if wantScore == nil {
					wantScore = want.PValue
				}
				if !close(score, float64(*wantScore)) {
					t.Errorf("%s: score %.17g, want %.17g", name, score, float64(*wantScore))
				}
				if want.Statistic != nil && !close(stat, float64(*want.Statistic)) {
					t.Errorf("%s: statistic %.17g, want %.17g", name, stat, float64(*want.Statistic))
				}
				if got := Drifted(name, score, DefaultThreshold(name)); got != want.Drifted {
					t.Errorf("%s: drifted %v, want %v", name, got, want.Drifted)
				}
				if name == TestKS {
					res := ksPValue(cp.n, len(ev.cur), ev.d)
					if wantExact := want.Method == "exact"; res.Exact != wantExact {
						t.Errorf("ks: exact %v, want method %s", res.Exact, want.Method)
					}
					if want.Branch != "" {
						branches[want.Branch] = true
					}
				}
			}
			// The report agrees with the direct evaluation.
			rep, err := Compare(context.Background(),
				&dataset.Table{Source: "ref", Columns: []dataset.Column{ref}},
				&dataset.Table{Source: "cur", Columns: []dataset.Column{cur}}, opts)
			if err != nil {
				t.Fatal(err)
			}
			col := rep.Columns[0]
			if col.Test != e.AutoTest {
				t.Errorf("report test: got %s, want %s", col.Test, e.AutoTest)
			}
			if want := e.Tests[e.AutoTest]; col.Drifted != want.Drifted {
				t.Errorf("report drifted %v, want %v", col.Drifted, want.Drifted)
			}
		})
	}
	for _, b := range []string{"x<=0", "t<=0.5", "ruben-gambino-low-n<=140", "ruben-gambino-low-n>140",
		"ruben-gambino-high", "2smirnov-x>=0.5", "dmtw-n<=140", "pomeranz", "miller-2smirnov",
		"zero-nx2>=370", "2smirnov-nx2>=2.2", "dmtw-n>140", "pelz-good", "x>=1"} {
		if !branches[b] {
			t.Errorf("no reference case reaches the kolmogn branch %s", b)
		}
	}
}

func TestReferenceKolmogorovSF(t *testing.T) {
	f := loadReference(t)
	for _, r := range f.Kolmogn {
		if got := KolmogorovSF(r.N, r.D); !close(got, float64(r.SF)) {
			t.Errorf("KolmogorovSF(%d, %v) [%s] = %.17g, want %.17g", r.N, r.D, r.Branch, got, float64(r.SF))
		}
	}
	for _, r := range f.Smirnov {
		if got := smirnov(r.N, r.D); !close(got, float64(r.SF)) {
			t.Errorf("smirnov(%d, %v) = %.17g, want %.17g", r.N, r.D, got, float64(r.SF))
		}
	}
}
