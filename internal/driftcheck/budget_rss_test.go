package driftcheck

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/testutil/peakrss"
)

// budgetChildEnv names the pair and the budget the child of TestMemoryBudgetPeakRSS
// compares.
const budgetChildEnv = "MODELOPS_DRIFT_BUDGET_PAIR"

// TestMemoryBudgetPeakRSS checks the memory budget's promise: a drift check of a
// 2,000-column × 20,000-row Parquet pair (640 MB of float64 in all) under a 128 MiB
// budget peaks below the budget in resident memory, where the same check without one
// holds the tables. Each check runs in a fresh process (this test binary, re-run on
// TestMemoryBudgetPeakRSSChild) whose VmHWM is the measure.
//
// It writes 640 MB of files and takes a minute, so it runs only when MODELOPS_DRIFT_RSS=1:
//
//	MODELOPS_DRIFT_RSS=1 go test -run 'TestMemoryBudgetPeakRSS$' -v ./internal/driftcheck
func TestMemoryBudgetPeakRSS(t *testing.T) {
	if os.Getenv("MODELOPS_DRIFT_RSS") != "1" {
		t.Skip("set MODELOPS_DRIFT_RSS=1 to measure peak memory under a budget (writes 640 MB, takes a minute)")
	}
	dir := t.TempDir()
	ref, cur := writeBenchParquet(t, dir, 20000, 2000)
	const budget = 128 << 20
	with := peakrss.Child(t, "TestMemoryBudgetPeakRSSChild", budgetChildEnv+"="+ref+","+cur+","+strconv.Itoa(budget))
	without := peakrss.Child(t, "TestMemoryBudgetPeakRSSChild", budgetChildEnv+"="+ref+","+cur+",0")
	t.Logf("peak RSS %.0f MiB under a %d MiB budget, %.0f MiB without", float64(with)/(1<<20), budget>>20, float64(without)/(1<<20))
	if with >= budget {
		t.Errorf("peak RSS %d bytes under a budget of %d", with, budget)
	}
	if without < 4*budget {
		t.Errorf("peak RSS %d bytes without a budget: the pair is too small to show one", without)
	}
}

// TestMemoryBudgetPeakRSSChild is the child of TestMemoryBudgetPeakRSS.
func TestMemoryBudgetPeakRSSChild(t *testing.T) {
	args := strings.Split(os.Getenv(budgetChildEnv), ",")
	if len(args) != 3 {
		t.Skip("run by TestMemoryBudgetPeakRSS")
	}
	budget, _ := strconv.ParseInt(args[2], 10, 64)
	rep, err := CompareSources(context.Background(), Source{Path: args[0]}, Source{Path: args[1]},
		Plan{Memory: budget, Compare: drift.Options{Tests: []drift.Test{drift.TestKS, drift.TestWasserstein, drift.TestPSI}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Columns) != 2000 || !rep.Columns[0].Drifted {
		t.Fatalf("report of %d columns", len(rep.Columns))
	}
	peakrss.Print(t)
}
