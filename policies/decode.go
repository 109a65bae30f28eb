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

	"github.com/sergi/go-diff/diffmatchpatch"
	"go.yaml.in/yaml/v3"
	yamlv4 "go.yaml.in/yaml/v4"
)

// Policy is one decoded, defaulted and valid ModelPolicy document and where it came from.
type Policy struct {
	ModelPolicy
	// File is the slash-separated path of the file relative to the loaded root (or the name
	// given to Parse).
	File string
	// Doc is the index of the YAML document in the file (0 for single-document files).
	Doc int

	// pos finds the positions of fields in File.
	pos *positions
}

// positions finds field positions in a policy's document on first use. Only errors need them,
// and the positions of the hundred-odd fields of a policy cost more to find and keep than the
// file's bytes, from which they are found again when asked.
type positions struct {
	once  sync.Once
	src   []byte // the file's bytes
	doc   int
	index fieldIndex // built by once
}

// lookup returns the position of path or of its nearest parent in the document.
func (ps *positions) lookup(path string) nodePos {
	if ps == nil {
		return nodePos{}
	}
	ps.once.Do(func() {
		ps.index = indexDocument(ps.src, ps.doc)
		ps.src = nil
	})
	return ps.index.lookup(path)
}

// Position returns the line and column of field (a path such as spec.canary.weight) in the
// policy's file. A field left out of the file gets the position of its nearest parent that is
// present, so that errors about missing fields still point somewhere useful.
func (p *Policy) Position(field string) (line, column int) {
	pos := p.pos.lookup(field)
	return pos.line, pos.col
}

// Errorf returns a *FieldError about field of this policy, positioned in its file.
func (p *Policy) Errorf(field, format string, args ...any) *FieldError {
	pos := p.pos.lookup(field)
	return &FieldError{File: p.File, Line: pos.line, Column: pos.col, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Parse strictly decodes every ModelPolicy document in one file's bytes, applies Default and
// Validate, and returns the valid policies plus ALL problems (a *multierror.Error of
// *FieldError), each positioned at file:line:col. Documents whose apiVersion is not in group
// modelops.medimind.io are ignored (other YAML may live in the repo); a modelops group doc of
// an unknown version/kind is an error. A document with any problem is not returned.
func Parse(file string, data []byte) ([]*Policy, error) {
	// The policies keep the bytes to find positions later; the caller may reuse its own.
	ps, errs := parseFile(file, bytes.Clone(data))
	return ps, multiError(errs)
}

// MaxFileBytes is the largest policy file read: far more than any real policy, and small
// enough that a huge file (a mistake or an attack) costs neither seconds nor memory.
const MaxFileBytes = 1 << 20

// tooLarge is the problem of a policy file of size bytes, over MaxFileBytes.
func tooLarge(file string, size int64) *FieldError {
	return &FieldError{File: file, Message: fmt.Sprintf("file is %d bytes, more than the %d bytes (1 MiB) a policy file may have", size, MaxFileBytes)}
}

// parseFile is Parse for bytes that the policies may keep, with the problems sorted.
func parseFile(file string, data []byte) ([]*Policy, []error) {
	if len(data) > MaxFileBytes {
		return nil, []error{tooLarge(file, int64(len(data)))}
	}
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
			p.pos = &positions{src: data, doc: doc}
			policies = append(policies, p)
		}
	}
	sortErrors(errs)
	return policies, errs
}

// indexDocument finds the positions of the fields of the doc-th document of src, a file
// that parsed before, as parseDocument found them.
func indexDocument(src []byte, doc int) fieldIndex {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for i := 0; ; i++ {
		var root yaml.Node
		if safeDecode(dec.Decode, &root) != nil {
			return nil
		}
		if i < doc {
			continue
		}
		n := &root
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			n = n.Content[0]
		}
		d := newDecoder("", len(src))
		d.indexAll(n)
		return d.index
	}
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
	if le := problemAt(data); le != nil {
		fe.Line, fe.Column = le.Mark.Line, le.Mark.Column
		fe.Message = "invalid YAML: " + le.Message + blockContext(data, le)
		return fe
	}
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

// problemAt parses data again with yaml v4 for the position of its first syntax error: v3
// reports the line where the enclosing block starts (an indentation error on line 40 came
// out at line 16), v4 the line and column of the problem and, apart, of the block. It returns
// nil when v4 finds no positioned error.
func problemAt(data []byte) *yamlv4.LoadError {
	if data == nil {
		return nil
	}
	l, err := yamlv4.NewLoader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	for range maxDocuments {
		var n yamlv4.Node
		err := safeDecode(l.Load, &n)
		if err == nil {
			continue
		}
		if le, ok := errors.AsType[*yamlv4.LoadError](err); ok && le.Mark.Line > 0 {
			return le
		}
		return nil
	}
	return nil
}

// maxDocuments bounds the documents problemAt reads.
const maxDocuments = 1 << 16

// blockContext names the block a parser error happened in, when it started on another line:
// " (in the block mapping under spec, from line 16; check the indentation)".
func blockContext(data []byte, le *yamlv4.LoadError) string {
	what, ok := strings.CutPrefix(le.ContextMsg, "while parsing ")
	if !ok || le.ContextMark.Line == 0 || le.ContextMark.Line == le.Mark.Line {
		return ""
	}
	where := ""
	if key := parentKey(data, le.ContextMark.Line, le.ContextMark.Column); key != "" {
		where = " under " + key
	}
	hint := ""
	if strings.HasPrefix(what, "a block ") {
		hint = "; check the indentation"
	}
	return fmt.Sprintf(" (in %s%s, from line %d%s)", what, where, le.ContextMark.Line, hint)
}

// parentKey returns the key whose value is the collection that starts at line and column
// (1-based): the key before it on its line, else that of the nearest line above indented
// less; "" at the top level.
func parentKey(data []byte, line, column int) string {
	lines := strings.Split(string(data), "\n")
	if line <= len(lines) && column-1 <= len(lines[line-1]) {
		// A flow collection starts on its key's line: "production: {...".
		before := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[line-1][:column-1]), "- "))
		if key, ok := strings.CutSuffix(before, ":"); ok && key != "" {
			return key
		}
	}
	for i := min(line, len(lines)) - 2; i >= 0; i-- {
		text := strings.TrimRight(lines[i], " \t\r")
		trimmed := strings.TrimLeft(text, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || len(text)-len(trimmed) >= column-1 {
			continue
		}
		key, _, found := strings.Cut(strings.TrimPrefix(trimmed, "- "), ":")
		if !found {
			return ""
		}
		return key
	}
	return ""
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
	if apiVersion != APIVersion || kind != KindModelPolicy {
		// Another version or kind of ours: its fields may mean something else, so the
		// rest of the document is not checked against this version's types.
		d.index = fieldIndex{"": {root.Line, root.Column}}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i]; k.Kind == yaml.ScalarNode {
				d.push(k.Value, -1)
				d.record(root.Content[i+1], k)
				d.pop()
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

	// The walk decodes into the Policy it returns, which saves copying the large struct.
	p := &Policy{File: file, Doc: doc}
	mp := &p.ModelPolicy
	err := d.decodePolicy(root, mp)
	if err != nil {
		var terr *yaml.TypeError
		switch {
		case len(d.errs) > 0:
			// The walk has already reported these, with columns and field paths.
		case errors.As(err, &terr):
			for _, msg := range terr.Errors {
				d.errs = append(d.errs, syntaxError(file, nil, errors.New(msg)))
			}
		default:
			d.indexAll(root)
			d.errs = append(d.errs, d.fieldError("", "decode: %s", strings.TrimPrefix(err.Error(), "yaml: ")))
		}
	}
	mp.Default()
	for _, fe := range FieldErrors(mp.Validate()) {
		if d.covered(fe.Field) {
			continue
		}
		d.indexAll(root)
		d.errs = append(d.errs, d.fieldError(fe.Field, "%s", fe.Message))
	}
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return p, nil
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

// pathSeg is one segment of the field path the walk is at: a mapping key, or a list index.
type pathSeg struct {
	key   string // when index < 0
	index int
}

// decoder walks a YAML node tree against the Go policy types and decodes it. It reports
// unknown keys, wrong node kinds, malformed scalars and duplicate keys with their positions,
// and, when asked (indexAll), records the position of every field path for the errors
// Validate reports without one.
//
// The walk sets the values itself, so that a policy is decoded in one pass over its nodes.
// It does so only for the plain YAML that policies are written in; a document that uses
// aliases, merge keys or explicit tags, or that has an error, is decoded again by yaml.v3
// (see decodePolicy), whose handling of those is subtle and whose result Validate must see
// unchanged.
type decoder struct {
	file string
	size int
	// path is the field path the walk is at, spelt out (pathString) only for an error or
	// the index of positions, which most documents never need.
	path []pathSeg
	// index is nil until positions are wanted.
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
	// exotic is set when the document uses a YAML feature whose decoding the walk leaves
	// to yaml.v3.
	exotic bool
	// kvs is a stack of the entries of the mappings being walked (see pairs), so that a
	// mapping's entries need no slice of their own.
	kvs []keyValue
	// pathBuf and kvsBuf hold path and kvs for documents no larger than policies are.
	pathBuf [12]pathSeg
	kvsBuf  [48]keyValue
}

func newDecoder(file string, size int) *decoder {
	d := &decoder{file: file, size: size, budget: 10000 + 100*size}
	d.path, d.kvs = d.pathBuf[:0], d.kvsBuf[:0]
	return d
}

// decodePolicy walks root, a mapping, against ModelPolicy and stores its value in *mp, which
// must be zero. The error is yaml.v3's when the document had to be decoded by it.
func (d *decoder) decodePolicy(root *yaml.Node, mp *ModelPolicy) error {
	d.walk(root, reflect.ValueOf(mp).Elem(), nil)
	if !d.exotic && len(d.errs) == 0 {
		return nil
	}
	// yaml.v3 decodes what it can of a document with errors, and Validate reports on that;
	// aliases, merges and tags are decoded exactly as yaml.v3 always has.
	*mp = ModelPolicy{}
	return safeDecode(root.Decode, mp)
}

// indexAll records the position of every field of root, a policy's mapping, unless done: the
// same walk again, recording instead of decoding.
func (d *decoder) indexAll(root *yaml.Node) {
	if d.index != nil {
		return
	}
	ix := newDecoder(d.file, d.size)
	ix.index = make(fieldIndex, 128)
	ix.index[""] = nodePos{root.Line, root.Column}
	ix.walkType(root, reflect.Value{}, modelPolicyType, nil)
	d.index = ix.index
}

// fieldError returns an error about path, positioned at it or its nearest parent.
func (d *decoder) fieldError(path, format string, args ...any) *FieldError {
	pos := d.index.lookup(path)
	return &FieldError{File: d.file, Line: pos.line, Column: pos.col, Field: path, Message: fmt.Sprintf(format, args...)}
}

// push enters the field key (index < 0) or the list item index; pop leaves it.
func (d *decoder) push(key string, index int) { d.path = append(d.path, pathSeg{key, index}) }
func (d *decoder) pop()                       { d.path = d.path[:len(d.path)-1] }

// pathString spells the path the walk is at as Validate does: spec.canary.steps[2],
// metadata.labels["a.b"].
func (d *decoder) pathString() string {
	s := ""
	for _, seg := range d.path {
		if seg.index >= 0 {
			s = indexPath(s, seg.index)
		} else {
			s = childPath(s, seg.key)
		}
	}
	return s
}

// errorAt records an error about the path the walk is at, positioned at node n.
func (d *decoder) errorAt(n *yaml.Node, format string, args ...any) {
	p := d.pathString()
	d.errs = append(d.errs, &FieldError{File: d.file, Line: n.Line, Column: n.Column, Field: p, Message: fmt.Sprintf(format, args...)})
	d.bad = append(d.bad, p)
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
	stringMapType   = reflect.TypeFor[map[string]string]()
	stringsType     = reflect.TypeFor[[]string]()
)

// structField is a field of a policy struct as it is spelt in YAML.
type structField struct {
	name  string
	typ   reflect.Type
	index []int // for reflect.Value.FieldByIndex
}

// structInfo lists the fields of a struct type, in order, and by name.
type structInfo struct {
	fields []structField
	byName map[string]int
}

// policyStructs holds the fields of the struct types of a ModelPolicy, found once at start:
// a map that is only read needs no lock, and the walk looks a struct up for every mapping.
var policyStructs = reachableStructs(modelPolicyType)

// structInfoCache holds the fields of other struct types, found on first use.
var structInfoCache sync.Map // reflect.Type -> *structInfo

// structFields lists the YAML keys of struct type t, from the json tags (equal to the yaml
// tags, which a test checks).
func structFields(t reflect.Type) *structInfo {
	if info, ok := policyStructs[t]; ok {
		return info
	}
	if v, ok := structInfoCache.Load(t); ok {
		return v.(*structInfo)
	}
	info := newStructInfo(t)
	structInfoCache.Store(t, info)
	return info
}

func newStructInfo(t reflect.Type) *structInfo {
	info := &structInfo{fields: appendStructFields(nil, t, nil), byName: map[string]int{}}
	for i, f := range info.fields {
		info.byName[f.name] = i
	}
	return info
}

// reachableStructs returns the fields of t and of every struct type its fields hold, through
// pointers, slices and maps.
func reachableStructs(t reflect.Type) map[reflect.Type]*structInfo {
	infos := map[reflect.Type]*structInfo{}
	var visit func(reflect.Type)
	visit = func(t reflect.Type) {
		for {
			switch t.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
				t = t.Elem()
				continue
			case reflect.Struct:
				if infos[t] != nil {
					return
				}
				info := newStructInfo(t)
				infos[t] = info
				for _, f := range info.fields {
					visit(f.typ)
				}
			}
			return
		}
	}
	visit(t)
	return infos
}

func appendStructFields(fields []structField, t reflect.Type, parent []int) []structField {
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
		index := append(slices.Clip(parent), i)
		if f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			fields = appendStructFields(fields, f.Type, index)
			continue
		}
		fields = append(fields, structField{name, f.Type, index})
	}
	return fields
}

// walk checks node n against the type of v at the walk's path and stores its value in v. key is the
// mapping key holding n, if any.
func (d *decoder) walk(n *yaml.Node, v reflect.Value, key *yaml.Node) {
	d.walkType(n, v, v.Type(), key)
}

// walkType is walk for a value of type t; v is settable, or the zero Value when no value is
// wanted.
func (d *decoder) walkType(n *yaml.Node, v reflect.Value, t reflect.Type, key *yaml.Node) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.errorAt(n, "document too large or too many aliases")
		}
		return
	}
	if n.Style&yaml.TaggedStyle != 0 {
		d.exotic = true
	}
	if n.Kind == yaml.AliasNode {
		d.exotic = true
		d.record(n, key)
		if n.Alias == nil || d.active[n.Alias] {
			d.errorAt(n, "alias *%s refers to itself", n.Value)
			return
		}
		if d.active == nil {
			d.active = map[*yaml.Node]bool{}
		}
		d.active[n.Alias] = true
		d.walkValue(n.Alias, reflect.Value{}, t)
		delete(d.active, n.Alias)
		return
	}
	d.record(n, key)
	d.walkValue(n, v, t)
}

// record notes the position of path, when positions are wanted: the value for scalars and
// flow collections, the key for block collections (whose value starts on the next line).
func (d *decoder) record(n *yaml.Node, key *yaml.Node) {
	if d.index == nil {
		return
	}
	if key != nil && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle == 0 {
		d.index[d.pathString()] = nodePos{key.Line, key.Column}
		return
	}
	d.index[d.pathString()] = nodePos{n.Line, n.Column}
}

// setting reports whether the walk stores values in v: once the document is known to go to
// yaml.v3, values are not worth making.
func (d *decoder) setting(v reflect.Value) bool {
	return v.IsValid() && !d.exotic && len(d.errs) == 0
}

func (d *decoder) walkValue(n *yaml.Node, v reflect.Value, t reflect.Type) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // left out: the zero value, then the default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if d.setting(v) {
			if v.IsNil() {
				v.Set(reflect.New(t))
			}
			v = v.Elem()
		} else {
			v = reflect.Value{}
		}
	}
	if t == durationType {
		d.duration(n, v)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if !d.expect(n, yaml.MappingNode) {
			return
		}
		info := structFields(t)
		mark := len(d.kvs)
		for _, kv := range d.pairs(n) {
			name := kv.key.Value
			i, ok := info.byName[name]
			if !ok {
				d.unknownField(kv.key, info.fields)
				continue
			}
			f := &info.fields[i]
			var fv reflect.Value
			if d.setting(v) {
				fv = v.FieldByIndex(f.index)
			}
			d.push(name, -1)
			d.walkType(kv.value, fv, f.typ, kv.key)
			d.pop()
		}
		d.release(mark)
	case reflect.Map:
		if !d.expect(n, yaml.MappingNode) {
			return
		}
		mark := len(d.kvs)
		d.walkMap(d.pairs(n), v, t)
		d.release(mark)
	case reflect.Slice:
		if !d.expect(n, yaml.SequenceNode) {
			return
		}
		d.sequence(n, v, t)
	case reflect.Interface:
		// Any value is accepted (only used for the parts of documents not checked); its
		// decoding is left to yaml.v3.
		d.exotic = true
	case reflect.String:
		if d.expect(n, yaml.ScalarNode) && d.setting(v) {
			// yaml.v3 keeps the text of any scalar but null (and !!binary, which is tagged).
			v.SetString(n.Value)
		}
	case reflect.Bool:
		if !d.expect(n, yaml.ScalarNode) {
			return
		}
		if n.Tag != "!!bool" {
			d.errorAt(n, "expected true or false, got %s", describeNode(n))
			return
		}
		if d.setting(v) {
			b, err := strconv.ParseBool(n.Value) // the implicit !!bool spellings: true, True, TRUE, ...
			d.set(n, v, err == nil, func() { v.SetBool(b) })
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !d.expect(n, yaml.ScalarNode) {
			return
		}
		i, ok := decimal(n)
		if !ok {
			var x int64
			if n.Tag != "!!int" || n.Decode(&x) != nil {
				d.errorAt(n, "expected an integer, got %s", describeNode(n))
				return
			}
			i = x
		}
		if bits := t.Bits(); bits < 64 && (i < -1<<(bits-1) || i >= 1<<(bits-1)) {
			d.errorAt(n, "expected an integer of at most %d bits, got %s", t.Bits(), n.Value)
			return
		}
		if d.setting(v) {
			v.SetInt(i)
		}
	case reflect.Float32, reflect.Float64:
		if !d.expect(n, yaml.ScalarNode) {
			return
		}
		if n.Tag != "!!int" && n.Tag != "!!float" {
			d.errorAt(n, "expected a number, got %s", describeNode(n))
			return
		}
		if d.setting(v) {
			f, ok := plainFloat(n)
			d.set(n, v, ok, func() { v.SetFloat(f) })
		}
	default:
		d.errorAt(n, "unsupported field type %s", t)
	}
}

// walkMap walks the entries kvs of a mapping into the map v of type t.
func (d *decoder) walkMap(kvs []keyValue, v reflect.Value, t reflect.Type) {
	if d.setting(v) && v.IsNil() {
		// yaml.v3 makes the map even when the mapping is empty.
		v.Set(reflect.MakeMapWithSize(t, len(kvs)))
	}
	if t == stringMapType && d.setting(v) {
		d.stringMap(kvs, v.Interface().(map[string]string))
		return
	}
	for _, kv := range kvs {
		if kv.key.Tag == "!!null" {
			d.errorAt(kv.key, "expected a name as key, got null")
			continue
		}
		d.mapEntry(kv, v, t)
	}
}

// set stores a scalar the walk has read itself (ok), or else has yaml.v3 decode the node into
// v, so that every spelling yaml.v3 accepts (1_000, 0x1F, .5e3, .inf) is read as it reads it.
func (d *decoder) set(n *yaml.Node, v reflect.Value, ok bool, store func()) {
	if ok {
		store()
		return
	}
	if err := safeDecode(n.Decode, v.Addr().Interface()); err != nil {
		d.exotic = true
	}
}

// decimal reads an implicit !!int written the usual way, an optional minus and digits without
// a leading zero, as yaml.v3 reads it. Other spellings (0x1F, 010, 1_000, +1) are left to
// yaml.v3.
func decimal(n *yaml.Node) (int64, bool) {
	if n.Tag != "!!int" || n.Style&yaml.TaggedStyle != 0 {
		return 0, false
	}
	s := n.Value
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || digits[0] == '0' && len(s) > 1 {
		return 0, false
	}
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.ParseInt(s, 10, 64)
	return i, err == nil
}

// plainFloat reads an implicit !!int or !!float written with digits, a point, a sign and an
// exponent only, which yaml.v3 reads with strconv. Other spellings (.inf, 1_000.5) are left
// to yaml.v3.
func plainFloat(n *yaml.Node) (float64, bool) {
	if i, ok := decimal(n); ok {
		return float64(i), true
	}
	if n.Tag != "!!float" || n.Style&yaml.TaggedStyle != 0 {
		return 0, false
	}
	for i := range len(n.Value) {
		switch c := n.Value[i]; {
		case c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	return f, err == nil
}

// mapEntry walks one entry of the map at the walk's path into the map v of type t. A null
// value is stored as the zero value, as yaml.v3 does.
func (d *decoder) mapEntry(kv keyValue, v reflect.Value, t reflect.Type) {
	d.push(kv.key.Value, -1)
	defer d.pop()
	if kv.key.Style&yaml.TaggedStyle != 0 {
		d.exotic = true
	}
	if !d.setting(v) {
		d.walkType(kv.value, reflect.Value{}, t.Elem(), kv.key)
		return
	}
	e := reflect.New(t.Elem()).Elem()
	d.walkType(kv.value, e, t.Elem(), kv.key)
	k := reflect.New(t.Key()).Elem()
	k.SetString(kv.key.Value)
	v.SetMapIndex(k, e)
}

// stringMap walks the entries kvs of a map[string]string into m, as mapEntry does, without
// reflect's allocation per entry.
func (d *decoder) stringMap(kvs []keyValue, m map[string]string) {
	vals := make([]string, len(kvs))
	for i, kv := range kvs {
		if kv.key.Tag == "!!null" {
			d.errorAt(kv.key, "expected a name as key, got null")
			continue
		}
		if kv.key.Style&yaml.TaggedStyle != 0 {
			d.exotic = true
		}
		d.push(kv.key.Value, -1)
		d.walkType(kv.value, reflect.ValueOf(&vals[i]).Elem(), stringMapType.Elem(), kv.key)
		d.pop()
		m[kv.key.Value] = vals[i]
	}
}

// sequence walks the items of list n into the slice v of type t. As yaml.v3 does, a null item
// is left out of a list of values (and kept as nil in a list of pointers).
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, t reflect.Type) {
	et := t.Elem()
	walkItem := func(i int, it *yaml.Node, e reflect.Value) {
		d.push("", i)
		d.walkType(it, e, et, nil)
		d.pop()
	}
	null := func(it *yaml.Node) bool { return it.Kind == yaml.ScalarNode && it.Tag == "!!null" }
	switch {
	case !d.setting(v):
		for i, it := range n.Content {
			walkItem(i, it, reflect.Value{})
		}
	case t == stringsType:
		// The common case, without reflect's allocations.
		s := make([]string, 0, len(n.Content))
		for i, it := range n.Content {
			if null(it) {
				walkItem(i, it, reflect.Value{})
				continue
			}
			s = append(s, "")
			walkItem(i, it, reflect.ValueOf(&s[len(s)-1]).Elem())
		}
		v.Set(reflect.ValueOf(s))
	default:
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		nullable := false
		switch et.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			nullable = true
		}
		j := 0
		for i, it := range n.Content {
			if null(it) && !nullable {
				walkItem(i, it, reflect.Value{})
				continue
			}
			walkItem(i, it, s.Index(j))
			j++
		}
		v.Set(s.Slice(0, j))
	}
}

// expect reports an error unless n is of kind k.
func (d *decoder) expect(n *yaml.Node, k yaml.Kind) bool {
	if n.Kind == k {
		return true
	}
	var want string
	switch k {
	case yaml.MappingNode:
		want = "a mapping"
	case yaml.SequenceNode:
		want = "a list"
	case yaml.ScalarNode:
		want = "a single value"
	}
	d.errorAt(n, "expected %s, got %s", want, describeNode(n))
	return false
}

// duration checks a Duration scalar and stores it in v as Duration.UnmarshalYAML reads it.
func (d *decoder) duration(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" && n.Tag != "" {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value == "0" {
			return // the zero value
		}
		d.errorAt(n, "expected %s, got %s", durationHint, describeNode(n))
		return
	}
	dur, err := ParseDuration(n.Value)
	switch {
	case err != nil:
		d.errorAt(n, "expected %s, got %q", durationHint, n.Value)
	case dur < 0:
		d.errorAt(n, "must be a positive duration, got %q", n.Value)
	case d.setting(v):
		v.Addr().Interface().(*Duration).Duration = dur
	}
}

// keyValue is one entry of a mapping after merge keys are applied.
type keyValue struct{ key, value *yaml.Node }

// pairs returns the entries of mapping n with merge keys (<<) applied: keys written in n win
// over merged ones, and of several merged mappings the first wins, as YAML defines. It
// reports duplicate keys, keys that are not single values and malformed merges.
//
// The entries are pushed on d.kvs, and the result is the top of that stack: the caller
// pops them with release(mark), mark being len(d.kvs) before the call, when done with
// them. Walking the values below may push and pop above them meanwhile.
func (d *decoder) pairs(n *yaml.Node) []keyValue {
	mark := len(d.kvs)
	var merged []keyValue
	// Keys are looked up in the entries pushed; a map pays only for large mappings.
	var seen map[string]*yaml.Node
	if len(n.Content) > 32 {
		seen = make(map[string]*yaml.Node, len(n.Content)/2)
	}
	find := func(key string) *yaml.Node {
		if seen != nil {
			return seen[key]
		}
		for _, kv := range d.kvs[mark:] {
			if kv.key.Value == key {
				return kv.key
			}
		}
		return nil
	}
	add := func(kv keyValue) {
		d.kvs = append(d.kvs, kv)
		if seen != nil {
			seen[kv.key.Value] = kv.key
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			d.exotic = true
			k = k.Alias
		}
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			d.exotic = true
			merged = append(merged, d.merge(v)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorAt(k, "expected a single value as key, got %s", describeNode(k))
			continue
		}
		if first := find(k.Value); first != nil {
			d.push(k.Value, -1)
			d.errorAt(k, "duplicate key, first defined at line %d", first.Line)
			d.pop()
			continue
		}
		add(keyValue{k, v})
	}
	for _, kv := range merged {
		if find(kv.key.Value) == nil {
			add(kv)
		}
	}
	return d.kvs[mark:]
}

// release pops the entries pairs pushed above mark.
func (d *decoder) release(mark int) {
	d.kvs = d.kvs[:mark]
}

// merge returns the entries merged in by the value v of a merge key: a mapping or a list of
// mappings, usually aliases.
func (d *decoder) merge(v *yaml.Node) []keyValue {
	var out []keyValue
	one := func(m *yaml.Node) {
		if d.budget--; d.budget < 0 {
			return
		}
		target := m
		if m.Kind == yaml.AliasNode {
			target = m.Alias
			if target == nil || d.active[target] {
				d.errorAt(m, "alias *%s refers to itself", m.Value)
				return
			}
		}
		if target.Kind != yaml.MappingNode {
			d.errorAt(m, "expected a mapping or a list of mappings to merge (<<), got %s", describeNode(target))
			return
		}
		if d.active == nil {
			d.active = map[*yaml.Node]bool{}
		}
		d.active[target] = true
		mark := len(d.kvs)
		out = append(out, d.pairs(target)...)
		d.release(mark)
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
func (d *decoder) unknownField(k *yaml.Node, fields []structField) {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	d.push(k.Value, -1)
	defer d.pop()
	if s := closest(k.Value, names); s != "" {
		d.errorAt(k, "unknown field, did you mean %s?", s)
		return
	}
	d.errorAt(k, "unknown field, expected one of %s", strings.Join(names, ", "))
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
