package policies

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic or hang, every problem must be
// a positioned *FieldError of the file, and every policy it returns must be valid, defaulted
// and have positions inside the file.
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"testdata/*/*.yaml", "../examples/policy-repo/models/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, m...)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := Parse("f.yaml", data)
		lines := yamlLines(data)
		if err != nil {
			for _, e := range FieldErrors(err) {
				var fe *FieldError
				if !errors.As(error(e), &fe) || fe.File != "f.yaml" || fe.Message == "" {
					t.Fatalf("malformed error %#v", e)
				}
				if fe.Line < 0 || fe.Line > lines+1 || fe.Column < 0 {
					t.Fatalf("error %q outside the %d lines of the input", fe, lines)
				}
			}
		}
		for _, p := range ps {
			if verr := p.Validate(); verr != nil {
				t.Fatalf("Parse returned an invalid policy: %v", verr)
			}
			if p.File != "f.yaml" || p.Doc < 0 {
				t.Fatalf("policy from %q doc %d", p.File, p.Doc)
			}
			if line, col := p.Position("metadata.name"); line < 1 || line > lines || col < 1 {
				t.Fatalf("metadata.name at %d:%d in %d lines", line, col, lines)
			}
			before := deepCopy(t, p.ModelPolicy)
			again := deepCopy(t, p.ModelPolicy)
			again.Default()
			if !reflect.DeepEqual(again, before) {
				t.Fatalf("Default is not idempotent on %+v", p.ModelPolicy)
			}
		}
	})
}

// yamlLines counts the lines of data as YAML (and yaml.v3's positions) do: CR LF, a lone CR,
// LF, NEL, LS and PS each end a line.
func yamlLines(data []byte) int {
	n := 1
	for i := 0; i < len(data); i++ {
		switch {
		case data[i] == '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			n++
		case data[i] == '\n':
			n++
		case bytes.HasPrefix(data[i:], []byte("\u0085")), bytes.HasPrefix(data[i:], []byte("\u2028")), bytes.HasPrefix(data[i:], []byte("\u2029")):
			n++
		}
	}
	return n
}
