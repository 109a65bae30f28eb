package yamledit

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// named matches the document whose top-level name is name.
func named(name string) Options {
	return Options{
		Kind: "thing",
		Name: name,
		Match: func(root *yaml.Node) bool {
			n := Lookup(root, "name")
			return n != nil && n.Value == name
		},
		Order: map[string][]string{"": {"name", "a", "b", "c"}, "a": {"x", "y", "z"}},
	}
}

func mustLoad(t *testing.T, src, name string) *Doc {
	t.Helper()
	d, err := Load([]byte(src), named(name))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return d
}

func TestLoadPicksTheMatchingDocument(t *testing.T) {
	const src = "name: one\na: {x: 1}\n---\n# second\nname: two\na: {x: 2}\n"
	d := mustLoad(t, src, "two")
	if v, ok, err := d.Int([]string{"a", "x"}); err != nil || !ok || v != 2 {
		t.Errorf("a.x = %d %v %v, want 2 of the second document", v, ok, err)
	}
	for _, tc := range []struct{ name, src, want string }{
		{"none matches", src, `thing "three": no document matches`},
		{"two match", "name: three\n---\nname: three\n", "defined twice, at lines 1 and 3"},
		{"duplicate key", "name: three\na: 1\na: 2\n", "already defined"},
		{"UTF-16", "\xff\xfename: three\n", "thing file is UTF-16"},
		{"not UTF-8", "name: three\na: \xc3\x28\n", "not valid UTF-8"},
		{"syntax", "name: three\na: [1\n", "parse thing file"},
	} {
		name := "three"
		_, err := Load([]byte(tc.src), named(name))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %q", tc.name, err, tc.want)
		}
		if tc.name == "none matches" && !errors.Is(err, ErrNoDocument) {
			t.Errorf("%s: err = %v, not ErrNoDocument", tc.name, err)
		}
	}
}

func TestRead(t *testing.T) {
	d := mustLoad(t, "name: n\nr: &r 1\na:\n  x: 7\n  y: 'text'\n  z: [p, \"q\"]\n  n: ~\nb: *r\nc: {<<: {k: 1}}\n", "n")
	if v, ok, err := d.Int([]string{"a", "x"}); v != 7 || !ok || err != nil {
		t.Errorf("Int = %d %v %v", v, ok, err)
	}
	if s, ok, err := d.String([]string{"a", "y"}); s != "text" || !ok || err != nil {
		t.Errorf("String = %q %v %v", s, ok, err)
	}
	if s, ok, err := d.Strings([]string{"a", "z"}); !slices.Equal(s, []string{"p", "q"}) || !ok || err != nil {
		t.Errorf("Strings = %q %v %v", s, ok, err)
	}
	if ok, err := d.IsMapping([]string{"a"}); !ok || err != nil {
		t.Errorf("IsMapping(a) = %v %v", ok, err)
	}
	for _, p := range [][]string{{"a", "n"}, {"a", "missing"}, {"a", "n", "deeper"}} {
		if _, ok, err := d.String(p); ok || err != nil {
			t.Errorf("String(%v) = %v %v, want absent", p, ok, err)
		}
	}
	for _, tc := range []struct {
		path []string
		read func([]string) error
		want string
	}{
		{[]string{"a", "y"}, func(p []string) error { _, _, err := d.Int(p); return err }, "a.y at line 5 column 6: expected an integer"},
		{[]string{"a", "x"}, func(p []string) error { _, _, err := d.Strings(p); return err }, "expected a list"},
		{[]string{"a", "z"}, func(p []string) error { _, err := d.IsMapping(p); return err }, "expected a mapping"},
		{[]string{"a", "x", "k"}, func(p []string) error { _, err := d.Node(p); return err }, "expected a mapping"},
		{[]string{"b"}, func(p []string) error { _, _, err := d.Int(p); return err }, "alias of &r"},
		{[]string{"c", "k"}, func(p []string) error { _, err := d.Node(p); return err }, "merge key"},
	} {
		if err := tc.read(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one saying %q", tc.path, err, tc.want)
		}
	}
}

// TestSetAndRemove checks each kind of change byte for byte, and that Verify accepts it when
// told the path it touched.
func TestSetAndRemove(t *testing.T) {
	str := func(s string) Value { return Value{Scalar: &Scalar{Text: s}} }
	list := func(s ...string) Value {
		l := []Scalar{}
		for _, x := range s {
			l = append(l, Scalar{Text: x})
		}
		return Value{List: l}
	}
	tests := []struct {
		name, src, want string
		path            []string
		val             *Value // nil: remove
	}{
		{"scalar keeps quotes and comment", "name: n\na:\n  x: 'old' # why\n", "name: n\na:\n  x: 'new' # why\n",
			[]string{"a", "x"}, &[]Value{str("new")}[0]},
		{"integer", "name: n\na: {x: 1}\n", "name: n\na: {x: 2}\n",
			[]string{"a", "x"}, &Value{Scalar: &Scalar{Text: "2", Int: true}}},
		{"new key placed by the order", "name: n\na:\n  x: 1\n  z: 3\n", "name: n\na:\n  x: 1\n  y: v\n  z: 3\n",
			[]string{"a", "y"}, &[]Value{str("v")}[0]},
		{"unordered key goes last", "name: n\na:\n  x: 1\n  z: 3\n", "name: n\na:\n  x: 1\n  z: 3\n  w: v\n",
			[]string{"a", "w"}, &[]Value{str("v")}[0]},
		{"missing parents created, 4-space indent", "name: n\nc:\n    k: 1\n", "name: n\na:\n    y:\n        q: v\nc:\n    k: 1\n",
			[]string{"a", "y", "q"}, &[]Value{str("v")}[0]},
		{"mapping merged into a flow mapping", "name: n\na: {x: 1}\n", "name: n\na: {x: 1, y: {p: v}}\n",
			[]string{"a"}, &Value{Map: []Item{{Key: "y", Value: Value{Map: []Item{{Key: "p", Value: str("v")}}}}}}},
		{"flow list replaced", "name: n\na: {z: [1, '2']}\n", "name: n\na: {z: [p, '3', '4']}\n",
			[]string{"a", "z"}, &[]Value{list("p", "3", "4")}[0]},
		{"block list replaced", "name: n\na:\n  z:\n  - 1\n  - 2\nb: 1\n", "name: n\na:\n  z:\n  - p\nb: 1\n",
			[]string{"a", "z"}, &[]Value{list("p")}[0]},
		{"block list emptied", "name: n\na:\n  z: # c\n    - 1\nb: 1\n", "name: n\na:\n  z: [] # c\nb: 1\n",
			[]string{"a", "z"}, &[]Value{list()}[0]},
		{"list inserted", "name: n\na:\n  x: 1\n", "name: n\na:\n  x: 1\n  z: [a b, c]\n",
			[]string{"a", "z"}, &[]Value{list("a b", "c")}[0]},
		{"CRLF and no final line break", "name: n\r\na:\r\n  x: 1", "name: n\r\na:\r\n  x: 1\r\n  y: v",
			[]string{"a", "y"}, &[]Value{str("v")}[0]},
		{"remove with its comments", "name: n\na:\n  x: 1\n  # about y\n  y: 2\n  z: 3\n", "name: n\na:\n  x: 1\n  z: 3\n",
			[]string{"a", "y"}, nil},
		{"remove from a flow mapping", "name: n\na: {x: 1, y: 2}\n", "name: n\na: {x: 1}\n",
			[]string{"a", "y"}, nil},
		{"remove the last key", "name: n\na:\n  x: 1\n", "name: n\na: {}\n",
			[]string{"a", "x"}, nil},
		{"other documents kept", "name: m\na: 1\n---\nname: n\na: {x: 1}\n...\n", "name: m\na: 1\n---\nname: n\na: {x: 2}\n...\n",
			[]string{"a", "x"}, &[]Value{str("2")}[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustLoad(t, tt.src, "n")
			before := *d
			var err error
			if tt.val == nil {
				err = d.Remove(tt.path)
			} else {
				err = d.Set(tt.path, *tt.val)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(d.Bytes()); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			if err := Verify(&before, d, [][]string{tt.path}, nil); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if tt.val != nil {
				again := *d
				if err := again.Set(tt.path, *tt.val); err != nil || !bytes.Equal(again.Bytes(), d.Bytes()) {
					t.Errorf("setting again: %v\n%q", err, again.Bytes())
				}
			}
		})
	}
}

func TestSetRefuses(t *testing.T) {
	v := Value{Scalar: &Scalar{Text: "v"}}
	for _, tc := range []struct{ name, src, want string }{
		{"block scalar", "name: n\na:\n  x: |\n    text\n", "block scalar"},
		{"multi-line plain", "name: n\na:\n  x: two\n    lines\n", "several lines"},
		{"alias", "name: n\nr: &r 1\na:\n  x: *r\n", "alias of &r"},
		{"anchored and shared", "name: n\na: &a\n  x: 1\nb: *a\n", "anchored as &a"},
		{"not a mapping", "name: n\na: [1]\n", "expected a mapping"},
	} {
		d := mustLoad(t, tc.src, "n")
		err := d.Set([]string{"a", "x"}, v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

func TestVerifyRefusesChangesOutsideTheTouchedPaths(t *testing.T) {
	d := mustLoad(t, "name: m\n---\nname: n\na: {x: 1, y: 2}\n", "n")
	before := *d
	if err := d.Set([]string{"a", "y"}, Value{Scalar: &Scalar{Text: "3", Int: true}}); err != nil {
		t.Fatal(err)
	}
	if err := Verify(&before, d, [][]string{{"a", "x"}}, nil); err == nil || !strings.Contains(err.Error(), "other fields of the thing changed") {
		t.Errorf("a change of a.y verified as one of a.x: %v", err)
	}
	if err := Verify(&before, d, [][]string{{"a", "y"}}, func(*Doc) error { return errors.New("reads back wrong") }); err == nil || !strings.Contains(err.Error(), "reads back wrong") {
		t.Errorf("the check's error was not reported: %v", err)
	}
	other := mustLoad(t, "name: m2\n---\nname: n\na: {x: 1, y: 3}\n", "n")
	if err := Verify(&before, other, [][]string{{"a", "y"}}, nil); err == nil || !strings.Contains(err.Error(), "bytes outside") {
		t.Errorf("a change before the document verified: %v", err)
	}
}

// FuzzSet sets or removes a value at one of a few paths of arbitrary files: it must never
// panic, and a change it makes must read back, verify, leave the other documents alone and
// be a fixed point.
func FuzzSet(f *testing.F) {
	for _, s := range []string{
		"name: n\na:\n  x: 1 # c\n  z: [1, 2]\n",
		"name: m\n---\nname: n\na: {x: 'q', y: {k: v}}\n",
		"name: n\r\na:\r\n  z:\r\n  - 1\r\n  y: ~",
		"name: n\nb: &b {x: 1}\na: *b\n",
	} {
		for op := range uint8(4) {
			f.Add([]byte(s), op, uint8(0), "v")
		}
	}
	paths := [][]string{{"a", "x"}, {"a", "y"}, {"a", "z"}, {"a", "y", "k"}, {"b"}, {"c", "d"}}
	f.Fuzz(func(t *testing.T, src []byte, op, p uint8, text string) {
		d, err := Load(src, named("n"))
		if err != nil {
			return
		}
		path := paths[int(p)%len(paths)]
		var v Value
		switch op % 4 {
		case 0:
			v.Scalar = &Scalar{Text: text}
		case 1:
			v.List = []Scalar{{Text: text}, {Text: "b"}}
		case 2:
			v.Map = []Item{{Key: "k", Value: Value{Scalar: &Scalar{Text: text}}}}
		}
		before := *d
		change := func(d *Doc) error {
			if op%4 == 3 {
				return d.Remove(path)
			}
			return d.Set(path, v)
		}
		if err := change(d); err != nil || bytes.Equal(d.Bytes(), before.Bytes()) {
			return
		}
		check := func(after *Doc) error {
			n, err := after.Node(path)
			if err != nil {
				return err
			}
			switch {
			case op%4 == 3 && n != nil:
				return errors.New("still present")
			case v.Scalar != nil && (n == nil || n.Value != text):
				return errors.New("scalar does not read back")
			case v.List != nil:
				if s, _, err := after.Strings(path); err != nil || !slices.Equal(s, []string{text, "b"}) {
					return errors.New("list does not read back")
				}
			}
			return nil
		}
		if err := Verify(&before, d, [][]string{path}, check); err != nil {
			t.Fatalf("%v\n%q\n%q", err, before.Bytes(), d.Bytes())
		}
		again := *d
		if err := change(&again); err != nil || !bytes.Equal(again.Bytes(), d.Bytes()) {
			t.Fatalf("not a fixed point: %v\n%q\n%q", err, d.Bytes(), again.Bytes())
		}
	})
}
