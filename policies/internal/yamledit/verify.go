package yamledit

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Verify checks after, the result of changing before, against an independent reading: the
// same documents, the bytes outside the edited document unchanged, and the edited document
// equal to before except at the paths in touched (a parent mapping left empty or absent on
// both sides counts as equal). check, when given, then tells whether after holds what the
// change meant to write. An error says the change is refused.
func Verify(before, after *Doc, touched [][]string, check func(after *Doc) error) error {
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
		return fail("bytes outside the %s document changed", before.opt.Kind)
	}
	bv, err := decodeAny(before.root)
	if err != nil {
		return fail("decode: %v", err)
	}
	av, err := decodeAny(after.root)
	if err != nil {
		return fail("decode: %v", err)
	}
	for _, p := range touched {
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
		return fail("other fields of the %s changed", before.opt.Kind)
	}
	if check != nil {
		if err := check(after); err != nil {
			return fail("%v", err)
		}
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
