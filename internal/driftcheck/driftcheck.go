// Package driftcheck runs the drift check a ModelPolicy describes: it reads the policy's
// reference and current data (a path below the data root, or an http(s) URL), maps the
// policy's drift settings onto the drift engine and returns the report. It is the
// reconciler's DriftChecker and the engine behind `modelops drift --policy`.
package driftcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"time"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.DriftChecker = (*Checker)(nil)

// maxDownload bounds a dataset fetched over http(s).
const maxDownload = 2 << 30

// Checker runs policy drift checks.
type Checker struct {
	client *http.Client
}

// New returns a Checker; a nil client uses one with a 5-minute timeout.
func New(client *http.Client) *Checker {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Minute}
	}
	return &Checker{client: client}
}

// Options maps a policy's data and drift settings onto the reader's and the engine's
// options.
func Options(p *policies.Policy) (dataset.Options, drift.Options) {
	var do dataset.Options
	var o drift.Options
	if d := p.Spec.Data; d != nil {
		do.Exclude = d.Exclude
		do.Numeric = d.Numeric
		do.Categorical = d.Categorical
		o.Numeric, o.Categorical, o.Exclude = d.Numeric, d.Categorical, d.Exclude
		for _, name := range sortedGroupNames(d.Groups) {
			g := d.Groups[name]
			o.Groups = append(o.Groups, drift.Group{Name: name, Pattern: g.Pattern, Features: g.Features})
		}
	}
	o.NumericTest = drift.Test(p.Spec.Drift.NumericTest)
	o.CategoricalTest = drift.Test(p.Spec.Drift.CategoricalTest)
	o.Threshold = p.Spec.Drift.Threshold
	o.DatasetShare = p.Spec.Drift.DatasetShare
	return do, o
}

// Report reads the policy's data and compares it.
func (c *Checker) Report(ctx context.Context, p *policies.Policy, data fs.FS) (*drift.Report, error) {
	if p.Spec.Data == nil {
		return nil, fmt.Errorf("policy %s has no spec.data", p.Metadata.Name)
	}
	dopts, opts := Options(p)
	ref, err := c.read(ctx, p.Spec.Data.Reference, data, dopts)
	if err != nil {
		return nil, err
	}
	cur, err := c.read(ctx, p.Spec.Data.Current, data, dopts)
	if err != nil {
		return nil, err
	}
	if err := dataset.Align(ref, cur, dopts); err != nil {
		return nil, err
	}
	return drift.Compare(ctx, ref, cur, opts)
}

// Check implements reconciler.DriftChecker.
func (c *Checker) Check(ctx context.Context, p *policies.Policy, data fs.FS) (reconciler.DriftResult, error) {
	rep, err := c.Report(ctx, p, data)
	if err != nil {
		return reconciler.DriftResult{}, err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return reconciler.DriftResult{}, fmt.Errorf("encode drift report: %w", err)
	}
	drifted := 0
	for _, col := range rep.Columns {
		if col.Drifted {
			drifted++
		}
	}
	return reconciler.DriftResult{
		Drifted: rep.Drifted, Share: rep.Share, DriftedColumns: drifted, Columns: len(rep.Columns),
		Report: append(b, '\n'),
	}, nil
}

func (c *Checker) read(ctx context.Context, src policies.DataSource, data fs.FS, opts dataset.Options) (*dataset.Table, error) {
	if src.URL != "" {
		return c.download(ctx, src.URL, opts)
	}
	if data == nil {
		return nil, fmt.Errorf("read %s: no data root", src.Path)
	}
	return dataset.ReadFS(data, path.Clean(src.Path), opts)
}

// download fetches a dataset over http(s) into a temporary file, so that Parquet can be
// read with random access, and reads it.
func (c *Checker) download(ctx context.Context, url string, opts dataset.Options) (*dataset.Table, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: %s", url, resp.Status)
	}
	f, err := os.CreateTemp("", "modelops-data-*"+path.Ext(req.URL.Path))
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	if n > maxDownload {
		return nil, fmt.Errorf("download %s: larger than %d bytes", url, maxDownload)
	}
	t, err := dataset.Read(f.Name(), opts)
	var de *dataset.DataError
	if errors.As(err, &de) {
		de.Source = url
	}
	if t != nil {
		t.Source = url
	}
	return t, err
}

func sortedGroupNames(m map[string]policies.FeatureGroup) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
