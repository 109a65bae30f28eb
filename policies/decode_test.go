package policies

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/medimind/modelops/internal/testutil/benchcpu"
)

// walkAndDecode decodes every ModelPolicy document of data twice, by the walk and by
// yaml.v3's Node.Decode, and fails when the walk kept a document to itself (no error, no
// alias, merge or tag) but decoded it differently from yaml.v3, or yaml.v3 found a problem
// in it. It returns how many documents the walk decoded itself.
func walkAndDecode(t testing.TB, data []byte) (walked int) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var root yaml.Node
		if err := safeDecode(dec.Decode, &root); err != nil {
			if !errors.Is(err, io.EOF) {
				return walked // a syntax error: no document to compare
			}
			return walked
		}
		n := &root
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			n = n.Content[0]
		}
		if n.Kind != yaml.MappingNode {
			continue
		}
		if v, _ := topScalar(n, "apiVersion"); v != APIVersion {
			continue
		}
		d := newDecoder("f.yaml", len(data))
		var got ModelPolicy
		d.walk(n, reflect.ValueOf(&got).Elem(), nil)
		if d.exotic || len(d.errs) > 0 {
			continue
		}
		walked++
		var want ModelPolicy
		if err := safeDecode(n.Decode, &want); err != nil {
			t.Fatalf("the walk found no problem, yaml.v3 found %v in\n%s", err, data)
		}
		if !sameValue(reflect.ValueOf(got), reflect.ValueOf(want)) {
			t.Fatalf("the walk decoded\n%#v\nyaml.v3 decoded\n%#v\nfrom\n%s", got, want, data)
		}
	}
}

// sameValue is reflect.DeepEqual for the policy types, except that NaN equals NaN.
func sameValue(a, b reflect.Value) bool {
	if a.Kind() != b.Kind() || a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if bv := b.MapIndex(k); !bv.IsValid() || !sameValue(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// decodeCorpus is every policy file of the repository's tests and examples.
func decodeCorpus(t testing.TB) map[string][]byte {
	t.Helper()
	corpus := map[string][]byte{}
	for _, pattern := range []string{"testdata/*/*.yaml", "testdata/edit/*/*.yaml", "../examples/policy-repo/models/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			corpus[f] = data
		}
	}
	return corpus
}

func TestWalkDecodesAsYAMLv3(t *testing.T) {
	walked := 0
	for name, data := range decodeCorpus(t) {
		t.Run(name, func(t *testing.T) { walked += walkAndDecode(t, data) })
	}
	if walked < 10 {
		t.Errorf("the walk decoded %d documents of the corpus itself, want most of them", walked)
	}
}

func TestWalkDecodesScalarsAsYAMLv3(t *testing.T) {
	const head = "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: a\n"
	tests := []struct {
		name   string
		spec   string
		walked bool // whether the walk decodes it itself
	}{
		{"integers in the usual spelling", "spec:\n  retrain: {generation: 12, job: {command: [x], gpus: 0, backoffLimit: -3}}\n", true},
		{"integers in other spellings", "spec:\n  retrain: {generation: 0x1F, job: {command: [x], gpus: 010, backoffLimit: 1_000}}\n", true},
		{"an integer with a plus sign", "spec:\n  retrain: {generation: +7}\n", true},
		{"floats written as integers and decimals", "spec:\n  drift: {threshold: 3, datasetShare: 0.25}\n  promotion: {maxLatencyMs: -1.5e3, minSamples: 5}\n", true},
		{"floats in other spellings", "spec:\n  drift: {threshold: .5, datasetShare: 1_0.5}\n  promotion: {maxLatencyMs: .inf, minCategoryCoverage: -.Inf}\n", true},
		{"not a number", "spec:\n  promotion: {maxLatencyMs: .nan}\n", true},
		{"a large integer as a float", "spec:\n  promotion: {maxLatencyMs: 18446744073709551615}\n", true},
		{"booleans", "spec:\n  suspend: True\n  retrain: {onDrift: {disabled: TRUE}, onPerformanceDrop: {disabled: false}}\n", true},
		{"strings from scalars of any type", "spec:\n  production: {version: 12, uri: 2024-01-02}\n  canary: {version: 1.50, uri: true}\n", true},
		{"a quoted, a literal and an empty string", "spec:\n  production: {version: \"12\", uri: ''}\n  retrain:\n    schedule: |\n      0 2 * * 1\n", true},
		{"null fields stay unset", "spec:\n  canary: ~\n  production: {version: \"1\", uri: null}\n  retrain: {schedule: , generation: ~}\n", true},
		{"an empty map and an empty list are made", "  labels: {}\nspec:\n  data: {reference: {path: r}, current: {path: c}, categorical: [], groups: {}}\n", true},
		{"null items are left out of lists", "spec:\n  data: {reference: {path: r}, current: {path: c}, categorical: [a, ~, b, null]}\n  canaryAnalysis: {steps: [~, 50, 100]}\n  retrain: {job: {command: [x], env: [~, {name: A, value: ~}]}}\n", true},
		{"null map values are kept as empty", "  labels: {a: ~, 1: x, true: y, 2024-01-02: z}\nspec:\n  data: {reference: {path: r}, current: {path: c}, groups: {g: ~}}\n", true},
		{"durations", "spec:\n  drift: {interval: 90m}\n  canaryAnalysis: {interval: 0, duration: \"1h30m\"}\n", true},
		{"explicit tags go to yaml.v3", "spec:\n  production: {version: !!str 12, uri: !!binary aGVsbG8=}\n", false},
		{"aliases go to yaml.v3", "spec:\n  production: {version: &v \"1\"}\n  canary: {version: *v}\n", false},
		{"merge keys go to yaml.v3", "  labels: {<<: {a: b}, c: d}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(head + tt.spec)
			if got := walkAndDecode(t, data); (got == 1) != tt.walked {
				t.Errorf("the walk decoded %d documents itself, want walked=%v", got, tt.walked)
			}
		})
	}
}

// FuzzWalkDecodesAsYAMLv3 checks on arbitrary documents that the walk decodes every document
// it keeps to itself exactly as yaml.v3 does.
func FuzzWalkDecodesAsYAMLv3(f *testing.F) {
	for _, data := range decodeCorpus(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		walkAndDecode(t, data)
	})
}

// TestYAMLAndJSONNamesAgree guards structFields, which reads the json tags, against a yaml tag
// that names a field differently.
func TestYAMLAndJSONNamesAgree(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var check func(t *testing.T, typ reflect.Type)
	check = func(t *testing.T, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ == durationType {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			j, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			y, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if j != y {
				t.Errorf("%s.%s: json name %q, yaml name %q", typ.Name(), f.Name, j, y)
			}
			check(t, f.Type)
		}
	}
	check(t, modelPolicyType)
	if len(seen) < 10 {
		t.Errorf("checked %d struct types, want all of ModelPolicy's", len(seen))
	}
}

// BenchmarkParse measures Parse on the example policies in turn ("parse": yaml.v3's node
// tree, the walk that decodes it, Default and Validate) beside yaml.v3 alone building the
// node trees ("yaml"), the floor under Parse. The CPU time per file is reported beside the
// wall time, which on a shared machine says more about the neighbours.
func BenchmarkParse(b *testing.B) {
	examples, err := filepath.Glob("../examples/policy-repo/models/*.yaml")
	if err != nil || len(examples) == 0 {
		b.Fatalf("no examples: %v", err)
	}
	var files [][]byte
	for _, e := range examples {
		if strings.HasSuffix(e, ".draft.yaml") {
			continue
		}
		data, err := os.ReadFile(e)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	b.Run("yaml", func(b *testing.B) {
		b.ReportAllocs()
		defer benchcpu.Report(b, "s")()
		i := 0
		for b.Loop() {
			dec := yaml.NewDecoder(bytes.NewReader(files[i%len(files)]))
			var root yaml.Node
			if err := dec.Decode(&root); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		defer benchcpu.Report(b, "s")()
		i := 0
		for b.Loop() {
			ps, errs := parseFile("p.yaml", files[i%len(files)])
			if len(ps) != 1 || len(errs) != 0 {
				b.Fatalf("parsed %d policies, errors %v; want 1 and none", len(ps), errs)
			}
			i++
		}
	})
}
