package driftcheck

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/datafs"
	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/internal/drift"
	"github.com/medimind/modelops/internal/objstore"
	"github.com/medimind/modelops/policies"
)

// Log is a timestamped log and the two windows of it a check compares
// (drift-definitions.md §8).
type Log struct {
	// Path names the log (a file, or a directory partitioned by day) in the data file
	// system; URL, an http(s) file, instead.
	Path, URL string
	// Timestamp is the column holding each row's time.
	Timestamp string
	// Reference and Current are the windows.
	Reference, Current LogWindow
}

// LogWindow is a window {last, ago} of a log and the fewest rows it must hold.
type LogWindow struct {
	Last, Ago time.Duration
	MinRows   int64
}

// LogOf returns the log a policy's spec.data.source names, with its windows; nil when the
// policy compares two files.
func LogOf(p *policies.Policy) *Log {
	d := p.Spec.Data
	if d == nil || d.Source == nil {
		return nil
	}
	window := func(s policies.DataSource) LogWindow {
		return LogWindow{Last: s.Last.Duration, Ago: s.Ago.Duration, MinRows: s.MinRows}
	}
	return &Log{Path: d.Source.Path, URL: d.Source.URL, Timestamp: d.Source.Timestamp,
		Reference: window(d.Reference), Current: window(d.Current)}
}

// Name is the log's path or URL, as errors and reports name it.
func (l *Log) Name() string {
	if l.URL != "" {
		return l.URL
	}
	return l.Path
}

// ReadLog reads the reference and current windows of l at time at, each file of the log
// once, from data (a path) or by downloading it (a URL); ref and cur are comparable as
// dataset.ReadPair makes them. The windows say which rows each held and whether one holds
// too few.
func ReadLog(ctx context.Context, c *Checker, l *Log, data fs.FS, at time.Time, opts dataset.Options) (ref, cur *dataset.Table, w *drift.Windows, err error) {
	windows := []dataset.Window{
		dataset.NewWindow(at, l.Reference.Last, l.Reference.Ago),
		dataset.NewWindow(at, l.Current.Last, l.Current.Ago),
	}
	opts.Context = ctx
	// The log is found as a drift check's Source is: downloaded (a URL), in object storage
	// (an object, or a prefix of partitions), or below the data root.
	if l.URL == "" && data == nil && !datafs.IsObjectURL(l.Path) {
		return nil, nil, nil, fmt.Errorf("read %s: no data root", l.Path)
	}
	src := Source{FS: data, Path: l.Path, URL: l.URL, Client: c.httpClient(), Buckets: c.bucketsOrDefault()}
	defer src.cleanup()
	if err := src.fetch(ctx); err != nil {
		return nil, nil, nil, err
	}
	fsys, name := src.FS, src.Path
	if fsys == nil { // a downloaded file
		fsys, name = os.DirFS(filepath.Dir(src.Path)), filepath.Base(src.Path)
	}
	tables, rows, err := dataset.ReadWindows(fsys, name, l.Timestamp, windows, opts)
	if err != nil {
		if src.Name != "" {
			err = RenameSource(RenameSource(err, src.Path, src.Name), name, src.Name)
		}
		return nil, nil, nil, err
	}
	if src.Name != "" {
		for _, t := range tables {
			t.Source = strings.Replace(t.Source, name, src.Name, 1)
		}
	}
	return tables[0], tables[1], drift.NewWindows(rows[0], rows[1], l.Reference.MinRows, l.Current.MinRows), nil
}

// bucketsOrDefault is where objects are read: the checker's buckets, nil (objstore.Default)
// without a checker.
func (c *Checker) bucketsOrDefault() *objstore.Buckets {
	if c == nil {
		return nil
	}
	return c.buckets
}

// httpClient is the client downloads use; nil is http.DefaultClient.
func (c *Checker) httpClient() *http.Client {
	if c == nil {
		return nil
	}
	return c.client
}
