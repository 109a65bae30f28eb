package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestSniffFormat(t *testing.T) {
	for _, tc := range []struct {
		head, name string
		want       Format
	}{
		{"PAR1", "log.csv", FormatParquet}, // content before extension
		{"\x1f\x8b\x08\x00", "log.csv", FormatGzipCSV},
		{"a,b\n", "log.PARQUET", FormatParquet},
		{"a,b\n", "log.pq", FormatParquet},
		{"a,b\n", "log.csv.gz", FormatGzipCSV},
		{"a,b\n", "log.txt", FormatCSV},
		{"PA", "log", FormatCSV}, // a short file
	} {
		if got := SniffFormat([]byte(tc.head), tc.name); got != tc.want {
			t.Errorf("SniffFormat(%q, %q) = %v, want %v", tc.head, tc.name, got, tc.want)
		}
	}
}

// streamFile hides the ReadAt of a file (only fs.File's methods are promoted), as a
// git tree's files lack it.
type streamFile struct{ fs.File }

func sniffed(t *testing.T, name string, data []byte) *File {
	t.Helper()
	f, err := fstest.MapFS{name: {Data: data}}.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	file, err := Sniff(streamFile{f}, name)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// The bytes Sniff read to tell the format are still part of what File gives.
func TestFileTextAndReaderAt(t *testing.T) {
	text := []byte("score,label\n0.5,1\n")
	file := sniffed(t, "log.csv", text)
	r, err := file.Text()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, text) {
		t.Errorf("Text() = %q, want %q", got, text)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(text)
	zw.Close()
	file = sniffed(t, "log", gz.Bytes())
	if file.Format != FormatGzipCSV {
		t.Fatalf("format %v, want gzip CSV", file.Format)
	}
	r, err = file.Text()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, text) {
		t.Errorf("gunzipped Text() = %q, want %q", got, text)
	}

	data := []byte("PAR1 and the rest of a file")
	file = sniffed(t, "t.parquet", data)
	ra, err := file.ReaderAt(DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if _, err := ra.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReaderAt read %q (%v), want %q", got, err, data)
	}
	file = sniffed(t, "t.parquet", data)
	limits := DefaultLimits()
	limits.MaxBytes = 8
	if _, err := file.ReaderAt(limits); !errors.Is(err, ErrLimit) {
		t.Errorf("ReaderAt over maxBytes: %v, want ErrLimit", err)
	}
}

func TestSniffEmptyFile(t *testing.T) {
	f, _ := fstest.MapFS{"e.csv": {}}.Open("e.csv")
	defer f.Close()
	_, err := Sniff(f, "e.csv")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "e.csv: empty file") {
		t.Errorf("Sniff of an empty file: %v", err)
	}
}

func TestCSVReader(t *testing.T) {
	cr, err := NewCSVReader(strings.NewReader("\xEF\xBB\xBFa,b\n1,2\n3,x\n4\n"), "t.csv", false)
	if err != nil {
		t.Fatal(err)
	}
	names, err := cr.Header()
	if err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("Header() = %q, %v; want the names without the byte order mark", names, err)
	}
	cr.Read()
	if _, err := cr.Read(); err != nil {
		t.Fatal(err)
	}
	if got, want := cr.CellError(1, "want a number").Error(), `t.csv: line 3: column "b": want a number`; got != want {
		t.Errorf("CellError = %q, want %q", got, want)
	}
	_, err = cr.Read()
	if got, want := err.Error(), "t.csv: line 4: row has 1 fields, want 2 like the header"; got != want {
		t.Errorf("short row: %q, want %q", got, want)
	}

	cr, _ = NewCSVReader(strings.NewReader("a\n\"x\n"), "q.csv", false)
	cr.Header()
	if _, err := cr.Read(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "q.csv: line 2: quoted field not closed") {
		t.Errorf("open quote: %v", err)
	}

	cr, err = NewCSVReader(strings.NewReader(""), "e.csv", false)
	if err != nil || !cr.Empty() {
		t.Fatalf("empty text: %v, Empty() = %v", err, cr != nil && cr.Empty())
	}
	if _, err := cr.Header(); !errors.Is(err, io.EOF) {
		t.Errorf("Header of empty text: %v, want io.EOF", err)
	}

	// A gzip stream cut short is bad data, not a failure of the machine.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat("a,b\n", 1000)))
	zw.Close()
	zr, err := Gunzip(bytes.NewReader(gz.Bytes()[:gz.Len()/2]), "t.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	cr, err = NewCSVReader(zr, "t.csv.gz", true)
	if err == nil {
		_, err = cr.Header()
		for err == nil {
			_, err = cr.Read()
		}
	}
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "t.csv.gz: not a valid gzip file") {
		t.Errorf("cut gzip: %v", err)
	}
}
