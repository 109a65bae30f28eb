package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// Trainer settings.
const (
	// ValidationShare of the reference rows is held out to judge the model.
	ValidationShare = 0.25
	// Lambda is the ridge penalty on the standardised coefficients.
	Lambda = 1.0
	// DecisionThreshold is where precision and recall are read.
	DecisionThreshold = 0.5
	// maxLevels bounds the levels one-hot encoded from a string column; columns with more
	// (identifiers, timestamps) carry no signal a linear model can use and are left out.
	maxLevels = 50
)

// TrainOptions says what Train trains, as the local runner's job environment gives it.
type TrainOptions struct {
	// Dir is the policy repository's working directory: the policy of Model and its
	// reference data are read from there.
	Dir string
	// Model is the model's metadata.name ($MODELOPS_MODEL).
	Model string
	// Generation is the training generation ($MODELOPS_GENERATION).
	Generation int64
	// Output is where result.json and model.json are written ($MODELOPS_OUTPUT).
	Output string
	// Seed fixes the train/validation split.
	Seed uint64
}

// ModelFile is the fitted model as Train writes it to model.json.
type ModelFile struct {
	Model      string   `json:"model"`
	Generation int64    `json:"generation"`
	TrainedOn  string   `json:"trainedOn"`
	Seed       uint64   `json:"seed"`
	TrainRows  int      `json:"trainRows"`
	Features   []string `json:"features"`
	// Means and Scales standardise each feature before Logistic applies.
	Means    []float64 `json:"means"`
	Scales   []float64 `json:"scales"`
	Logistic *Logistic `json:"logistic"`
}

// Train fits a logistic regression to the reference data the model's policy names, on a
// seeded split of the rows, judges it on the held-out rows, and writes model.json and
// result.json (SPEC.md "Jobs") to o.Output. Numeric columns are standardised (missing values
// take the training mean); string and categorical columns are one-hot encoded; the policy's
// excluded columns are not read. The same inputs and seed give the same model and figures,
// except the measured latency.
func Train(ctx context.Context, o TrainOptions) (*reconciler.RunResult, error) {
	if o.Model == "" || o.Output == "" {
		return nil, errors.New("train: the model and the output directory are required ($MODELOPS_MODEL, $MODELOPS_OUTPUT)")
	}
	set, err := policies.LoadDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	p := set.Get(o.Model)
	if p == nil {
		return nil, fmt.Errorf("train: no valid policy for model %q in %s", o.Model, o.Dir)
	}
	d := p.Spec.Data
	if d == nil || d.Reference.Path == "" {
		return nil, fmt.Errorf("train: policy %s (%s) names no local reference data (spec.data.reference.path)", o.Model, p.File)
	}
	path := filepath.Join(o.Dir, filepath.FromSlash(d.Reference.Path))
	tab, err := dataset.Read(path, dataset.Options{Categorical: d.Categorical, Exclude: d.Exclude})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	des, err := newDesign(tab, Label)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}

	train, valid := split(len(des.rows), o.Seed)
	// split shuffles positions in des.rows; the design is indexed by table row.
	for _, idx := range [][]int{train, valid} {
		for i, k := range idx {
			idx[i] = des.rows[k]
		}
	}
	if len(valid) == 0 || len(train) == 0 {
		return nil, fmt.Errorf("train: %s: %d labelled rows are too few to split", path, len(des.rows))
	}
	des.standardise(train)
	x := mat.NewDense(len(train), len(des.features), nil)
	y := make([]float64, len(train))
	row := make([]float64, len(des.features))
	for i, r := range train {
		des.encode(r, row)
		x.SetRow(i, row)
		y[i] = des.labels[r]
	}
	model, err := FitLogistic(x, y, Lambda)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}

	// Score the held-out rows from the raw table, encoding included, to measure what
	// scoring one row costs.
	scores := make([]float64, len(valid))
	labels := make([]bool, len(valid))
	start := time.Now()
	for i, r := range valid {
		des.encode(r, row)
		scores[i] = model.Predict(row)
	}
	elapsed := time.Since(start)
	for i, r := range valid {
		labels[i] = des.labels[r] == 1
	}
	auc, err := AUC(scores, labels)
	if err != nil {
		return nil, fmt.Errorf("train: judge on %d held-out rows: %w", len(valid), err)
	}
	precision, recall := PrecisionRecall(scores, labels, DecisionThreshold)
	latency := float64(elapsed.Nanoseconds()) / 1e6 / float64(len(valid))

	if err := os.MkdirAll(o.Output, 0o755); err != nil {
		return nil, fmt.Errorf("train: create output: %w", err)
	}
	modelPath, err := filepath.Abs(filepath.Join(o.Output, "model.json"))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	mf := ModelFile{
		Model: o.Model, Generation: o.Generation, TrainedOn: d.Reference.Path, Seed: o.Seed, TrainRows: len(train),
		Features: des.features, Means: des.means, Scales: des.scales, Logistic: model,
	}
	if err := writeJSON(modelPath, mf); err != nil {
		return nil, err
	}
	res := &reconciler.RunResult{
		Version: candidateVersion(p, o.Generation),
		URI:     "file://" + filepath.ToSlash(modelPath),
		Metrics: reconciler.TrainingMetrics{
			AUC: &auc, Precision: &precision, Recall: &recall,
			Samples: int64(len(valid)), LatencyMs: &latency,
			Coverage: coverage(tab, valid, p.Spec.Promotion.Categories),
		},
	}
	if err := writeJSON(filepath.Join(o.Output, "result.json"), res); err != nil {
		return nil, err
	}
	return res, nil
}

// candidateVersion names the trained model as a registry would: the production version
// plus one when it is a number ("12" → "13"), gen-<generation> otherwise.
func candidateVersion(p *policies.Policy, gen int64) string {
	if pv := p.Spec.Production; pv != nil {
		if n, err := strconv.ParseInt(pv.Version, 10, 64); err == nil {
			return strconv.FormatInt(n+1, 10)
		}
	}
	return fmt.Sprintf("gen-%d", gen)
}

// coverage is the share of the expected categories that the held-out rows' CategoryColumn
// holds; nil without expected categories or without the column.
func coverage(tab *dataset.Table, rows []int, expected []string) *float64 {
	col, ok := tab.Column(CategoryColumn)
	if len(expected) == 0 || !ok || col.IsNumeric() {
		return nil
	}
	want := map[string]bool{}
	for _, c := range expected {
		want[c] = false
	}
	for _, r := range rows {
		if code := col.Codes[r]; code >= 0 {
			if _, ok := want[col.Dict[code]]; ok {
				want[col.Dict[code]] = true
			}
		}
	}
	seen := 0
	for _, ok := range want {
		if ok {
			seen++
		}
	}
	v := float64(seen) / float64(len(want))
	return &v
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// split shuffles the row indices 0..n-1 with seed and holds out ValidationShare of them.
func split(n int, seed uint64) (train, valid []int) {
	perm := rand.New(rand.NewPCG(seed, 0x7e57)).Perm(n)
	nValid := int(math.Round(float64(n) * ValidationShare))
	return perm[nValid:], perm[:nValid]
}

// design turns table rows into feature vectors.
type design struct {
	tab *dataset.Table
	// rows are the table rows with a label; labels[r] is row r's label.
	rows   []int
	labels map[int]float64
	// features names each vector position; inputs says where it comes from.
	features []string
	inputs   []input
	// means and scales standardise each position (set by standardise).
	means, scales []float64
}

// input is one feature: a numeric column, or one level of a string column (1 when the row
// holds it, else 0).
type input struct {
	col   *dataset.Column
	level int32 // -1 for numeric
}

func newDesign(tab *dataset.Table, label string) (*design, error) {
	lab, ok := tab.Column(label)
	if !ok {
		return nil, fmt.Errorf("column %q: no such column, expected the 0/1 label", label)
	}
	if !lab.IsNumeric() {
		return nil, fmt.Errorf("column %q: expected 0 or 1, got text such as %q", label, firstText(lab))
	}
	d := &design{tab: tab, labels: map[int]float64{}}
	for r, v := range lab.Float {
		switch {
		case math.IsNaN(v):
			continue // unlabelled rows are not used
		case v != 0 && v != 1:
			return nil, fmt.Errorf("row %d: column %q: expected 0 or 1, got %g", r+1, label, v)
		}
		d.rows = append(d.rows, r)
		d.labels[r] = v
	}
	for i := range tab.Columns {
		c := &tab.Columns[i]
		if c.Name == label {
			continue
		}
		if c.IsNumeric() {
			d.features = append(d.features, c.Name)
			d.inputs = append(d.inputs, input{col: c, level: -1})
			continue
		}
		levels := sortedLevels(c.Dict, c.Codes)
		if len(levels) < 2 || len(levels) > maxLevels {
			continue
		}
		code := map[string]int32{}
		for k, s := range c.Dict {
			code[s] = int32(k)
		}
		// The first level is the baseline, absorbed by the intercept.
		for _, lv := range levels[1:] {
			d.features = append(d.features, c.Name+"="+lv)
			d.inputs = append(d.inputs, input{col: c, level: code[lv]})
		}
	}
	if len(d.features) == 0 {
		return nil, errors.New("no feature columns besides the label")
	}
	return d, nil
}

func firstText(c *dataset.Column) string {
	for _, code := range c.Codes {
		if code >= 0 {
			return c.Dict[code]
		}
	}
	return ""
}

// raw returns feature j of row r before standardising; NaN when missing.
func (d *design) raw(r, j int) float64 {
	in := d.inputs[j]
	if in.level < 0 {
		return in.col.Float[r]
	}
	switch code := in.col.Codes[r]; {
	case code < 0:
		return math.NaN()
	case code == in.level:
		return 1
	default:
		return 0
	}
}

// standardise sets each feature's mean and scale from the training rows. A constant
// feature keeps scale 1, so it encodes as 0 everywhere.
func (d *design) standardise(train []int) {
	d.means = make([]float64, len(d.features))
	d.scales = make([]float64, len(d.features))
	for j := range d.features {
		var sum, sq, n float64
		for _, r := range train {
			if v := d.raw(r, j); !math.IsNaN(v) && !math.IsInf(v, 0) {
				sum += v
				sq += v * v
				n++
			}
		}
		mean, sd := 0.0, 0.0
		if n > 0 {
			mean = sum / n
			sd = math.Sqrt(math.Max(0, sq/n-mean*mean))
		}
		if sd == 0 {
			sd = 1
		}
		d.means[j], d.scales[j] = mean, sd
	}
}

// encode writes the standardised features of row r into dst; missing values encode as the
// training mean (0).
func (d *design) encode(r int, dst []float64) {
	for j := range d.features {
		v := d.raw(r, j)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			dst[j] = 0
			continue
		}
		dst[j] = (v - d.means[j]) / d.scales[j]
	}
}

// sortedLevels returns the distinct non-missing levels of a string column, sorted.
func sortedLevels(dict []string, codes []int32) []string {
	seen := make([]bool, len(dict))
	var out []string
	for _, c := range codes {
		if c >= 0 && !seen[c] {
			seen[c] = true
			out = append(out, dict[c])
		}
	}
	slices.Sort(out)
	return out
}
