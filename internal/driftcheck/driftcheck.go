// Package driftcheck runs the drift check a ModelPolicy describes: it reads the policy's
// reference and current data (a path below the data root, an object in object storage, or
// an http(s) URL), maps the policy's drift settings onto the drift engine and returns the
// report. It is the reconciler's DriftChecker and the engine behind `modelops drift
// --policy`.
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

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/objstore"
	"github.com/medimind/modelops/internal/profilecache"
	"github.com/medimind/modelops/internal/report"
	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

var _ reconciler.DriftChecker = (*Checker)(nil)

// maxDownload bounds a dataset fetched over http(s).
const maxDownload = 2 << 30

// Checker runs policy drift checks.
type Checker struct {
	client   *http.Client
	buckets  *objstore.Buckets
	profiles *profilecache.Cache
}

// New returns a Checker; a nil client is http.DefaultClient (each download has its own
// time limit). Data in object storage is read through objstore.Default.
func New(client *http.Client) *Checker {
	return &Checker{client: client}
}

// WithBuckets makes c read data in object storage through buckets.
func (c *Checker) WithBuckets(buckets *objstore.Buckets) *Checker {
	c.buckets = buckets
	return c
}

// WithProfiles makes the checker keep prepared references in cache between checks.
func (c *Checker) WithProfiles(cache *profilecache.Cache) *Checker {
	c.profiles = cache
	return c
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
	return c.report(ctx, p, data, at, false)
}

func (c *Checker) report(ctx context.Context, p *policies.Policy, data fs.FS, at time.Time, histograms bool) (*drift.Report, error) {
	if p.Spec.Data == nil {
		return nil, fmt.Errorf("policy %s has no spec.data", p.Metadata.Name)
	}
	dopts, opts := Options(p)
	opts.Histograms = histograms
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
	for _, src := range []policies.DataSource{p.Spec.Data.Reference, p.Spec.Data.Current} {
		if src.URL == "" && !datafs.IsObjectURL(src.Path) && data == nil {
			return nil, fmt.Errorf("read %s: no data root", src.Path)
		}
	}
	ref, cur := c.source(p.Spec.Data.Reference, data), c.source(p.Spec.Data.Current, data)
	if om.Configured() {
		// Quality, batch effects and correlation need both tables whole: they are read
		// without the profile cache and the memory budget's batches of columns.
		return AnalyzeSources(ctx, ref, cur, Plan{Read: dopts, Compare: opts}, om)
	}
	return CompareSources(ctx, ref, cur, Plan{Read: dopts, Compare: opts, Profiles: c.profiles, Memory: MemoryBudget(p)})
}

// markdownBytes bounds the Markdown rendering: a check run's summary and a proposal body
// each hold it with room to spare under GitHub's 65,535-character limits.
const markdownBytes = 30000

// Check implements reconciler.DriftChecker. Its report, kept on the status branch, holds
// each column's histogram for the web UI.
func (c *Checker) Check(ctx context.Context, p *policies.Policy, data fs.FS, at time.Time) (reconciler.DriftResult, error) {
	rep, err := c.report(ctx, p, data, at, true)
	if err != nil {
		return reconciler.DriftResult{}, err
	}
	keepHistograms(rep, MaxHistograms)
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

// MaxHistograms bounds the columns of a kept report that carry a histogram (about 0.7 KB
// each): a 20,000-column omics panel would otherwise add some 14 MB to every report on the
// status branch. The columns most drifted keep theirs (report.Ranked), which are the ones
// a person looks at.
const MaxHistograms = 500

// keepHistograms drops the histograms of every column but the max most drifted.
func keepHistograms(rep *drift.Report, max int) {
	if len(rep.Columns) <= max {
		return
	}
	keep := map[string]bool{}
	for _, c := range report.Ranked(rep.Columns)[:max] {
		keep[c.Name] = true
	}
	for i := range rep.Columns {
		if !keep[rep.Columns[i].Name] {
			rep.Columns[i].Histogram = nil
		}
	}
}

// source is where a policy's data source is read: its URL, or its path in data.
func (c *Checker) source(src policies.DataSource, data fs.FS) Source {
	if src.URL != "" {
		return Source{URL: src.URL, Client: c.client}
	}
	return Source{FS: data, Path: src.Path, Buckets: c.buckets}
}

// ReadPath reads the table at a policy's data path p: below the data root data, or in
// object storage (through buckets; nil is objstore.Default), where errors and the table
// name the object's URL. It reads as a drift check reads a Source.
func ReadPath(ctx context.Context, buckets *objstore.Buckets, data fs.FS, p string, opts dataset.Options) (*dataset.Table, error) {
	if data == nil && !datafs.IsObjectURL(p) {
		return nil, fmt.Errorf("read %s: no data root", p)
	}
	src := Source{FS: data, Path: p, Buckets: buckets}
	defer src.cleanup()
	opts.Context = ctx
	return src.read(ctx, opts)
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
