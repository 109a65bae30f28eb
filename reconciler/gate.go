package reconciler

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/medimind/modelops/policies"
)

// Criterion names of the promotion gate, in the order they are judged and shown.
const (
	CriterionAUCImprovement       = "auc improvement"
	CriterionPrecisionImprovement = "precision improvement"
	CriterionRecallImprovement    = "recall improvement"
	CriterionAUC                  = "auc"
	CriterionPrecision            = "precision"
	CriterionRecall               = "recall"
	CriterionSamples              = "samples"
	CriterionLatency              = "latency p95 ms"
	CriterionCoverage             = "category coverage"
)

// Comparison operators a criterion uses.
const (
	OpAtLeast = ">="
	OpUnder   = "<"
)

// Criterion is one line of the promotion gate: what the policy wants, what the candidate has
// and whether it passes.
type Criterion struct {
	Name string `json:"name"`
	// Op is ">=" or "<" between Got and Wanted.
	Op     string  `json:"op"`
	Wanted float64 `json:"wanted"`
	// Got is the candidate's figure; for an improvement criterion, candidate minus
	// production. Nil when it cannot be known.
	Got *float64 `json:"got"`
	// Candidate and Production are the two figures compared, where they are known; they are
	// shown side by side in the evaluation table.
	Candidate  *float64 `json:"candidate"`
	Production *float64 `json:"production,omitempty"`
	Pass       bool     `json:"pass"`
	// NotJudged is set when the criterion could not be judged because production's figure
	// is unknown; such a criterion does not pass.
	NotJudged bool `json:"notJudged,omitempty"`
	// Note says why a criterion failed without a comparison.
	Note string `json:"note,omitempty"`
}

// PromotionVerdict is the promotion gate's judgement of one training run's candidate.
type PromotionVerdict struct {
	// Version is the candidate's model version.
	Version string `json:"version"`
	// ProductionVersion is the version the candidate was compared with.
	ProductionVersion string      `json:"productionVersion,omitempty"`
	Passed            bool        `json:"passed"`
	Criteria          []Criterion `json:"criteria"`
	JudgedAt          time.Time   `json:"judgedAt,omitzero"`
	// Note says what was done with a passing verdict when nothing was proposed (the version
	// already serves, or a person declined its proposal).
	Note string `json:"note,omitempty"`
}

// Failed lists the names of the criteria that did not pass.
func (v PromotionVerdict) Failed() []string {
	var out []string
	for _, c := range v.Criteria {
		if !c.Pass {
			out = append(out, c.Name)
		}
	}
	return out
}

// VerdictSummary says in one line whether the candidate passed, and which criteria failed
// with the figures: "candidate 14 FAILED the promotion gate: samples 500 (wanted >= 10000)".
func VerdictSummary(v PromotionVerdict) string {
	if v.Passed {
		return fmt.Sprintf("candidate %s passed the promotion gate", v.Version)
	}
	var failed []string
	for _, c := range v.Criteria {
		if c.Pass {
			continue
		}
		switch {
		case c.Note != "":
			failed = append(failed, fmt.Sprintf("%s (%s)", c.Name, c.Note))
		case strings.HasSuffix(c.Name, " improvement") && c.Got != nil:
			failed = append(failed, fmt.Sprintf("%s %+.4f (wanted %s %+.4f)", c.Name, *c.Got, c.Op, c.Wanted))
		default:
			failed = append(failed, fmt.Sprintf("%s %s (wanted %s %s)", c.Name, formatOpt(c.Name, c.Got), c.Op, formatFigure(c.Name, c.Wanted)))
		}
	}
	if len(failed) == 0 {
		failed = []string{"no criterion was judged"}
	}
	return fmt.Sprintf("candidate %s FAILED the promotion gate: %s", v.Version, strings.Join(failed, ", "))
}

// tolerance absorbs binary floating-point rounding at a boundary: 0.83-0.80 is
// 0.0299999999999999 in float64, yet a candidate at exactly +0.03 must pass. Figures are
// reported to far fewer digits than this, so no real shortfall is hidden.
const tolerance = 1e-9

func atLeast(got, want float64) bool { return got >= want-tolerance*math.Max(1, math.Abs(want)) }

func under(got, limit float64) bool { return got < limit-tolerance*math.Max(1, math.Abs(limit)) }

// JudgePromotion judges a candidate's validation figures against the promotion gate of spec
// (defaults applied). production holds the production version's known figures by metric
// name ("auc", "precision", "recall"). Each criterion is judged only when spec sets it:
//
//   - minImprovement.<m>: candidate minus production >= the improvement. When production's
//     figure is unknown the criterion is not judged and does not pass (fail safe: a
//     candidate is never proposed without evidence that it beats production);
//   - minimums.<m>: candidate >= the minimum;
//   - minSamples: samples >= the minimum;
//   - maxLatencyMs: latency strictly under the maximum;
//   - minCategoryCoverage: coverage >= the minimum.
//
// A missing candidate figure fails its criterion. The verdict passes when every criterion
// passes and at least one was judged. JudgedAt is left for the caller to stamp.
func JudgePromotion(spec policies.PromotionSpec, candidate TrainingMetrics, production map[string]float64) PromotionVerdict {
	var v PromotionVerdict
	figure := func(metric string) *float64 {
		switch metric {
		case policies.MetricAUC:
			return candidate.AUC
		case policies.MetricPrecision:
			return candidate.Precision
		case policies.MetricRecall:
			return candidate.Recall
		}
		return nil
	}
	prod := func(metric string) *float64 {
		if f, ok := production[metric]; ok {
			return &f
		}
		return nil
	}
	metrics := []struct {
		metric           string
		improve, minimum *float64
		improveName      string
		minimumName      string
	}{
		{policies.MetricAUC, spec.MinImprovement.AUC, spec.Minimums.AUC, CriterionAUCImprovement, CriterionAUC},
		{policies.MetricPrecision, spec.MinImprovement.Precision, spec.Minimums.Precision, CriterionPrecisionImprovement, CriterionPrecision},
		{policies.MetricRecall, spec.MinImprovement.Recall, spec.Minimums.Recall, CriterionRecallImprovement, CriterionRecall},
	}
	for _, m := range metrics {
		if m.improve == nil {
			continue
		}
		c := Criterion{Name: m.improveName, Op: OpAtLeast, Wanted: *m.improve, Candidate: figure(m.metric), Production: prod(m.metric)}
		switch {
		case c.Production == nil:
			c.NotJudged = true
			c.Note = fmt.Sprintf("production's %s is unknown: not judged", m.metric)
		case c.Candidate == nil:
			c.Note = fmt.Sprintf("the candidate reported no %s", m.metric)
		default:
			d := *c.Candidate - *c.Production
			c.Got = &d
			c.Pass = atLeast(d, c.Wanted)
		}
		v.Criteria = append(v.Criteria, c)
	}
	for _, m := range metrics {
		if m.minimum == nil {
			continue
		}
		v.Criteria = append(v.Criteria, compare(m.minimumName, OpAtLeast, *m.minimum, figure(m.metric), prod(m.metric)))
	}
	if spec.MinSamples != nil {
		var got *float64
		if candidate.Samples > 0 {
			s := float64(candidate.Samples)
			got = &s
		}
		v.Criteria = append(v.Criteria, compare(CriterionSamples, OpAtLeast, float64(*spec.MinSamples), got, nil))
	}
	if spec.MaxLatencyMs != nil {
		v.Criteria = append(v.Criteria, compare(CriterionLatency, OpUnder, *spec.MaxLatencyMs, candidate.LatencyMs, nil))
	}
	if spec.MinCategoryCoverage != nil {
		v.Criteria = append(v.Criteria, compare(CriterionCoverage, OpAtLeast, *spec.MinCategoryCoverage, candidate.Coverage, nil))
	}
	v.Passed = len(v.Criteria) > 0 && len(v.Failed()) == 0
	return v
}

func compare(name, op string, wanted float64, got, production *float64) Criterion {
	c := Criterion{Name: name, Op: op, Wanted: wanted, Got: got, Candidate: got, Production: production}
	switch {
	case got == nil || math.IsNaN(*got):
		c.Got = nil
		c.Note = "the candidate reported no " + name
	case op == OpUnder:
		c.Pass = under(*got, wanted)
	default:
		c.Pass = atLeast(*got, wanted)
	}
	return c
}

func formatOpt(name string, f *float64) string {
	if f == nil {
		return "—"
	}
	return formatFigure(name, *f)
}

func formatFigure(name string, f float64) string {
	switch name {
	case CriterionSamples:
		return fmt.Sprintf("%.0f", f)
	case CriterionLatency:
		// Milliseconds to four significant digits: 120, 0.007307.
		return strconv.FormatFloat(f, 'g', 4, 64)
	}
	return fmt.Sprintf("%.4f", f)
}
