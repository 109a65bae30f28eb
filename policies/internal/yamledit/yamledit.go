// Package yamledit edits one document of a YAML file in place, byte for byte: a change
// rewrites only the bytes of the values it changes, so comments, key order, quoting,
// indentation, line endings and the other documents of the file stay as they were.
//
// A Doc is loaded with Load, which picks the document to edit with a matcher. Values are read
// with Node, Int, String, Strings and IsMapping, and changed with Set (a scalar, a mapping or a
// list of scalars, creating missing parent mappings) and Remove. After each change the bytes
// are parsed again, and Verify compares two versions so that a change that altered anything
// beyond the paths it meant to touch is refused. What the engine cannot edit safely (block
// scalars, values written over several lines, anchored content used elsewhere, merge keys)
// is refused with an error naming the path, line and column.
//
// A Doc is a value: every change replaces it wholesale, so a copy (before := *d) keeps the
// earlier version for Verify.
package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ErrNoDocument is returned (wrapped) by Load when no document of the file matches.
var ErrNoDocument = errors.New("no document matches")

// Options say which document of a file to edit and how to write new keys.
type Options struct {
	// Kind and Name describe the document in errors, e.g. "policy" and "sepsis-risk".
	Kind, Name string
	// Match reports whether root, the root node of one document, is the one to edit. Exactly
	// one document of the file must match.
	Match func(root *yaml.Node) bool
	// Order is the conventional order of keys per mapping, by the dotted path of the mapping
	// ("" for the root, "spec.canary" for a nested one). A new key goes after the last present
	// key that precedes it; keys not listed go at the end of their mapping.
	Order map[string][]string
}

// Doc holds one version of a file while it is edited: the bytes, their line index and the
// parsed documents. Every change goes through patch, which parses the new bytes again, so
// node positions always describe the current bytes.
type Doc struct {
	src    []byte
	opt    Options
	lines  []lineSpan
	docs   []*yaml.Node
	doc    int                 // index in docs of the edited document
	root   *yaml.Node          // the edited document's root node
	shared map[*yaml.Node]bool // nodes an alias of the edited document refers to
	eol    string
}

// Load reads src (UTF-8, one or more YAML documents) and picks the document that opt.Match
// accepts. The document must decode cleanly: duplicate keys, bad merges and unknown aliases
// are errors, as a loader would report them. src is never modified.
func Load(src []byte, opt Options) (*Doc, error) {
	if bytes.HasPrefix(src, bomUTF16LE) || bytes.HasPrefix(src, bomUTF16BE) {
		return nil, fmt.Errorf("%s file is UTF-16; only UTF-8 is supported", opt.Kind)
	}
	if !utf8.Valid(src) {
		return nil, fmt.Errorf("%s file is not valid UTF-8", opt.Kind)
	}
	docs, err := parseDocuments(src, opt.Kind)
	if err != nil {
		return nil, err
	}
	e := &Doc{src: src, opt: opt, docs: docs, doc: -1}
	e.index()
	for i, d := range docs {
		if len(d.Content) == 0 || !opt.Match(d.Content[0]) {
			continue
		}
		if e.root != nil {
			return nil, fmt.Errorf("%s %q is defined twice, at lines %d and %d", opt.Kind, opt.Name, e.root.Line, d.Content[0].Line)
		}
		e.doc, e.root = i, d.Content[0]
	}
	if e.root == nil {
		return nil, fmt.Errorf("%s %q: %w", opt.Kind, opt.Name, ErrNoDocument)
	}
	// Decoding catches what the node tree does not: duplicate keys, bad merges, unknown
	// aliases. A loader would reject such a file; editing it would hide the problem.
	if _, err := decodeAny(e.root); err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", opt.Kind, opt.Name, err)
	}
	e.shared = map[*yaml.Node]bool{}
	walk(e.root, func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			e.shared[n.Alias] = true
		}
	})
	return e, nil
}

// Bytes returns the current bytes of the file.
func (e *Doc) Bytes() []byte { return e.src }

// parseDocuments reads every document of src. A panic inside the YAML library becomes an
// error: a file from git is untrusted input and must not stop the caller.
func parseDocuments(src []byte, kind string) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("parse %s file: %v", kind, r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var d yaml.Node
		if err := dec.Decode(&d); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, fmt.Errorf("parse %s file: %w", kind, err)
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

// Lookup returns the value of key in mapping m; nil when m is not a mapping or lacks key.
func Lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
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
func (e *Doc) find(path []string) (*entry, []string, error) {
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

// Node returns the value node at path; nil when a key of path is absent or a parent is
// null. It is an error when a parent is not a mapping or may get the key from a merge key.
func (e *Doc) Node(path []string) (*yaml.Node, error) {
	en, rest, err := e.find(path)
	if err != nil || len(rest) > 0 {
		return nil, err
	}
	return en.value(), nil
}

// present returns the entry at path and its value; nil when it is absent or null, an error
// when it is an alias (a value read through an alias cannot be edited where it is).
func (e *Doc) present(path []string) (*entry, *yaml.Node, error) {
	en, rest, err := e.find(path)
	if err != nil || len(rest) > 0 {
		return nil, nil, err
	}
	n := en.value()
	if n.Kind == yaml.AliasNode {
		return nil, nil, errAt(en.path, n, "is an alias of &%s; edit refused because it would change shared content", n.Value)
	}
	if isNull(n) {
		return nil, nil, nil
	}
	return en, n, nil
}

// Int reads the integer at path; ok is false when it is absent or null.
func (e *Doc) Int(path []string) (v int64, ok bool, err error) {
	en, n, err := e.present(path)
	if n == nil {
		return 0, false, err
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, false, errAt(en.path, n, "expected an integer, found %s", kindName(n))
	}
	if err := n.Decode(&v); err != nil {
		return 0, false, errAt(en.path, n, "expected an integer, found %q", n.Value)
	}
	return v, true, nil
}

// String reads the scalar at path as a string; ok is false when it is absent or null.
func (e *Doc) String(path []string) (s string, ok bool, err error) {
	en, n, err := e.present(path)
	if n == nil {
		return "", false, err
	}
	if n.Kind != yaml.ScalarNode {
		return "", false, errAt(en.path, n, "expected a string, found %s", kindName(n))
	}
	return n.Value, true, nil
}

// Strings reads the list of scalars at path as strings; ok is false when it is absent or
// null.
func (e *Doc) Strings(path []string) (s []string, ok bool, err error) {
	en, n, err := e.present(path)
	if n == nil {
		return nil, false, err
	}
	if n.Kind != yaml.SequenceNode {
		return nil, false, errAt(en.path, n, "expected a list, found %s", kindName(n))
	}
	s = make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			return nil, false, errAt(en.path, c, "expected a string, found %s", kindName(c))
		}
		s = append(s, c.Value)
	}
	return s, true, nil
}

// IsMapping reports whether path holds a mapping; false when it is absent or null, an error
// when it holds anything else.
func (e *Doc) IsMapping(path []string) (bool, error) {
	en, n, err := e.present(path)
	if n == nil {
		return false, err
	}
	if n.Kind != yaml.MappingNode {
		return false, errAt(en.path, n, "expected a mapping, found %s", kindName(n))
	}
	return true, nil
}
