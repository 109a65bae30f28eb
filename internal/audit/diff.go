package audit

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/medimind/modelops/policies"
)

// Op says how a field changed.
type Op string

// The ways a field changes.
const (
	OpChanged Op = "changed"
	OpAdded   Op = "added"
	OpRemoved Op = "removed"
)

// Change is one field of a policy that differs between two commits. From and To are the
// field's values as JSON would render them (null when absent); a block that appears or
// disappears as a whole (spec.canary) is one change with the whole block as its value.
type Change struct {
	// Path names the field as the policy file spells it, e.g. spec.canary.weight or
	// metadata.labels["app.kubernetes.io/name"].
	Path string `json:"path"`
	Op   Op     `json:"op"`
	From any    `json:"from"`
	To   any    `json:"to"`
}

// String renders the change for people: "spec.canary.weight 10 → 25",
// "spec.canary added {...}", "spec.drift.threshold removed (was 0.1)".
func (c Change) String() string {
	switch c.Op {
	case OpAdded:
		return c.Path + " added " + text(c.To)
	case OpRemoved:
		return c.Path + " removed (was " + text(c.From) + ")"
	default:
		return c.Path + " " + text(c.From) + " → " + text(c.To)
	}
}

// text renders a change's value: strings bare, everything else as compact JSON, without
// the HTML escapes (\u003e for >) json.Marshal would put in a job command's shell text.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

var durationType = reflect.TypeFor[policies.Duration]()

// Diff compares two decoded, defaulted policies field by field and returns every difference,
// in the order of the Go types' fields (map keys sorted). It walks the types by reflection, so
// a field added to policies.ModelPolicy is compared without any change here. Slices are
// compared whole: a list of canary steps is one value.
func Diff(from, to *policies.ModelPolicy) []Change {
	var out []Change
	diffValue(make([]string, 0, 8), reflect.ValueOf(from).Elem(), reflect.ValueOf(to).Elem(), &out)
	return out
}

// diffValue compares a and b, found at path. A path is kept as its segments (field names,
// and map keys already rendered as ["key"] where they need quoting) and spelt out only for a
// change: most fields are equal, and an audit compares thousands of versions.
func diffValue(path []string, a, b reflect.Value, out *[]Change) {
	t := a.Type()
	switch {
	case t == durationType:
		if !a.Equal(b) {
			*out = append(*out, Change{Path: pathString(path), Op: OpChanged, From: plain(a), To: plain(b)})
		}
	case t.Kind() == reflect.Pointer:
		switch {
		case a.IsNil() && b.IsNil():
		case t.Elem().Kind() != reflect.Struct || t.Elem() == durationType:
			// A pointer to a value (a threshold, a weight): nil is "null", not a block.
			if a.IsNil() || b.IsNil() || !reflect.DeepEqual(a.Elem().Interface(), b.Elem().Interface()) {
				*out = append(*out, Change{Path: pathString(path), Op: OpChanged, From: plain(a), To: plain(b)})
			}
		case a.IsNil():
			*out = append(*out, Change{Path: pathString(path), Op: OpAdded, To: plain(b)})
		case b.IsNil():
			*out = append(*out, Change{Path: pathString(path), Op: OpRemoved, From: plain(a)})
		default:
			diffValue(path, a.Elem(), b.Elem(), out)
		}
	case t.Kind() == reflect.Struct:
		for _, f := range fieldsOf(t) {
			child := path
			if !f.anonymous {
				child = append(path, f.name)
			}
			diffValue(child, a.Field(f.index), b.Field(f.index), out)
		}
	case t.Kind() == reflect.Map:
		keys := map[string]reflect.Value{}
		for _, m := range []reflect.Value{a, b} {
			for _, k := range m.MapKeys() {
				keys[fmt.Sprint(k.Interface())] = k
			}
		}
		names := make([]string, 0, len(keys))
		for n := range keys {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			k := keys[n]
			child := append(path, mapKey(n))
			av, bv := a.MapIndex(k), b.MapIndex(k)
			switch {
			case !av.IsValid():
				*out = append(*out, Change{Path: pathString(child), Op: OpAdded, To: plain(bv)})
			case !bv.IsValid():
				*out = append(*out, Change{Path: pathString(child), Op: OpRemoved, From: plain(av)})
			default:
				diffValue(child, av, bv, out)
			}
		}
	case t.Kind() == reflect.Slice:
		// Compared whole. A nil and an empty slice mean the same in a policy file.
		if a.Len() == 0 && b.Len() == 0 {
			return
		}
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, Change{Path: pathString(path), Op: OpChanged, From: plain(a), To: plain(b)})
		}
	case t.Kind() != reflect.Interface && t.Comparable():
		if !a.Equal(b) {
			*out = append(*out, Change{Path: pathString(path), Op: OpChanged, From: plain(a), To: plain(b)})
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, Change{Path: pathString(path), Op: OpChanged, From: plain(a), To: plain(b)})
		}
	}
}

// field is what Diff and plain need of a struct field, worked out once per type.
type field struct {
	index     int
	name      string // as the policy file spells it: the json tag's name
	anonymous bool
	omitempty bool
}

var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf lists t's exported fields that have a name in policy files.
func fieldsOf(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs = append(fs, field{index: i, name: name, anonymous: f.Anonymous, omitempty: strings.Contains(","+opts+",", ",omitempty,")})
	}
	fieldCache.Store(t, fs)
	return fs
}

// pathString spells a path: a.b.c, with quoted map keys as a["x.y/z"].
func pathString(path []string) string {
	var b strings.Builder
	for i, seg := range path {
		if i > 0 && seg[0] != '[' {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

// mapKey renders a map key as a path segment: bare when plain, ["x.y/z"] when it would be
// ambiguous.
func mapKey(key string) string {
	if key == "" {
		return `[""]`
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return "[" + strconv.Quote(key) + "]"
		}
	}
	return key
}

// plain turns a policy value into what encoding/json gives for it (maps, lists, numbers,
// strings; fields tagged omitempty left out when empty), with durations spelt as in policy
// files ("6h", not "6h0m0s"), so From and To print and marshal the same way.
func plain(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	t := v.Type()
	if t == durationType {
		return formatDuration(v.Interface().(policies.Duration))
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	case reflect.Struct:
		out := map[string]any{}
		for _, f := range fieldsOf(t) {
			fv := v.Field(f.index)
			if f.omitempty && (fv.IsZero() || (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0) {
				continue
			}
			out[f.name] = plain(fv)
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			out[fmt.Sprint(iter.Key().Interface())] = plain(iter.Value())
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plain(v.Index(i))
		}
		return out
	case reflect.String:
		return v.String()
	default:
		return v.Interface()
	}
}

// formatDuration spells a duration as policy files do: 6h, 1h30m, 90s.
func formatDuration(d policies.Duration) string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
