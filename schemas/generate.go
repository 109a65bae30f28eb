package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/invopop/jsonschema"
	orderedmap "github.com/pb33f/ordered-map/v2"

	"github.com/medimind/modelops/policies"
)

// commentBase stands in for the import path while doc comments are read; see goComments.
const commentBase = "modelops.invalid"

// undocumented gives descriptions to fields of policies whose Go declaration has no doc
// comment, so that every property shows help in an editor. A doc comment, once written,
// wins over the entry here.
var undocumented = map[string]string{
	"EnvVar.Name":         "Name of the environment variable.",
	"EnvVar.Value":        "Value of the environment variable.",
	"Toleration.Key":      "Key is the taint key the toleration applies to; empty matches every key (with operator Exists).",
	"Toleration.Operator": "Operator relates key and value: Exists or Equal. Default Equal.",
	"Toleration.Value":    "Value is the taint value the toleration matches (operator Equal).",
	"Toleration.Effect":   "Effect is the taint effect to match: NoSchedule, PreferNoSchedule or NoExecute; empty matches all.",
	"Resources.Requests":  "Requests are the minimum resources (cpu, memory, ...) as Kubernetes quantities.",
	"Resources.Limits":    "Limits are the maximum resources (cpu, memory, ...) as Kubernetes quantities.",
}

// Generate reflects policies.ModelPolicy into the JSON Schema (draft 2020-12) committed as
// ModelPolicyFile. Descriptions come from the doc comments of the Go source in policiesDir,
// the directory of package policies. Every object rejects unknown keys, required keys are the
// json tags without omitempty, and optional pointer fields also accept null, as the YAML
// decoder does; on top of the struct tags, refine adds the rules of policies.Validate that
// JSON Schema can state. The output is deterministic and ends with a newline.
func Generate(policiesDir string) ([]byte, error) {
	comments, err := goComments(policiesDir)
	if err != nil {
		return nil, err
	}
	r := &jsonschema.Reflector{
		// The root is the ModelPolicy object itself rather than a $ref to it, which is what
		// editors expect of a document schema.
		ExpandedStruct: true,
		CommentMap:     comments,
	}
	root := r.Reflect(&policies.ModelPolicy{})
	root.ID = ModelPolicyID
	root.Title = policies.KindModelPolicy + " (" + policies.APIVersion + ")"
	root.Comments = "Generated from policies/types.go by `make schemas`; do not edit."
	if err := refine(root); err != nil {
		return nil, fmt.Errorf("refine generated schema: %w", err)
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	// Properties keep the Go field order (an ordered map) and every other map is sorted by
	// encoding/json, so equal types give equal bytes. Encode ends with a newline.
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return buf.Bytes(), nil
}

// goComments reads the doc comments of the policies package in dir into a comment map keyed
// by the package's import path, as jsonschema.Reflector.CommentMap expects.
//
// Reflector.AddGoComments builds its keys by joining a base with the directory it walks,
// which only works when that directory is given relative to the module root; tests run in
// another working directory. So the comments are read from the absolute directory under a
// placeholder base and re-keyed to the real import path.
func goComments(dir string) (map[string]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve policies directory %s: %w", dir, err)
	}
	scratch := &jsonschema.Reflector{}
	if err := scratch.AddGoComments(commentBase, abs, jsonschema.WithFullComment()); err != nil {
		return nil, fmt.Errorf("read doc comments in %s: %w", dir, err)
	}
	pkg := reflect.TypeFor[policies.ModelPolicy]().PkgPath()
	prefix := path.Join(commentBase, abs) + "."
	comments := make(map[string]string)
	for k, v := range scratch.CommentMap {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			comments[pkg+"."+rest] = unwrap(v)
		}
	}
	if comments[pkg+".ModelPolicy"] == "" {
		return nil, fmt.Errorf("read doc comments in %s: no documented type ModelPolicy; expected the directory of package policies", dir)
	}
	for k, v := range undocumented {
		if comments[pkg+"."+k] == "" {
			comments[pkg+"."+k] = v
		}
	}
	return comments, nil
}

// unwrap joins the lines of each paragraph of a doc comment: editors render a description
// as Markdown, where the comment's hard line breaks are noise.
func unwrap(s string) string {
	paras := strings.Split(strings.TrimSpace(s), "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(paras, "\n\n")
}

// nonBlank matches a string with at least one non-space character, in both RE2 and the
// ECMA-262 dialect editors use.
const nonBlank = `\S`

// refine adds the rules of policies.Validate that JSON Schema can express and the struct tags
// of package policies do not say, so that an editor flags them before modelops does. The
// schema must never accept what Validate rejects; the tests hold fixtures for each rule.
func refine(root *jsonschema.Schema) error {
	if err := allowNull(root, reflect.TypeFor[policies.ModelPolicy](), map[reflect.Type]bool{}); err != nil {
		return err
	}
	r := &refiner{root: root}
	one := uint64(1)
	columns := func(s *jsonschema.Schema) {
		s.Items.Pattern = nonBlank
		s.UniqueItems = true
	}

	// A canary is judged against production, so it needs one.
	r.def("ModelPolicySpec").DependentRequired = map[string][]string{"canary": {"production"}}
	r.prop("ModelVersion", "version").Pattern = nonBlank
	r.prop("Canary", "version").Pattern = nonBlank

	// Exactly one of path or url, where an empty string counts as unset (as in Go); or a
	// window of spec.data.source, which has last. A window only with a source, a file
	// only without one; a prediction log is always a file.
	r.def("DataSource").OneOf = []*jsonschema.Schema{
		nonEmpty("path", &jsonschema.Schema{MinLength: &one}),
		nonEmpty("url", &jsonschema.Schema{MinLength: &one}),
		{Required: []string{"last"}},
	}
	r.def("LogSource").OneOf = []*jsonschema.Schema{
		nonEmpty("path", &jsonschema.Schema{MinLength: &one}),
		nonEmpty("url", &jsonschema.Schema{MinLength: &one}),
	}
	r.prop("LogSource", "timestamp").Pattern = nonBlank
	file := &jsonschema.Schema{Properties: jsonschema.NewProperties()}
	for _, key := range []string{"last", "ago", "minRows"} {
		file.Properties.Set(key, jsonschema.FalseSchema)
	}
	window := &jsonschema.Schema{Required: []string{"last"}}
	data := r.def("DataSpec")
	data.If = &jsonschema.Schema{Required: []string{"source"}}
	data.Then = &jsonschema.Schema{Properties: properties("reference", window)}
	data.Then.Properties.Set("current", window)
	data.Else = &jsonschema.Schema{Properties: properties("reference", file)}
	data.Else.Properties.Set("current", file)
	pred := r.prop("MetricsSpec", "predictions")
	pred.AllOf, pred.Ref = []*jsonschema.Schema{{Ref: pred.Ref}, file}, ""
	for _, name := range []string{"categorical", "numeric", "exclude"} {
		columns(r.prop("DataSpec", name))
	}
	r.prop("DataSpec", "groups").PropertyNames = &jsonschema.Schema{Pattern: nonBlank}
	r.def("FeatureGroup").OneOf = []*jsonschema.Schema{
		nonEmpty("pattern", &jsonschema.Schema{MinLength: &one}),
		nonEmpty("features", &jsonschema.Schema{MinItems: &one}),
	}
	columns(r.prop("FeatureGroup", "features"))
	columns(r.prop("PromotionSpec", "categories"))

	// Metrics come from a prediction log or Prometheus, not both.
	r.def("MetricsSpec").Not = &jsonschema.Schema{Required: []string{"predictions", "prometheus"}}
	// The query keys are listed as properties rather than with propertyNames so that an
	// editor completes them.
	queries := r.prop("PrometheusSpec", "queries")
	queries.MinProperties = &one
	queries.Properties = jsonschema.NewProperties()
	for _, key := range policies.PrometheusQueryKeys {
		queries.Properties.Set(key, &jsonschema.Schema{
			Type:        "string",
			Pattern:     nonBlank,
			Description: "PromQL query returning the " + key + " of each model version.",
		})
	}
	queries.AdditionalProperties = jsonschema.FalseSchema

	// A retrain launches a job, so a retrain section must say which.
	retrain := r.def("RetrainSpec")
	retrain.Required = append(retrain.Required, "job")
	r.prop("JobSpec", "command").Items.MinLength = &one
	env := r.prop("EnvVar", "name")
	env.Pattern = envVarName
	env.Not = &jsonschema.Schema{Pattern: "^" + caseInsensitive(policies.ReservedEnvPrefix)}
	r.def("Toleration").If = &jsonschema.Schema{
		Properties: properties("operator", &jsonschema.Schema{Const: "Exists"}),
		Required:   []string{"operator"},
	}
	r.def("Toleration").Then = &jsonschema.Schema{Properties: properties("value", &jsonschema.Schema{MaxLength: new(uint64)})}

	// Canary steps are traffic weights in percent; 0 would be no canary at all.
	steps := r.prop("CanaryAnalysisSpec", "steps")
	if r.err == nil && (steps.Items == nil || steps.Items.Type != "integer") {
		return fmt.Errorf("CanaryAnalysisSpec.steps: expected an array of integers")
	}
	steps.Items.Minimum = json.Number("1")
	steps.Items.Maximum = json.Number("100")
	return r.err
}

// envVarName is the environment variable name syntax Kubernetes accepts
// (k8s.io/apimachinery/pkg/util/validation.IsEnvVarName).
const envVarName = `^[-._a-zA-Z][-._a-zA-Z0-9]*$`

// caseInsensitive spells a case-insensitive match of s with character classes, since the
// (?i) flag is not part of the ECMA-262 regular expressions editors use.
func caseInsensitive(s string) string {
	var b strings.Builder
	for _, c := range s {
		lo, up := strings.ToLower(string(c)), strings.ToUpper(string(c))
		if lo == up {
			b.WriteString(regexp.QuoteMeta(string(c)))
			continue
		}
		b.WriteString("[" + up + lo + "]")
	}
	return b.String()
}

// nonEmpty is the subschema "key is present and satisfies s".
func nonEmpty(key string, s *jsonschema.Schema) *jsonschema.Schema {
	return &jsonschema.Schema{Required: []string{key}, Properties: properties(key, s)}
}

func properties(key string, s *jsonschema.Schema) *orderedmap.OrderedMap[string, *jsonschema.Schema] {
	p := jsonschema.NewProperties()
	p.Set(key, s)
	return p
}

// refiner looks up definitions and properties of the generated schema, keeping the first
// failure, so that a renamed type or field fails generation instead of being skipped.
type refiner struct {
	root *jsonschema.Schema
	err  error
}

func (r *refiner) def(name string) *jsonschema.Schema {
	d, err := definition(r.root, name)
	if err != nil {
		if r.err == nil {
			r.err = err
		}
		return &jsonschema.Schema{}
	}
	return d
}

func (r *refiner) prop(def, name string) *jsonschema.Schema {
	p, err := property(r.def(def), name)
	if err != nil {
		if r.err == nil {
			r.err = fmt.Errorf("%s: %w", def, err)
		}
		return &jsonschema.Schema{Items: &jsonschema.Schema{}}
	}
	return p
}

// customSchema is implemented by types that describe themselves (policies.Duration).
type customSchema interface{ JSONSchema() *jsonschema.Schema }

// allowNull makes every optional pointer-to-scalar field of struct type t, and of the structs
// below it, accept null. The YAML decoder reads `threshold: null` as an unset pointer (the
// spec's way to keep a test's default threshold), so the schema must accept it too.
func allowNull(root *jsonschema.Schema, t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] || t.Implements(reflect.TypeFor[customSchema]()) {
		return nil
	}
	seen[t] = true
	sch := root
	if t != reflect.TypeFor[policies.ModelPolicy]() {
		var err error
		if sch, err = definition(root, t.Name()); err != nil {
			return err
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			if err := allowNull(root, ft, seen); err != nil {
				return err
			}
		}
		if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() == reflect.Struct {
			continue
		}
		prop, err := property(sch, name)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name(), err)
		}
		if prop.Type == "" || len(prop.Enum) > 0 {
			return fmt.Errorf("%s.%s: cannot make a property without a plain type nullable", t.Name(), name)
		}
		if prop.Extras == nil {
			prop.Extras = map[string]any{}
		}
		prop.Extras["type"] = []string{prop.Type, "null"}
		prop.Type = ""
	}
	return nil
}

func definition(root *jsonschema.Schema, name string) (*jsonschema.Schema, error) {
	d, ok := root.Definitions[name]
	if !ok || d == nil {
		return nil, fmt.Errorf("find definition %s: not generated", name)
	}
	return d, nil
}

func property(s *jsonschema.Schema, name string) (*jsonschema.Schema, error) {
	if s.Properties == nil {
		return nil, fmt.Errorf("find property %s: schema has no properties", name)
	}
	p, ok := s.Properties.Get(name)
	if !ok || p == nil {
		return nil, fmt.Errorf("find property %s: not generated", name)
	}
	return p, nil
}
