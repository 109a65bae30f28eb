package policies

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/medimind/modelops/policies/internal/yamledit"
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
	apply(e *yamledit.Doc) error
	// check reports an error unless the document holds the edit's result.
	check(e *yamledit.Doc) error
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
		if bytes.Equal(before.Bytes(), e.Bytes()) {
			continue
		}
		// The splices are checked against an independent reading of the result, so that a
		// file shape the splicing did not foresee ends in an error, never in a wrong commit.
		if err := yamledit.Verify(&before, e, ed.touches(), ed.check); err != nil {
			return nil, fmt.Errorf("%s: %w", ed.Describe(), err)
		}
	}
	if bytes.Equal(e.Bytes(), src) {
		return src, nil
	}
	return e.Bytes(), nil
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

func (s SetCanaryWeight) apply(e *yamledit.Doc) error {
	if s.To < 0 || s.To > 100 {
		return fmt.Errorf("canary weight %d is outside 0..100", s.To)
	}
	path := []string{"spec", "canary", "weight"}
	cur, ok, err := e.Int(path)
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
	return e.Set(path, yamledit.Value{Scalar: &yamledit.Scalar{Text: strconv.Itoa(s.To), Int: true}})
}

func (s SetCanaryWeight) check(e *yamledit.Doc) error {
	cur, ok, err := e.Int([]string{"spec", "canary", "weight"})
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

func (s SetCanary) apply(e *yamledit.Doc) error {
	c := s.Canary
	if c.Version == "" {
		return errors.New("canary version is empty")
	}
	if c.Weight != nil && (*c.Weight < 0 || *c.Weight > 100) {
		return fmt.Errorf("canary weight %d is outside 0..100", *c.Weight)
	}
	cur, err := canary(e)
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
	hint := func(field string) *yaml.Node { return nodeAt(e, "spec", "production", field) }
	canary := []string{"spec", "canary"}
	fields := []struct {
		key  string
		val  *yamledit.Scalar
		hint *yaml.Node
	}{
		{"version", &yamledit.Scalar{Text: c.Version}, hint("version")},
		{"uri", nil, hint("uri")},
		{"weight", nil, nil},
	}
	if c.URI != "" {
		fields[1].val = &yamledit.Scalar{Text: c.URI}
	}
	if c.Weight != nil {
		fields[2].val = &yamledit.Scalar{Text: strconv.Itoa(*c.Weight), Int: true}
	}
	if cur == nil {
		var items []yamledit.Item
		for _, f := range fields {
			if f.val != nil {
				f.val.Like = f.hint
				items = append(items, yamledit.Item{Key: f.key, Value: yamledit.Value{Scalar: f.val}})
			}
		}
		return e.Set(canary, yamledit.Value{Map: items})
	}
	for _, f := range fields {
		path := append(slices.Clone(canary), f.key)
		if f.val == nil {
			if err := e.Remove(path); err != nil {
				return err
			}
			continue
		}
		f.val.Like = f.hint
		if err := e.Set(path, yamledit.Value{Scalar: f.val}); err != nil {
			return err
		}
	}
	return nil
}

func (s SetCanary) check(e *yamledit.Doc) error {
	cur, err := canary(e)
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

func (r RemoveCanary) apply(e *yamledit.Doc) error {
	cur, err := canary(e)
	if err != nil {
		return err
	}
	if cur == nil {
		return nil
	}
	if cur.Version != r.Version {
		return fmt.Errorf("spec.canary.version is %q, expected %q: %w", cur.Version, r.Version, ErrConflict)
	}
	return e.Remove([]string{"spec", "canary"})
}

func (r RemoveCanary) check(e *yamledit.Doc) error {
	cur, err := canary(e)
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

func (p PromoteCanary) apply(e *yamledit.Doc) error {
	cur, err := canary(e)
	if err != nil {
		return err
	}
	prod, err := production(e)
	if err != nil {
		return err
	}
	if cur == nil || cur.Version != p.Version {
		if prod != nil && prod.Version == p.Version {
			return nil
		}
		return fmt.Errorf("spec.canary is %s, expected version %q: %w", describeCanary(cur), p.Version, ErrConflict)
	}
	canaryField := func(field string) *yaml.Node { return nodeAt(e, "spec", "canary", field) }
	production := []string{"spec", "production"}
	if prod == nil {
		items := []yamledit.Item{{Key: "version", Value: yamledit.Value{Scalar: &yamledit.Scalar{Text: cur.Version, Like: canaryField("version")}}}}
		if cur.URI != "" {
			items = append(items, yamledit.Item{Key: "uri", Value: yamledit.Value{Scalar: &yamledit.Scalar{Text: cur.URI, Like: canaryField("uri")}}})
		}
		if err := e.Set(production, yamledit.Value{Map: items}); err != nil {
			return err
		}
	} else {
		if err := e.Set(append(slices.Clone(production), "version"), yamledit.Value{Scalar: &yamledit.Scalar{Text: cur.Version, Like: canaryField("version")}}); err != nil {
			return err
		}
		uri := append(slices.Clone(production), "uri")
		if cur.URI == "" {
			err = e.Remove(uri)
		} else {
			err = e.Set(uri, yamledit.Value{Scalar: &yamledit.Scalar{Text: cur.URI, Like: canaryField("uri")}})
		}
		if err != nil {
			return err
		}
	}
	return e.Remove([]string{"spec", "canary"})
}

func (p PromoteCanary) check(e *yamledit.Doc) error {
	cur, err := canary(e)
	if err != nil {
		return err
	}
	prod, err := production(e)
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

func (s SetRetrainGeneration) apply(e *yamledit.Doc) error {
	if s.To < 0 {
		return fmt.Errorf("retrain generation %d is negative", s.To)
	}
	path := []string{"spec", "retrain", "generation"}
	cur, _, err := e.Int(path)
	if err != nil {
		return err
	}
	if cur == s.To {
		return nil
	}
	if cur != s.From {
		return fmt.Errorf("spec.retrain.generation is %d, expected %d: %w", cur, s.From, ErrConflict)
	}
	return e.Set(path, yamledit.Value{Scalar: &yamledit.Scalar{Text: strconv.FormatInt(s.To, 10), Int: true}})
}

func (s SetRetrainGeneration) check(e *yamledit.Doc) error {
	cur, _, err := e.Int([]string{"spec", "retrain", "generation"})
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

// SetJobCommand sets spec.retrain.job.command to To and removes spec.retrain.job.args, when
// the file holds From and DroppedArgs there (nil: absent). The args go because they belong to
// the command they follow. When the file already holds To without args it changes nothing.
// A replaced list keeps its style: a flow list stays on its line, a block list gets new
// "- item" lines; each new item is quoted as the old one at its place was, where it can be.
type SetJobCommand struct {
	From, To    []string
	DroppedArgs []string
}

var (
	jobCommandPath = []string{"spec", "retrain", "job", "command"}
	jobArgsPath    = []string{"spec", "retrain", "job", "args"}
)

// Describe says "job command [From] → [To]", with the args dropped.
func (s SetJobCommand) Describe() string {
	d := fmt.Sprintf("job command [%s] → [%s]", strings.Join(s.From, " "), strings.Join(s.To, " "))
	if len(s.DroppedArgs) > 0 {
		d += fmt.Sprintf(", args [%s] dropped", strings.Join(s.DroppedArgs, " "))
	}
	return d
}

func (s SetJobCommand) apply(e *yamledit.Doc) error {
	if len(s.To) == 0 {
		return errors.New("the job command is empty")
	}
	if ok, err := e.IsMapping([]string{"spec", "retrain", "job"}); err != nil || !ok {
		if err == nil {
			err = errors.New("spec.retrain.job is not set")
		}
		return err
	}
	cmd, args, err := jobCommand(e)
	if err != nil {
		return err
	}
	if slices.Equal(cmd, s.To) && args == nil {
		return nil
	}
	if !slices.Equal(cmd, s.From) || !slices.Equal(args, s.DroppedArgs) {
		return fmt.Errorf("spec.retrain.job is command %q args %q, expected command %q args %q: %w", cmd, args, s.From, s.DroppedArgs, ErrConflict)
	}
	list := make([]yamledit.Scalar, len(s.To))
	for i, a := range s.To {
		list[i] = yamledit.Scalar{Text: a}
	}
	if err := e.Set(jobCommandPath, yamledit.Value{List: list}); err != nil {
		return err
	}
	return e.Remove(jobArgsPath)
}

func (s SetJobCommand) check(e *yamledit.Doc) error {
	cmd, args, err := jobCommand(e)
	if err != nil {
		return err
	}
	if !slices.Equal(cmd, s.To) || args != nil {
		return fmt.Errorf("spec.retrain.job reads back as command %q args %q, not command %q alone", cmd, args, s.To)
	}
	return nil
}

func (s SetJobCommand) touches() [][]string { return [][]string{jobCommandPath, jobArgsPath} }

// jobCommand reads spec.retrain.job.command and args; nil when absent.
func jobCommand(e *yamledit.Doc) (cmd, args []string, err error) {
	if cmd, _, err = e.Strings(jobCommandPath); err != nil {
		return nil, nil, err
	}
	if args, _, err = e.Strings(jobArgsPath); err != nil {
		return nil, nil, err
	}
	return cmd, args, nil
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

// load reads the document of the ModelPolicy name in src for editing.
func load(src []byte, name string) (*yamledit.Doc, error) {
	e, err := yamledit.Load(src, yamledit.Options{
		Kind:  "policy",
		Name:  name,
		Match: func(root *yaml.Node) bool { return isPolicy(root, name) },
		Order: keyOrder,
	})
	if errors.Is(err, yamledit.ErrNoDocument) {
		return nil, fmt.Errorf("policy %q: %w", name, ErrNotFound)
	}
	return e, err
}

// nodeAt returns the node at path, nil when it is absent or cannot be read.
func nodeAt(e *yamledit.Doc, path ...string) *yaml.Node {
	n, _ := e.Node(path)
	return n
}

// keyOrder is the conventional order of the keys an edit may create, as SPEC.md writes them;
// a new key goes after the last present key that precedes it.
var keyOrder = map[string][]string{
	"":                 {"apiVersion", "kind", "metadata", "spec"},
	"spec":             {"suspend", "production", "canary", "data", "drift", "metrics", "retrain", "promotion", "canaryAnalysis"},
	"spec.production":  {"version", "uri"},
	"spec.canary":      {"version", "uri", "weight"},
	"spec.retrain":     {"generation", "schedule", "onDrift", "onPerformanceDrop", "job"},
	"spec.retrain.job": {"image", "command", "args"},
}

// CanaryAsWritten returns spec.canary of the document of model name in src as the file
// writes it, without defaults (an absent weight stays nil); nil when there is no canary.
// It is what a SetCanary edit's Expect must hold.
func CanaryAsWritten(src []byte, name string) (*Canary, error) {
	e, err := load(src, name)
	if err != nil {
		return nil, err
	}
	return canary(e)
}

// canary reads spec.canary; nil when it is absent or null.
func canary(e *yamledit.Doc) (*Canary, error) {
	ok, err := e.IsMapping([]string{"spec", "canary"})
	if !ok || err != nil {
		return nil, err
	}
	c := &Canary{}
	if c.Version, _, err = e.String([]string{"spec", "canary", "version"}); err != nil {
		return nil, err
	}
	if c.URI, _, err = e.String([]string{"spec", "canary", "uri"}); err != nil {
		return nil, err
	}
	w, ok, err := e.Int([]string{"spec", "canary", "weight"})
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
func production(e *yamledit.Doc) (*ModelVersion, error) {
	ok, err := e.IsMapping([]string{"spec", "production"})
	if !ok || err != nil {
		return nil, err
	}
	p := &ModelVersion{}
	if p.Version, _, err = e.String([]string{"spec", "production", "version"}); err != nil {
		return nil, err
	}
	if p.URI, _, err = e.String([]string{"spec", "production", "uri"}); err != nil {
		return nil, err
	}
	return p, nil
}

func isPolicy(root *yaml.Node, name string) bool {
	if root.Kind != yaml.MappingNode {
		return false
	}
	kind := yamledit.Lookup(root, "kind")
	meta := yamledit.Lookup(root, "metadata")
	if kind == nil || kind.Kind != yaml.ScalarNode || kind.Value != KindModelPolicy || meta == nil || meta.Kind != yaml.MappingNode {
		return false
	}
	n := yamledit.Lookup(meta, "name")
	return n != nil && n.Kind == yaml.ScalarNode && n.Value == name
}
