package schemas_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/schemas"
)

// policiesDir is the source of package policies, seen from this package's directory, where
// go test runs.
const policiesDir = "../policies"

func TestCommittedSchemaIsCurrent(t *testing.T) {
	got, err := schemas.Generate(policiesDir)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	committed, err := os.ReadFile(schemas.ModelPolicyFile)
	if err != nil {
		t.Fatalf("read committed schema: %v", err)
	}
	if !bytes.Equal(got, committed) {
		t.Fatalf("schemas/%s is stale: it differs from the Go types in policies/ at %s; run `make schemas` and commit the result",
			schemas.ModelPolicyFile, firstDifference(committed, got))
	}
	if !bytes.Equal(schemas.ModelPolicy, committed) {
		t.Fatalf("embedded schema differs from schemas/%s", schemas.ModelPolicyFile)
	}
}

// firstDifference names the first line where a and b differ, for a readable staleness report.
func firstDifference(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range max(len(la), len(lb)) {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: committed %q, generated %q", i+1, strings.TrimSpace(x), strings.TrimSpace(y))
		}
	}
	return "the end of the file"
}

func TestGenerateIsDeterministic(t *testing.T) {
	first, err := schemas.Generate(policiesDir)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	// Map iteration order changes between runs of a loop; several runs would expose any
	// order that leaks into the output.
	for range 5 {
		again, err := schemas.Generate(policiesDir)
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("Generate is not deterministic; first difference at %s", firstDifference(first, again))
		}
	}
	if !bytes.HasSuffix(first, []byte("}\n")) || bytes.HasSuffix(first, []byte("\n\n")) {
		t.Errorf("schema must end with exactly one newline, ends with %q", first[max(0, len(first)-5):])
	}
}

func TestGenerateRejectsADirectoryWithoutThePolicyTypes(t *testing.T) {
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		if _, err := schemas.Generate(dir); err == nil {
			t.Errorf("Generate(%q) succeeded; want an error, since no doc comments of ModelPolicy are there", dir)
		} else if !strings.Contains(err.Error(), dir) {
			t.Errorf("Generate(%q) error %q does not name the directory", dir, err)
		}
	}
}

// TestSchemaServesEditors checks what yaml-language-server needs for completion and hover:
// a description on every property and type, enums where the value is one of a list, and
// additionalProperties false so that a misspelt key is flagged.
func TestSchemaServesEditors(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(schemas.ModelPolicy, &root); err != nil {
		t.Fatalf("unmarshal schema: %v", err)
	}
	if got := root["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", got)
	}
	if got := root["$id"]; got != schemas.ModelPolicyID {
		t.Errorf("$id = %v, want %s", got, schemas.ModelPolicyID)
	}
	if title, _ := root["title"].(string); !strings.Contains(title, "ModelPolicy") {
		t.Errorf("title = %q, want one naming ModelPolicy", title)
	}

	objects := map[string]map[string]any{"(root)": root}
	defs, _ := root["$defs"].(map[string]any)
	if len(defs) == 0 {
		t.Fatal("schema has no $defs")
	}
	for name, d := range defs {
		objects["$defs/"+name] = d.(map[string]any)
	}
	properties := 0
	for name, obj := range objects {
		if desc, _ := obj["description"].(string); desc == "" {
			t.Errorf("%s: no description", name)
		}
		props, ok := obj["properties"].(map[string]any)
		if !ok {
			continue
		}
		if obj["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties = %v, want false", name, obj["additionalProperties"])
		}
		for key, p := range props {
			properties++
			if desc, _ := p.(map[string]any)["description"].(string); desc == "" {
				t.Errorf("%s: property %s has no description", name, key)
			}
		}
	}
	// Every field of every policy type, counted from types.go; a much smaller number would
	// mean types went missing from the schema.
	if properties < 80 {
		t.Errorf("schema has %d properties; want every field of the policy types (at least 80)", properties)
	}

	drift := defs["DriftSpec"].(map[string]any)["properties"].(map[string]any)
	for key, want := range map[string][]policies.StatTest{
		"numericTest":     policies.NumericTests,
		"categoricalTest": policies.CategoricalTests,
	} {
		var got []policies.StatTest
		for _, v := range drift[key].(map[string]any)["enum"].([]any) {
			got = append(got, policies.StatTest(v.(string)))
		}
		if !slices.Equal(got, want) {
			t.Errorf("DriftSpec.%s enum = %v, want policies' list %v", key, got, want)
		}
	}
}

// compile compiles the embedded schema with a validator independent of the generator.
func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.ModelPolicy))
	if err != nil {
		t.Fatalf("unmarshal schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemas.ModelPolicyID, doc); err != nil {
		t.Fatalf("add schema: %v", err)
	}
	sch, err := c.Compile(schemas.ModelPolicyID)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// documents converts each YAML document of data to the JSON values a validator reads.
// The documents are split as package policies splits them (yaml.v3); each is converted
// with sigs.k8s.io/yaml, as Kubernetes tooling does.
func documents(data []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []any
	for i := 1; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode document %d: %w", i, err)
		}
		b, err := yaml.Marshal(&n)
		if err != nil {
			return nil, fmt.Errorf("encode document %d: %w", i, err)
		}
		j, err := sigsyaml.YAMLToJSONStrict(b)
		if err != nil {
			return nil, fmt.Errorf("convert document %d to JSON: %w", i, err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			return nil, fmt.Errorf("read document %d as JSON: %w", i, err)
		}
		docs = append(docs, v)
	}
}

// wants reads the "# want: field" lines of an invalid fixture: the fields the schema must
// reject, as paths in the style of policies.FieldError (spec.canary.steps[2]).
func wants(data []byte) []string {
	var w []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f, ok := strings.CutPrefix(sc.Text(), "# want: "); ok {
			w = append(w, strings.TrimSpace(f))
		}
	}
	slices.Sort(w)
	return w
}

// rejectedFields lists the fields a validation error blames, from its innermost causes: the
// value's location, plus the key for a missing or unknown key.
func rejectedFields(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{"(not a validation error: " + err.Error() + ")"}
	}
	var fields []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		at := func(keys ...string) {
			for _, k := range keys {
				fields = append(fields, fieldPath(append(slices.Clone(e.InstanceLocation), k)))
			}
		}
		switch k := e.ErrorKind.(type) {
		case *kind.Required:
			at(k.Missing...)
			return
		case *kind.AdditionalProperties:
			at(k.Properties...)
			return
		case *kind.DependentRequired:
			at(k.Prop)
			return
		case *kind.PropertyNames:
			// Its causes are about the key's text, not a value in the document.
			at(k.Property)
			return
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		fields = append(fields, fieldPath(e.InstanceLocation))
	}
	walk(ve)
	slices.Sort(fields)
	return slices.Compact(fields)
}

// fieldPath renders a JSON instance location as policies.FieldError does: keys joined by
// dots, list indexes in brackets.
func fieldPath(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func fixtures(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	return files
}

// examples is the example policy repository; every policy under its models/ must be valid.
const examples = "../examples/policy-repo/models"

// validFiles lists the valid fixtures and the example policies.
func validFiles(t *testing.T) []string {
	t.Helper()
	files := fixtures(t, filepath.Join("testdata", "valid"))
	n := len(files)
	err := filepath.WalkDir(examples, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatalf("list example policies: %v", err)
	}
	if len(files) == n {
		t.Fatalf("no example policies in %s", examples)
	}
	return files
}

// testName names a subtest after a file and its directory (valid/x.yaml, models/x.yaml).
func testName(file string) string {
	return filepath.Base(filepath.Dir(file)) + "/" + filepath.Base(file)
}

func TestSchemaAcceptsValidPolicies(t *testing.T) {
	sch := compile(t)
	for _, file := range validFiles(t) {
		t.Run(testName(file), func(t *testing.T) {
			assertSchemaAccepts(t, sch, file)
		})
	}
}

func assertSchemaAccepts(t *testing.T, sch *jsonschema.Schema, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := documents(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML documents", file)
	}
	for i, doc := range docs {
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%s: document %d rejected by the schema: %v", file, i+1, err)
		}
	}
}

func TestSchemaRejectsInvalidPolicies(t *testing.T) {
	sch := compile(t)
	for _, file := range fixtures(t, filepath.Join("testdata", "invalid")) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := wants(data)
			if len(want) == 0 {
				t.Fatalf("%s: no \"# want: field\" line", file)
			}
			docs, err := documents(data)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(docs) != 1 {
				t.Fatalf("%s: %d documents, want 1", file, len(docs))
			}
			err = sch.Validate(docs[0])
			if err == nil {
				t.Fatalf("%s: accepted by the schema; want %v rejected", file, want)
			}
			// Each fixture holds one mistake, so the schema must blame exactly its fields.
			if got := rejectedFields(err); !slices.Equal(got, want) {
				t.Errorf("%s: schema rejects %v, want %v\n%v", file, got, want, err)
			}
		})
	}
}

// The schema and the Go validator (policies.Parse) must agree on every fixture: the schema
// must never accept what Validate rejects. JSON Schema cannot express some rules; these are
// checked only by Validate (or Load), so no invalid fixture here relies on them:
//   - spec.canaryAnalysis.steps strictly increasing and ending at 100;
//   - spec.canaryAnalysis.duration at least spec.canaryAnalysis.interval;
//   - spec.canary.version different from spec.production.version;
//   - a column not listed as both categorical and numeric;
//   - metadata.name unique across the files of a repository (Load);
//   - spec.retrain.schedule in cron syntax (5 fields or a descriptor);
//   - spec.data.groups.*.pattern compiles as a Go RE2 regular expression;
//   - data paths relative, clean and inside the repository root; URLs with a host;
//   - spec.data.reference and spec.data.current as windows (last, ago, minRows) with
//     spec.data.source, as files (path or url) without it;
//   - spec.retrain.job.env names set once, not "." and not starting with "..";
//   - spec.retrain.job.gpuResource a qualified Kubernetes resource name;
//   - spec.drift.correlation.pairs of two different keys of spec.data.groups, each pair
//     once, their listed features within maxPairs;
//   - spec.drift.batch.column not a feature of a group.
//
// The schema is stricter than the YAML decoder in a few places, which no valid fixture uses:
// an unquoted number or boolean where a string is expected (version: 12), null for a field
// that is not a pointer (drift: null), durations without a unit or with a sign ("0", "+5h"),
// and 0 for onDrift.of and rollback.failedChecks, which the decoder reads as "use the default".

func TestParseAcceptsValidPolicies(t *testing.T) {
	for _, file := range validFiles(t) {
		t.Run(testName(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := documents(data)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			ps, err := policies.Parse(file, data)
			if err != nil {
				t.Fatalf("policies.Parse rejects a policy the schema accepts:\n%v", err)
			}
			if len(ps) != len(docs) {
				t.Errorf("policies.Parse returned %d policies, want one per document (%d)", len(ps), len(docs))
			}
		})
	}
}

// parseAccepts lists the invalid fixtures that policies.Parse still accepts, each with the
// change that would make the two agree. An entry that Parse starts rejecting fails the test,
// so the list cannot go stale.
var parseAccepts = map[string]string{
	"spec-missing.yaml": "the spec key is required by its json tag (no omitempty), but Parse and Validate accept a document without it: Parse should report spec as required, or policies.ModelPolicy.Spec should be tagged omitempty and the schema regenerated",
}

func TestParseRejectsInvalidPolicies(t *testing.T) {
	for _, file := range fixtures(t, filepath.Join("testdata", "invalid")) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := wants(data)
			ps, err := policies.Parse(file, data)
			if reason, ok := parseAccepts[filepath.Base(file)]; ok {
				if err != nil {
					t.Fatalf("policies.Parse now rejects %s; remove it from parseAccepts: %v", file, err)
				}
				t.Skipf("known disagreement: %s", reason)
			}
			if err == nil {
				t.Fatalf("policies.Parse accepts a policy the schema rejects (want %v rejected)", want)
			}
			if len(ps) != 0 {
				t.Errorf("policies.Parse returned %d policies from an invalid file, want none", len(ps))
			}
			var fields []string
			blamed := false
			for _, fe := range policies.FieldErrors(err) {
				fields = append(fields, fe.Field)
				if fe.File != file {
					t.Errorf("error %q names file %q, want %q", fe, fe.File, file)
				}
				for _, w := range want {
					blamed = blamed || related(fe.Field, w)
				}
			}
			if !blamed {
				t.Errorf("policies.Parse blames %q, want %v (or a field within or above them):\n%v", fields, want, err)
			}
		})
	}
}

// related reports whether field paths a and b are the same, or one lies within the other:
// the schema and Validate may blame a missing key or its object.
func related(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	within := func(child, parent string) bool {
		rest, ok := strings.CutPrefix(child, parent)
		return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
	}
	return within(a, b) || within(b, a)
}
