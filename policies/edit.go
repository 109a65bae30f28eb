package policies

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ErrConflict is returned when the file no longer holds the value an edit expects (a person
// changed the same field since the bot planned the edit): the caller drops the edit and re-plans.
var ErrConflict = errors.New("policy changed since the edit was planned")

// ErrNotFound is returned when the file holds no ModelPolicy document with the given
// metadata.name.
var ErrNotFound = errors.New("policy not found in file")

// An Edit is one change to one model's policy document, with compare-and-swap semantics: it
// states the value it expects to find and fails with ErrConflict when the file holds another.
// An edit whose result the file already holds changes nothing.
type Edit interface {
	// Describe says what the edit does in words for commit messages, e.g. "canary weight 10 → 25".
	Describe() string
	// apply checks the expected value and changes the document.
	apply(e *editor) error
	// check reports an error unless the document holds the edit's result.
	check(e *editor) error
	// touches lists the paths the edit may change; everything else must stay equal.
	touches() [][]string
}

// Apply applies the edits, in order, to the document of model name in src (a file that may
// hold several YAML documents) and returns the new bytes. Only the lines an edit means to
// change are changed: comments, key order, quoting, indentation, line endings and the other
// documents are kept byte for byte.
//
// Applying an edit whose target already holds the new value changes nothing (idempotent);
// Apply returns src itself when nothing changes. It returns ErrNotFound (wrapped) when no
// document is the named ModelPolicy, ErrConflict (wrapped) when an edit's expected value is not
// in the file, and an error naming the line and column when the document is malformed or
// when the target is shared through a YAML anchor. src is never modified.
func Apply(src []byte, name string, edits ...Edit) ([]byte, error) {
	e, err := load(src, name)
	if err != nil {
		return nil, err
	}
	for _, ed := range edits {
		before := *e
		if err := ed.apply(e); err != nil {
			return nil, fmt.Errorf("%s: %w", ed.Describe(), err)
		}
		if bytes.Equal(before.src, e.src) {
			continue
		}
		// The splices are checked against an independent reading of the result, so that a
		// file shape the splicing did not foresee ends in an error, never in a wrong commit.
		if err := verify(&before, e, ed); err != nil {
			return nil, fmt.Errorf("%s: %w", ed.Describe(), err)
		}
	}
	if bytes.Equal(e.src, src) {
		return src, nil
	}
	return e.src, nil
}

// SetCanaryWeight sets spec.canary.weight to To when it is From. An absent weight (or an
// absent canary) never matches From.
type SetCanaryWeight struct {
	From, To int
}

// Describe says "canary weight From → To".
func (s SetCanaryWeight) Describe() string {
	return fmt.Sprintf("canary weight %d → %d", s.From, s.To)
}

func (s SetCanaryWeight) apply(e *editor) error {
	if s.To < 0 || s.To > 100 {
		return fmt.Errorf("canary weight %d is outside 0..100", s.To)
	}
	path := []string{"spec", "canary", "weight"}
	cur, ok, err := e.intAt(path)
	if err != nil {
		return err
	}
	if ok && cur == int64(s.To) {
		return nil
	}
	if !ok {
		return fmt.Errorf("spec.canary.weight is not set, expected %d: %w", s.From, ErrConflict)
	}
	if cur != int64(s.From) {
		return fmt.Errorf("spec.canary.weight is %d, expected %d: %w", cur, s.From, ErrConflict)
	}
	return e.set(path, value{scalar: &scalar{text: strconv.Itoa(s.To), isInt: true}})
}

func (s SetCanaryWeight) check(e *editor) error {
	cur, ok, err := e.intAt([]string{"spec", "canary", "weight"})
	if err != nil {
		return err
	}
	if !ok || cur != int64(s.To) {
		return fmt.Errorf("spec.canary.weight does not read back as %d", s.To)
	}
	return nil
}

func (s SetCanaryWeight) touches() [][]string { return [][]string{{"spec", "canary", "weight"}} }

// SetCanary makes spec.canary hold exactly the version, uri and weight of Canary when the
// canary in the file equals Expect (nil: no canary). A new canary block is placed after
// spec.production; an existing one is edited field by field in its own style.
type SetCanary struct {
	Expect *Canary
	Canary Canary
}

// Describe says which canary is set, e.g. "canary 13 at weight 10" or
// "canary 12 → 13 at weight 10".
func (s SetCanary) Describe() string {
	w := ""
	if s.Canary.Weight != nil {
		w = fmt.Sprintf(" at weight %d", *s.Canary.Weight)
	}
	if s.Expect == nil {
		return fmt.Sprintf("canary %s%s", s.Canary.Version, w)
	}
	return fmt.Sprintf("canary %s → %s%s", s.Expect.Version, s.Canary.Version, w)
}

func (s SetCanary) apply(e *editor) error {
	c := s.Canary
	if c.Version == "" {
		return errors.New("canary version is empty")
	}
	if c.Weight != nil && (*c.Weight < 0 || *c.Weight > 100) {
		return fmt.Errorf("canary weight %d is outside 0..100", *c.Weight)
	}
	cur, err := e.canary()
	if err != nil {
		return err
	}
	if sameCanary(cur, &c) {
		return nil
	}
	if !sameCanary(cur, s.Expect) {
		return fmt.Errorf("spec.canary is %s, expected %s: %w", describeCanary(cur), describeCanary(s.Expect), ErrConflict)
	}
	// New strings are quoted as the production version beside them is, so that the canary
	// block reads like the rest of the file.
	hint := func(field string) *yaml.Node {
		if en, rest, err := e.find([]string{"spec", "production", field}); err == nil && len(rest) == 0 {
			return en.value()
		}
		return nil
	}
	canary := []string{"spec", "canary"}
	fields := []struct {
		key  string
		val  *scalar
		hint *yaml.Node
	}{
		{"version", &scalar{text: c.Version}, hint("version")},
		{"uri", nil, hint("uri")},
		{"weight", nil, nil},
	}
	if c.URI != "" {
		fields[1].val = &scalar{text: c.URI}
	}
	if c.Weight != nil {
		fields[2].val = &scalar{text: strconv.Itoa(*c.Weight), isInt: true}
	}
	if cur == nil {
		var items []item
		for _, f := range fields {
			if f.val != nil {
				f.val.hint = f.hint
				items = append(items, item{key: f.key, val: value{scalar: f.val}})
			}
		}
		return e.set(canary, value{items: items})
	}
	for _, f := range fields {
		path := append(slices.Clone(canary), f.key)
		if f.val == nil {
			if err := e.remove(path); err != nil {
				return err
			}
			continue
		}
		f.val.hint = f.hint
		if err := e.set(path, value{scalar: f.val}); err != nil {
			return err
		}
	}
	return nil
}

func (s SetCanary) check(e *editor) error {
	cur, err := e.canary()
	if err != nil {
		return err
	}
	if !sameCanary(cur, &s.Canary) {
		return fmt.Errorf("spec.canary reads back as %s, not %s", describeCanary(cur), describeCanary(&s.Canary))
	}
	return nil
}

func (s SetCanary) touches() [][]string { return [][]string{{"spec", "canary"}} }

// RemoveCanary deletes the spec.canary block, with its own comments, when its version is
// Version. Without a canary it changes nothing. It is how a canary is rolled back; a
// rollback that keeps the block uses SetCanaryWeight{To: 0}.
type RemoveCanary struct {
	Version string
}

// Describe says "remove canary Version".
func (r RemoveCanary) Describe() string { return fmt.Sprintf("remove canary %s", r.Version) }

func (r RemoveCanary) apply(e *editor) error {
	cur, err := e.canary()
	if err != nil {
		return err
	}
	if cur == nil {
		return nil
	}
	if cur.Version != r.Version {
		return fmt.Errorf("spec.canary.version is %q, expected %q: %w", cur.Version, r.Version, ErrConflict)
	}
	return e.remove([]string{"spec", "canary"})
}

func (r RemoveCanary) check(e *editor) error {
	cur, err := e.canary()
	if err != nil {
		return err
	}
	if cur != nil {
		return errors.New("spec.canary is still present")
	}
	return nil
}

func (r RemoveCanary) touches() [][]string { return [][]string{{"spec", "canary"}} }

// PromoteCanary makes the canary the production version: spec.production gets the canary's
// version and uri, and the spec.canary block is removed. It expects the canary's version to be
// Version; when production already is Version and no canary of that version runs, it changes
// nothing.
type PromoteCanary struct {
	Version string
}

// Describe says "promote canary Version to production".
func (p PromoteCanary) Describe() string {
	return fmt.Sprintf("promote canary %s to production", p.Version)
}

func (p PromoteCanary) apply(e *editor) error {
	cur, err := e.canary()
	if err != nil {
		return err
	}
	prod, err := e.production()
	if err != nil {
		return err
	}
	if cur == nil || cur.Version != p.Version {
		if prod != nil && prod.Version == p.Version {
			return nil
		}
		return fmt.Errorf("spec.canary is %s, expected version %q: %w", describeCanary(cur), p.Version, ErrConflict)
	}
	canaryField := func(field string) *yaml.Node {
		if en, rest, err := e.find([]string{"spec", "canary", field}); err == nil && len(rest) == 0 {
			return en.value()
		}
		return nil
	}
	production := []string{"spec", "production"}
	if prod == nil {
		items := []item{{key: "version", val: value{scalar: &scalar{text: cur.Version, hint: canaryField("version")}}}}
		if cur.URI != "" {
			items = append(items, item{key: "uri", val: value{scalar: &scalar{text: cur.URI, hint: canaryField("uri")}}})
		}
		if err := e.set(production, value{items: items}); err != nil {
			return err
		}
	} else {
		if err := e.set(append(slices.Clone(production), "version"), value{scalar: &scalar{text: cur.Version, hint: canaryField("version")}}); err != nil {
			return err
		}
		uri := append(slices.Clone(production), "uri")
		if cur.URI == "" {
			err = e.remove(uri)
		} else {
			err = e.set(uri, value{scalar: &scalar{text: cur.URI, hint: canaryField("uri")}})
		}
		if err != nil {
			return err
		}
	}
	return e.remove([]string{"spec", "canary"})
}

func (p PromoteCanary) check(e *editor) error {
	cur, err := e.canary()
	if err != nil {
		return err
	}
	prod, err := e.production()
	if err != nil {
		return err
	}
	if cur != nil || prod == nil || prod.Version != p.Version {
		return fmt.Errorf("spec.production does not read back as version %q without a canary", p.Version)
	}
	return nil
}

func (p PromoteCanary) touches() [][]string {
	return [][]string{{"spec", "canary"}, {"spec", "production"}}
}

// SetRetrainGeneration sets spec.retrain.generation to To when it is From. An absent
// generation (or an absent spec.retrain) counts as 0, as the loader reads it; the missing
// mappings are created.
type SetRetrainGeneration struct {
	From, To int64
}

// Describe says "retrain generation From → To".
func (s SetRetrainGeneration) Describe() string {
	return fmt.Sprintf("retrain generation %d → %d", s.From, s.To)
}

func (s SetRetrainGeneration) apply(e *editor) error {
	if s.To < 0 {
		return fmt.Errorf("retrain generation %d is negative", s.To)
	}
	path := []string{"spec", "retrain", "generation"}
	cur, _, err := e.intAt(path)
	if err != nil {
		return err
	}
	if cur == s.To {
		return nil
	}
	if cur != s.From {
		return fmt.Errorf("spec.retrain.generation is %d, expected %d: %w", cur, s.From, ErrConflict)
	}
	return e.set(path, value{scalar: &scalar{text: strconv.FormatInt(s.To, 10), isInt: true}})
}

func (s SetRetrainGeneration) check(e *editor) error {
	cur, _, err := e.intAt([]string{"spec", "retrain", "generation"})
	if err != nil {
		return err
	}
	if cur != s.To {
		return fmt.Errorf("spec.retrain.generation reads back as %d, not %d", cur, s.To)
	}
	return nil
}

func (s SetRetrainGeneration) touches() [][]string {
	return [][]string{{"spec", "retrain", "generation"}}
}

func sameCanary(a, b *Canary) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Version != b.Version || a.URI != b.URI || (a.Weight == nil) != (b.Weight == nil) {
		return false
	}
	return a.Weight == nil || *a.Weight == *b.Weight
}

func describeCanary(c *Canary) string {
	if c == nil {
		return "absent"
	}
	s := fmt.Sprintf("version %q", c.Version)
	if c.URI != "" {
		s += fmt.Sprintf(" uri %q", c.URI)
	}
	if c.Weight != nil {
		s += fmt.Sprintf(" weight %d", *c.Weight)
	}
	return s
}

// keyOrder is the conventional order of the keys an edit may create, as SPEC.md writes them;
// a new key goes after the last present key that precedes it.
var keyOrder = map[string][]string{
	"":                {"apiVersion", "kind", "metadata", "spec"},
	"spec":            {"suspend", "production", "canary", "data", "drift", "metrics", "retrain", "promotion", "canaryAnalysis"},
	"spec.production": {"version", "uri"},
	"spec.canary":     {"version", "uri", "weight"},
	"spec.retrain":    {"generation", "schedule", "onDrift", "onPerformanceDrop", "job"},
}

// editor holds one version of a policy file while edits are applied: the bytes, their line
// index and the parsed documents. Every change goes through patch, which parses the new bytes
// again, so node positions always describe the current bytes.
type editor struct {
	src    []byte
	name   string
	lines  []lineSpan
	docs   []*yaml.Node
	doc    int                 // index in docs of the policy document
	root   *yaml.Node          // the policy document's root mapping
	shared map[*yaml.Node]bool // nodes an alias of the policy document refers to
	eol    string
}

// lineSpan is one line: the offsets of its first byte, of its line break (or end) and of the
// next line.
type lineSpan struct{ start, end, next int }

var (
	bomUTF8    = []byte("\xef\xbb\xbf")
	bomUTF16LE = []byte("\xff\xfe")
	bomUTF16BE = []byte("\xfe\xff")
)

func load(src []byte, name string) (*editor, error) {
	if bytes.HasPrefix(src, bomUTF16LE) || bytes.HasPrefix(src, bomUTF16BE) {
		return nil, errors.New("policy file is UTF-16; only UTF-8 is supported")
	}
	if !utf8.Valid(src) {
		return nil, errors.New("policy file is not valid UTF-8")
	}
	docs, err := parseDocuments(src)
	if err != nil {
		return nil, err
	}
	e := &editor{src: src, name: name, docs: docs, doc: -1}
	e.index()
	for i, d := range docs {
		if len(d.Content) == 0 || !isPolicy(d.Content[0], name) {
			continue
		}
		if e.root != nil {
			return nil, fmt.Errorf("policy %q is defined twice, at lines %d and %d", name, e.root.Line, d.Content[0].Line)
		}
		e.doc, e.root = i, d.Content[0]
	}
	if e.root == nil {
		return nil, fmt.Errorf("policy %q: %w", name, ErrNotFound)
	}
	// Decoding catches what the node tree does not: duplicate keys, bad merges, unknown
	// aliases. The loader would reject such a file; editing it would hide the problem.
	if _, err := decodeAny(e.root); err != nil {
		return nil, fmt.Errorf("decode policy %q: %w", name, err)
	}
	e.shared = map[*yaml.Node]bool{}
	walk(e.root, func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			e.shared[n.Alias] = true
		}
	})
	return e, nil
}

// parseDocuments reads every document of src. A panic inside the YAML library becomes an
// error: a policy file from git is untrusted input and must not stop the reconciler.
func parseDocuments(src []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("parse policy file: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var d yaml.Node
		if err := dec.Decode(&d); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, fmt.Errorf("parse policy file: %w", err)
		}
		docs = append(docs, &d)
	}
}

func decodeAny(n *yaml.Node) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("decode: %v", r)
		}
	}()
	err = n.Decode(&v)
	return v, err
}

func isPolicy(root *yaml.Node, name string) bool {
	if root.Kind != yaml.MappingNode {
		return false
	}
	kind := mapValue(root, "kind")
	meta := mapValue(root, "metadata")
	if kind == nil || kind.Kind != yaml.ScalarNode || kind.Value != KindModelPolicy || meta == nil || meta.Kind != yaml.MappingNode {
		return false
	}
	n := mapValue(meta, "name")
	return n != nil && n.Kind == yaml.ScalarNode && n.Value == name
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if i := keyIndex(m, key); i >= 0 {
		return m.Content[i+1]
	}
	return nil
}

func keyIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && k.Tag != "!!merge" && k.Value == key {
			return i
		}
	}
	return -1
}

func hasMerge(m *yaml.Node) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && (k.Tag == "!!merge" || k.Value == "<<" && k.Style == 0) {
			return true
		}
	}
	return false
}

func walk(n *yaml.Node, f func(*yaml.Node)) {
	f(n)
	for _, c := range n.Content {
		walk(c, f)
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func isFlow(n *yaml.Node) bool { return n.Style&yaml.FlowStyle != 0 }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func errAt(path string, n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s at line %d column %d: %s", path, n.Line, n.Column, fmt.Sprintf(format, args...))
}

// index splits the source into lines the way the YAML scanner counts them, so that node
// positions map to byte offsets: CRLF, CR, LF, NEL, LS and PS each end a line, and a UTF-8
// byte order mark is not part of the first line.
func (e *editor) index() {
	b := e.src
	e.lines = e.lines[:0]
	start := 0
	if bytes.HasPrefix(b, bomUTF8) {
		start = len(bomUTF8)
	}
	for i := start; i < len(b); {
		w := breakWidth(b, i)
		if w == 0 {
			i++
			continue
		}
		e.lines = append(e.lines, lineSpan{start, i, i + w})
		i += w
		start = i
	}
	if start < len(b) {
		e.lines = append(e.lines, lineSpan{start, len(b), len(b)})
	}
	e.eol = "\n"
	for _, l := range e.lines {
		if l.next > l.end {
			if string(b[l.end:l.next]) == "\r\n" {
				e.eol = "\r\n"
			}
			break
		}
	}
}

func breakWidth(b []byte, i int) int {
	switch {
	case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
		return 2
	case b[i] == '\r' || b[i] == '\n':
		return 1
	case b[i] == 0xC2 && i+1 < len(b) && b[i+1] == 0x85:
		return 2
	case b[i] == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9):
		return 3
	}
	return 0
}

// offset converts a 1-based line and column (counted in characters, as the YAML scanner
// does) to a byte offset.
func (e *editor) offset(line, col int) (int, error) {
	if line == len(e.lines)+1 && col == 1 {
		return len(e.src), nil
	}
	if line < 1 || line > len(e.lines) || col < 1 {
		return 0, fmt.Errorf("position line %d column %d is outside the file", line, col)
	}
	l := e.lines[line-1]
	p := l.start
	for c := 1; c < col; c++ {
		if p >= l.end {
			return 0, fmt.Errorf("position line %d column %d is outside the line", line, col)
		}
		_, w := utf8.DecodeRune(e.src[p:l.end])
		p += w
	}
	return p, nil
}

// lineOf returns the 1-based line holding byte offset p.
func (e *editor) lineOf(p int) int {
	return min(sort.Search(len(e.lines), func(i int) bool { return e.lines[i].next > p })+1, max(len(e.lines), 1))
}

func (e *editor) lineText(l int) []byte {
	s := e.lines[l-1]
	return e.src[s.start:s.end]
}

func (e *editor) blank(l int) bool {
	return len(bytes.TrimLeft(e.lineText(l), " \t")) == 0
}

func (e *editor) comment(l int) bool {
	t := bytes.TrimLeft(e.lineText(l), " \t")
	return len(t) > 0 && t[0] == '#'
}

// indent counts the spaces that start line l.
func (e *editor) indent(l int) int {
	t := e.lineText(l)
	return len(t) - len(bytes.TrimLeft(t, " "))
}

// docEnd returns the line after the policy document: the next document marker or the line
// after the last.
func (e *editor) docEnd() int {
	for l := e.root.Line + 1; l <= len(e.lines); l++ {
		t := e.lineText(l)
		if len(t) >= 3 && (string(t[:3]) == "---" || string(t[:3]) == "...") && (len(t) == 3 || t[3] == ' ' || t[3] == '\t') {
			return l
		}
	}
	return len(e.lines) + 1
}

// docStart returns the first line of the policy document (its --- marker when it has one).
func (e *editor) docStart() int {
	if d := e.docs[e.doc]; d.Line > 0 {
		return d.Line
	}
	return 1
}

// entry is one key/value pair of a mapping on the path from the root, with the entry whose
// value holds that mapping.
type entry struct {
	m    *yaml.Node
	i    int // index of the key in m.Content
	up   *entry
	path string
}

func (x *entry) key() *yaml.Node   { return x.m.Content[x.i] }
func (x *entry) value() *yaml.Node { return x.m.Content[x.i+1] }

// find walks path from the root mapping. It returns the deepest entry found (nil when not even
// the first key is) and the keys still missing; a key below a null value counts as missing.
func (e *editor) find(path []string) (*entry, []string, error) {
	m := e.root
	var cur *entry
	for k, key := range path {
		if cur != nil {
			v := cur.value()
			if isNull(v) {
				return cur, path[k:], nil
			}
			if v.Kind != yaml.MappingNode {
				return nil, nil, errAt(cur.path, v, "expected a mapping, found %s", kindName(v))
			}
			m = v
		}
		i := keyIndex(m, key)
		if i < 0 {
			if hasMerge(m) {
				where := "the document root"
				if cur != nil {
					where = cur.path
				}
				return nil, nil, errAt(where, m, "uses a merge key (<<), so whether it holds %s cannot be told from the file; edit refused", key)
			}
			return cur, path[k:], nil
		}
		p := key
		if cur != nil {
			p = cur.path + "." + key
		}
		cur = &entry{m: m, i: i, up: cur, path: p}
	}
	return cur, nil, nil
}

// intAt reads the integer at path; ok is false when it is absent or null.
func (e *editor) intAt(path []string) (v int64, ok bool, err error) {
	en, rest, err := e.find(path)
	if err != nil || len(rest) > 0 {
		return 0, false, err
	}
	n := en.value()
	if n.Kind == yaml.AliasNode {
		return 0, false, errAt(en.path, n, "is an alias of &%s; edit refused because it would change shared content", n.Value)
	}
	if isNull(n) {
		return 0, false, nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, false, errAt(en.path, n, "expected an integer, found %s", kindName(n))
	}
	if err := n.Decode(&v); err != nil {
		return 0, false, errAt(en.path, n, "expected an integer, found %q", n.Value)
	}
	return v, true, nil
}

// strAt reads the string at path; ok is false when it is absent or null.
func (e *editor) strAt(path []string) (s string, ok bool, err error) {
	en, rest, err := e.find(path)
	if err != nil || len(rest) > 0 {
		return "", false, err
	}
	n := en.value()
	if n.Kind == yaml.AliasNode {
		return "", false, errAt(en.path, n, "is an alias of &%s; edit refused because it would change shared content", n.Value)
	}
	if isNull(n) {
		return "", false, nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", false, errAt(en.path, n, "expected a string, found %s", kindName(n))
	}
	return n.Value, true, nil
}

// mappingAt reports whether path holds a mapping; false when it is absent or null, an
// error when it holds anything else.
func (e *editor) mappingAt(path []string) (bool, error) {
	en, rest, err := e.find(path)
	if err != nil {
		return false, err
	}
	if len(rest) > 0 || isNull(en.value()) {
		return false, nil
	}
	if v := en.value(); v.Kind != yaml.MappingNode {
		return false, errAt(en.path, v, "expected a mapping, found %s", kindName(v))
	}
	return true, nil
}

// CanaryAsWritten returns spec.canary of the document of model name in src as the file
// writes it, without defaults (an absent weight stays nil); nil when there is no canary.
// It is what a SetCanary edit's Expect must hold.
func CanaryAsWritten(src []byte, name string) (*Canary, error) {
	e, err := load(src, name)
	if err != nil {
		return nil, err
	}
	return e.canary()
}

// canary reads spec.canary; nil when it is absent or null.
func (e *editor) canary() (*Canary, error) {
	ok, err := e.mappingAt([]string{"spec", "canary"})
	if !ok || err != nil {
		return nil, err
	}
	c := &Canary{}
	if c.Version, _, err = e.strAt([]string{"spec", "canary", "version"}); err != nil {
		return nil, err
	}
	if c.URI, _, err = e.strAt([]string{"spec", "canary", "uri"}); err != nil {
		return nil, err
	}
	w, ok, err := e.intAt([]string{"spec", "canary", "weight"})
	if err != nil {
		return nil, err
	}
	if ok {
		wi := int(w)
		c.Weight = &wi
	}
	return c, nil
}

// production reads spec.production; nil when it is absent or null.
func (e *editor) production() (*ModelVersion, error) {
	ok, err := e.mappingAt([]string{"spec", "production"})
	if !ok || err != nil {
		return nil, err
	}
	p := &ModelVersion{}
	if p.Version, _, err = e.strAt([]string{"spec", "production", "version"}); err != nil {
		return nil, err
	}
	if p.URI, _, err = e.strAt([]string{"spec", "production", "uri"}); err != nil {
		return nil, err
	}
	return p, nil
}

// value is what an edit writes at a path: a scalar or a mapping of items.
type value struct {
	scalar *scalar
	items  []item
}

type item struct {
	key string
	val value
}

// scalar is a new scalar value. A replaced scalar keeps the quoting of the one it replaces; a
// new one copies the quoting of hint when given.
type scalar struct {
	text  string
	isInt bool
	hint  *yaml.Node
}

// render writes the scalar in the style of old (the scalar it replaces) or of its hint.
func (s *scalar) render(old *yaml.Node, flow bool) (string, error) {
	like := old
	if like == nil || isNull(like) {
		like = s.hint
	}
	style := yaml.Style(0)
	tag := ""
	if like != nil && like.Kind == yaml.ScalarNode {
		style = like.Style & (yaml.SingleQuotedStyle | yaml.DoubleQuotedStyle)
		tag = like.Tag
	}
	if s.isInt {
		switch style {
		case yaml.SingleQuotedStyle:
			return "'" + s.text + "'", nil
		case yaml.DoubleQuotedStyle:
			return `"` + s.text + `"`, nil
		}
		return s.text, nil
	}
	out, err := marshalScalar(s.text, style)
	if err != nil {
		return "", err
	}
	if style == 0 && out != s.text && tag != "" && tag != "!!str" {
		// The file writes such values plain although they read as another type (version: 12
		// is an integer that the loader reads as the string "12"); keep doing so when the new
		// text reads as the same type.
		var n yaml.Node
		if yaml.Unmarshal([]byte(s.text), &n) == nil && len(n.Content) == 1 {
			if c := n.Content[0]; c.Kind == yaml.ScalarNode && c.Style == 0 && c.Tag == tag && c.Value == s.text {
				out = s.text
			}
		}
	}
	if flow && out == s.text && strings.ContainsAny(out, ",[]{}") {
		if out, err = marshalScalar(s.text, yaml.DoubleQuotedStyle); err != nil {
			return "", err
		}
	}
	if strings.ContainsAny(out, lineBreaks) {
		if out, err = marshalScalar(s.text, yaml.DoubleQuotedStyle); err != nil {
			return "", err
		}
		if strings.ContainsAny(out, lineBreaks) {
			return "", fmt.Errorf("value %q cannot be written on one line", s.text)
		}
	}
	return out, nil
}

// lineBreaks are the characters the YAML scanner counts as line breaks.
const lineBreaks = "\r\n\u0085\u2028\u2029"

func marshalScalar(s string, style yaml.Style) (string, error) {
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: style})
	if err != nil {
		return "", fmt.Errorf("render %q: %w", s, err)
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}

// change replaces src[from:to] with text.
type change struct {
	from, to int
	text     string
}

// patch applies non-overlapping changes to a copy of the source and parses the result again.
func (e *editor) patch(cs ...change) error {
	sort.Slice(cs, func(i, j int) bool { return cs[i].from > cs[j].from })
	out := slices.Clone(e.src)
	prev := len(out)
	for _, c := range cs {
		if c.from < 0 || c.from > c.to || c.to > prev {
			return fmt.Errorf("internal error: overlapping changes at offset %d", c.from)
		}
		out = slices.Concat(out[:c.from], []byte(c.text), out[c.to:])
		prev = c.from
	}
	ne, err := load(out, e.name)
	if err != nil {
		return fmt.Errorf("edit result does not parse: %w", err)
	}
	*e = *ne
	return nil
}

// mutable refuses an edit inside x (and of n, when given) when it would also change what an
// alias elsewhere in the document refers to.
func (e *editor) mutable(x *entry, n *yaml.Node) error {
	if n != nil {
		if err := e.unshared(pathOf(x), n); err != nil {
			return err
		}
	}
	for ; x != nil; x = x.up {
		if err := e.unshared(pathOf(x.up), x.m); err != nil {
			return err
		}
	}
	return nil
}

func (e *editor) unshared(path string, n *yaml.Node) error {
	if n.Kind == yaml.AliasNode {
		return errAt(path, n, "is an alias of &%s; edit refused because it would change shared content", n.Value)
	}
	if e.shared[n] {
		return errAt(path, n, "is anchored as &%s and used elsewhere; edit refused because it would change shared content", n.Anchor)
	}
	return nil
}

func pathOf(x *entry) string {
	if x == nil {
		return "the document root"
	}
	return x.path
}

// set makes path hold v: a scalar is replaced in place, a mapping is merged item by item, and
// missing keys are inserted together with their missing parent mappings.
func (e *editor) set(path []string, v value) error {
	en, rest, err := e.find(path)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		n := en.value()
		switch {
		case isNull(n) && v.scalar != nil:
			return e.replaceScalar(en, v.scalar)
		case isNull(n):
			return e.fill(en, v.items)
		case v.scalar != nil:
			return e.replaceScalar(en, v.scalar)
		case n.Kind != yaml.MappingNode:
			return errAt(en.path, n, "expected a mapping, found %s", kindName(n))
		}
		for _, it := range v.items {
			if err := e.set(append(slices.Clone(path), it.key), it.val); err != nil {
				return err
			}
		}
		return nil
	}
	it := item{key: rest[len(rest)-1], val: v}
	for i := len(rest) - 2; i >= 0; i-- {
		it = item{key: rest[i], val: value{items: []item{it}}}
	}
	if en != nil && isNull(en.value()) {
		return e.fill(en, []item{it})
	}
	return e.insert(en, it)
}

// remove deletes the entry at path, with its own comments; an absent entry is left alone.
func (e *editor) remove(path []string) error {
	en, rest, err := e.find(path)
	if err != nil || len(rest) > 0 {
		return err
	}
	if err := e.mutable(en, nil); err != nil {
		return err
	}
	var sharedErr error
	walk(en.value(), func(n *yaml.Node) {
		if sharedErr == nil && e.shared[n] {
			sharedErr = errAt(en.path, n, "holds the anchor &%s that is used elsewhere; edit refused because it would change shared content", n.Anchor)
		}
	})
	if sharedErr != nil {
		return sharedErr
	}
	if isFlow(en.m) {
		return e.removeFlow(en)
	}
	return e.removeBlock(en)
}

// replaceScalar writes s over the scalar value of en, keeping its quoting style, its anchor,
// its tag and the comment after it.
func (e *editor) replaceScalar(en *entry, s *scalar) error {
	n := en.value()
	if err := e.mutable(en, n); err != nil {
		return err
	}
	if n.Kind != yaml.ScalarNode {
		return errAt(en.path, n, "expected a scalar, found %s", kindName(n))
	}
	flow := isFlow(en.m)
	from, to, err := e.scalarSpan(en.path, n, flow, true)
	if err != nil {
		return err
	}
	text, err := s.render(n, flow)
	if err != nil {
		return fmt.Errorf("%s: %w", en.path, err)
	}
	if from == to && from > 0 && e.src[from-1] == ':' {
		text = " " + text
	}
	if string(e.src[from:to]) == text {
		return nil
	}
	return e.patch(change{from, to, text})
}

// insert adds it to the mapping that is the value of en (the root mapping when en is nil),
// after the last present key that precedes it in keyOrder.
func (e *editor) insert(en *entry, it item) error {
	m := e.root
	mpath := ""
	if en != nil {
		m, mpath = en.value(), en.path
	}
	if err := e.mutable(en, m); err != nil {
		return err
	}
	if m.Kind != yaml.MappingNode {
		return errAt(pathOf(en), m, "expected a mapping, found %s", kindName(m))
	}
	after, before := -1, -1
	if order := keyOrder[mpath]; slices.Contains(order, it.key) {
		k := slices.Index(order, it.key)
		for j := 0; j+1 < len(m.Content); j += 2 {
			ki := slices.Index(order, m.Content[j].Value)
			if ki >= 0 && ki < k {
				after = j
			}
			if ki > k && before < 0 {
				before = j
			}
		}
	}
	if after < 0 && before < 0 && len(m.Content) > 0 {
		after = len(m.Content) - 2
	}
	if after >= 0 {
		before = -1
	}
	if isFlow(m) {
		return e.insertFlow(m, after, before, it)
	}
	return e.insertBlock(en, m, after, before, it)
}

func (e *editor) insertFlow(m *yaml.Node, after, before int, it item) error {
	text, err := flowText(it)
	if err != nil {
		return err
	}
	switch {
	case after >= 0:
		p, err := e.nodeEnd(m.Content[after+1])
		if err != nil {
			return err
		}
		return e.patch(change{p, p, ", " + text})
	case before >= 0:
		p, err := e.nodeStart(m.Content[before])
		if err != nil {
			return err
		}
		return e.patch(change{p, p, text + ", "})
	}
	p, err := e.tokenStart(m)
	if err != nil {
		return err
	}
	if p >= len(e.src) || e.src[p] != '{' {
		return errAt("mapping", m, "expected {")
	}
	return e.patch(change{p + 1, p + 1, text})
}

func (e *editor) insertBlock(en *entry, m *yaml.Node, after, before int, it item) error {
	if len(m.Content) == 0 {
		return errAt(pathOf(en), m, "empty block mapping")
	}
	col := m.Content[0].Column - 1
	step := e.step(en, m)
	lines, err := blockLines(it, col, step)
	if err != nil {
		return err
	}
	if before >= 0 {
		first, _, err := e.entryLines(&entry{m: m, i: before, up: en})
		if err != nil {
			return err
		}
		k := m.Content[before]
		if e.ownsLine(k) {
			return e.insertLines(first, lines)
		}
		// The first key shares its line with a sequence dash or a document marker: add the
		// new key at the end of the mapping instead.
		after = len(m.Content) - 2
	}
	_, last, err := e.entryLines(&entry{m: m, i: after, up: en})
	if err != nil {
		return err
	}
	return e.insertLines(last+1, lines)
}

// fill turns the null value of en into a mapping holding items.
func (e *editor) fill(en *entry, items []item) error {
	n := en.value()
	if err := e.mutable(en, n); err != nil {
		return err
	}
	from, to, err := e.scalarSpan(en.path, n, isFlow(en.m), true)
	if err != nil {
		return err
	}
	if isFlow(en.m) {
		text, err := flowText(item{val: value{items: items}})
		if err != nil {
			return err
		}
		if from == to && from > 0 && e.src[from-1] == ':' {
			text = " " + text
		}
		return e.patch(change{from, to, text})
	}
	k := en.key()
	if !e.ownsLine(k) {
		return errAt(en.path, k, "shares its line with other content; edit refused")
	}
	step := e.step(en.up, en.m)
	var lines []string
	for _, it := range items {
		l, err := blockLines(it, k.Column-1+step, step)
		if err != nil {
			return err
		}
		lines = append(lines, l...)
	}
	cs := []change{e.linesChange(e.lineOf(max(to-1, from))+1, lines)}
	if from < to {
		// An explicit null (~ or null) goes; the spaces before it go with it.
		for from > 0 && (e.src[from-1] == ' ' || e.src[from-1] == '\t') {
			from--
		}
		cs = append(cs, change{from, to, ""})
	}
	return e.patch(cs...)
}

// step returns the indentation step of nested block mappings: the one of m below en when m is
// nested, else the first one found in the document, else 2.
func (e *editor) step(en *entry, m *yaml.Node) int {
	if en != nil && m != nil && m.Kind == yaml.MappingNode && !isFlow(m) && len(m.Content) > 0 {
		if d := m.Content[0].Column - en.key().Column; d > 0 {
			return d
		}
	}
	step := 0
	var find func(n *yaml.Node)
	find = func(n *yaml.Node) {
		if step > 0 || n.Kind != yaml.MappingNode || isFlow(n) {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := n.Content[i+1]
			if v.Kind == yaml.MappingNode && !isFlow(v) && len(v.Content) > 0 {
				if d := v.Content[0].Column - n.Content[i].Column; d > 0 {
					step = d
					return
				}
			}
			find(v)
		}
	}
	find(e.root)
	if step == 0 {
		step = 2
	}
	return step
}

func blockLines(it item, col, step int) ([]string, error) {
	pad := strings.Repeat(" ", col)
	if it.val.scalar != nil {
		t, err := it.val.scalar.render(nil, false)
		if err != nil {
			return nil, err
		}
		return []string{pad + it.key + ": " + t}, nil
	}
	lines := []string{pad + it.key + ":"}
	for _, c := range it.val.items {
		l, err := blockLines(c, col+step, step)
		if err != nil {
			return nil, err
		}
		lines = append(lines, l...)
	}
	return lines, nil
}

// flowText writes it as "key: value", or only the value when it has no key.
func flowText(it item) (string, error) {
	var v string
	if it.val.scalar != nil {
		t, err := it.val.scalar.render(nil, true)
		if err != nil {
			return "", err
		}
		v = t
	} else {
		parts := make([]string, 0, len(it.val.items))
		for _, c := range it.val.items {
			t, err := flowText(c)
			if err != nil {
				return "", err
			}
			parts = append(parts, t)
		}
		v = "{" + strings.Join(parts, ", ") + "}"
	}
	if it.key == "" {
		return v, nil
	}
	return it.key + ": " + v, nil
}

// ownsLine reports whether only indentation precedes node n on its line.
func (e *editor) ownsLine(n *yaml.Node) bool {
	p, err := e.offset(n.Line, n.Column)
	if err != nil {
		return false
	}
	return len(bytes.Trim(e.src[e.lines[n.Line-1].start:p], " ")) == 0
}

// entryLines returns the lines of the block mapping entry x: the comment lines right above its
// key at the key's indentation, the key, its value, and the comments indented deeper than the
// key that follow. Blank lines and shallower comments at the end belong to what follows.
func (e *editor) entryLines(x *entry) (first, last int, err error) {
	k := x.key()
	if k.Line < 1 || k.Line > len(e.lines) {
		return 0, 0, errAt(x.path, k, "position outside the file")
	}
	col := k.Column - 1
	first = k.Line
	if e.ownsLine(k) {
		for first > 1 && e.comment(first-1) && e.indent(first-1) == col {
			first--
		}
	}
	bound := e.docEnd()
	for y := x; y != nil; y = y.up {
		if y.i+2 < len(y.m.Content) {
			bound = y.m.Content[y.i+2].Line
			break
		}
	}
	last = bound - 1
	for last > k.Line && (e.blank(last) || e.comment(last) && e.indent(last) <= col) {
		last--
	}
	if last < k.Line {
		last = k.Line
	}
	return first, last, nil
}

// insertLines inserts lines before line at (len(lines)+1: at the end), keeping a missing final
// line break missing.
func (e *editor) insertLines(at int, lines []string) error {
	return e.patch(e.linesChange(at, lines))
}

func (e *editor) linesChange(at int, lines []string) change {
	if at <= len(e.lines) {
		p := e.lines[at-1].start
		return change{p, p, strings.Join(lines, e.eol) + e.eol}
	}
	n := len(e.src)
	if len(e.lines) > 0 && e.lines[len(e.lines)-1].next == e.lines[len(e.lines)-1].end {
		return change{n, n, e.eol + strings.Join(lines, e.eol)}
	}
	return change{n, n, strings.Join(lines, e.eol) + e.eol}
}

// removeBlock deletes the lines of a block mapping entry. A blank line left doubled by the
// removal goes too, and a mapping left empty becomes {}.
func (e *editor) removeBlock(x *entry) error {
	k := x.key()
	if !e.ownsLine(k) {
		return errAt(x.path, k, "shares its line with other content; edit refused")
	}
	first, last, err := e.entryLines(x)
	if err != nil {
		return err
	}
	if first > 1 && e.blank(first-1) {
		if last < len(e.lines) && e.blank(last+1) {
			last++
		} else if last == len(e.lines) || last+1 == e.docEnd() {
			first--
		}
	}
	from, to := e.lines[first-1].start, e.lines[last-1].next
	if to == len(e.src) && e.lines[last-1].next == e.lines[last-1].end && first > 1 {
		// The file ends without a line break: remove the one before the block instead.
		from, to = e.lines[first-2].end, len(e.src)
	}
	cs := []change{{from, to, ""}}
	if len(x.m.Content) == 2 {
		if x.up == nil {
			return errAt(x.path, k, "is the only key of the document; edit refused")
		}
		if x.m.Anchor != "" || x.m.Style&yaml.TaggedStyle != 0 {
			return errAt(x.up.path, x.m, "would be left empty but carries an anchor or tag; edit refused")
		}
		p, err := e.colonEnd(x.up)
		if err != nil {
			return err
		}
		cs = append(cs, change{p, p, " {}"})
	}
	return e.patch(cs...)
}

// colonEnd returns the offset just after the colon that follows the key of x.
func (e *editor) colonEnd(x *entry) (int, error) {
	_, p, err := e.scalarSpan(x.path, x.key(), isFlow(x.m), false)
	if err != nil {
		return 0, err
	}
	for p < len(e.src) && (e.src[p] == ' ' || e.src[p] == '\t') {
		p++
	}
	if p >= len(e.src) || e.src[p] != ':' {
		return 0, errAt(x.path, x.key(), "expected a colon after the key")
	}
	return p + 1, nil
}

// removeFlow deletes an entry of a flow mapping with the separator on one side of it.
func (e *editor) removeFlow(x *entry) error {
	m := x.m
	start, err := e.nodeStart(x.key())
	if err != nil {
		return err
	}
	end, err := e.nodeEnd(x.value())
	if err != nil {
		return err
	}
	switch {
	case x.i+2 < len(m.Content):
		next, err := e.nodeStart(m.Content[x.i+2])
		if err != nil {
			return err
		}
		return e.patch(change{start, next, ""})
	case x.i > 0:
		prev, err := e.nodeEnd(m.Content[x.i-1])
		if err != nil {
			return err
		}
		return e.patch(change{prev, end, ""})
	}
	return e.patch(change{start, end, ""})
}

// nodeStart returns the offset of n's first character, its anchor or tag included.
func (e *editor) nodeStart(n *yaml.Node) (int, error) {
	return e.offset(n.Line, n.Column)
}

// tokenStart returns the offset of n's content, after its anchor and tag.
func (e *editor) tokenStart(n *yaml.Node) (int, error) {
	p, err := e.offset(n.Line, n.Column)
	if err != nil {
		return 0, err
	}
	b := e.src
	for p < len(b) && (b[p] == '&' || b[p] == '!') {
		for p < len(b) && !isSpace(b[p]) && breakWidth(b, p) == 0 && !isFlowIndicator(b[p]) {
			p++
		}
		p = e.skipSpace(p, false)
	}
	return p, nil
}

// skipSpace skips blanks, line breaks and comments (and commas, when commas is set).
func (e *editor) skipSpace(p int, commas bool) int {
	b := e.src
	for p < len(b) {
		switch {
		case isSpace(b[p]) || commas && b[p] == ',':
			p++
		case breakWidth(b, p) > 0:
			p += breakWidth(b, p)
		case b[p] == '#':
			for p < len(b) && breakWidth(b, p) == 0 {
				p++
			}
		default:
			return p
		}
	}
	return p
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isFlowIndicator(c byte) bool {
	return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'
}

// nodeEnd returns the offset after the last character of n, a node inside a flow collection.
func (e *editor) nodeEnd(n *yaml.Node) (int, error) {
	switch n.Kind {
	case yaml.ScalarNode, yaml.AliasNode:
		_, end, err := e.scalarSpan("value", n, true, false)
		return end, err
	case yaml.MappingNode, yaml.SequenceNode:
		if !isFlow(n) {
			return 0, errAt("value", n, "block collection inside a flow collection")
		}
		var p int
		var err error
		if len(n.Content) == 0 {
			if p, err = e.tokenStart(n); err != nil {
				return 0, err
			}
			p++
		} else if p, err = e.nodeEnd(n.Content[len(n.Content)-1]); err != nil {
			return 0, err
		}
		p = e.skipSpace(p, true)
		if p >= len(e.src) || e.src[p] != '}' && e.src[p] != ']' {
			return 0, errAt("value", n, "cannot find the end of the flow collection")
		}
		return p + 1, nil
	}
	return 0, errAt("value", n, "unexpected node")
}

// scalarSpan returns the byte range of the scalar token of n, without its anchor or tag. It
// checks that the bytes read back as n's value; when editing it refuses tokens that span
// several lines (block, folded and multi-line scalars).
func (e *editor) scalarSpan(path string, n *yaml.Node, flow, editing bool) (int, int, error) {
	p, err := e.tokenStart(n)
	if err != nil {
		return 0, 0, err
	}
	b := e.src
	switch {
	case n.Kind == yaml.AliasNode:
		if editing {
			return 0, 0, errAt(path, n, "is an alias of &%s; edit refused because it would change shared content", n.Value)
		}
		end := p + 1
		for end < len(b) && !isSpace(b[end]) && breakWidth(b, end) == 0 && !isFlowIndicator(b[end]) {
			end++
		}
		return p, end, nil
	case n.Kind != yaml.ScalarNode:
		return 0, 0, errAt(path, n, "expected a scalar, found %s", kindName(n))
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, errAt(path, n, "is a block scalar (| or >); edit refused")
	case n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0:
		if p >= len(b) || b[p] != '"' && b[p] != '\'' {
			return 0, 0, errAt(path, n, "expected a quoted scalar")
		}
		end, ok := quotedEnd(b, p)
		if !ok {
			return 0, 0, errAt(path, n, "cannot find the closing quote")
		}
		if e.lineOf(p) != e.lineOf(end-1) {
			if editing {
				return 0, 0, errAt(path, n, "is a quoted scalar written over several lines; edit refused")
			}
			return p, end, nil
		}
		var s string
		if err := yaml.Unmarshal(b[p:end], &s); err != nil || s != n.Value {
			return 0, 0, errAt(path, n, "the quoted text does not read back as %q", n.Value)
		}
		return p, end, nil
	case n.Value == "" && n.Tag == "!!null":
		return p, p, nil
	}
	l := e.lines[e.lineOf(p)-1]
	end := p
	for end < l.end {
		c := b[end]
		if c == '#' && end > p && isSpace(b[end-1]) ||
			c == ':' && (end+1 == l.end || isSpace(b[end+1]) || flow && isFlowIndicator(b[end+1])) ||
			flow && isFlowIndicator(c) {
			break
		}
		end++
	}
	for end > p && isSpace(b[end-1]) {
		end--
	}
	if string(b[p:end]) != n.Value {
		if editing {
			return 0, 0, errAt(path, n, "is a plain scalar written over several lines; edit refused")
		}
		return 0, 0, errAt(path, n, "the plain text does not read back as %q", n.Value)
	}
	return p, end, nil
}

// quotedEnd returns the offset after the quote that closes the quoted scalar at p.
func quotedEnd(b []byte, p int) (int, bool) {
	q := b[p]
	for i := p + 1; i < len(b); i++ {
		switch {
		case q == '"' && b[i] == '\\':
			i++
		case b[i] == q && q == '\'' && i+1 < len(b) && b[i+1] == '\'':
			i++
		case b[i] == q:
			return i + 1, true
		}
	}
	return 0, false
}

// verify checks the result of one edit against an independent reading: the same documents,
// the bytes outside the policy document unchanged, the policy document equal to before except
// for the paths the edit touches, and the edit's result readable.
func verify(before, after *editor, ed Edit) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("edit would change more than it should (%s); refused", fmt.Sprintf(format, args...))
	}
	if len(before.docs) != len(after.docs) || before.doc != after.doc {
		return fail("document count %d → %d", len(before.docs), len(after.docs))
	}
	head := before.lines[min(before.docStart(), len(before.lines))-1].start
	tail := len(before.src)
	if end := before.docEnd(); end <= len(before.lines) {
		tail = before.lines[end-1].start
	}
	if head > len(after.src) || len(before.src)-tail > len(after.src)-head ||
		!bytes.Equal(before.src[:head], after.src[:head]) ||
		!bytes.HasSuffix(after.src, before.src[tail:]) {
		return fail("bytes outside the policy document changed")
	}
	bv, err := decodeAny(before.root)
	if err != nil {
		return fail("decode: %v", err)
	}
	av, err := decodeAny(after.root)
	if err != nil {
		return fail("decode: %v", err)
	}
	for _, p := range ed.touches() {
		drop(bv, p)
		drop(av, p)
		for k := len(p) - 1; k >= 1; k-- {
			if emptyAt(bv, p[:k]) && emptyAt(av, p[:k]) {
				drop(bv, p[:k])
				drop(av, p[:k])
			}
		}
	}
	bs, err := yaml.Marshal(bv)
	if err != nil {
		return fail("marshal: %v", err)
	}
	as, err := yaml.Marshal(av)
	if err != nil {
		return fail("marshal: %v", err)
	}
	if !bytes.Equal(bs, as) {
		return fail("other fields of the policy changed")
	}
	if err := ed.check(after); err != nil {
		return fail("%v", err)
	}
	return nil
}

func child(v any, key string) (any, bool) {
	switch m := v.(type) {
	case map[string]any:
		c, ok := m[key]
		return c, ok
	case map[any]any:
		c, ok := m[key]
		return c, ok
	}
	return nil, false
}

func drop(v any, path []string) {
	for _, k := range path[:len(path)-1] {
		var ok bool
		if v, ok = child(v, k); !ok {
			return
		}
	}
	switch m := v.(type) {
	case map[string]any:
		delete(m, path[len(path)-1])
	case map[any]any:
		delete(m, path[len(path)-1])
	}
}

// emptyAt reports whether path is absent, null or an empty mapping.
func emptyAt(v any, path []string) bool {
	for _, k := range path {
		var ok bool
		if v, ok = child(v, k); !ok {
			return true
		}
	}
	switch m := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(m) == 0
	case map[any]any:
		return len(m) == 0
	}
	return false
}
