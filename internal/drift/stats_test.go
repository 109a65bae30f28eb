package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func TestKS2HandComputed(t *testing.T) {
	cases := []struct {
		name     string
		a, b     []float64
		d, p     float64
		exact    bool
		pAbsTol  float64
		wantNaNs bool
	}{
		// Complete separation of 3 vs 3: only 2 of the C(6,3) = 20 orderings reach D = 1.
		{name: "separated 3 vs 3", a: []float64{1, 2, 3}, b: []float64{4, 5, 6}, d: 1, p: 0.1, exact: true},
		// Identical samples: D = 0, p = 1.
		{name: "identical", a: []float64{1, 2, 3}, b: []float64{3, 2, 1}, d: 0, p: 1, exact: true},
		// Ties across samples are evaluated after the last copy: F_a(1) = 1, F_b(1) = 1/2.
		{name: "ties", a: []float64{1, 1}, b: []float64{1, 2}, d: 0.5, p: 1, exact: true},
		{name: "empty", a: nil, b: []float64{1}, wantNaNs: true},
		{name: "infinite", a: []float64{1, math.Inf(1)}, b: []float64{1}, wantNaNs: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := KS2(c.a, c.b)
			if c.wantNaNs {
				if !math.IsNaN(r.D) || !math.IsNaN(r.P) {
					t.Fatalf("got %+v, want NaNs", r)
				}
				return
			}
			if !close(r.D, c.d) || !close(r.P, c.p) || r.Exact != c.exact {
				t.Fatalf("got %+v, want D=%v P=%v exact=%v", r, c.d, c.p, c.exact)
			}
		})
	}
}

func TestKSPValueMethodBoundary(t *testing.T) {
	for _, c := range []struct {
		n1, n2 int
		exact  bool
	}{{10000, 10000, true}, {10000, 9999, true}, {10001, 10000, false}, {800, 12000, false}} {
		if got := ksPValue(c.n1, c.n2, 0.02).Exact; got != c.exact {
			t.Errorf("ksPValue(%d, %d): exact %v, want %v", c.n1, c.n2, got, c.exact)
		}
	}
}

func TestKolmogorovSFClosedForms(t *testing.T) {
	cases := []struct {
		n    int
		d, p float64
	}{
		// n = 1: D = max(U, 1−U), so P(D >= d) = 2(1−d) for d >= 1/2.
		{1, 0.75, 0.5},
		{1, 0.5, 1},
		// Ruben–Gambino upper tail: P(D_n >= d) = 2(1−d)^n for d >= 1 − 1/n.
		{5, 0.9, 2 * math.Pow(0.1, 5)},
		{10, 0, 1},
		{10, 1, 0},
	}
	for _, c := range cases {
		if got := KolmogorovSF(c.n, c.d); !close(got, c.p) {
			t.Errorf("KolmogorovSF(%d, %v) = %v, want %v", c.n, c.d, got, c.p)
		}
	}
	for _, bad := range []struct {
		n int
		d float64
	}{{0, 0.5}, {-3, 0.5}, {5, math.NaN()}} {
		if got := KolmogorovSF(bad.n, bad.d); !math.IsNaN(got) {
			t.Errorf("KolmogorovSF(%d, %v) = %v, want NaN", bad.n, bad.d, got)
		}
	}
}

func TestSmirnovClosedForms(t *testing.T) {
	// n = 1: P(D+ >= x) = 1 − x. x <= 1/n: 1 − x(1+x)^(n−1).
	if got := smirnov(1, 0.3); !close(got, 0.7) {
		t.Errorf("smirnov(1, 0.3) = %v, want 0.7", got)
	}
	if got, want := smirnov(4, 0.2), 1-0.2*math.Pow(1.2, 3); !close(got, want) {
		t.Errorf("smirnov(4, 0.2) = %v, want %v", got, want)
	}
	if got := smirnov(3, 1.5); !math.IsNaN(got) {
		t.Errorf("smirnov(3, 1.5) = %v, want NaN", got)
	}
}

func TestWassersteinDistance(t *testing.T) {
	// A shift by c moves every unit of mass by c.
	if got := Wasserstein([]float64{0, 1, 3}, []float64{5, 6, 8}); !close(got, 5) {
		t.Errorf("shift: got %v, want 5", got)
	}
	if got := Wasserstein([]float64{2, 1}, []float64{1, 2}); got != 0 {
		t.Errorf("same sample: got %v, want 0", got)
	}
	// Point masses at 0 and 1 against all mass at 0: half the mass moves by 1.
	if got := Wasserstein([]float64{0, 1}, []float64{0, 0}); !close(got, 0.5) {
		t.Errorf("half moves: got %v, want 0.5", got)
	}
	// Normed: divided by the population std sqrt(14/9) of {0, 1, 3}.
	if got, want := WassersteinNormed([]float64{0, 1, 3}, []float64{5, 6, 8}), 5/math.Sqrt(14.0/9); !close(got, want) {
		t.Errorf("normed: got %v, want %v", got, want)
	}
	// A constant reference divides by the 0.001 floor.
	if got := WassersteinNormed([]float64{2, 2, 2}, []float64{2, 2, 3}); !close(got, (1.0/3)/0.001) {
		t.Errorf("constant reference: got %v, want %v", got, (1.0/3)/0.001)
	}
	if got := Wasserstein(nil, []float64{1}); !math.IsNaN(got) {
		t.Errorf("empty: got %v, want NaN", got)
	}
}

func TestSharesAndDistances(t *testing.T) {
	if got, want := PSI([]float64{0.5, 0.5}, []float64{0.25, 0.75}), 0.25*math.Log(3); !close(got, want) {
		t.Errorf("PSI = %v, want 0.25·ln 3 = %v", got, want)
	}
	if got, want := KLDiv([]float64{0.5, 0.5}, []float64{0.9, 0.1}), math.Log(5.0/3); !close(got, want) {
		t.Errorf("KL = %v, want ln(5/3) = %v", got, want)
	}
	if got, want := JensenShannon([]float64{1, 0}, []float64{0, 1}), math.Sqrt(math.Ln2); !close(got, want) {
		t.Errorf("JS of disjoint = %v, want sqrt(ln 2) = %v", got, want)
	}
	if got := JensenShannon([]float64{0.2, 0.8}, []float64{0.2, 0.8}); got != 0 {
		t.Errorf("JS of equal = %v, want 0", got)
	}
	// PSI fills zeros with 1e-4 (the smallest share is above 1e-4) and does not renormalise.
	r, c := []float64{0.5, 0.5, 0}, []float64{0.5, 0.25, 0.25}
	want := (0.25)*math.Log(2) + (1e-4-0.25)*math.Log(1e-4/0.25)
	if got := PSI(r, c); !close(got, want) {
		t.Errorf("PSI with a zero = %v, want %v", got, want)
	}
	if r[2] != 0 {
		t.Error("PSI changed its input")
	}
}

func TestFillZeros(t *testing.T) {
	cases := []struct{ in, want []float64 }{
		{[]float64{0.5, 0, 0.5}, []float64{0.5, 1e-4, 0.5}},
		{[]float64{0.99995, 0.00005, 0}, []float64{0.99995, 0.00005, 0.00005 / 1e6}},
		{[]float64{0.0001, 0.9999, 0}, []float64{0.0001, 0.9999, 0.0001 / 1e6}}, // m <= 1e-4 includes equality
		{[]float64{0, 0}, []float64{0, 0}},
	}
	for _, c := range cases {
		got := FillZeros(slices.Clone(c.in))
		if !slices.Equal(got, c.want) {
			t.Errorf("FillZeros(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestChiSquareAndZ(t *testing.T) {
	stat, p := ChiSquare([]float64{10, 10}, []float64{5, 15})
	// χ² = 2.5 + 2.5 with one degree of freedom: p = erfc(sqrt(5/2)).
	if !close(stat, 5) || !close(p, math.Erfc(math.Sqrt(2.5))) {
		t.Errorf("ChiSquare = %v, %v; want 5, %v", stat, p, math.Erfc(math.Sqrt(2.5)))
	}
	if stat, p := ChiSquare([]float64{10, 0}, []float64{5, 5}); !math.IsInf(stat, 1) || p != 0 {
		t.Errorf("unseen category: got %v, %v; want +Inf, 0", stat, p)
	}
	if _, p := ChiSquare([]float64{8}, []float64{5}); !math.IsNaN(p) {
		t.Errorf("one key: p = %v, want NaN", p)
	}
	z, p := ZTest([]float64{50, 50}, []float64{30, 70})
	wantZ := (0.5 - 0.7) / math.Sqrt(0.6*0.4*(1.0/100+1.0/100))
	if !close(z, wantZ) || !close(p, math.Erfc(math.Abs(wantZ)/math.Sqrt2)) {
		t.Errorf("ZTest = %v, %v; want %v, %v", z, p, wantZ, math.Erfc(math.Abs(wantZ)/math.Sqrt2))
	}
	if z, p := ZTest([]float64{0, 7}, []float64{0, 3}); z != 0 || p != 1 {
		t.Errorf("same constant: got %v, %v; want 0, 1", z, p)
	}
	// Far apart, 1 − Φ(|z|) rounds to 0 exactly, as SciPy's formula does.
	if _, p := ZTest([]float64{900, 100}, []float64{100, 900}); p != 0 {
		t.Errorf("far apart: p = %v, want exactly 0", p)
	}
}

func TestSturgesEdges(t *testing.T) {
	e := SturgesEdges(0, 1, 63) // log2(63)+1 = 6.98: 7 bins
	if len(e) != 8 || e[0] != 0 || e[7] != 1 {
		t.Fatalf("edges = %v, want 7 bins over [0, 1]", e)
	}
	for i := 1; i < len(e); i++ {
		if !(e[i] > e[i-1]) {
			t.Fatalf("edges not increasing: %v", e)
		}
	}
	if SturgesEdges(1, 1, 10) != nil || SturgesEdges(-math.MaxFloat64, math.MaxFloat64, 10) != nil {
		t.Error("an empty or overflowing span must give no edges")
	}
	counts := HistogramSorted([]float64{0, 0.1, 0.5, 0.5, 1}, []float64{0, 0.5, 1}, nil)
	// [0, 0.5) holds 0 and 0.1; the last bin [0.5, 1] holds 0.5, 0.5 and 1.
	if !slices.Equal(counts, []float64{2, 3}) {
		t.Errorf("HistogramSorted = %v, want [2 3]", counts)
	}
}

func TestAutoTestAndVerdicts(t *testing.T) {
	cases := []struct {
		kind            Kind
		nRef, nValues   int
		want            Test
		wantThr         float64
		scoreAt         float64
		driftsAtDefault bool
	}{
		{KindNumeric, 1000, 6, TestKS, 0.05, 0.05, true}, // ks: p <= thr
		{KindNumeric, 1000, 5, TestChiSquare, 0.05, 0.05, false},
		{KindNumeric, 1000, 2, TestZ, 0.05, 0.05, false}, // z: p < thr
		{KindNumeric, 1001, 6, TestWasserstein, 0.1, 0.1, true},
		{KindNumeric, 1001, 5, TestJensenShannon, 0.1, 0.1, true},
		{KindCategorical, 1000, 3, TestChiSquare, 0.05, 0.049, true},
		{KindCategorical, 1000, 2, TestZ, 0.05, 0.05, false},
		{KindCategorical, 5000, 40, TestJensenShannon, 0.1, 0.099, false},
	}
	for _, c := range cases {
		got := AutoTest(c.kind, c.nRef, c.nValues)
		if got != c.want {
			t.Errorf("AutoTest(%s, %d, %d) = %s, want %s", c.kind, c.nRef, c.nValues, got, c.want)
			continue
		}
		if thr := DefaultThreshold(got); thr != c.wantThr {
			t.Errorf("DefaultThreshold(%s) = %v, want %v", got, thr, c.wantThr)
		}
		if d := Drifted(got, c.scoreAt, c.wantThr); d != c.driftsAtDefault {
			t.Errorf("Drifted(%s, %v, %v) = %v, want %v", got, c.scoreAt, c.wantThr, d, c.driftsAtDefault)
		}
		if Drifted(got, math.NaN(), c.wantThr) {
			t.Errorf("Drifted(%s, NaN) = true, want false", got)
		}
	}
}

// TestSortFloats checks the column sorts against slices.Sort on samples that exercise
// every path: smooth, heavy-tailed, tied, constant, tiny, signed zeros, extreme spans.
func TestSortFloats(t *testing.T) {
	src := rand.NewPCG(7, 8)
	norm := distuv.Normal{Mu: 0, Sigma: 1, Src: src}
	gen := map[string]func(i int) float64{
		"normal": func(int) float64 { return norm.Rand() },
		"cauchy": func(int) float64 { return norm.Rand() / norm.Rand() },
		"ties":   func(int) float64 { return math.Floor(norm.Rand() * 3) },
		"const":  func(int) float64 { return 4.25 },
		"zeros": func(i int) float64 {
			if i%2 == 0 {
				return math.Copysign(0, -1)
			}
			return 0
		},
		"extreme": func(i int) float64 {
			switch i % 4 {
			case 0:
				return math.MaxFloat64
			case 1:
				return -math.MaxFloat64
			case 2:
				return math.SmallestNonzeroFloat64
			}
			return norm.Rand()
		},
	}
	var s sortScratch
	for name, g := range gen {
		for _, n := range []int{0, 1, 2, 47, 49, 65, 1000, 20001} {
			x := make([]float64, n)
			for i := range x {
				x[i] = g(i)
			}
			want := slices.Clone(x)
			slices.Sort(want)
			got := slices.Clone(x)
			sortFloats(got, &s)
			rad := slices.Clone(x)
			radixSortFloat64(rad, make([]uint64, n), make([]uint64, n))
			for i := range want {
				if got[i] != want[i] || rad[i] != want[i] {
					t.Fatalf("%s n=%d: index %d: bucket %v, radix %v, want %v", name, n, i, got[i], rad[i], want[i])
				}
			}
		}
	}
}

// TestWalkMatchesDefinition compares the merge walk with a direct evaluation of the
// ECDFs at every pooled value, on tied data.
func TestWalkMatchesDefinition(t *testing.T) {
	src := rand.NewPCG(9, 10)
	u := distuv.Uniform{Min: 0, Max: 30, Src: src}
	for trial := 0; trial < 50; trial++ {
		a := make([]float64, 1+trial*7)
		b := make([]float64, 3+trial*5)
		for i := range a {
			a[i] = math.Floor(u.Rand())
		}
		for i := range b {
			b[i] = math.Floor(u.Rand()) + 0.5*float64(trial%2)
		}
		sa, sb := sortedCopy(a), sortedCopy(b)
		d, w, nu := walk(sa, sb, true)
		pooled := append(slices.Clone(sa), sb...)
		slices.Sort(pooled)
		ecdf := func(x []float64, v float64) float64 {
			n := 0
			for _, e := range x {
				if e <= v {
					n++
				}
			}
			return float64(n) / float64(len(x))
		}
		wantD, wantW, distinct := 0.0, 0.0, 0
		for i, v := range pooled {
			diff := ecdf(sa, v) - ecdf(sb, v)
			wantD = math.Max(wantD, math.Abs(diff))
			if i+1 < len(pooled) {
				wantW += math.Abs(diff) * (pooled[i+1] - v)
			}
			if i == 0 || v != pooled[i-1] {
				distinct++
			}
		}
		if !close(d, wantD) || !close(w, wantW) || nu != distinct {
			t.Fatalf("trial %d: walk = %v, %v, %d; want %v, %v, %d", trial, d, w, nu, wantD, wantW, distinct)
		}
	}
}

func TestCleanSortInto(t *testing.T) {
	src := rand.NewPCG(11, 12)
	norm := distuv.Normal{Mu: 0, Sigma: 1, Src: src}
	var s sortScratch
	for _, n := range []int{0, 5, 60, 5000} {
		for _, heavy := range []bool{false, true} {
			x := make([]float64, n)
			var want []float64
			for i := range x {
				v := norm.Rand()
				if heavy {
					v /= norm.Rand()
				}
				switch i % 11 {
				case 3:
					v = math.NaN()
				case 7:
					v = math.Inf(1 - 2*(i%2))
				default:
					want = append(want, v)
				}
				x[i] = v
			}
			slices.Sort(want)
			got := cleanSortInto(x, make([]float64, 0, n+1), &s)
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d heavy=%v: cleaned and sorted values differ", n, heavy)
			}
		}
	}
}
