package policies_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sergi/go-diff/diffmatchpatch"
	"go.yaml.in/yaml/v3"

	"github.com/medimind/modelops/policies"
)

// editCase is one golden case under testdata/edit/<dir>: the edits applied to the policy name
// in input.yaml, the lines they may touch, and edits that must fail with ErrConflict.
type editCase struct {
	name  string
	edits []policies.Edit
	// in lists the input lines an edit may delete or replace; out the output lines it may
	// insert or replace.
	in, out  []int
	conflict []policies.Edit
}

func ptr[T any](v T) *T { return &v }

func lines(from, to int) []int {
	var l []int
	for i := from; i <= to; i++ {
		l = append(l, i)
	}
	return l
}

var editCases = map[string]editCase{
	"weight-block-comments": {
		name:     "sepsis-risk",
		edits:    []policies.Edit{policies.SetCanaryWeight{From: 10, To: 25}},
		in:       []int{16},
		out:      []int{16},
		conflict: []policies.Edit{policies.SetCanaryWeight{From: 25, To: 50}},
	},
	"weight-flow-canary": {
		name:     "readmission-30d",
		edits:    []policies.Edit{policies.SetCanaryWeight{From: 25, To: 50}},
		in:       []int{7},
		out:      []int{7},
		conflict: []policies.Edit{policies.SetCanaryWeight{From: 10, To: 50}},
	},
	"rollback-weight-zero": {
		name:     "sepsis-risk",
		edits:    []policies.Edit{policies.SetCanaryWeight{From: 50, To: 0}},
		in:       []int{10},
		out:      []int{10},
		conflict: []policies.Edit{policies.SetCanaryWeight{From: 25, To: 0}, policies.RemoveCanary{Version: "12"}},
	},
	"canary-end-no-newline": {
		name:  "sleep-apnea",
		edits: []policies.Edit{policies.SetCanaryWeight{From: 25, To: 50}},
		in:    []int{10},
		out:   []int{10},
	},
	"crlf": {
		name: "copd-exacerbation",
		edits: []policies.Edit{
			policies.SetCanaryWeight{From: 10, To: 25},
			policies.SetRetrainGeneration{From: 0, To: 1},
		},
		in:       []int{11},
		out:      []int{11, 12, 13},
		conflict: []policies.Edit{policies.SetRetrainGeneration{From: 3, To: 4}},
	},
	"canary-replace-quoting": {
		name: "aki-predictor",
		edits: []policies.Edit{policies.SetCanary{
			Expect: &policies.Canary{Version: "8", URI: "models:/aki-predictor/8", Weight: ptr(50)},
			Canary: policies.Canary{Version: "9", URI: "models:/aki-predictor/9", Weight: ptr(10)},
		}},
		in:  []int{10, 11, 12},
		out: []int{10, 11, 12},
		conflict: []policies.Edit{policies.SetCanary{
			Expect: &policies.Canary{Version: "8", URI: "models:/aki-predictor/8", Weight: ptr(25)},
			Canary: policies.Canary{Version: "9"},
		}, policies.SetCanary{Canary: policies.Canary{Version: "9"}}},
	},
	"set-canary-drop-fields": {
		name: "aki-predictor",
		edits: []policies.Edit{policies.SetCanary{
			Expect: &policies.Canary{Version: "8", URI: "models:/aki-predictor/8", Weight: ptr(25)},
			Canary: policies.Canary{Version: "9"},
		}},
		in:  []int{8, 9, 10},
		out: []int{8},
	},
	"canary-absent-set": {
		name: "sepsis-risk",
		edits: []policies.Edit{policies.SetCanary{
			Canary: policies.Canary{Version: "13", URI: "models:/sepsis-risk/13", Weight: ptr(10)},
		}},
		out: lines(10, 13),
		conflict: []policies.Edit{
			policies.SetCanaryWeight{From: 10, To: 25},
			policies.SetCanary{Expect: &policies.Canary{Version: "12"}, Canary: policies.Canary{Version: "13"}},
			policies.PromoteCanary{Version: "13"},
		},
	},
	"canary-absent-set-4spaces": {
		name: "wearable-afib",
		edits: []policies.Edit{policies.SetCanary{
			Canary: policies.Canary{Version: "4", URI: "models:/wearable-afib/4", Weight: ptr(5)},
		}},
		out: lines(12, 15),
	},
	"canary-null-set": {
		name: "glucose-forecast",
		edits: []policies.Edit{policies.SetCanary{
			Canary: policies.Canary{Version: "31", URI: "models:/glucose-forecast/31", Weight: ptr(10)},
		}},
		out: lines(10, 12),
	},
	"remove-canary-followed-by-keys": {
		name:     "sepsis-risk",
		edits:    []policies.Edit{policies.RemoveCanary{Version: "13"}},
		in:       lines(8, 15),
		conflict: []policies.Edit{policies.RemoveCanary{Version: "14"}},
	},
	"remove-canary-end-no-newline": {
		name:  "sleep-staging",
		edits: []policies.Edit{policies.RemoveCanary{Version: "4"}},
		in:    lines(7, 10),
	},
	"promote-flow-production": {
		name:     "sepsis-risk",
		edits:    []policies.Edit{policies.PromoteCanary{Version: "13"}},
		in:       lines(6, 10),
		out:      []int{6},
		conflict: []policies.Edit{policies.PromoteCanary{Version: "14"}},
	},
	"multi-doc-second": {
		name:  "spo2-desat",
		edits: []policies.Edit{policies.PromoteCanary{Version: "3"}},
		in:    lines(19, 23),
		out:   []int{19},
	},
	"retrain-absent": {
		name:     "delirium-icu",
		edits:    []policies.Edit{policies.SetRetrainGeneration{From: 0, To: 1}},
		out:      []int{10, 11},
		conflict: []policies.Edit{policies.SetRetrainGeneration{From: 1, To: 2}},
	},
	"retrain-after-unindented-sequence": {
		name:  "falls-risk",
		edits: []policies.Edit{policies.SetRetrainGeneration{From: 0, To: 1}},
		out:   []int{15, 16},
	},
	"retrain-generation-anchors": {
		name:     "multiomics-subtype",
		edits:    []policies.Edit{policies.SetRetrainGeneration{From: 41, To: 42}},
		in:       []int{18},
		out:      []int{18},
		conflict: []policies.Edit{policies.SetRetrainGeneration{From: 40, To: 43}},
	},
	"retrain-flow": {
		name:  "stroke-triage",
		edits: []policies.Edit{policies.SetRetrainGeneration{From: 0, To: 1}},
		in:    []int{7},
		out:   []int{7},
	},
	"flow-spec": {
		name: "pe-detect",
		edits: []policies.Edit{
			policies.RemoveCanary{Version: "6"},
			policies.SetRetrainGeneration{From: 12, To: 13},
		},
		in:  []int{6, 7},
		out: []int{6},
	},
}

// updating reports whether the package's -update flag (declared once for all golden tests of
// the package) is set.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestApplyGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/edit/*/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		name := filepath.Base(dir)
		seen[name] = true
		tc, ok := editCases[name]
		if !ok {
			t.Errorf("%s has no entry in editCases", dir)
			continue
		}
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			orig := slices.Clone(src)
			out, err := policies.Apply(src, tc.name, tc.edits...)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !bytes.Equal(src, orig) {
				t.Fatal("Apply modified its input")
			}
			golden := filepath.Join(dir, "expected.yaml")
			if updating() {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestApplyGolden -update)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", golden, out, want)
			}

			again, err := policies.Apply(out, tc.name, tc.edits...)
			if err != nil {
				t.Fatalf("Apply again: %v", err)
			}
			if !bytes.Equal(again, out) || len(out) > 0 && &again[0] != &out[0] {
				t.Errorf("applying the edits again changed the file:\n%s", again)
			}

			changedIn, changedOut := lineDiff(string(src), string(out))
			if len(changedIn)+len(changedOut) == 0 {
				t.Error("the edits changed no line")
			}
			if extra := outside(changedIn, tc.in); len(extra) > 0 {
				t.Errorf("input lines %v changed, only %v may", extra, tc.in)
			}
			if extra := outside(changedOut, tc.out); len(extra) > 0 {
				t.Errorf("output lines %v changed, only %v may", extra, tc.out)
			}

			want0 := decodePolicy(t, src, tc.name)
			for _, ed := range tc.edits {
				model(want0, ed)
			}
			if got := decodePolicy(t, out, tc.name); !reflect.DeepEqual(got, want0) {
				t.Errorf("result reads back as\n%+v\nwant\n%+v", got.Spec, want0.Spec)
			}
			if !bytes.Equal(otherDocs(t, src, tc.name), otherDocs(t, out, tc.name)) {
				t.Error("other documents of the file changed")
			}

			for _, ed := range tc.conflict {
				got, err := policies.Apply(src, tc.name, ed)
				if !errors.Is(err, policies.ErrConflict) || got != nil {
					t.Errorf("%s: got %v, want ErrConflict and no output", ed.Describe(), err)
				}
			}
		})
	}
	for name := range editCases {
		if !seen[name] {
			t.Errorf("editCases[%q] has no testdata/edit/%s/input.yaml", name, name)
		}
	}
}

// lineDiff returns the 1-based line numbers that differ between a and b: removed or replaced
// lines of a, inserted or replaced lines of b. A missing final line break is not a line change.
func lineDiff(a, b string) (inA, inB []int) {
	if !strings.HasSuffix(a, "\n") {
		a += "\n"
	}
	if !strings.HasSuffix(b, "\n") {
		b += "\n"
	}
	dmp := diffmatchpatch.New()
	ra, rb, _ := dmp.DiffLinesToRunes(a, b)
	i, j := 1, 1
	for _, d := range dmp.DiffMainRunes(ra, rb, false) {
		n := len([]rune(d.Text))
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			i, j = i+n, j+n
		case diffmatchpatch.DiffDelete:
			inA = append(inA, lines(i, i+n-1)...)
			i += n
		case diffmatchpatch.DiffInsert:
			inB = append(inB, lines(j, j+n-1)...)
			j += n
		}
	}
	return inA, inB
}

func outside(got, allowed []int) []int {
	var extra []int
	for _, l := range got {
		if !slices.Contains(allowed, l) {
			extra = append(extra, l)
		}
	}
	return extra
}

// documents returns the document nodes of src.
func documents(t testing.TB, src []byte) []*yaml.Node {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("result does not parse: %v\n%s", err, src)
		}
		docs = append(docs, &d)
	}
}

func isNamed(d *yaml.Node, name string) bool {
	var head struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
	}
	return len(d.Content) == 1 && d.Content[0].Kind == yaml.MappingNode &&
		d.Decode(&head) == nil && head.Kind == policies.KindModelPolicy && head.Metadata.Name == name
}

// decodePolicy reads the named policy with yaml.v3, independently of the editor.
func decodePolicy(t testing.TB, src []byte, name string) *policies.ModelPolicy {
	t.Helper()
	for _, d := range documents(t, src) {
		if isNamed(d, name) {
			var p policies.ModelPolicy
			if err := d.Decode(&p); err != nil {
				t.Fatalf("decode %s: %v", name, err)
			}
			return &p
		}
	}
	t.Fatalf("policy %s not in file", name)
	return nil
}

// otherDocs renders every document except the named policy, comments and styles included
// (positions are not rendered), for comparison.
func otherDocs(t testing.TB, src []byte, name string) []byte {
	t.Helper()
	var out []byte
	for _, d := range documents(t, src) {
		if isNamed(d, name) {
			continue
		}
		b, err := yaml.Marshal(d)
		if err != nil {
			b = []byte(err.Error())
		}
		out = append(append(out, b...), "---\n"...)
	}
	return out
}

// model applies an edit to decoded policy values: what the file must read back as.
func model(p *policies.ModelPolicy, ed policies.Edit) {
	switch ed := ed.(type) {
	case policies.SetCanaryWeight:
		c := *p.Spec.Canary
		c.Weight = ptr(ed.To)
		p.Spec.Canary = &c
	case policies.SetCanary:
		c := ed.Canary
		p.Spec.Canary = &c
	case policies.RemoveCanary:
		p.Spec.Canary = nil
	case policies.PromoteCanary:
		if c := p.Spec.Canary; c != nil && c.Version == ed.Version {
			p.Spec.Production = &policies.ModelVersion{Version: c.Version, URI: c.URI}
			p.Spec.Canary = nil
		}
	case policies.SetRetrainGeneration:
		r := policies.RetrainSpec{}
		if p.Spec.Retrain != nil {
			r = *p.Spec.Retrain
		}
		r.Generation = ed.To
		p.Spec.Retrain = &r
	}
}

func TestApplyErrors(t *testing.T) {
	const head = "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: m\n"
	tests := []struct {
		name string
		src  string
		edit policies.Edit
		want []string // substrings of the error
		is   error
	}{
		{"unknown model", head + "spec: {}\n", policies.RemoveCanary{Version: "1"}, []string{`"x"`}, policies.ErrNotFound},
		{"canary is a list", head + "spec:\n  canary: [a, b]\n", policies.SetCanaryWeight{From: 1, To: 2},
			[]string{"spec.canary at line 6 column 11", "expected a mapping"}, nil},
		{"weight is not an integer", head + "spec:\n  canary:\n    version: \"2\"\n    weight: ten\n", policies.SetCanaryWeight{From: 1, To: 2},
			[]string{"spec.canary.weight at line 8 column 13", "expected an integer"}, nil},
		{"syntax error", head + "spec:\n  canary: {version: \"2\"\n", policies.RemoveCanary{Version: "2"},
			[]string{"line"}, nil},
		{"duplicate key", head + "spec:\n  canary: {version: \"2\"}\n  canary: {version: \"3\"}\n", policies.RemoveCanary{Version: "2"},
			[]string{"already defined"}, nil},
		{"policy defined twice", head + "spec: {}\n---\n" + head + "spec: {}\n", policies.RemoveCanary{Version: "2"},
			[]string{"defined twice", "lines 1 and 7"}, nil},
		{"weight is an alias", head + "x: &w 10\nspec:\n  canary:\n    version: \"2\"\n    weight: *w\n", policies.SetCanaryWeight{From: 10, To: 25},
			[]string{"spec.canary.weight at line 9 column 13", "alias of &w", "shared"}, nil},
		{"canary anchored and used elsewhere", head + "spec:\n  canary: &c\n    version: \"2\"\n    weight: 10\nx: *c\n", policies.SetCanaryWeight{From: 10, To: 25},
			[]string{"spec.canary at line 6 column 11", "anchored as &c", "shared"}, nil},
		{"removal would orphan an alias", head + "spec:\n  canary:\n    version: &v \"2\"\n  production: {version: *v}\n", policies.RemoveCanary{Version: "2"},
			[]string{"spec.canary", "&v", "shared"}, nil},
		{"weight may come from a merge key", head + "base: &b {weight: 10}\nspec:\n  canary:\n    <<: *b\n    version: \"2\"\n", policies.SetCanaryWeight{From: 10, To: 25},
			[]string{"spec.canary at line 8", "merge key"}, nil},
		{"block scalar version", head + "spec:\n  canary:\n    version: |\n      2\n", policies.SetCanary{Expect: &policies.Canary{Version: "2\n"}, Canary: policies.Canary{Version: "3"}},
			[]string{"spec.canary.version at line 7 column 14", "block scalar"}, nil},
		{"weight out of range", head + "spec:\n  canary: {version: \"2\", weight: 10}\n", policies.SetCanaryWeight{From: 10, To: 101},
			[]string{"outside 0..100"}, nil},
		{"UTF-16", "\xff\xfe" + head, policies.RemoveCanary{Version: "2"}, []string{"UTF-16"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "m"
			if tt.is == policies.ErrNotFound {
				name = "x"
			}
			out, err := policies.Apply([]byte(tt.src), name, tt.edit)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if out != nil {
				t.Errorf("output with an error: %q", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if errors.Is(err, policies.ErrConflict) {
				t.Errorf("error %v must not be a conflict", err)
			}
		})
	}
}

// TestApplySmallEdits covers shapes too small for a golden directory, with the exact result.
func TestApplySmallEdits(t *testing.T) {
	const head = "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: m\n"
	tests := []struct {
		name      string
		src, want string
		edits     []policies.Edit
	}{
		{"unreferenced anchor and tag kept", "spec:\n  canary:\n    version: \"2\"\n    weight: &w !!int 10 # step\n",
			"spec:\n  canary:\n    version: \"2\"\n    weight: &w !!int 25 # step\n",
			[]policies.Edit{policies.SetCanaryWeight{From: 10, To: 25}}},
		{"removing the only key leaves an empty mapping", "spec: # desired state\n  canary:\n    version: \"2\"\n",
			"spec: {} # desired state\n",
			[]policies.Edit{policies.RemoveCanary{Version: "2"}}},
		{"flow canary gains and loses fields", "spec:\n  canary: {version: '2', uri: 'models:/m/2'}  # new\n",
			"spec:\n  canary: {version: '3', weight: 10}  # new\n",
			[]policies.Edit{policies.SetCanary{
				Expect: &policies.Canary{Version: "2", URI: "models:/m/2"},
				Canary: policies.Canary{Version: "3", Weight: ptr(10)},
			}}},
		{"canary into an empty flow spec", "spec: {}\n",
			"spec: {canary: {version: \"3\", uri: \"models:/m/3,x\"}}\n",
			[]policies.Edit{policies.SetCanary{Canary: policies.Canary{Version: "3", URI: "models:/m/3,x"}}}},
		{"spec created before the closing comment", "# end of policy\n",
			"spec:\n  retrain:\n    generation: 1\n# end of policy\n",
			[]policies.Edit{policies.SetRetrainGeneration{From: 0, To: 1}}},
		{"explicit null retrain filled", "spec:\n  retrain: ~ # later\n  promotion: {}\n",
			"spec:\n  retrain: # later\n    generation: 2\n  promotion: {}\n",
			[]policies.Edit{policies.SetRetrainGeneration{From: 0, To: 2}}},
		{"uri inserted between version and weight", "spec:\n  canary:\n    version: \"2\" # v\n    # traffic\n    weight: 10\n",
			"spec:\n  canary:\n    version: \"3\" # v\n    uri: models:/m/3\n    # traffic\n    weight: 10\n",
			[]policies.Edit{policies.SetCanary{
				Expect: &policies.Canary{Version: "2", Weight: ptr(10)},
				Canary: policies.Canary{Version: "3", URI: "models:/m/3", Weight: ptr(10)},
			}}},
		{"null weight set", "spec:\n  canary:\n    version: \"2\"\n    weight:\n",
			"spec:\n  canary:\n    version: \"2\"\n    weight: 10\n",
			[]policies.Edit{policies.SetCanary{Expect: &policies.Canary{Version: "2"}, Canary: policies.Canary{Version: "2", Weight: ptr(10)}}}},
		{"promotion creates production before the canary", "spec:\n  suspend: false\n  canary: {version: \"2\", uri: models:/m/2}\n",
			"spec:\n  suspend: false\n  production:\n    version: \"2\"\n    uri: models:/m/2\n",
			[]policies.Edit{policies.PromoteCanary{Version: "2"}}},
		{"plain integer versions stay plain", "spec:\n  production: {version: 7}\n  canary: {version: 8, weight: 100}\n",
			"spec:\n  production: {version: 8}\n",
			[]policies.Edit{policies.PromoteCanary{Version: "8"}}},
		{"step then roll back then promote nothing", "spec:\n  production: {version: \"1\"}\n  canary:\n    version: \"2\"\n    weight: 10\n",
			"spec:\n  production: {version: \"1\"}\n",
			[]policies.Edit{policies.SetCanaryWeight{From: 10, To: 25}, policies.SetCanaryWeight{From: 25, To: 0}, policies.RemoveCanary{Version: "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := policies.Apply([]byte(head+tt.src), "m", tt.edits...)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := strings.TrimPrefix(string(out), head); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			again, err := policies.Apply(out, "m", tt.edits[len(tt.edits)-1])
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("last edit again: %v\n%s", err, again)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		edit policies.Edit
		want string
	}{
		{policies.SetCanaryWeight{From: 10, To: 25}, "canary weight 10 → 25"},
		{policies.SetCanary{Canary: policies.Canary{Version: "13", Weight: ptr(10)}}, "canary 13 at weight 10"},
		{policies.SetCanary{Expect: &policies.Canary{Version: "12"}, Canary: policies.Canary{Version: "13"}}, "canary 12 → 13"},
		{policies.RemoveCanary{Version: "13"}, "remove canary 13"},
		{policies.PromoteCanary{Version: "13"}, "promote canary 13 to production"},
		{policies.SetRetrainGeneration{From: 6, To: 7}, "retrain generation 6 → 7"},
	}
	for _, tt := range tests {
		if got := tt.edit.Describe(); got != tt.want {
			t.Errorf("Describe() = %q, want %q", got, tt.want)
		}
	}
}

// FuzzApply feeds arbitrary files and edits to Apply: it must never panic, and when it
// succeeds the result parses, holds the new value, leaves the other documents alone and is a
// fixed point of the same edit.
func FuzzApply(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/edit/*/input.yaml")
	for _, in := range inputs {
		src, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		tc := editCases[filepath.Base(filepath.Dir(in))]
		for op := range uint8(6) {
			f.Add(src, tc.name, op, int64(10), int64(25), "14")
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, name string, op uint8, a, b int64, version string) {
		ed := fuzzEdit(src, name, op, a, b, version)
		out, err := policies.Apply(src, name, ed)
		if err != nil {
			return
		}
		if bytes.Equal(out, src) {
			return
		}
		holds(t, out, name, ed)
		if !bytes.Equal(otherDocs(t, src, name), otherDocs(t, out, name)) {
			t.Fatalf("other documents changed:\n%s\n---\n%s", src, out)
		}
		again, err := policies.Apply(out, name, ed)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("%s is not idempotent: %v\n%q\n%q", ed.Describe(), err, out, again)
		}
	})
}

// fuzzEdit builds an edit from fuzz arguments. Where it can, it expects what the file holds,
// so that successful edits are common.
func fuzzEdit(src []byte, name string, op uint8, a, b int64, version string) policies.Edit {
	var cur *policies.Canary
	var gen int64
	if docs, ok := tryDocuments(src); ok {
		for _, d := range docs {
			var p policies.ModelPolicy
			if isNamed(d, name) && d.Decode(&p) == nil {
				cur = p.Spec.Canary
				if p.Spec.Retrain != nil {
					gen = p.Spec.Retrain.Generation
				}
			}
		}
	}
	to := int(uint64(b) % 101)
	switch op % 6 {
	case 0:
		from := int(uint64(a) % 101)
		if cur != nil && cur.Weight != nil && a%2 == 0 {
			from = *cur.Weight
		}
		return policies.SetCanaryWeight{From: from, To: to}
	case 1:
		c := policies.Canary{Version: version, URI: "models:/" + name + "/" + version}
		if a%3 != 0 {
			c.Weight = &to
		}
		if a%5 == 0 {
			c.URI = ""
		}
		return policies.SetCanary{Expect: cur, Canary: c}
	case 2:
		v := version
		if cur != nil && a%2 == 0 {
			v = cur.Version
		}
		return policies.RemoveCanary{Version: v}
	case 3:
		v := version
		if cur != nil && a%2 == 0 {
			v = cur.Version
		}
		return policies.PromoteCanary{Version: v}
	default:
		from := a
		if a%2 == 0 {
			from = gen
		}
		return policies.SetRetrainGeneration{From: from, To: b & (1<<62 - 1)}
	}
}

func tryDocuments(src []byte) (docs []*yaml.Node, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs, true
		}
		if err != nil {
			return nil, false
		}
		docs = append(docs, &d)
	}
}

// holds checks, with yaml.v3 alone, that the named policy in out holds the result of ed.
func holds(t *testing.T, out []byte, name string, ed policies.Edit) {
	t.Helper()
	var doc *yaml.Node
	for _, d := range documents(t, out) {
		if isNamed(d, name) {
			doc = d
		}
	}
	if doc == nil {
		t.Fatalf("policy %q lost:\n%s", name, out)
	}
	scalar := func(path ...string) (string, bool) {
		n := doc.Content[0]
		for _, k := range path {
			if n.Kind != yaml.MappingNode {
				return "", false
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return "", false
			}
			n = next
		}
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			return "", false
		}
		return n.Value, true
	}
	fail := func(what string) { t.Fatalf("%s: %s\n%s", ed.Describe(), what, out) }
	switch ed := ed.(type) {
	case policies.SetCanaryWeight:
		if w, _ := scalar("spec", "canary", "weight"); w != itoa(int64(ed.To)) {
			fail("weight is " + w)
		}
	case policies.SetCanary:
		if v, _ := scalar("spec", "canary", "version"); v != ed.Canary.Version {
			fail("version is " + v)
		}
		if u, _ := scalar("spec", "canary", "uri"); u != ed.Canary.URI {
			fail("uri is " + u)
		}
		w, ok := scalar("spec", "canary", "weight")
		if ok != (ed.Canary.Weight != nil) || ok && w != itoa(int64(*ed.Canary.Weight)) {
			fail("weight is " + w)
		}
	case policies.RemoveCanary:
		if v, ok := scalar("spec", "canary", "version"); ok {
			fail("canary " + v + " still present")
		}
	case policies.PromoteCanary:
		if v, _ := scalar("spec", "production", "version"); v != ed.Version {
			fail("production is " + v)
		}
		if _, ok := scalar("spec", "canary", "version"); ok {
			fail("canary still present")
		}
	case policies.SetRetrainGeneration:
		if g, _ := scalar("spec", "retrain", "generation"); g != itoa(ed.To) {
			fail("generation is " + g)
		}
	}
}

func itoa(i int64) string {
	b, _ := yaml.Marshal(i)
	return strings.TrimSpace(string(b))
}
