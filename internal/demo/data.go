package demo

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/policies"
)

// Label is the binary outcome column of the synthetic data, the column the demo trainer
// learns.
const Label = "label"

// DefaultSeed seeds the synthetic data and the trainer's split when nothing else is given.
const DefaultSeed uint64 = 20260302

// Sepsis omics panel: gene_001..gene_030, prot_001..prot_018, met_001..met_012.
const (
	sepsisGenes    = 30
	sepsisProteins = 18
	sepsisMetabs   = 12
	// The current export of the first sepsisShiftedGenes genes comes from a new assay batch
	// whose calibration adds sepsisGeneShift (in standard deviations) to every value.
	sepsisShiftedGenes = 26
	sepsisGeneShift    = 0.6
	// The first sepsisScaledProteins proteins are measured on a noisier instrument:
	// their spread grows by sepsisProteinScale.
	sepsisScaledProteins = 14
	sepsisProteinScale   = 1.8
)

// Synthetic is the synthetic data of one model.
type Synthetic struct {
	Model string
	// Reference and Current are the two tables, Reference first.
	Reference, Current *dataset.Table
	// Planted says, for people, which drift the current data carries.
	Planted string
}

// generators make the synthetic data of the example models, by model name.
var generators = map[string]func(seed uint64) Synthetic{
	"sepsis-risk":            sepsisData,
	"deterioration-wearable": wearableData,
	"readmission-30d":        readmissionData,
}

// Data returns the synthetic data of model, or false when the demo has none for it. The same
// seed gives the same tables.
func Data(model string, seed uint64) (Synthetic, bool) {
	g, ok := generators[model]
	if !ok {
		return Synthetic{}, false
	}
	return g(seed), true
}

// DataFile is one file WriteData wrote.
type DataFile struct {
	Model   string
	Path    string // slash-separated, relative to the repository root
	Rows    int
	Columns int
	Planted string // the drift the file carries, on current files
	Note    string // what else the file is, for people
}

// WriteData writes the synthetic reference and current data of every policy in set that the
// demo has data for, as CSV at the local paths the policy names, below root. Policies whose
// data is given by URL, and models the demo has no data for, are skipped.
func WriteData(root string, set *policies.Set, seed uint64) ([]DataFile, error) {
	var out []DataFile
	for _, p := range set.Policies {
		d := p.Spec.Data
		if d == nil || d.Reference.Path == "" || d.Current.Path == "" {
			continue
		}
		syn, ok := Data(p.Metadata.Name, seed)
		if !ok {
			continue
		}
		for _, f := range []struct {
			path, planted string
			t             *dataset.Table
		}{{d.Reference.Path, "", syn.Reference}, {d.Current.Path, syn.Planted, syn.Current}} {
			if err := writeCSV(filepath.Join(root, filepath.FromSlash(f.path)), f.t); err != nil {
				return nil, err
			}
			out = append(out, DataFile{Model: p.Metadata.Name, Path: f.path, Rows: f.t.Rows, Columns: len(f.t.Columns), Planted: f.planted})
		}
		if m := p.Spec.Metrics; m != nil && m.Predictions != nil && m.Predictions.Path != "" && p.Spec.Production != nil {
			log, err := predictionLog(syn, p.Spec.Production.Version, DefaultStart.Add(-7*24*time.Hour), seed)
			if err != nil {
				return nil, err
			}
			if err := writeCSV(filepath.Join(root, filepath.FromSlash(m.Predictions.Path)), log); err != nil {
				return nil, err
			}
			out = append(out, DataFile{Model: p.Metadata.Name, Path: m.Predictions.Path, Rows: log.Rows, Columns: len(log.Columns),
				Note: "the production version's serving log (simulated; ignored by git)"})
		}
	}
	return out, nil
}

func writeCSV(path string, t *dataset.Table) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	var buf bytes.Buffer
	if err := dataset.WriteCSV(&buf, t); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// sampler draws from gonum's distributions on one seeded source.
type sampler struct{ src rand.Source }

func newSampler(seed, stream uint64) *sampler { return &sampler{src: rand.NewPCG(seed, stream)} }

func (s *sampler) normal(mu, sigma float64) float64 {
	return distuv.Normal{Mu: mu, Sigma: sigma, Src: s.src}.Rand()
}

func (s *sampler) lognormal(mu, sigma float64) float64 {
	return distuv.LogNormal{Mu: mu, Sigma: sigma, Src: s.src}.Rand()
}

func (s *sampler) bernoulli(p float64) float64 {
	return distuv.Bernoulli{P: p, Src: s.src}.Rand()
}

func (s *sampler) poisson(lambda float64) float64 {
	return distuv.Poisson{Lambda: lambda, Src: s.src}.Rand()
}

// choice returns an index drawn with the given weights.
func (s *sampler) choice(weights []float64) int {
	return int(distuv.NewCategorical(weights, s.src).Rand())
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// builder assembles a table column by column, row by row.
type builder struct {
	names []string
	num   map[string][]float64
	str   map[string][]string
	rows  int
}

func newBuilder(names ...string) *builder {
	return &builder{names: names, num: map[string][]float64{}, str: map[string][]string{}}
}

func (b *builder) setNum(name string, v float64) { b.num[name] = append(b.num[name], v) }
func (b *builder) setStr(name string, v string)  { b.str[name] = append(b.str[name], v) }
func (b *builder) endRow()                       { b.rows++ }

func (b *builder) table(source string) *dataset.Table {
	t := &dataset.Table{Source: source, Rows: b.rows}
	for _, n := range b.names {
		if v, ok := b.num[n]; ok {
			t.Columns = append(t.Columns, dataset.Column{Name: n, Float: v})
			continue
		}
		col := dataset.Column{Name: n, Dict: []string{}}
		index := map[string]int32{}
		for _, s := range b.str[n] {
			code, ok := index[s]
			if !ok {
				code = int32(len(col.Dict))
				index[s] = code
				col.Dict = append(col.Dict, s)
			}
			col.Codes = append(col.Codes, code)
		}
		t.Columns = append(t.Columns, col)
	}
	return t
}

func omicsNames() []string {
	var names []string
	for i := 1; i <= sepsisGenes; i++ {
		names = append(names, fmt.Sprintf("gene_%03d", i))
	}
	for i := 1; i <= sepsisProteins; i++ {
		names = append(names, fmt.Sprintf("prot_%03d", i))
	}
	for i := 1; i <= sepsisMetabs; i++ {
		names = append(names, fmt.Sprintf("met_%03d", i))
	}
	return names
}

// CategoryColumn holds the care unit a row comes from: the category that prediction logs
// carry and that the promotion gate's category coverage counts.
const CategoryColumn = "unit"

// sepsisUnits name the ward codes 1..4 as the sepsis policy's promotion.categories do.
var sepsisUnits = []string{"icu", "ward-a", "ward-b", "emergency"}

const (
	// sepsisReferenceRows make a held-out split of 10,000 rows: the seed gate's minSamples.
	sepsisReferenceRows = 40000
	// sepsisSignal scales the true logit: the label is predictable to an AUC near 0.93.
	sepsisSignal = 2.2
)

// sepsisData: clinical features, sex and ward coded as small integers, a 60-column omics
// panel and the sepsis label. The current data carries an assay batch effect (a mean shift
// in gene_001..gene_026) and a noisier protein instrument (wider prot_001..prot_014); the
// patients themselves are alike, so the label rate does not move.
func sepsisData(seed uint64) Synthetic {
	omics := omicsNames()
	names := append([]string{"patient_id", "encounter_id", "scored_at", CategoryColumn, "age", "sex", "ward",
		"heart_rate", "resp_rate", "temperature", "lactate", "wbc", "creatinine", "map"}, omics...)
	names = append(names, Label)
	gen := func(stream uint64, rows int, current bool, from time.Time) *dataset.Table {
		s := newSampler(seed, stream)
		b := newBuilder(names...)
		raw := make([]float64, len(omics))
		for r := range rows {
			b.setStr("patient_id", fmt.Sprintf("P%06d", int(stream)*100000+r))
			b.setStr("encounter_id", fmt.Sprintf("E%07d", int(stream)*1000000+r))
			b.setStr("scored_at", from.Add(time.Duration(r)*7*24*time.Hour/time.Duration(rows)).Format(time.RFC3339))
			zAge := s.normal(0, 1)
			b.setNum("age", clamp(math.Round(64+15*zAge), 18, 95))
			b.setNum("sex", s.bernoulli(0.46))
			ward := s.choice([]float64{0.2, 0.35, 0.3, 0.15})
			b.setNum("ward", float64(1+ward))
			b.setStr(CategoryColumn, sepsisUnits[ward])
			z := func() float64 { return s.normal(0, 1) }
			zHR, zRR, zT, zLac, zWBC, zCr, zMAP := z(), z(), z(), z(), z(), z(), z()
			b.setNum("heart_rate", round(88+16*zHR, 1))
			b.setNum("resp_rate", round(19+4*zRR, 1))
			b.setNum("temperature", round(37.2+0.7*zT, 2))
			b.setNum("lactate", round(math.Exp(0.4+0.45*zLac), 2))
			b.setNum("wbc", round(math.Max(0.5, 10+3.5*zWBC), 1))
			b.setNum("creatinine", round(math.Exp(0.05+0.35*zCr), 2))
			b.setNum("map", round(78+12*zMAP, 1))
			for i := range omics {
				raw[i] = s.normal(0, 1)
			}
			// The label follows the true values; the batch effect is in the measurement only.
			logit := -2.6 + sepsisSignal*(1.2*zLac+0.8*zHR+0.6*zRR-0.7*zMAP+0.5*zWBC+0.3*zCr+0.35*zAge+
				0.7*raw[2]-0.5*raw[16]+0.5*raw[sepsisGenes+4]-0.45*raw[sepsisGenes+sepsisProteins+1])
			for i, n := range omics {
				v := raw[i]
				if current && i < sepsisShiftedGenes {
					v += sepsisGeneShift
				}
				if current && i >= sepsisGenes && i < sepsisGenes+sepsisScaledProteins {
					v *= sepsisProteinScale
				}
				b.setNum(n, round(v, 3))
			}
			b.setNum(Label, s.bernoulli(sigmoid(logit)))
			b.endRow()
		}
		return b.table("sepsis")
	}
	return Synthetic{
		Model:     "sepsis-risk",
		Reference: gen(1, sepsisReferenceRows, false, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)),
		Current:   gen(2, 3000, true, time.Date(2026, 2, 23, 0, 0, 0, 0, time.UTC)),
		Planted: fmt.Sprintf("omics: gene_001..gene_%03d shifted by %.1f sd (assay batch), prot_001..prot_%03d spread ×%.1f",
			sepsisShiftedGenes, sepsisGeneShift, sepsisScaledProteins, sepsisProteinScale),
	}
}

// wearableData: sensor and clinical features of home-monitored patients. The current data
// comes from a new wearable firmware that reads heart rate, skin temperature and voice pitch
// higher, SpO2 lower, and HRV wider.
func wearableData(seed uint64) Synthetic {
	names := []string{"patient_id", "window_start", "device_model", "heart_rate", "spo2", "resp_rate",
		"skin_temp", "voice_pitch", "steps", "hrv_rmssd", "sleep_minutes", "age", "copd", "heart_failure", Label}
	devices := []string{"band-a2", "band-b1", "patch-c3"}
	gen := func(stream uint64, rows int, current bool, from time.Time) *dataset.Table {
		s := newSampler(seed, stream)
		b := newBuilder(names...)
		for r := range rows {
			b.setStr("patient_id", fmt.Sprintf("W%05d", r%900))
			b.setStr("window_start", from.Add(time.Duration(r)*15*time.Minute).Format(time.RFC3339))
			// Devices are handed out from a fixed roster (5:3:2), the same in both periods:
			// the policy's threshold 0.2 applies to the chi-square p-value of this column too,
			// so sampling noise alone would flag it one time in five.
			b.setStr("device_model", devices[[]int{0, 0, 0, 0, 0, 1, 1, 1, 2, 2}[r%10]])
			z := func() float64 { return s.normal(0, 1) }
			zHR, zSpO2, zRR, zTemp, zPitch, zHRV := z(), z(), z(), z(), z(), z()
			copd, hf := s.bernoulli(0.3), s.bernoulli(0.25)
			hr, spo2, temp, pitch, hrv := 78+11*zHR, 96+1.6*zSpO2, 33.5+0.8*zTemp, 165+35*zPitch, 3.4+0.4*zHRV
			if current {
				hr += 9
				spo2 -= 1.6
				temp += 0.9
				pitch += 35
				hrv += 0.4
			}
			b.setNum("heart_rate", round(hr, 1))
			b.setNum("spo2", round(math.Min(100, spo2), 1))
			b.setNum("resp_rate", round(16+3*zRR, 1))
			b.setNum("skin_temp", round(temp, 2))
			b.setNum("voice_pitch", round(pitch, 1))
			b.setNum("steps", s.poisson(300))
			b.setNum("hrv_rmssd", round(math.Exp(hrv), 1))
			b.setNum("sleep_minutes", math.Round(clamp(s.normal(390, 60), 0, 720)))
			b.setNum("age", clamp(math.Round(s.normal(71, 9)), 40, 99))
			b.setNum("copd", copd)
			b.setNum("heart_failure", hf)
			logit := -2.6 + 0.8*zHR - 0.9*zSpO2 + 0.6*zRR + 0.5*copd + 0.6*hf - 0.4*zHRV
			b.setNum(Label, s.bernoulli(sigmoid(logit)))
			b.endRow()
		}
		return b.table("wearable")
	}
	return Synthetic{
		Model:     "deterioration-wearable",
		Reference: gen(3, 3000, false, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Current:   gen(4, 3000, true, time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)),
		Planted:   "sensor: firmware update moves heart_rate, spo2, skin_temp, voice_pitch and hrv_rmssd",
	}
}

// readmissionData: structured discharge fields; reference and current come from the same
// population, so nothing drifts.
func readmissionData(seed uint64) Synthetic {
	names := []string{"patient_id", "discharge_date", "age", "sex", "admission_type", "discharge_disposition", "payer",
		"prior_admissions", "n_medications", "n_diagnoses", "n_procedures", "length_of_stay",
		"hemoglobin", "sodium", "creatinine", "albumin", Label}
	admission := []string{"emergency", "elective", "urgent"}
	disposition := []string{"home", "home-health", "skilled-nursing", "rehab"}
	payer := []string{"medicare", "medicaid", "private", "self-pay"}
	gen := func(stream uint64, rows int, from time.Time) *dataset.Table {
		s := newSampler(seed, stream)
		b := newBuilder(names...)
		for r := range rows {
			b.setStr("patient_id", fmt.Sprintf("R%06d", int(stream)*100000+r))
			b.setStr("discharge_date", from.AddDate(0, 0, r*28/rows).Format(time.DateOnly))
			age := clamp(math.Round(s.normal(67, 14)), 18, 100)
			b.setNum("age", age)
			b.setStr("sex", []string{"F", "M"}[s.choice([]float64{0.52, 0.48})])
			adm := s.choice([]float64{0.6, 0.3, 0.1})
			b.setStr("admission_type", admission[adm])
			disp := s.choice([]float64{0.55, 0.2, 0.15, 0.1})
			b.setStr("discharge_disposition", disposition[disp])
			b.setStr("payer", payer[s.choice([]float64{0.45, 0.2, 0.3, 0.05})])
			prior := s.poisson(0.9)
			b.setNum("prior_admissions", prior)
			meds := s.poisson(9)
			b.setNum("n_medications", meds)
			b.setNum("n_diagnoses", s.poisson(7))
			b.setNum("n_procedures", s.poisson(1.6))
			los := 1 + math.Round(s.lognormal(1.2, 0.6))
			b.setNum("length_of_stay", los)
			hb := s.normal(12.1, 1.8)
			b.setNum("hemoglobin", round(hb, 1))
			b.setNum("sodium", round(s.normal(138.5, 3.5), 1))
			b.setNum("creatinine", round(s.lognormal(0.1, 0.4), 2))
			alb := s.normal(3.4, 0.5)
			b.setNum("albumin", round(alb, 1))
			logit := -2.2 + 0.55*prior + 0.05*(meds-9) + 0.015*(age-67) - 0.18*(hb-12.1) - 0.6*(alb-3.4) +
				0.08*(los-4) + 0.4*float64(btoi(adm == 0)) + 0.35*float64(btoi(disp == 2))
			b.setNum(Label, s.bernoulli(sigmoid(logit)))
			b.endRow()
		}
		return b.table("readmission")
	}
	return Synthetic{
		Model:     "readmission-30d",
		Reference: gen(5, 4000, time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)),
		Current:   gen(6, 3000, time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)),
		Planted:   "none: same population",
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Models lists the models the demo has synthetic data for, sorted.
func Models() []string {
	names := make([]string, 0, len(generators))
	for n := range generators {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
