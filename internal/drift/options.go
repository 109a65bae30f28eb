package drift

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
)

// ErrInvalidInput marks errors caused by the data or the options (a column missing on
// one side, a column empty after cleaning, an unknown test); callers report it as
// invalid input rather than as a failure.
var ErrInvalidInput = errors.New("invalid drift input")

// Test names a column drift test.
type Test string

// The drift tests, named as Evidently names them.
const (
	TestAuto          Test = "auto"
	TestKS            Test = "ks"
	TestWasserstein   Test = "wasserstein"
	TestPSI           Test = "psi"
	TestKLDiv         Test = "kl_div"
	TestJensenShannon Test = "jensenshannon"
	TestChiSquare     Test = "chisquare"
	TestZ             Test = "z"
)

// Kind is how a column is treated: as numbers or as categories.
type Kind string

// The column kinds.
const (
	KindNumeric     Kind = "numeric"
	KindCategorical Kind = "categorical"
)

// numericTests and categoricalTests are the tests that apply to each kind, in the
// order --tests all reports them. The automatic choice may also run chisquare or z on a
// numeric column with at most five distinct values, as Evidently does.
var (
	numericTests     = []Test{TestKS, TestWasserstein, TestPSI, TestKLDiv, TestJensenShannon}
	categoricalTests = []Test{TestChiSquare, TestZ, TestPSI, TestKLDiv, TestJensenShannon}
)

// DefaultThreshold returns the threshold a test uses unless overridden: 0.05 for the
// p-value tests (ks, chisquare, z) and 0.1 for the distances.
func DefaultThreshold(t Test) float64 {
	switch t {
	case TestKS, TestChiSquare, TestZ:
		return 0.05
	default:
		return 0.1
	}
}

// Drifted reports whether score means drift for test t at threshold thr:
// p <= thr for ks, p < thr for chisquare and z, score >= thr for the distances.
// A NaN score never drifts.
func Drifted(t Test, score, thr float64) bool {
	switch t {
	case TestKS:
		return score <= thr
	case TestChiSquare, TestZ:
		return score < thr
	default:
		return score >= thr
	}
}

// isPValueTest reports whether the test's score is a p-value with a separate statistic.
func isPValueTest(t Test) bool { return t == TestKS || t == TestChiSquare || t == TestZ }

func applies(t Test, k Kind) bool {
	tests := numericTests
	if k == KindCategorical {
		tests = categoricalTests
	}
	for _, u := range tests {
		if u == t {
			return true
		}
	}
	return false
}

// AutoTest is Evidently's default test for a column of kind k with nRef cleaned
// reference values and nValues distinct values in reference ∪ current:
// with nRef <= 1000, chisquare (nValues > 2) or z for categorical columns and for
// numeric columns with at most 5 values, else ks; with nRef > 1000, jensenshannon for
// categorical columns and numeric ones with at most 5 values, else wasserstein.
func AutoTest(k Kind, nRef, nValues int) Test {
	small := nValues <= 5 || k == KindCategorical
	if nRef <= 1000 {
		switch {
		case !small:
			return TestKS
		case nValues > 2:
			return TestChiSquare
		default:
			return TestZ
		}
	}
	if small {
		return TestJensenShannon
	}
	return TestWasserstein
}

// Group is a family of features with its own share rule, selected by a regular
// expression on the column name or by a list of names (or both).
type Group struct {
	Name     string
	Pattern  string
	Features []string
	// Share is the group's drift share; nil means the dataset share.
	Share *float64
}

// Options configure Compare. The zero value is Evidently's default behaviour.
type Options struct {
	// NumericTest and CategoricalTest choose the test per kind: "" or TestAuto for the
	// automatic choice, or a test that applies to the kind.
	NumericTest     Test
	CategoricalTest Test
	// AllTests runs every test that applies to each column (and the chosen one), each
	// reported under stats; the column verdict stays that of the chosen test.
	AllTests bool
	// Tests, when not empty, runs the listed tests that apply to each column; the first
	// of them is the column's test. A column none of them applies to uses the choice
	// of NumericTest/CategoricalTest.
	Tests []Test
	// Threshold overrides every test's default threshold.
	Threshold *float64
	// DatasetShare is the share of drifted columns at or above which the dataset drifts;
	// nil means 0.5.
	DatasetShare *float64
	// Numeric and Categorical force the kind of the named columns. A string column
	// cannot be numeric.
	Numeric     []string
	Categorical []string
	// Exclude names columns left out of the comparison.
	Exclude []string
	// Groups are reported separately, in this order.
	Groups []Group
	// Histograms adds each column's Histogram to its report (the reports the reconciler
	// keeps on the status branch, which the web UI draws).
	Histograms bool
}

// DefaultDatasetShare is the dataset share used when Options.DatasetShare is nil.
const DefaultDatasetShare = 0.5

func (o *Options) datasetShare() float64 {
	if o.DatasetShare != nil {
		return *o.DatasetShare
	}
	return DefaultDatasetShare
}

func (o *Options) threshold(t Test) float64 {
	if o.Threshold != nil {
		return *o.Threshold
	}
	return DefaultThreshold(t)
}

// clone returns a copy of o that shares no slices or pointers with it, so a Profile is
// not changed by later edits of the caller's options.
func (o Options) clone() Options {
	c := o
	c.Tests = slices.Clone(o.Tests)
	c.Numeric = slices.Clone(o.Numeric)
	c.Categorical = slices.Clone(o.Categorical)
	c.Exclude = slices.Clone(o.Exclude)
	if o.Threshold != nil {
		c.Threshold = ptrTo(*o.Threshold)
	}
	if o.DatasetShare != nil {
		c.DatasetShare = ptrTo(*o.DatasetShare)
	}
	c.Groups = make([]Group, len(o.Groups))
	for i, g := range o.Groups {
		g.Features = slices.Clone(g.Features)
		if g.Share != nil {
			g.Share = ptrTo(*g.Share)
		}
		c.Groups[i] = g
	}
	return c
}

func ptrTo(f float64) *float64 { return &f }

// compiledGroup is a Group with its pattern compiled.
type compiledGroup struct {
	Group
	re    *regexp.Regexp
	share float64
}

// validate checks the options and compiles the group patterns.
func (o *Options) validate() ([]compiledGroup, error) {
	check := func(what string, t Test, k Kind) error {
		if t == "" || t == TestAuto {
			return nil
		}
		if !applies(t, k) {
			return fmt.Errorf("%s %q: want auto or one of %v: %w", what, t, testsFor(k), ErrInvalidInput)
		}
		return nil
	}
	if err := check("numeric test", o.NumericTest, KindNumeric); err != nil {
		return nil, err
	}
	if err := check("categorical test", o.CategoricalTest, KindCategorical); err != nil {
		return nil, err
	}
	for i, t := range o.Tests {
		if !applies(t, KindNumeric) && !applies(t, KindCategorical) {
			return nil, fmt.Errorf("tests[%d] %q: unknown test: %w", i, t, ErrInvalidInput)
		}
	}
	if o.Threshold != nil && (math.IsNaN(*o.Threshold) || math.IsInf(*o.Threshold, 0)) {
		return nil, fmt.Errorf("threshold: want a finite number, got %v: %w", *o.Threshold, ErrInvalidInput)
	}
	share := o.datasetShare()
	if !(share >= 0 && share <= 1) {
		return nil, fmt.Errorf("dataset share %s: want a fraction in [0, 1]: %w", strconv.FormatFloat(share, 'g', -1, 64), ErrInvalidInput)
	}
	groups := make([]compiledGroup, len(o.Groups))
	for i, g := range o.Groups {
		cg := compiledGroup{Group: g, share: share}
		if g.Pattern != "" {
			re, err := regexp.Compile(g.Pattern)
			if err != nil {
				return nil, fmt.Errorf("group %q: pattern: %v: %w", g.Name, err, ErrInvalidInput)
			}
			cg.re = re
		}
		if g.Share != nil {
			if !(*g.Share >= 0 && *g.Share <= 1) {
				return nil, fmt.Errorf("group %q: share %s: want a fraction in [0, 1]: %w", g.Name, strconv.FormatFloat(*g.Share, 'g', -1, 64), ErrInvalidInput)
			}
			cg.share = *g.Share
		}
		groups[i] = cg
	}
	return groups, nil
}

// TestsFor returns the tests that apply to a column of kind k, in the order --tests all
// reports them.
func TestsFor(k Kind) []Test {
	return slices.Clone(testsFor(k))
}

// KnownTests returns every test, those of numeric columns first.
func KnownTests() []Test {
	known := slices.Clone(numericTests)
	for _, t := range categoricalTests {
		if !slices.Contains(known, t) {
			known = append(known, t)
		}
	}
	return known
}

func testsFor(k Kind) []Test {
	if k == KindCategorical {
		return categoricalTests
	}
	return numericTests
}

// testsForColumn returns the column's chosen test and every test to run on it.
func (o *Options) testsForColumn(k Kind, nRef, nValues int) (Test, []Test) {
	chosen := o.NumericTest
	if k == KindCategorical {
		chosen = o.CategoricalTest
	}
	if chosen == "" || chosen == TestAuto {
		chosen = AutoTest(k, nRef, nValues)
	}
	run := []Test{chosen}
	add := func(t Test) {
		for _, u := range run {
			if u == t {
				return
			}
		}
		run = append(run, t)
	}
	if len(o.Tests) > 0 {
		var listed []Test
		for _, t := range o.Tests {
			if applies(t, k) {
				listed = append(listed, t)
			}
		}
		if len(listed) > 0 {
			run = run[:0]
			for _, t := range listed {
				add(t)
			}
			chosen = run[0]
		}
	}
	if o.AllTests {
		for _, t := range testsFor(k) {
			add(t)
		}
	}
	return chosen, run
}
