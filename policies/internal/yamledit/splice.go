package yamledit

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Value is what Set writes at a path: a scalar, a mapping of items, or a list of scalars.
// Exactly one of Scalar, Map and List is meant to be set; a nil List is no list, an empty
// non-nil one is [].
type Value struct {
	Scalar *Scalar
	Map    []Item
	List   []Scalar
}

// An Item is one key of a mapping Value.
type Item struct {
	Key   string
	Value Value
}

// Scalar is a new scalar value. A replaced scalar keeps the quoting of the one it replaces; a
// new one copies the quoting of Like when given (e.g. the node of a sibling field).
type Scalar struct {
	Text string
	// Int writes Text (the decimal form of an integer) as an integer.
	Int  bool
	Like *yaml.Node
}

// render writes the scalar in the style of old (the scalar it replaces) or of its hint.
func (s *Scalar) render(old *yaml.Node, flow bool) (string, error) {
	like := old
	if like == nil || isNull(like) {
		like = s.Like
	}
	style := yaml.Style(0)
	tag := ""
	if like != nil && like.Kind == yaml.ScalarNode {
		style = like.Style & (yaml.SingleQuotedStyle | yaml.DoubleQuotedStyle)
		tag = like.Tag
	}
	if s.Int {
		switch style {
		case yaml.SingleQuotedStyle:
			return "'" + s.Text + "'", nil
		case yaml.DoubleQuotedStyle:
			return `"` + s.Text + `"`, nil
		}
		return s.Text, nil
	}
	out, err := marshalScalar(s.Text, style)
	if err != nil {
		return "", err
	}
	if style == 0 && out != s.Text && tag != "" && tag != "!!str" {
		// The file writes such values plain although they read as another type (version: 12
		// is an integer that the loader reads as the string "12"); keep doing so when the new
		// text reads as the same type.
		var n yaml.Node
		if yaml.Unmarshal([]byte(s.Text), &n) == nil && len(n.Content) == 1 {
			if c := n.Content[0]; c.Kind == yaml.ScalarNode && c.Style == 0 && c.Tag == tag && c.Value == s.Text {
				out = s.Text
			}
		}
	}
	if flow && out == s.Text && strings.ContainsAny(out, ",[]{}") {
		if out, err = marshalScalar(s.Text, yaml.DoubleQuotedStyle); err != nil {
			return "", err
		}
	}
	if strings.ContainsAny(out, lineBreaks) {
		if out, err = marshalScalar(s.Text, yaml.DoubleQuotedStyle); err != nil {
			return "", err
		}
		if strings.ContainsAny(out, lineBreaks) {
			return "", fmt.Errorf("value %q cannot be written on one line", s.Text)
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
func (e *Doc) patch(cs ...change) error {
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
	ne, err := Load(out, e.opt)
	if err != nil {
		return fmt.Errorf("edit result does not parse: %w", err)
	}
	*e = *ne
	return nil
}

// mutable refuses an edit inside x (and of n, when given) when it would also change what an
// alias elsewhere in the document refers to.
func (e *Doc) mutable(x *entry, n *yaml.Node) error {
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

func (e *Doc) unshared(path string, n *yaml.Node) error {
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

// Set makes path hold v: a scalar is replaced in place, a mapping is merged item by item, a
// list is replaced as a whole, and missing keys are inserted together with their missing
// parent mappings (in the key order of Options). A value that already holds v changes nothing.
func (e *Doc) Set(path []string, v Value) error {
	en, rest, err := e.find(path)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		n := en.value()
		switch {
		case v.List != nil:
			return e.setList(en, v.List)
		case isNull(n) && v.Scalar != nil:
			return e.replaceScalar(en, v.Scalar)
		case isNull(n):
			return e.fill(en, v.Map)
		case v.Scalar != nil:
			return e.replaceScalar(en, v.Scalar)
		case n.Kind != yaml.MappingNode:
			return errAt(en.path, n, "expected a mapping, found %s", kindName(n))
		}
		for _, it := range v.Map {
			if err := e.Set(append(slices.Clone(path), it.Key), it.Value); err != nil {
				return err
			}
		}
		return nil
	}
	it := Item{Key: rest[len(rest)-1], Value: v}
	for i := len(rest) - 2; i >= 0; i-- {
		it = Item{Key: rest[i], Value: Value{Map: []Item{it}}}
	}
	if en != nil && isNull(en.value()) {
		return e.fill(en, []Item{it})
	}
	return e.insert(en, it)
}

// Remove deletes the entry at path, with its own comments; an absent entry is left alone.
func (e *Doc) Remove(path []string) error {
	en, rest, err := e.find(path)
	if err != nil || len(rest) > 0 {
		return err
	}
	if err := e.mutable(en, nil); err != nil {
		return err
	}
	if err := e.noAnchorInside(en); err != nil {
		return err
	}
	if isFlow(en.m) {
		return e.removeFlow(en)
	}
	return e.removeBlock(en)
}

// noAnchorInside refuses to drop the value of en when it holds an anchor used elsewhere.
func (e *Doc) noAnchorInside(en *entry) error {
	var err error
	walk(en.value(), func(n *yaml.Node) {
		if err == nil && e.shared[n] {
			err = errAt(en.path, n, "holds the anchor &%s that is used elsewhere; edit refused because it would change shared content", n.Anchor)
		}
	})
	return err
}

// setList makes the value of en the list items. A null or a flow list on one line becomes a
// one-line flow list; a block list gets new "- item" lines at the indentation of the old ones
// (the comments between the old items go with them, the one after the key stays). New items
// are quoted as the old item at their place was (the last one, past the end of the old
// list), or as their Like.
func (e *Doc) setList(en *entry, items []Scalar) error {
	n := en.value()
	if err := e.mutable(en, n); err != nil {
		return err
	}
	if err := e.noAnchorInside(en); err != nil {
		return err
	}
	var old []*yaml.Node
	if n.Kind == yaml.SequenceNode {
		old = n.Content
	}
	switch {
	case isNull(n):
		from, to, err := e.scalarSpan(en.path, n, isFlow(en.m), true)
		if err != nil {
			return err
		}
		text, err := flowList(items, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", en.path, err)
		}
		if from == to && from > 0 && e.src[from-1] == ':' {
			text = " " + text
		}
		return e.patch(change{from, to, text})
	case n.Kind != yaml.SequenceNode:
		return errAt(en.path, n, "expected a list, found %s", kindName(n))
	case isFlow(n):
		from, err := e.tokenStart(n)
		if err != nil {
			return err
		}
		to, err := e.nodeEnd(n)
		if err != nil {
			return err
		}
		if e.lineOf(from) != e.lineOf(to-1) {
			return errAt(en.path, n, "is a flow list written over several lines; edit refused")
		}
		text, err := flowList(items, old)
		if err != nil {
			return fmt.Errorf("%s: %w", en.path, err)
		}
		if string(e.src[from:to]) == text {
			return nil
		}
		return e.patch(change{from, to, text})
	}
	return e.replaceBlockList(en, items, old)
}

// replaceBlockList writes items over the lines of the block list that is the value of en.
func (e *Doc) replaceBlockList(en *entry, items []Scalar, old []*yaml.Node) error {
	n := en.value()
	if !e.ownsLine(en.key()) || n.Line <= en.key().Line || !e.ownsLine(n) {
		return errAt(en.path, n, "shares its line with other content; edit refused")
	}
	_, last, err := e.entryLines(en)
	if err != nil {
		return err
	}
	from, to := e.lines[n.Line-1].start, e.lines[last-1].next
	lines := make([]string, len(items))
	for i, s := range items {
		t, err := s.render(likeAt(old, i), false)
		if err != nil {
			return fmt.Errorf("%s: %w", en.path, err)
		}
		lines[i] = strings.Repeat(" ", n.Column-1) + "- " + t
	}
	if len(items) == 0 {
		// The key gets [] and the item lines go; at the end of a file without a final line
		// break, the break before them goes instead.
		p, err := e.colonEnd(en)
		if err != nil {
			return err
		}
		if e.lines[last-1].next == e.lines[last-1].end {
			from = e.lines[n.Line-2].end
		}
		return e.patch(change{p, p, " []"}, change{from, to, ""})
	}
	text := strings.Join(lines, e.eol)
	if e.lines[last-1].next > e.lines[last-1].end {
		text += e.eol
	}
	if string(e.src[from:to]) == text {
		return nil
	}
	return e.patch(change{from, to, text})
}

// likeAt returns the old item whose quoting item i of a new list takes: the one at its place,
// else the last; nil when there is none.
func likeAt(old []*yaml.Node, i int) *yaml.Node {
	if len(old) == 0 {
		return nil
	}
	return old[min(i, len(old)-1)]
}

// flowList writes items as a one-line flow list, each quoted as the old item at its place
// (see likeAt) or, without old items, as its own Like.
func flowList(items []Scalar, old []*yaml.Node) (string, error) {
	parts := make([]string, len(items))
	for i, s := range items {
		t, err := s.render(likeAt(old, i), true)
		if err != nil {
			return "", err
		}
		parts[i] = t
	}
	return "[" + strings.Join(parts, ", ") + "]", nil
}

// replaceScalar writes s over the scalar value of en, keeping its quoting style, its anchor,
// its tag and the comment after it.
func (e *Doc) replaceScalar(en *entry, s *Scalar) error {
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
// after the last present key that precedes it in the key order of Options.
func (e *Doc) insert(en *entry, it Item) error {
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
	if order := e.opt.Order[mpath]; slices.Contains(order, it.Key) {
		k := slices.Index(order, it.Key)
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

func (e *Doc) insertFlow(m *yaml.Node, after, before int, it Item) error {
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

func (e *Doc) insertBlock(en *entry, m *yaml.Node, after, before int, it Item) error {
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
func (e *Doc) fill(en *entry, items []Item) error {
	n := en.value()
	if err := e.mutable(en, n); err != nil {
		return err
	}
	from, to, err := e.scalarSpan(en.path, n, isFlow(en.m), true)
	if err != nil {
		return err
	}
	if isFlow(en.m) {
		text, err := flowText(Item{Value: Value{Map: items}})
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
func (e *Doc) step(en *entry, m *yaml.Node) int {
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

func blockLines(it Item, col, step int) ([]string, error) {
	pad := strings.Repeat(" ", col)
	if it.Value.Scalar != nil || it.Value.List != nil {
		// A scalar is written in block style; a list always as a one-line flow list.
		var t string
		var err error
		if it.Value.Scalar != nil {
			t, err = it.Value.Scalar.render(nil, false)
		} else {
			t, err = flowList(it.Value.List, nil)
		}
		if err != nil {
			return nil, err
		}
		return []string{pad + it.Key + ": " + t}, nil
	}
	lines := []string{pad + it.Key + ":"}
	for _, c := range it.Value.Map {
		l, err := blockLines(c, col+step, step)
		if err != nil {
			return nil, err
		}
		lines = append(lines, l...)
	}
	return lines, nil
}

// flowText writes it as "key: value", or only the value when it has no key.
func flowText(it Item) (string, error) {
	var v string
	switch {
	case it.Value.Scalar != nil:
		t, err := it.Value.Scalar.render(nil, true)
		if err != nil {
			return "", err
		}
		v = t
	case it.Value.List != nil:
		t, err := flowList(it.Value.List, nil)
		if err != nil {
			return "", err
		}
		v = t
	default:
		parts := make([]string, 0, len(it.Value.Map))
		for _, c := range it.Value.Map {
			t, err := flowText(c)
			if err != nil {
				return "", err
			}
			parts = append(parts, t)
		}
		v = "{" + strings.Join(parts, ", ") + "}"
	}
	if it.Key == "" {
		return v, nil
	}
	return it.Key + ": " + v, nil
}

// ownsLine reports whether only indentation precedes node n on its line.
func (e *Doc) removeBlock(x *entry) error {
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
func (e *Doc) colonEnd(x *entry) (int, error) {
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
func (e *Doc) removeFlow(x *entry) error {
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
