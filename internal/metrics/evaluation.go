package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/dataset"
)

// DefaultThreshold is the score at and above which a prediction counts as positive when
// Options.Threshold is nil.
const DefaultThreshold = 0.5

// Options say which rows of a log to evaluate and how.
type Options struct {
	// Threshold is the score at and above which a prediction is positive for precision
	// and recall; nil means DefaultThreshold. Any finite number is allowed.
	Threshold *float64
	// Version, when not empty, restricts the evaluation to that model version: the
	// top-level figures are its figures and Result.ByVersion holds only it.
	Version string
	// Categories are the expected categories for coverage; none leaves coverage null.
	// Duplicates count once. The log must then have a category column.
	Categories []string
	// Since and Until, when not zero, keep the rows with Since <= timestamp < Until (a
	// canary window). The log must then have a timestamp column with a time on every
	// row; without a window the timestamp column is not read.
	Since, Until time.Time
	// Limits bound what reading the log may cost, as they bound a drift check's data
	// files: a log over a limit is refused with an error naming it and the limit. Zero
	// fields take dataset.DefaultLimits.
	Limits dataset.Limits

	// maxDistinct overrides distinctCap (tests exercise the spill with small values).
	maxDistinct int
}

// Evaluation is the figures of one set of predictions (SPEC.md, modelops evaluate).
type Evaluation struct {
	// Samples is the number of scored rows: rows with both a label and a score.
	Samples int64 `json:"samples"`
	// Positives is the number of scored rows labelled 1.
	Positives int64 `json:"positives"`
	// Unlabelled is the number of rows without a label or without a score.
	Unlabelled int64 `json:"unlabelled"`
	// AUC is the area under the ROC curve, ties counting one half as in sklearn's
	// roc_auc_score; nil unless the scored rows hold both classes.
	AUC *float64 `json:"auc"`
	// AUCStdErr is the standard error of AUC by DeLong's method (see CompareAUC); nil
	// when AUC is nil or the scored rows hold fewer than 2 positives or 2 negatives.
	// It is not encoded: the fields of `modelops evaluate -o json` are a documented,
	// fixed set (SPEC.md), and "aucStdErr" joins them when that contract says so.
	AUCStdErr *float64 `json:"-"`
	// Precision is TP / (TP + FP) with score >= Threshold predicted positive; 0 with no
	// predicted positives.
	Precision float64 `json:"precision"`
	// Recall is TP / Positives; 0 with no positives.
	Recall float64 `json:"recall"`
	// Threshold is the threshold of Precision and Recall.
	Threshold float64 `json:"threshold"`
	// LatencyP95Ms is the 95th percentile of latency_ms over the rows with a latency,
	// labelled or not, interpolated as numpy.percentile does by default; nil with none.
	LatencyP95Ms *float64 `json:"latencyP95Ms"`
	// Coverage is the share of the expected categories seen on at least one scored row;
	// nil when no categories are expected.
	Coverage *float64 `json:"coverage"`
}

// Result is the evaluation of a log: the top-level figures (all rows, or the one version
// asked for) and the figures of each version.
type Result struct {
	Evaluation
	ByVersion map[string]*Evaluation `json:"byVersion"`
	// Versions lists, sorted, every version of the log, also those the options left
	// out (a typo in Options.Version shows as a version missing from this list).
	Versions []string `json:"-"`
}

// Prediction is one row of a prediction log.
type Prediction struct {
	Version string
	// Score is the model's score; NaN when missing. It must not be infinite.
	Score float64
	// Label is 0 or 1, or -1 when missing.
	Label int8
	// LatencyMs is the serving latency in milliseconds; NaN when missing. It must be
	// finite and not negative.
	LatencyMs float64
	// Category is the row's category (cohort, site); empty when missing.
	Category string
}

// ErrInvalidPrediction is returned by Accumulator.Add for a value outside its domain.
var ErrInvalidPrediction = errors.New("invalid prediction")

// distinctCap is the number of distinct scores per version counted value by value before
// the version keeps its scores one by one (see scoreSet).
const distinctCap = 1 << 16

// Accumulator computes an Evaluation from predictions added one at a time. Its memory is
// described in the package documentation. It is not safe for concurrent use.
type Accumulator struct {
	threshold   float64
	version     string
	categories  []string       // expected, duplicates removed
	catIndex    map[string]int // category -> index in categories
	maxDistinct int
	stats       map[string]*versionStats
	seen        map[string]struct{} // every version added, also those filtered out
}

// versionStats accumulates the figures of one version.
type versionStats struct {
	samples, positives, unlabelled int64
	tp, fp                         int64 // scored rows with score >= threshold, by label
	scores                         scoreSet
	latency                        chunks
	covered                        []bool // per expected category
}

// NewAccumulator returns an empty accumulator. Options.Since and Until are not applied
// by it (a Prediction carries no time); readers apply them. It fails when the threshold
// is not finite or an expected category is empty.
func NewAccumulator(opts Options) (*Accumulator, error) {
	a := &Accumulator{threshold: DefaultThreshold, version: opts.Version, maxDistinct: distinctCap,
		stats: map[string]*versionStats{}, seen: map[string]struct{}{}}
	if opts.maxDistinct > 0 {
		a.maxDistinct = opts.maxDistinct
	}
	if t := opts.Threshold; t != nil {
		if math.IsNaN(*t) || math.IsInf(*t, 0) {
			return nil, fmt.Errorf("threshold %v: want a finite number", *t)
		}
		a.threshold = *t
	}
	if len(opts.Categories) > 0 {
		a.catIndex = make(map[string]int, len(opts.Categories))
		a.categories = []string{}
		for _, c := range opts.Categories {
			if strings.TrimSpace(c) == "" {
				return nil, fmt.Errorf("expected categories %q: empty category name", opts.Categories)
			}
			if _, dup := a.catIndex[c]; dup {
				continue
			}
			a.catIndex[c] = len(a.categories)
			a.categories = append(a.categories, c)
		}
	}
	return a, nil
}

// Add adds one prediction. It returns an error wrapping ErrInvalidPrediction, naming the
// field, for an infinite score, a label other than -1, 0 or 1, or a latency that is
// infinite or negative; the prediction is then not counted.
func (a *Accumulator) Add(p Prediction) error {
	switch {
	case math.IsInf(p.Score, 0):
		return fmt.Errorf("%w: score: %s", ErrInvalidPrediction, msgScore)
	case p.Label < -1 || p.Label > 1:
		return fmt.Errorf("%w: label: want 0, 1 or -1 (missing), got %d", ErrInvalidPrediction, p.Label)
	case !validLatency(p.LatencyMs):
		return fmt.Errorf("%w: latency: %s", ErrInvalidPrediction, msgLatency)
	}
	vs := a.statsFor(p.Version)
	if vs == nil {
		return nil
	}
	cat := -1
	if a.catIndex != nil && p.Category != "" {
		if i, ok := a.catIndex[p.Category]; ok {
			cat = i
		}
	}
	a.add(vs, p.Score, p.Label, p.LatencyMs, cat)
	return nil
}

// Messages shared by Add and the readers.
const (
	msgScore   = "want a finite score"
	msgLatency = "want a finite latency >= 0 in milliseconds"
)

// validLatency reports whether v is a latency Add accepts (NaN is missing).
func validLatency(v float64) bool { return math.IsNaN(v) || (v >= 0 && !math.IsInf(v, 1)) }

// statsFor returns the stats of version, creating them; nil when the options leave the
// version out. The lookup with a string converted from bytes does not allocate, so
// readers may pass one; a new version's name is cloned.
func (a *Accumulator) statsFor(version string) *versionStats {
	if vs, ok := a.stats[version]; ok {
		return vs
	}
	a.see(version)
	if a.version != "" && version != a.version {
		return nil
	}
	return a.newStats(version)
}

// newStats adds empty stats for version.
func (a *Accumulator) newStats(version string) *versionStats {
	vs := &versionStats{}
	vs.scores.maxDistinct = a.maxDistinct
	if a.categories != nil {
		vs.covered = make([]bool, len(a.categories))
	}
	a.stats[strings.Clone(version)] = vs
	return vs
}

// statsForBytes is statsFor for a version read as bytes, without allocating once the
// version is known.
func (a *Accumulator) statsForBytes(version []byte) *versionStats {
	if vs, ok := a.stats[string(version)]; ok {
		return vs
	}
	if _, ok := a.seen[string(version)]; ok && a.version != "" && string(version) != a.version {
		return nil
	}
	return a.statsFor(string(version))
}

// seeBytes is see for a version read as bytes.
func (a *Accumulator) seeBytes(version []byte) {
	if _, ok := a.seen[string(version)]; !ok {
		a.see(string(version))
	}
}

// see records that the log has version.
func (a *Accumulator) see(version string) {
	if _, ok := a.seen[version]; !ok {
		a.seen[strings.Clone(version)] = struct{}{}
	}
}

// bytes estimates the memory the accumulated values take.
func (a *Accumulator) bytes() int64 {
	var n int64
	for _, vs := range a.stats {
		n += vs.latency.bytes() + vs.scores.raw[0].bytes() + vs.scores.raw[1].bytes()
		n += int64(cap(vs.scores.runs))*24 + int64(len(vs.scores.index))*16
	}
	return n
}

// add counts one checked row: score NaN and label -1 mean missing, latency NaN missing,
// cat is the index of an expected category or -1.
func (a *Accumulator) add(vs *versionStats, score float64, label int8, latency float64, cat int) {
	if !math.IsNaN(latency) {
		vs.latency.add(latency)
	}
	if label < 0 || math.IsNaN(score) {
		vs.unlabelled++
		return
	}
	vs.samples++
	positive := label == 1
	if positive {
		vs.positives++
	}
	if score >= a.threshold {
		if positive {
			vs.tp++
		} else {
			vs.fp++
		}
	}
	vs.scores.add(score, positive)
	if cat >= 0 {
		vs.covered[cat] = true
	}
}

// Result computes the figures of everything added so far. It may be called again after
// more predictions are added. With Options.Version set, the version appears in ByVersion
// (with zero samples) even when no prediction of it was added.
func (a *Accumulator) Result() *Result {
	if _, ok := a.stats[a.version]; a.version != "" && !ok {
		a.newStats(a.version) // reported with zero samples, but not a version of the log
	}
	res := &Result{ByVersion: make(map[string]*Evaluation, len(a.stats))}
	for v := range a.seen {
		res.Versions = append(res.Versions, v)
	}
	slices.Sort(res.Versions)
	all := make([]*versionStats, 0, len(a.stats))
	for v, vs := range a.stats {
		vs.scores.sort()
		res.ByVersion[v] = a.evaluate([]*versionStats{vs})
		all = append(all, vs)
	}
	res.Evaluation = *a.evaluate(all)
	return res
}

// evaluate computes the figures of the union of the given versions' predictions.
func (a *Accumulator) evaluate(group []*versionStats) *Evaluation {
	e := &Evaluation{Threshold: a.threshold}
	var tp, fp int64
	var covered []bool
	if a.categories != nil {
		covered = make([]bool, len(a.categories))
	}
	var latency [][]float64
	sets := make([]*scoreSet, len(group))
	for i, vs := range group {
		e.Samples += vs.samples
		e.Positives += vs.positives
		e.Unlabelled += vs.unlabelled
		tp += vs.tp
		fp += vs.fp
		for j, c := range vs.covered {
			covered[j] = covered[j] || c
		}
		latency = append(latency, vs.latency.c...)
		sets[i] = &vs.scores
	}
	if tp+fp > 0 {
		e.Precision = float64(tp) / float64(tp+fp)
	}
	if e.Positives > 0 {
		e.Recall = float64(tp) / float64(e.Positives)
	}
	if negatives := e.Samples - e.Positives; e.Positives > 0 && negatives > 0 {
		auc, se := aucDeLong(sets, e.Positives, negatives)
		e.AUC, e.AUCStdErr = &auc, se
	}
	if p, ok := percentile95(latency); ok {
		e.LatencyP95Ms = &p
	}
	if covered != nil {
		n := 0
		for _, c := range covered {
			if c {
				n++
			}
		}
		cov := float64(n) / float64(len(covered))
		e.Coverage = &cov
	}
	return e
}
