// Package drifthistory reads a model's drift reports from the status branch into a history
// (time, verdict, dataset and group shares, and, when the reports have them, windows,
// quality findings, batch and correlation verdicts) and renders it as a table or JSON.
//
// Reports are read by their JSON contract (`modelops drift -o json`), field by field, so
// that a history holds every report whatever version of modelops wrote it: a field a report
// lacks is left out of its entry.
package drifthistory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// History is a model's drift reports, oldest first; its JSON form is the stable output of
// `modelops drift history -o json`.
type History struct {
	Model string `json:"model"`
	// Branch and Commit are the status branch and the commit the reports were read at.
	Branch string `json:"branch"`
	Commit string `json:"commit"`
	// Since is the earliest report time asked for; unset for the whole history.
	Since   time.Time `json:"since,omitzero"`
	Reports []Entry   `json:"reports"`
}

// Entry is one drift report.
type Entry struct {
	Time time.Time `json:"time"`
	// Report is the report's path on the status branch.
	Report string `json:"report"`
	// Verdict is drifted, no-drift or insufficient-data (reconciler.DriftRecord.Outcome).
	Verdict        reconciler.DriftOutcome `json:"verdict"`
	Share          float64                 `json:"share"`
	DatasetShare   float64                 `json:"datasetShare"`
	Columns        int                     `json:"columns"`
	DriftedColumns int                     `json:"driftedColumns"`
	Groups         []Group                 `json:"groups"`
	// Interval is the adaptive schedule's interval when the report was made (recorded
	// with spec.drift.adaptive only).
	Interval *policies.Duration `json:"interval,omitempty"`
	// Windows are the rows each window held, for a policy with spec.data.source.
	Windows *Windows `json:"windows,omitempty"`
	// QualityFindings counts the report's data quality findings, with spec.drift.quality.
	QualityFindings *int `json:"qualityFindings,omitempty"`
	// Batch is the batch-effect verdict, with spec.drift.batch.
	Batch *Batch `json:"batch,omitempty"`
	// Correlation is the verdict per pair of groups, with spec.drift.correlation.
	Correlation []Correlation `json:"correlation,omitempty"`
}

// Group is one feature group's share of drifted columns.
type Group struct {
	Name    string  `json:"name"`
	Share   float64 `json:"share"`
	Drifted bool    `json:"drifted"`
}

// Windows are the reference and current windows of a timestamped log.
type Windows struct {
	Reference *Window `json:"reference,omitempty"`
	Current   *Window `json:"current,omitempty"`
}

// Window is the rows one window held, as the report gives them.
type Window struct {
	From        string `json:"from,omitempty"`
	To          string `json:"to,omitempty"`
	Rows        int    `json:"rows"`
	DroppedRows int    `json:"droppedRows"`
}

// Batch is a report's batch-effect verdict and its suspect batches.
type Batch struct {
	Column  string   `json:"column"`
	Effect  bool     `json:"effect"`
	Suspect []string `json:"suspect"`
}

// Correlation is the verdict on one pair of groups.
type Correlation struct {
	Groups  [2]string `json:"groups"`
	Tested  int       `json:"tested"`
	Changed int       `json:"changed"`
	Share   float64   `json:"share"`
	Drifted bool      `json:"drifted"`
}

// storedReport is what a history reads of a report file.
type storedReport struct {
	Drifted      bool    `json:"drifted"`
	Share        float64 `json:"share"`
	DatasetShare float64 `json:"datasetShare"`
	Columns      []struct {
		Drifted bool `json:"drifted"`
	} `json:"columns"`
	Groups  []Group           `json:"groups"`
	Windows *Windows          `json:"windows"`
	Quality []json.RawMessage `json:"quality"`
	Batch   *struct {
		Column  string `json:"column"`
		Effect  bool   `json:"effect"`
		Batches []struct {
			Name    string `json:"name"`
			Suspect bool   `json:"suspect"`
		} `json:"batches"`
	} `json:"batch"`
	Correlation []Correlation `json:"correlation"`
}

// ErrNoReports is returned by Read for a model with no drift report on the branch.
var ErrNoReports = errors.New("no drift reports")

// Read returns model's drift reports in files (the status branch's tree) made at or after
// since (zero for all), oldest first. records are the model's recorded summaries, which
// give each report's adaptive interval; they may be nil. A model without any report gives
// ErrNoReports; one whose reports all precede since gives none.
func Read(files fs.FS, model string, since time.Time, records []reconciler.DriftRecord) ([]Entry, error) {
	dir := reconciler.DriftReportsDir(model)
	dirEntries, err := fs.ReadDir(files, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoReports
	}
	if err != nil {
		return nil, fmt.Errorf("list the drift reports of %s: %w", model, err)
	}
	intervals := map[string]policies.Duration{}
	for _, r := range records {
		if r.Interval.Duration > 0 {
			intervals[r.Report] = r.Interval
		}
	}
	out := []Entry{}
	found := false
	for _, de := range dirEntries {
		t, ok := reconciler.DriftReportTime(de.Name())
		if !ok || de.IsDir() {
			continue
		}
		found = true
		if t.Before(since) {
			continue
		}
		p := path.Join(dir, de.Name())
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		e, err := entryOf(b)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		e.Time, e.Report = t, p
		if iv, ok := intervals[p]; ok {
			e.Interval = &iv
		}
		out = append(out, e)
	}
	if !found {
		return nil, ErrNoReports
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func entryOf(b []byte) (Entry, error) {
	var r storedReport
	if err := json.Unmarshal(b, &r); err != nil {
		return Entry{}, err
	}
	e := Entry{Share: r.Share, DatasetShare: r.DatasetShare, Columns: len(r.Columns), Groups: r.Groups,
		Windows: r.Windows, Correlation: r.Correlation}
	for _, c := range r.Columns {
		if c.Drifted {
			e.DriftedColumns++
		}
	}
	e.Verdict = reconciler.DriftRecord{Drifted: r.Drifted, Columns: e.Columns}.Outcome()
	if e.Groups == nil {
		e.Groups = []Group{}
	}
	if r.Quality != nil {
		n := len(r.Quality)
		e.QualityFindings = &n
	}
	if b := r.Batch; b != nil {
		e.Batch = &Batch{Column: b.Column, Effect: b.Effect, Suspect: []string{}}
		for _, x := range b.Batches {
			if x.Suspect {
				e.Batch.Suspect = append(e.Batch.Suspect, x.Name)
			}
		}
	}
	return e, nil
}
