package reconciler

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/policies"
)

func passingVerdict() PromotionVerdict {
	v := JudgePromotion(policies.PromotionSpec{MinSamples: ptrInt64(100), MaxLatencyMs: f64(200)},
		TrainingMetrics{Samples: 500, LatencyMs: f64(120)}, nil)
	v.Version, v.ProductionVersion = "13", "12"
	return v
}

func ptrInt64(v int64) *int64 { return &v }

// A proposal's digest says whether its evidence changed; the way the body renders the
// evidence is not evidence, so a new table format must not rewrite every open proposal.
func TestPromotionDigestIgnoresTheTableFormat(t *testing.T) {
	p := policy("sepsis", nil)
	result := RunResult{Version: "13", URI: "models:/sepsis/13"}
	v := passingVerdict()
	before := promotionAction(p, "c1", "run-7", result, v, "run 7")
	bodyBefore := promotionBody(before, p, nil)

	old := promotionTable
	t.Cleanup(func() { promotionTable = old })
	promotionTable = func(v PromotionVerdict) string { return "criteria: " + strings.Join(v.Failed(), ",") + "\n" }

	after := promotionAction(p, "c1", "run-7", result, v, "run 7")
	if after.Proposal.Digest != before.Proposal.Digest {
		t.Errorf("digest %s became %s when only the table's format changed", before.Proposal.Digest, after.Proposal.Digest)
	}
	if promotionBody(after, p, nil) == bodyBefore {
		t.Fatal("the body did not change with the table format; the test proves nothing")
	}
	// The digest still follows the evidence: another figure is another digest.
	v.Criteria[0].Candidate = f64(501)
	if changed := promotionAction(p, "c1", "run-7", result, v, "run 7"); changed.Proposal.Digest == before.Proposal.Digest {
		t.Error("a changed figure kept the digest")
	}
}

func TestOneLineNeverCutsACharacter(t *testing.T) {
	long := "a" + strings.Repeat("é", 300) // byte 200 falls inside an é
	got := oneLine(long)
	if !utf8.ValidString(got) || utf8.RuneCountInString(got) != maxTrailerRunes+1 || !strings.HasSuffix(got, "é…") {
		t.Errorf("oneLine cut to %q (valid %v, %d characters)", got, utf8.ValidString(got), utf8.RuneCountInString(got))
	}
	short := strings.Repeat("é", maxTrailerRunes) // 400 bytes but 200 characters: kept whole
	if got := oneLine(short); got != short {
		t.Errorf("oneLine cut a reason of exactly %d characters: %q", maxTrailerRunes, got)
	}
}

// The evidence trailer names the reports the evidence carries as data, not whatever text
// follows the word "report" in a person's reason.
func TestEvidenceTrailerNamesReportsAsData(t *testing.T) {
	manual := []Evidence{{Text: "requested at 2026-11-02T08:00:00Z: the ward will report new cohorts"}}
	if got := evidenceRef(manual); got != manual[0].Text {
		t.Errorf("evidenceRef(manual request) = %q, want the request itself", got)
	}
	drift := []Evidence{
		{Text: "2 of the last 2 drift reports drifted"},
		{Text: "a: 7 of 10 columns drifted, report reports/m/drift-a.json", Report: "reports/m/drift-a.json"},
		{Text: "b: 7 of 10 columns drifted, report reports/m/drift-b.json", Report: "reports/m/drift-b.json"},
	}
	if got := evidenceRef(drift); got != "reports/m/drift-a.json, reports/m/drift-b.json" {
		t.Errorf("evidenceRef(drift) = %q", got)
	}
}

// A run whose ID happens to start like a registered candidate's is still a run: its verdict
// is recorded on it, so it is not judged again.
func TestRecordVerdictGoesByTheRegisteredFlag(t *testing.T) {
	ms := &ModelStatus{Runs: []TrainingRun{{Generation: 7, ID: "registered:7", Phase: RunSucceeded}}}
	a := Action{Model: "sepsis", Generation: 7, Promotion: &PromotionPlan{RunID: "registered:7", Verdict: passingVerdict()}}
	if err := recordVerdict(ms, a); err != nil {
		t.Fatal(err)
	}
	if run, _ := ms.Run(7); run.Promotion == nil {
		t.Error("the verdict was not recorded on the run")
	}
	ms = &ModelStatus{}
	a.Promotion.Registered = true
	if err := recordVerdict(ms, a); err != nil {
		t.Errorf("a registered candidate's verdict looked for a run: %v", err)
	}
}

// A retrain proposal written by a fresh process quotes the latest drift report from the
// status branch, as the process that made the report would.
func TestRetrainBodyQuotesTheStoredDriftReportInAFreshProcess(t *testing.T) {
	h := newHarness(6)
	h.drift.markdown = "| column | drifted |\n|---|---|\n| age | yes |"
	h.cycle(t) // first report: one of a window of two
	h.now = h.now.Add(6 * time.Hour)
	h.proposals.ensureErr = errors.New("forge down")
	res := h.cycle(t)
	if got := strings.Join(actionKinds(res), ","); got != "check-drift,propose-retrain" || res.Actions[1].Error == "" {
		t.Fatalf("actions = %s (%+v), want the proposal failing", got, res.Actions)
	}
	report := DriftReportPath("sepsis-risk", h.now)
	if string(h.status.files[driftMarkdownPath(report)]) != h.drift.markdown {
		t.Fatalf("the report's Markdown was not saved beside it: %v", h.status.files)
	}
	// A fresh process, after the retry backoff: no drift check is due, the proposal is.
	h.proposals.ensureErr = nil
	h.now = h.now.Add(time.Hour)
	res = h.cycle(t)
	if got := strings.Join(actionKinds(res), ","); got != "propose-retrain" {
		t.Fatalf("actions = %s, want propose-retrain alone", got)
	}
	body := h.proposals.bodies["sepsis-risk/retrain"]
	want := "### Latest drift report\n\n" + h.drift.markdown + fmt.Sprintf("\n\nFull report: `%s` on the `modelops/status` branch.\n", report)
	if !strings.HasSuffix(body, want) {
		t.Errorf("the fresh process's body does not end with the stored report:\n%s", body)
	}
	if p := res.Actions[0].Proposal; p == nil || p.Key != "generation-7" {
		t.Errorf("the action's result names proposal %+v, want generation-7", p)
	}
	tr := h.proposals.reqs["sepsis-risk/retrain"].Trailers
	if tr[git.TrailerAction] != string(ActionProposeRetrain) || tr[git.TrailerModel] != "sepsis-risk" ||
		!strings.Contains(tr[git.TrailerEvidence], report) || strings.Contains(tr[git.TrailerEvidence], "columns") {
		t.Errorf("trailers = %v, want the action, the model and the report paths", tr)
	}
}

// Every policy the reconciler judges comes from policies.Parse, which applies the defaults:
// a canary analysis written without minSamples waits for the default number of samples.
func TestJudgeCanaryGetsDefaultsFromParse(t *testing.T) {
	ps, err := policies.Parse("m.yaml", []byte(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: sepsis}
spec:
  production: {version: "12", uri: "models:/sepsis/12"}
  canary: {version: "13", uri: "models:/sepsis/13", weight: 10}
`))
	if err != nil || len(ps) != 1 {
		t.Fatalf("parse: %v", err)
	}
	few := obs(0.9, 0.9, 0.01, policies.DefaultCanaryMinSamples-1, 100)
	if _, judged := JudgeCanary(ps[0], few, 10); judged {
		t.Errorf("judged %d samples, under the default minSamples %d", few.Canary.Samples, policies.DefaultCanaryMinSamples)
	}
	if _, judged := JudgeCanary(ps[0], obs(0.9, 0.9, 0.01, policies.DefaultCanaryMinSamples, 100), 10); !judged {
		t.Error("did not judge the default minSamples")
	}
}
