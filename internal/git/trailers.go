package git

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Trailer keys the reconciler writes on its own commits.
const (
	TrailerAction   = "Modelops-Action"
	TrailerModel    = "Modelops-Model"
	TrailerReason   = "Modelops-Reason"
	TrailerEvidence = "Modelops-Evidence"
	// TrailerRegistry lists, on a rollback, the model registry calls it leads to.
	TrailerRegistry = "Modelops-Registry"
)

// Trailers are the Modelops-* trailers the reconciler writes on a commit of its own: what
// it did (Action) to which model, why, and where the evidence is.
type Trailers struct {
	Action, Model, Reason, Evidence string
}

// List returns the trailers with a value, in the order of the fields, for a Change.
func (t Trailers) List() []Trailer {
	var out []Trailer
	for _, tr := range []Trailer{{TrailerAction, t.Action}, {TrailerModel, t.Model}, {TrailerReason, t.Reason}, {TrailerEvidence, t.Evidence}} {
		if tr.Value != "" {
			out = append(out, tr)
		}
	}
	return out
}

// Map returns the trailers by key, for a proposal request or Tracked.CommitEdit.
func (t Trailers) Map() map[string]string {
	return map[string]string{
		TrailerAction:   t.Action,
		TrailerModel:    t.Model,
		TrailerReason:   t.Reason,
		TrailerEvidence: t.Evidence,
	}
}

// Trailer is one "Key: value" line of a commit message's last paragraph.
type Trailer struct {
	Key, Value string
}

var trailerKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// formatMessage appends trailers to msg as its last paragraph. Control characters in msg
// and in the values are escaped (EscapeControl): they never reach a commit.
func formatMessage(msg string, trailers []Trailer) (string, error) {
	msg = EscapeControl(strings.TrimRight(strings.ReplaceAll(msg, "\r\n", "\n"), " \t\r\n"))
	if strings.TrimSpace(msg) == "" {
		return "", errors.New("message: expected a non-empty commit message")
	}
	var b strings.Builder
	b.WriteString(msg)
	b.WriteString("\n")
	for i, t := range trailers {
		if !trailerKey.MatchString(t.Key) {
			return "", fmt.Errorf("trailer %d: key %q: expected letters, digits and dashes", i, t.Key)
		}
		v := EscapeControl(strings.TrimSpace(t.Value))
		if strings.Contains(v, "\n") {
			return "", fmt.Errorf("trailer %s: value must be a single line", t.Key)
		}
		if i == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %s\n", t.Key, v)
	}
	return b.String(), nil
}

// ParseTrailers returns the trailers of a commit message: the lines of its
// last paragraph, when that paragraph is not the only one and every line of
// it is "Key: value" (Key made of letters, digits and dashes) or a
// continuation line starting with whitespace, which is joined to the
// previous value with a space. Any other message has no trailers (nil).
// Keys keep their spelling; compare them with strings.EqualFold.
func ParseTrailers(message string) []Trailer {
	message = strings.ReplaceAll(message, "\r\n", "\n")
	paras := splitParagraphs(message)
	if len(paras) < 2 {
		return nil
	}
	var out []Trailer
	for _, line := range strings.Split(paras[len(paras)-1], "\n") {
		if line[0] == ' ' || line[0] == '\t' {
			if len(out) == 0 {
				return nil
			}
			out[len(out)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || !trailerKey.MatchString(k) {
			return nil
		}
		out = append(out, Trailer{Key: k, Value: strings.TrimSpace(v)})
	}
	return out
}

// TrailerValue returns the value of the first trailer with key (compared
// case-insensitively) and whether there was one.
func TrailerValue(trailers []Trailer, key string) (string, bool) {
	for _, t := range trailers {
		if strings.EqualFold(t.Key, key) {
			return t.Value, true
		}
	}
	return "", false
}

// splitParagraphs splits on blank lines, dropping empty paragraphs.
func splitParagraphs(s string) []string {
	var paras []string
	var cur []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				paras = append(paras, strings.Join(cur, "\n"))
				cur = nil
			}
			continue
		}
		cur = append(cur, strings.TrimRight(line, " \t"))
	}
	if len(cur) > 0 {
		paras = append(paras, strings.Join(cur, "\n"))
	}
	return paras
}

// TrailersFrom turns a key → value map into trailers sorted by key, so a commit message does
// not depend on map order.
func TrailersFrom(m map[string]string) []Trailer {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Trailer, 0, len(keys))
	for _, k := range keys {
		out = append(out, Trailer{Key: k, Value: m[k]})
	}
	return out
}
