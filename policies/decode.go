package policies

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sergi/go-diff/diffmatchpatch"
	"go.yaml.in/yaml/v3"
)

// Policy is one decoded, defaulted and valid ModelPolicy document and where it came from.
type Policy struct {
	ModelPolicy
	// File is the slash-separated path of the file relative to the loaded root (or the name
	// given to Parse).
	File string
	// Doc is the index of the YAML document in the file (0 for single-document files).
	Doc int

	// index maps field paths to their position in File.
	index fieldIndex
}

// Position returns the line and column of field (a path such as spec.canary.weight) in the
// policy's file. A field left out of the file gets the position of its nearest parent that is
// present, so that errors about missing fields still point somewhere useful.
func (p *Policy) Position(field string) (line, column int) {
	pos := p.index.lookup(field)
	return pos.line, pos.col
}

// Errorf returns a *FieldError about field of this policy, positioned in its file.
func (p *Policy) Errorf(field, format string, args ...any) *FieldError {
	pos := p.index.lookup(field)
	return &FieldError{File: p.File, Line: pos.line, Column: pos.col, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Parse strictly decodes every ModelPolicy document in one file's bytes, applies Default and
// Validate, and returns the valid policies plus ALL problems (a *multierror.Error of
// *FieldError), each positioned at file:line:col. Documents whose apiVersion is not in group
// modelops.medimind.io are ignored (other YAML may live in the repo); a modelops group doc of
// an unknown version/kind is an error. A document with any problem is not returned.
func Parse(file string, data []byte) ([]*Policy, error) {
	var policies []*Policy
	var errs []error
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 0; ; doc++ {
		var root yaml.Node
		if derr := safeDecode(dec.Decode, &root); derr != nil {
			if !errors.Is(derr, io.EOF) {
				errs = append(errs, syntaxError(file, data, derr))
			}
			break
		}
		p, perrs := parseDocument(file, doc, &root, len(data))
		errs = append(errs, perrs...)
		if p != nil {
			policies = append(policies, p)
		}
	}
	sortErrors(errs)
	return policies, multiError(errs)
}

// safeDecode calls a yaml.v3 decode function. The library panics on a few malformed inputs
// (for example "internal error: unexpected tail comment event"); a policy file must never
// bring the process down, so such a panic becomes an error.
func safeDecode(decode func(any) error, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return decode(v)
}

// yamlLine finds the line number yaml.v3 puts in its messages ("yaml: line 7: ...").
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// unknownAnchor matches yaml.v3's message for an alias without an anchor, which has no line.
var unknownAnchor = regexp.MustCompile(`^(?:yaml: )?unknown anchor '(.*)' referenced$`)

// syntaxError turns a YAML parser error into a FieldError naming its line. The parser does not
// report a column.
func syntaxError(file string, data []byte, err error) *FieldError {
	msg := err.Error()
	fe := &FieldError{File: file}
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		fe.Line, _ = strconv.Atoi(msg[m[2]:m[3]])
		msg = msg[m[1]:]
		if isParserError(msg) {
			// yaml.v3 adds one to the 0-based line of scanner errors only; parser
			// errors come out a line early.
			fe.Line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
			if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
				fe.Line = 1 + bytes.Count(data[:i], []byte("\n"))
				fe.Column = 1 + i - (bytes.LastIndexByte(data[:i], '\n') + 1)
			}
		}
	}
	fe.Message = "invalid YAML: " + msg
	return fe
}

// isParserError reports whether msg is one of the problems of yaml.v3's parser (parserc.go)
// rather than of its scanner.
func isParserError(msg string) bool {
	return strings.HasPrefix(msg, "did not find expected ") ||
		strings.HasPrefix(msg, "found duplicate %") ||
		msg == "found incompatible YAML document" ||
		msg == "found undefined tag handle"
}

// parseDocument decodes one YAML document. It returns nil and no errors for a document that
// is not a modelops policy.
func parseDocument(file string, doc int, root *yaml.Node, size int) (*Policy, []error) {
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil
	}
	apiVersion, hasAPIVersion := topScalar(root, "apiVersion")
	kind, _ := topScalar(root, "kind")
	group, _, _ := strings.Cut(apiVersion, "/")
	if group != Group && (hasAPIVersion || kind != KindModelPolicy) {
		return nil, nil
	}

	d := newDecoder(file, size)
	d.index[""] = nodePos{root.Line, root.Column}
	if apiVersion != APIVersion || kind != KindModelPolicy {
		// Another version or kind of ours: its fields may mean something else, so the
		// rest of the document is not checked against this version's types.
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i]; k.Kind == yaml.ScalarNode {
				d.record(root.Content[i+1], childPath("", k.Value), k)
			}
		}
		var errs []error
		switch {
		case apiVersion == "":
			errs = append(errs, d.fieldError("apiVersion", "is required, expected %s", APIVersion))
		case apiVersion != APIVersion:
			errs = append(errs, d.fieldError("apiVersion", "unsupported apiVersion, expected %s, got %q", APIVersion, apiVersion))
		}
		switch {
		case kind == "":
			errs = append(errs, d.fieldError("kind", "is required, expected %s", KindModelPolicy))
		case kind != KindModelPolicy:
			errs = append(errs, d.fieldError("kind", "unsupported kind, expected %s, got %q", KindModelPolicy, kind))
		}
		return nil, errs
	}

	d.walk(root, modelPolicyType, "", nil)
	var mp ModelPolicy
	if err := safeDecode(root.Decode, &mp); err != nil {
		var terr *yaml.TypeError
		switch {
		case len(d.errs) > 0:
			// The walk has already reported these, with columns and field paths.
		case errors.As(err, &terr):
			for _, msg := range terr.Errors {
				d.errs = append(d.errs, syntaxError(file, nil, errors.New(msg)))
			}
		default:
			d.errs = append(d.errs, d.fieldError("", "decode: %s", strings.TrimPrefix(err.Error(), "yaml: ")))
		}
	}
	mp.Default()
	for _, fe := range FieldErrors(mp.Validate()) {
		if d.covered(fe.Field) {
			continue
		}
		d.errs = append(d.errs, d.fieldError(fe.Field, "%s", fe.Message))
	}
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return &Policy{ModelPolicy: mp, File: file, Doc: doc, index: d.index}, nil
}

// topScalar returns the value of a scalar key of mapping m, and whether the key is present.
func topScalar(m *yaml.Node, key string) (string, bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			v := m.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
				return v.Value, true
			}
			return "", true
		}
	}
	return "", false
}

// nodePos is a 1-based line and column in a file.
type nodePos struct{ line, col int }

// fieldIndex maps field paths (spec.canary.steps[2]) to the position of their value.
type fieldIndex map[string]nodePos

// lookup returns the position of path or of its nearest parent present in the index.
func (ix fieldIndex) lookup(path string) nodePos {
	for {
		if pos, ok := ix[path]; ok {
			return pos
		}
		if path == "" {
			return nodePos{}
		}
		path = parentPath(path)
	}
}

// childPath is the path of key below parent. Map keys that are not plain words are quoted in
// brackets (metadata.labels["app.kubernetes.io/name"]) so that a path can be split again.
func childPath(parent, key string) string {
	if key == "" || strings.ContainsFunc(key, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// indexPath is the path of the i-th element of the list at parent.
func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parentPath strips the last segment (".key", "[3]" or "[\"key\"]") from path.
func parentPath(path string) string {
	last := 0
	for i := 0; i < len(path); {
		switch path[i] {
		case '.':
			last = i
			i++
		case '[':
			last = i
			i++
			if i < len(path) && path[i] == '"' {
				q, err := strconv.QuotedPrefix(path[i:])
				if err != nil {
					return path[:last]
				}
				i += len(q)
			}
			j := strings.IndexByte(path[i:], ']')
			if j < 0 {
				return path[:last]
			}
			i += j + 1
		default:
			i++
		}
	}
	return path[:last]
}

// decoder walks a YAML node tree against the Go policy types. It reports unknown keys, wrong
// node kinds, malformed scalars and duplicate keys with their positions, and records the
// position of every field path for the errors Validate reports without one.
type decoder struct {
	file  string
	index fieldIndex
	errs  []error
	// bad holds the paths that already have an error, so that Validate does not report
	// the same field a second time (a malformed weight is decoded as missing).
	bad []string
	// budget bounds the nodes visited, aliases included, so that a small document with
	// nested aliases cannot make the walk take exponential time.
	budget int
	// active holds the alias targets being walked, to stop on an alias that contains itself.
	active map[*yaml.Node]bool
}

func newDecoder(file string, size int) *decoder {
	return &decoder{
		file:   file,
		index:  make(fieldIndex, 64),
		budget: 10000 + 100*size,
		active: map[*yaml.Node]bool{},
	}
}

// fieldError returns an error about path, positioned at it or its nearest parent.
func (d *decoder) fieldError(path, format string, args ...any) *FieldError {
	pos := d.index.lookup(path)
	return &FieldError{File: d.file, Line: pos.line, Column: pos.col, Field: path, Message: fmt.Sprintf(format, args...)}
}

// errorAt records an error about path at node n.
func (d *decoder) errorAt(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: n.Line, Column: n.Column, Field: path, Message: fmt.Sprintf(format, args...)})
	d.bad = append(d.bad, path)
}

// covered reports whether a Validate error about path repeats a decoding error: one on the
// path itself, on a parent of it, or on an element of the list at path.
func (d *decoder) covered(path string) bool {
	for _, b := range d.bad {
		if b == path || strings.HasPrefix(path, b) && (b == "" || path[len(b)] == '.' || path[len(b)] == '[') ||
			strings.HasPrefix(b, path+"[") {
			return true
		}
	}
	return false
}

var (
	modelPolicyType = reflect.TypeFor[ModelPolicy]()
	durationType    = reflect.TypeFor[Duration]()
)

// structField is a field of a policy struct as it is spelt in YAML.
type structField struct {
	name string
	typ  reflect.Type
}

var structFieldsCache sync.Map // reflect.Type -> []structField

// structFields lists the YAML keys of struct type t, from the json tags (equal to the yaml tags).
func structFields(t reflect.Type) []structField {
	if v, ok := structFieldsCache.Load(t); ok {
		return v.([]structField)
	}
	var fields []structField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			fields = append(fields, structFields(f.Type)...)
			continue
		}
		fields = append(fields, structField{name, f.Type})
	}
	structFieldsCache.Store(t, fields)
	return fields
}

// walk checks node n against type t at path. key is the mapping key holding n, if any.
func (d *decoder) walk(n *yaml.Node, t reflect.Type, path string, key *yaml.Node) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.errorAt(n, path, "document too large or too many aliases")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		d.record(n, path, key)
		if n.Alias == nil || d.active[n.Alias] {
			d.errorAt(n, path, "alias *%s refers to itself", n.Value)
			return
		}
		d.active[n.Alias] = true
		d.walkValue(n.Alias, t, path)
		delete(d.active, n.Alias)
		return
	}
	d.record(n, path, key)
	d.walkValue(n, t, path)
}

// record notes the position of path: the value for scalars and flow collections, the key for
// block collections (whose value starts on the next line).
func (d *decoder) record(n *yaml.Node, path string, key *yaml.Node) {
	if key != nil && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle == 0 {
		d.index[path] = nodePos{key.Line, key.Column}
		return
	}
	d.index[path] = nodePos{n.Line, n.Column}
}

func (d *decoder) walkValue(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // left out: the zero value, then the default
	}
	if t == durationType {
		d.duration(n, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if !d.expect(n, yaml.MappingNode, path) {
			return
		}
		fields := structFields(t)
		for _, kv := range d.pairs(n, path) {
			name := kv.key.Value
			i := slices.IndexFunc(fields, func(f structField) bool { return f.name == name })
			if i < 0 {
				d.unknownField(kv.key, path, fields)
				continue
			}
			d.walk(kv.value, fields[i].typ, childPath(path, name), kv.key)
		}
	case reflect.Map:
		if !d.expect(n, yaml.MappingNode, path) {
			return
		}
		for _, kv := range d.pairs(n, path) {
			if kv.key.Tag == "!!null" {
				d.errorAt(kv.key, path, "expected a name as key, got null")
				continue
			}
			d.walk(kv.value, t.Elem(), childPath(path, kv.key.Value), kv.key)
		}
	case reflect.Slice:
		if !d.expect(n, yaml.SequenceNode, path) {
			return
		}
		for i, item := range n.Content {
			d.walk(item, t.Elem(), indexPath(path, i), nil)
		}
	case reflect.Interface:
		// Any value is accepted (only used for the parts of documents not checked).
	case reflect.String:
		d.expect(n, yaml.ScalarNode, path)
	case reflect.Bool:
		if d.expect(n, yaml.ScalarNode, path) && n.Tag != "!!bool" {
			d.errorAt(n, path, "expected true or false, got %s", describeNode(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !d.expect(n, yaml.ScalarNode, path) {
			return
		}
		var v int64
		if n.Tag != "!!int" || n.Decode(&v) != nil {
			d.errorAt(n, path, "expected an integer, got %s", describeNode(n))
		} else if reflect.New(t).Elem().OverflowInt(v) {
			d.errorAt(n, path, "expected an integer of at most %d bits, got %s", t.Bits(), n.Value)
		}
	case reflect.Float32, reflect.Float64:
		if !d.expect(n, yaml.ScalarNode, path) {
			return
		}
		if n.Tag != "!!int" && n.Tag != "!!float" {
			d.errorAt(n, path, "expected a number, got %s", describeNode(n))
		}
	default:
		d.errorAt(n, path, "unsupported field type %s", t)
	}
}

// expect reports an error unless n is of kind k.
func (d *decoder) expect(n *yaml.Node, k yaml.Kind, path string) bool {
	if n.Kind == k {
		return true
	}
	want := map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "a single value"}[k]
	d.errorAt(n, path, "expected %s, got %s", want, describeNode(n))
	return false
}

// duration checks a Duration scalar as Duration.UnmarshalYAML reads it.
func (d *decoder) duration(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" && n.Tag != "" {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value == "0" {
			return
		}
		d.errorAt(n, path, "expected a duration such as 6h or 90m, got %s", describeNode(n))
		return
	}
	v, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		d.errorAt(n, path, "expected a duration such as 6h or 90m, got %q", n.Value)
	case v < 0:
		d.errorAt(n, path, "must be a positive duration, got %q", n.Value)
	}
}

// keyValue is one entry of a mapping after merge keys are applied.
type keyValue struct{ key, value *yaml.Node }

// pairs returns the entries of mapping n with merge keys (<<) applied: keys written in n win
// over merged ones, and of several merged mappings the first wins, as YAML defines. It
// reports duplicate keys, keys that are not single values and malformed merges.
func (d *decoder) pairs(n *yaml.Node, path string) []keyValue {
	var own, merged []keyValue
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, d.merge(v, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorAt(k, path, "expected a single value as key, got %s", describeNode(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorAt(k, childPath(path, k.Value), "duplicate key, first defined at line %d", first.Line)
			continue
		}
		seen[k.Value] = k
		own = append(own, keyValue{k, v})
	}
	for _, kv := range merged {
		if _, ok := seen[kv.key.Value]; !ok {
			seen[kv.key.Value] = kv.key
			own = append(own, kv)
		}
	}
	return own
}

// merge returns the entries merged in by the value v of a merge key: a mapping or a list of
// mappings, usually aliases.
func (d *decoder) merge(v *yaml.Node, path string) []keyValue {
	var out []keyValue
	one := func(m *yaml.Node) {
		if d.budget--; d.budget < 0 {
			return
		}
		target := m
		if m.Kind == yaml.AliasNode {
			target = m.Alias
			if target == nil || d.active[target] {
				d.errorAt(m, path, "alias *%s refers to itself", m.Value)
				return
			}
		}
		if target.Kind != yaml.MappingNode {
			d.errorAt(m, path, "expected a mapping or a list of mappings to merge (<<), got %s", describeNode(target))
			return
		}
		d.active[target] = true
		out = append(out, d.pairs(target, path)...)
		delete(d.active, target)
	}
	if v.Kind == yaml.SequenceNode {
		for _, m := range v.Content {
			one(m)
		}
	} else {
		one(v)
	}
	return out
}

// unknownField reports key k, not a field of the struct at path, suggesting the closest
// known field.
func (d *decoder) unknownField(k *yaml.Node, path string, fields []structField) {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	if s := closest(k.Value, names); s != "" {
		d.errorAt(k, childPath(path, k.Value), "unknown field, did you mean %s?", s)
		return
	}
	d.errorAt(k, childPath(path, k.Value), "unknown field, expected one of %s", strings.Join(names, ", "))
}

// closest returns the candidate nearest to s in edit distance (ignoring case), or "" when
// none is near enough to be a likely misspelling.
func closest(s string, candidates []string) string {
	dmp := diffmatchpatch.New()
	best, bestDist := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		dist := dmp.DiffLevenshtein(dmp.DiffMain(ls, strings.ToLower(c), false))
		if dist <= max(1, len(c)/3) && (bestDist < 0 || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

// describeNode names what a node holds, for "expected X, got Y" messages.
func describeNode(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str", "":
			return strconv.Quote(n.Value)
		case "!!null":
			return "null"
		}
		return n.Value
	}
	return "nothing"
}
