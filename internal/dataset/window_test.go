package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/medimind/modelops/policies"
)

func TestParseTimestamp(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-01T08:30:00Z", utc("2026-12-01T08:30:00Z")},
		{"2026-12-01T09:30:00.25+01:00", utc("2026-12-01T08:30:00.25Z")},
		{"2026-12-01t08:30:00z", utc("2026-12-01T08:30:00Z")},
		{"2026-12-01 08:30:00", utc("2026-12-01T08:30:00Z")},
		{"2026-12-01T08:30:00", utc("2026-12-01T08:30:00Z")},
		{"2026-12-01T08:30:00.123456789", utc("2026-12-01T08:30:00.123456789Z")},
		{"2026-12-01", utc("2026-12-01T00:00:00Z")},
	} {
		got, ok := ParseTimestamp(c.in)
		if !ok || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
	for _, bad := range []string{"", "NA", "2026-02-30", "2026-12-01T24:00:00Z", "2026-12-01T10:00Z",
		"2026-12-01T10:00:00+0100", "2026-12-1", "1764547200", "2026/12/01", "2026-12-01T10:00:00,5Z",
		" 2026-12-01", "2026-12-01T10:00:00.1234567891Z"} {
		if got, ok := ParseTimestamp(bad); ok {
			t.Errorf("ParseTimestamp(%q) = %v, want no timestamp", bad, got)
		}
	}
}

// windowCase is a case of windows_reference.json, written by scripts/drift_reference.py.
type windowCase struct {
	Name      string
	Source    string
	At        time.Time
	Reference struct {
		Last, Ago string
		MinRows   int
	}
	Current struct {
		Last, Ago string
		MinRows   int
	}
	Expected struct {
		Reference, Current windowExpected
	}
}

type windowExpected struct {
	From, To    time.Time
	Rows        int
	DroppedRows int
	IDs         []int
}

func loadWindowCases(t *testing.T) []windowCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "windows_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Cases []windowCase }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 7 {
		t.Fatalf("%d window cases, want at least 7", len(doc.Cases))
	}
	return doc.Cases
}

func duration(t *testing.T, s string) time.Duration {
	t.Helper()
	if s == "" {
		return 0
	}
	d, err := policies.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestReadWindowsEqualsPandas reads each log of the reference cases, as CSV and converted
// to Parquet with a TIMESTAMP column, and compares each window's rows with those pandas
// selected.
func TestReadWindowsEqualsPandas(t *testing.T) {
	csvRoot := os.DirFS(filepath.Join("testdata", "windows"))
	pqRoot := parquetCopy(t, filepath.Join("testdata", "windows"))
	for _, c := range loadWindowCases(t) {
		windows := []Window{
			NewWindow(c.At, duration(t, c.Reference.Last), duration(t, c.Reference.Ago)),
			NewWindow(c.At, duration(t, c.Current.Last), duration(t, c.Current.Ago)),
		}
		for _, format := range []string{"csv", "parquet"} {
			t.Run(c.Name+"/"+format, func(t *testing.T) {
				root, source := csvRoot, c.Source
				if format == "parquet" {
					root, source = pqRoot, strings.TrimSuffix(source, ".csv")+parquetSuffix(source)
				}
				tables, stats, err := ReadWindows(root, source, "ts", windows, Options{})
				if err != nil {
					t.Fatal(err)
				}
				for i, want := range []windowExpected{c.Expected.Reference, c.Expected.Current} {
					got, tab := stats[i], tables[i]
					checkInvariants(t, tab)
					if !got.From.Equal(want.From) || !got.To.Equal(want.To) || got.Rows != want.Rows || got.Dropped != want.DroppedRows {
						t.Errorf("window %d = [%s, %s) %d rows, %d dropped; pandas: [%s, %s) %d rows, %d dropped", i,
							got.From, got.To, got.Rows, got.Dropped, want.From, want.To, want.Rows, want.DroppedRows)
					}
					if _, ok := tab.Column("ts"); ok {
						t.Errorf("window %d holds the timestamp column", i)
					}
					id, ok := tab.Column("id")
					if !ok || tab.Rows != got.Rows {
						t.Fatalf("window %d: no id column, or %d rows in the table of %d", i, tab.Rows, got.Rows)
					}
					ids := make([]int, len(id.Float))
					for r, v := range id.Float {
						ids[r] = int(v)
					}
					slices.Sort(ids)
					if !slices.Equal(ids, want.IDs) {
						t.Errorf("window %d rows %v\npandas          %v", i, ids, want.IDs)
					}
				}
			})
		}
	}
}

func parquetSuffix(source string) string {
	if strings.HasSuffix(source, ".csv") {
		return ".parquet"
	}
	return ""
}

// logRow is a row of the reference logs as Parquet: the timestamp a TIMESTAMP (UTC,
// nanoseconds), null where the CSV text is no timestamp.
type logRow struct {
	ID int64      `parquet:"id"`
	TS *time.Time `parquet:"ts,optional,timestamp(nanosecond)"`
	X  float64    `parquet:"x"`
}

// parquetCopy copies the tree at dir to a temporary directory with every .csv file written
// as Parquet instead (other files, the corrupt ones included, copied as they are).
func parquetCopy(t *testing.T, dir string) fs.FS {
	t.Helper()
	out := t.TempDir()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		dst := filepath.Join(out, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !strings.HasSuffix(p, ".csv") {
			return os.WriteFile(dst, b, 0o644)
		}
		tab, err := ReadCSV(bytes.NewReader(b), p, Options{Categorical: []string{"ts"}})
		if err != nil {
			return err
		}
		id, _ := tab.Column("id")
		ts, _ := tab.Column("ts")
		x, _ := tab.Column("x")
		rows := make([]logRow, tab.Rows)
		for r := range rows {
			rows[r] = logRow{ID: int64(id.Float[r]), X: x.Float[r]}
			if code := ts.Codes[r]; code >= 0 {
				if v, ok := ParseTimestamp(ts.Dict[code]); ok {
					rows[r].TS = &v
				}
			}
		}
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[logRow](&buf)
		if _, err := w.Write(rows); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		return os.WriteFile(strings.TrimSuffix(dst, ".csv")+".parquet", buf.Bytes(), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return os.DirFS(out)
}

// recordingFS records every name opened or listed through it.
type recordingFS struct {
	fs.FS
	mu    sync.Mutex
	names []string
}

func (r *recordingFS) Open(name string) (fs.File, error) {
	r.mu.Lock()
	r.names = append(r.names, name)
	r.mu.Unlock()
	return r.FS.Open(name)
}

// TestReadWindowsNeverOpensAPrunedPartition: the days outside both windows hold corrupt
// files (the read would fail on them); they are neither listed nor opened, the day that
// only touches a window's open end included.
func TestReadWindowsNeverOpensAPrunedPartition(t *testing.T) {
	rec := &recordingFS{FS: os.DirFS(filepath.Join("testdata", "windows"))}
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	windows := []Window{NewWindow(at, 14*24*time.Hour, 7*24*time.Hour), NewWindow(at, 7*24*time.Hour, 0)}
	if _, _, err := ReadWindows(rec, "partitions", "ts", windows, Options{}); err != nil {
		t.Fatal(err)
	}
	var read int
	for _, n := range rec.names {
		for _, pruned := range []string{"date=2025-06-01", "date=2026-11-15", "date=2026-12-07", "date=2026-11-10", "_SUCCESS", ".part-0.csv.crc"} {
			if strings.Contains(n, pruned) {
				t.Errorf("opened %s, which no window needs", n)
			}
		}
		if strings.HasSuffix(n, ".csv") {
			read++
		}
	}
	if read == 0 {
		t.Fatal("no file opened: the recording sees nothing")
	}

	// Read whole, the log fails on the corrupt partitions: the pruning is what avoids them.
	wide := []Window{NewWindow(at, 1000*24*time.Hour, 0)}
	if _, _, err := ReadWindows(os.DirFS(filepath.Join("testdata", "windows")), "partitions", "ts", wide, Options{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "part-0.parquet") {
		t.Errorf("reading every partition: err = %v, want the corrupt Parquet file's", err)
	}
}

// TestReadWindowsReadsEachFileOnce: a file both windows need is read once for both. In a
// file system that is not the operating system's, ReadFS reads a file whole on one opening;
// the other opening is the Stat that tells a file from a directory.
func TestReadWindowsReadsEachFileOnce(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "windows", "boundaries.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingFS{FS: fstest.MapFS{"boundaries.csv": {Data: b}}}
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	windows := []Window{NewWindow(at, 30*24*time.Hour, 0), NewWindow(at, 7*24*time.Hour, 0)}
	if _, _, err := ReadWindows(rec, "boundaries.csv", "ts", windows, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.names) != 2 {
		t.Errorf("opened %q for two windows, want a stat and one read", rec.names)
	}
}

func TestReadWindowsKindsDictionariesAndInvalidCells(t *testing.T) {
	fsys := fstest.MapFS{
		"log/date=2026-12-01/a.csv": {Data: []byte("ts,ward,v\n2026-12-01T01:00:00Z,A,1\n2026-12-01T02:00:00Z,B,oops\n")},
		"log/date=2026-12-02/b.csv": {Data: []byte("v,ward,ts\n2,C,2026-12-02T01:00:00Z\nbad,A,2026-12-02T02:00:00Z\n3,B,\n")},
	}
	at := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	windows := []Window{NewWindow(at, 48*time.Hour, 0), NewWindow(at, 24*time.Hour, 0)}
	tables, stats, err := ReadWindows(fsys, "log", "ts", windows, Options{Numeric: []string{"v"}, Invalid: InvalidIgnore})
	if err != nil {
		t.Fatal(err)
	}
	ref, cur := tables[0], tables[1]
	checkTable(t, ref, 4, str("ward", "A", "B", "C", "A"), num("v", "1", missingCell, "2", missingCell))
	checkTable(t, cur, 2, str("ward", "C", "A"), num("v", "2", missingCell))
	if &ref.Columns[0].Dict[0] != &cur.Columns[0].Dict[0] {
		t.Error("the windows' dictionaries are not shared")
	}
	if got := []int{ref.Columns[1].Invalid, cur.Columns[1].Invalid}; !slices.Equal(got, []int{2, 1}) {
		t.Errorf("invalid cells per window = %v, want [2 1] (the cells of the rows each window took)", got)
	}
	if stats[0].Dropped != 1 || stats[1].Dropped != 1 {
		t.Errorf("dropped = %d, %d; want the one row without a timestamp in each window's files", stats[0].Dropped, stats[1].Dropped)
	}

	// A file without the timestamp column, or a partition directory that is no date, is an
	// error naming it.
	fsys["log/date=2026-12-02/c.csv"] = &fstest.MapFile{Data: []byte("v,ward\n1,A\n")}
	if _, _, err := ReadWindows(fsys, "log", "ts", windows, Options{}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), `log/date=2026-12-02/c.csv: column "ts": no such column`) {
		t.Errorf("err = %v", err)
	}
	delete(fsys, "log/date=2026-12-02/c.csv")
	fsys["log/date=12-02/c.csv"] = &fstest.MapFile{Data: []byte("v,ward,ts\n1,A,2026-12-02\n")}
	if _, _, err := ReadWindows(fsys, "log", "ts", windows, Options{}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "log/date=12-02: partition directory date=\"12-02\", want date=YYYY-MM-DD") {
		t.Errorf("err = %v", err)
	}
}

func TestReadWindowsOfAnEmptyDirectory(t *testing.T) {
	fsys := fstest.MapFS{"log/date=2020-01-01/a.csv": {Data: []byte("ts,v\n2020-01-01,1\n")}}
	at := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	tables, stats, err := ReadWindows(fsys, path.Clean("log/"), "ts", []Window{NewWindow(at, time.Hour, 0)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tables[0].Rows != 0 || len(tables[0].Columns) != 0 || stats[0].Rows != 0 {
		t.Errorf("window of no files = %+v, %+v", tables[0], stats[0])
	}
}
