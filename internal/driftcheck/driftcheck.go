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
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/report"
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

// New returns a Checker; a nil client is http.DefaultClient (each download has its own
// time limit).
func New(client *http.Client) *Checker {
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
		do.Invalid = dataset.InvalidValues(d.InvalidValues)
		if l := d.Limits; l != nil {
			do.Limits = dataset.Limits{MaxBytes: l.Bytes(l.MaxBytes), MaxCellBytes: int(l.Bytes(l.MaxCellBytes)), MaxMemory: l.Bytes(l.MaxMemory)}
			if l.MaxRows != nil {
				do.Limits.MaxRows = *l.MaxRows
			}
			if l.MaxColumns != nil {
				do.Limits.MaxColumns = int(*l.MaxColumns)
			}
		}
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

// Report reads the policy's data and compares it, now.
func (c *Checker) Report(ctx context.Context, p *policies.Policy, data fs.FS) (*drift.Report, error) {
	return c.ReportAt(ctx, p, data, time.Now())
}

// ReportAt reads the policy's data and compares it at time at: the windows of a log
// (spec.data.source) end there.
func (c *Checker) ReportAt(ctx context.Context, p *policies.Policy, data fs.FS, at time.Time) (*drift.Report, error) {
	if p.Spec.Data == nil {
		return nil, fmt.Errorf("policy %s has no spec.data", p.Metadata.Name)
	}
	dopts, opts := Options(p)
	om := OmicsOptions(p)
	dopts = om.ReadOptions(dopts)
	dopts.Context = ctx
	if l := LogOf(p); l != nil {
		ref, cur, w, err := ReadLog(ctx, c, l, data, at, dopts)
		if err != nil {
			return nil, err
		}
		return AnalyzeWindows(ctx, ref, cur, w, dopts, opts, om)
	}
	ref, err := c.read(ctx, p.Spec.Data.Reference, data, dopts)
	if err != nil {
		return nil, err
	}
	cur, err := c.read(ctx, p.Spec.Data.Current, data, dataset.CurrentOptions(ref, dopts))
	if err != nil {
		return nil, err
	}
	return Analyze(ctx, ref, cur, dopts, opts, om)
}

// markdownBytes bounds the Markdown rendering: a check run's summary and a proposal body
// each hold it with room to spare under GitHub's 65,535-character limits.
const markdownBytes = 30000

// Check implements reconciler.DriftChecker.
func (c *Checker) Check(ctx context.Context, p *policies.Policy, data fs.FS, at time.Time) (reconciler.DriftResult, error) {
	rep, err := c.ReportAt(ctx, p, data, at)
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
	res := reconciler.DriftResult{
		Drifted: rep.Drifted, Share: rep.Share, DriftedColumns: drifted, Columns: len(rep.Columns),
		InsufficientData: rep.Windows != nil && rep.Windows.InsufficientData,
		Report:           append(b, '\n'),
		Markdown:         report.DriftMarkdown(rep, report.MarkdownOptions{MaxBytes: markdownBytes}),
	}
	omicsResult(&res, rep)
	return res, nil
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

// download fetches a dataset over http(s) into a temporary directory, so that Parquet can
// be read with random access, and reads it. Errors name the URL.
func (c *Checker) download(ctx context.Context, url string, opts dataset.Options) (*dataset.Table, error) {
	dir, err := os.MkdirTemp("", "modelops-data-")
	if err != nil {
		return nil, fmt.Errorf("create download directory: %w", err)
	}
	defer os.RemoveAll(dir)
	file, err := Download(ctx, c.client, url, dir, "data")
	if err != nil {
		return nil, err
	}
	t, err := dataset.Read(file, opts)
	if err != nil {
		return nil, RenameSource(err, file, url)
	}
	t.Source = url
	return t, nil
}

// IsURL reports whether a data source is an http(s) URL rather than a path.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// downloadTimeout bounds one download.
const downloadTimeout = 10 * time.Minute

// Download fetches an http(s) source into dir and returns the file's path; a local path is
// returned as it is. The file keeps the URL's extension, which tells a gzip CSV or a Parquet
// file apart when its first bytes do not. A 404 or 410 counts as a missing file
// (fs.ErrNotExist); a URL without a host is invalid data (dataset.ErrInvalid). A nil client
// is http.DefaultClient.
func Download(ctx context.Context, client *http.Client, src, dir, name string) (string, error) {
	if !IsURL(src) {
		return src, nil
	}
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return "", &dataset.DataError{Source: src, Msg: "want an http or https URL with a host"}
	}
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", src, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", src, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return "", fmt.Errorf("download %s: %s: %w", src, resp.Status, fs.ErrNotExist)
	case resp.StatusCode/100 != 2:
		return "", fmt.Errorf("download %s: %s", src, resp.Status)
	}
	file := filepath.Join(dir, name+strings.ToLower(path.Ext(u.Path)))
	f, err := os.Create(file)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", src, err)
	}
	if _, err := io.Copy(f, io.LimitReader(resp.Body, maxDownload+1)); err != nil {
		f.Close()
		return "", fmt.Errorf("download %s: %w", src, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > maxDownload {
		f.Close()
		return "", fmt.Errorf("download %s: larger than %d bytes", src, int64(maxDownload))
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("download %s: %w", src, err)
	}
	return file, nil
}

// RenameSource makes the data errors inside err that name file name source instead (a
// downloaded file is known to people by its URL).
func RenameSource(err error, file, source string) error {
	if file == source {
		return err
	}
	var walk func(error)
	walk = func(e error) {
		var de *dataset.DataError
		if errors.As(e, &de) && de.Source == file {
			de.Source = source
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
	}
	walk(err)
	return err
}

func sortedGroupNames(m map[string]policies.FeatureGroup) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
