package drift_test

import (
	"context"
	"fmt"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
)

func ExampleKS2() {
	r := drift.KS2([]float64{1, 2, 3, 4, 5, 6, 7, 8}, []float64{5, 6, 7, 8, 9, 10, 11, 12})
	fmt.Printf("D=%.2f p=%.6f exact=%v\n", r.D, r.P, r.Exact)
	// Output: D=0.50 p=0.282673 exact=true
}

func ExampleKolmogorovSF() {
	// kstwo.sf(0.3, 20): Pomeranz's recursion (n <= 140, n·d² = 1.8).
	fmt.Printf("%.6f\n", drift.KolmogorovSF(20, 0.3))
	// Output: 0.043067
}

func ExampleWassersteinNormed() {
	ref := []float64{0, 1, 3}
	cur := []float64{5, 6, 8}
	fmt.Printf("W1=%.1f normed=%.4f\n", drift.Wasserstein(ref, cur), drift.WassersteinNormed(ref, cur))
	// Output: W1=5.0 normed=4.0089
}

func ExamplePSI() {
	// Shares per bin; a zero share is filled with 1e-4 before the logarithm.
	fmt.Printf("%.4f\n", drift.PSI([]float64{0.5, 0.5}, []float64{0.25, 0.75}))
	// Output: 0.2747
}

func ExampleJensenShannon() {
	fmt.Printf("%.6f %.6f\n",
		drift.JensenShannon([]float64{0.5, 0.5}, []float64{0.9, 0.1}),
		drift.JensenShannon([]float64{1, 0}, []float64{0, 1}))
	// Output: 0.318982 0.832555
}

func ExampleChiSquare() {
	// Counts per category: reference 10/10, current 5/15.
	stat, p := drift.ChiSquare([]float64{10, 10}, []float64{5, 15})
	fmt.Printf("chi2=%.1f p=%.6f\n", stat, p)
	// Output: chi2=5.0 p=0.025347
}

func ExampleZTest() {
	z, p := drift.ZTest([]float64{50, 50}, []float64{30, 70})
	fmt.Printf("z=%.4f p=%.6f\n", z, p)
	// Output: z=-2.8868 p=0.003892
}

func ExampleCompare() {
	ref := &dataset.Table{Source: "reference.csv", Columns: []dataset.Column{
		{Name: "age", Float: []float64{31, 45, 52, 38, 61, 47, 55, 40}},
		{Name: "sex", Codes: []int32{0, 1, 0, 1, 0, 1, 0, 1}, Dict: []string{"f", "m"}},
	}}
	cur := &dataset.Table{Source: "current.csv", Columns: []dataset.Column{
		{Name: "age", Float: []float64{71, 75, 68, 80, 77, 73}},
		{Name: "sex", Codes: []int32{0, 1, 1, 0, -1, 1}, Dict: []string{"f", "m"}},
	}}
	rep, err := drift.Compare(context.Background(), ref, cur, drift.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range rep.Columns {
		fmt.Printf("%s %s %s score=%.4f drifted=%v\n", c.Name, c.Kind, c.Test, float64(c.Score), c.Drifted)
	}
	fmt.Printf("share=%.2f drifted=%v\n", rep.Share, rep.Drifted)
	// Output:
	// age numeric ks score=0.0007 drifted=true
	// sex categorical z score=0.7249 drifted=false
	// share=0.50 drifted=true
}
