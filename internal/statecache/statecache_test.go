package statecache

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type payload struct {
	Tip   string
	Files map[string][]byte
}

func sample() payload {
	return payload{Tip: "abc", Files: map[string][]byte{"models/a.json": []byte(`{"a":1}`), "models/b.json": []byte(`{"b":2}`)}}
}

func TestAStoredFileLoadsBackEqual(t *testing.T) {
	if Build() == "" {
		t.Fatal("the test binary's build is unknown")
	}
	f := File{Path: filepath.Join(t.TempDir(), "sub", "status"), Format: "status/1"}
	if err := f.Store(sample()); err != nil {
		t.Fatal(err)
	}
	var got payload
	if err := f.Load(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sample()) {
		t.Fatalf("loaded %+v, want %+v", got, sample())
	}
	// No temporary file is left beside it.
	entries, _ := os.ReadDir(filepath.Dir(f.Path))
	if len(entries) != 1 {
		t.Fatalf("the directory holds %d files, want the cache alone", len(entries))
	}
}

func TestAFileThatCannotBeTrustedIsAMiss(t *testing.T) {
	dir := t.TempDir()
	f := File{Path: filepath.Join(dir, "status"), Format: "status/1"}
	if err := f.Store(sample()); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	headerEnd := strings.IndexByte(string(good), '\n') + 1
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-3] ^= 0x20
	for _, tc := range []struct {
		name    string
		content []byte // nil: no file
		format  string
		why     string
	}{
		{"a missing file", nil, "status/1", "no such file"},
		{"an empty file", []byte{}, "status/1", "no header"},
		{"a file of something else", []byte("hello\nworld\n"), "status/1", "not a cache file"},
		{"a file cut after its header", good[:headerEnd], "status/1", "truncated"},
		{"a file cut in its payload", good[:len(good)-5], "status/1", "truncated"},
		{"a file with bytes after its payload", append(append([]byte(nil), good...), 'x'), "status/1", "longer"},
		{"a damaged payload", flipped, "status/1", "checksum"},
		{"a file of another format version", good, "status/2", "format status/1"},
		{"a file of another build", []byte(strings.Replace(string(good), Build(), "another-build", 1)), "status/1", "another build"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(f.Path)
			if tc.content != nil {
				if err := os.WriteFile(f.Path, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var got payload
			err := File{Path: f.Path, Format: tc.format}.Load(&got)
			if !errors.Is(err, ErrMiss) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("Load = %v, want a miss saying %q", err, tc.why)
			}
		})
	}
}

func TestAPayloadOverTheBoundIsNeitherWrittenNorRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status")
	if err := (File{Path: path, Format: "status/1"}).Store(sample()); err != nil {
		t.Fatal(err)
	}
	var got payload
	if err := (File{Path: path, Format: "status/1", MaxSize: 10}).Load(&got); !errors.Is(err, ErrMiss) {
		t.Fatalf("reading a file over the bound: %v, want a miss", err)
	}
	if err := (File{Path: path, Format: "status/1", MaxSize: 10}).Store(sample()); err == nil {
		t.Fatal("storing a payload over the bound succeeded")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old file is still there after a payload over the bound: %v", err)
	}
}
