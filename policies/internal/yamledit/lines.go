package yamledit

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// lineSpan is one line: the offsets of its first byte, of its line break (or end) and of the
// next line.
type lineSpan struct{ start, end, next int }

var (
	bomUTF8    = []byte("\xef\xbb\xbf")
	bomUTF16LE = []byte("\xff\xfe")
	bomUTF16BE = []byte("\xfe\xff")
)

// index splits the source into lines the way the YAML scanner counts them, so that node
// positions map to byte offsets: CRLF, CR, LF, NEL, LS and PS each end a line, and a UTF-8
// byte order mark is not part of the first line.
func (e *Doc) index() {
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
func (e *Doc) offset(line, col int) (int, error) {
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
func (e *Doc) lineOf(p int) int {
	return min(sort.Search(len(e.lines), func(i int) bool { return e.lines[i].next > p })+1, max(len(e.lines), 1))
}

func (e *Doc) lineText(l int) []byte {
	s := e.lines[l-1]
	return e.src[s.start:s.end]
}

func (e *Doc) blank(l int) bool {
	return len(bytes.TrimLeft(e.lineText(l), " \t")) == 0
}

func (e *Doc) comment(l int) bool {
	t := bytes.TrimLeft(e.lineText(l), " \t")
	return len(t) > 0 && t[0] == '#'
}

// indent counts the spaces that start line l.
func (e *Doc) indent(l int) int {
	t := e.lineText(l)
	return len(t) - len(bytes.TrimLeft(t, " "))
}

// docEnd returns the line after the edited document: the next document marker or the line
// after the last.
func (e *Doc) docEnd() int {
	for l := e.root.Line + 1; l <= len(e.lines); l++ {
		t := e.lineText(l)
		if len(t) >= 3 && (string(t[:3]) == "---" || string(t[:3]) == "...") && (len(t) == 3 || t[3] == ' ' || t[3] == '\t') {
			return l
		}
	}
	return len(e.lines) + 1
}

// docStart returns the first line of the edited document (its --- marker when it has one).
func (e *Doc) docStart() int {
	if d := e.docs[e.doc]; d.Line > 0 {
		return d.Line
	}
	return 1
}

func (e *Doc) ownsLine(n *yaml.Node) bool {
	p, err := e.offset(n.Line, n.Column)
	if err != nil {
		return false
	}
	return len(bytes.Trim(e.src[e.lines[n.Line-1].start:p], " ")) == 0
}

// entryLines returns the lines of the block mapping entry x: the comment lines right above its
// key at the key's indentation, the key, its value, and the comments indented deeper than the
// key that follow. Blank lines and shallower comments at the end belong to what follows.
func (e *Doc) entryLines(x *entry) (first, last int, err error) {
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
func (e *Doc) insertLines(at int, lines []string) error {
	return e.patch(e.linesChange(at, lines))
}

func (e *Doc) linesChange(at int, lines []string) change {
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
// nodeStart returns the offset of n's first character, its anchor or tag included.
func (e *Doc) nodeStart(n *yaml.Node) (int, error) {
	return e.offset(n.Line, n.Column)
}

// tokenStart returns the offset of n's content, after its anchor and tag.
func (e *Doc) tokenStart(n *yaml.Node) (int, error) {
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
func (e *Doc) skipSpace(p int, commas bool) int {
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
func (e *Doc) nodeEnd(n *yaml.Node) (int, error) {
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
func (e *Doc) scalarSpan(path string, n *yaml.Node, flow, editing bool) (int, int, error) {
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
