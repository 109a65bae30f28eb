package drift

import (
	"slices"
	"testing"
)

// The CLI's --tests messages list the tests in this order.
func TestKnownTestsAndTestsFor(t *testing.T) {
	want := []Test{TestKS, TestWasserstein, TestPSI, TestKLDiv, TestJensenShannon, TestChiSquare, TestZ}
	if got := KnownTests(); !slices.Equal(got, want) {
		t.Errorf("KnownTests() = %v, want %v", got, want)
	}
	if got := TestsFor(KindCategorical); !slices.Equal(got, []Test{TestChiSquare, TestZ, TestPSI, TestKLDiv, TestJensenShannon}) {
		t.Errorf("TestsFor(categorical) = %v", got)
	}
	got := TestsFor(KindNumeric)
	got[0] = TestZ // a copy: the package's list is unchanged
	if !applies(TestKS, KindNumeric) || applies(TestZ, KindNumeric) {
		t.Error("TestsFor handed out the package's own list")
	}
}
