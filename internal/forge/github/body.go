package github

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/medimind/modelops/reconciler"
)

// GitHub's limits on text, in characters.
const (
	// MaxBody is the limit of a pull request's or comment's body (65,536); bodies are kept
	// under it.
	MaxBody = 65536
	// MaxCheckText is the limit of a check run's output summary and text (65,535).
	MaxCheckText = 65535
	// MaxStatusDescription is the limit of a commit status's description.
	MaxStatusDescription = 140
	// MaxAnnotations is how many annotations one check-run request may carry.
	MaxAnnotations = 50
)

// marker identifies a proposal's pull request: it is the first line of the body, an HTML
// comment GitHub does not render.
type marker struct {
	Model  string
	Kind   reconciler.ProposalKind
	Key    string
	Target reconciler.PromotionTarget
	Digest string
	// Base is the tracked-branch commit the proposal's edit applies to.
	Base string
	// Closed is set when modelops closed the pull request itself (superseded or stale), so
	// that a closed pull request without it was closed by a person: declined.
	Closed bool
}

var markerRE = regexp.MustCompile(`<!-- modelops:proposal ([^>]*?) -->`)

// String renders the marker: <!-- modelops:proposal model=m kind=k key=... digest=... -->.
// Values are query-escaped, so a key with spaces stays one value.
func (m marker) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- modelops:proposal model=%s kind=%s key=%s digest=%s", url.QueryEscape(m.Model),
		url.QueryEscape(string(m.Kind)), url.QueryEscape(m.Key), url.QueryEscape(m.Digest))
	if m.Target != "" {
		fmt.Fprintf(&b, " target=%s", url.QueryEscape(string(m.Target)))
	}
	if m.Base != "" {
		fmt.Fprintf(&b, " base=%s", url.QueryEscape(m.Base))
	}
	if m.Closed {
		b.WriteString(" closed=modelops")
	}
	b.WriteString(" -->")
	return b.String()
}

// parseMarker finds the marker in a body.
func parseMarker(body string) (marker, bool) {
	sub := markerRE.FindStringSubmatch(body)
	if sub == nil {
		return marker{}, false
	}
	var m marker
	for _, field := range strings.Fields(sub[1]) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			continue
		}
		v, err := url.QueryUnescape(v)
		if err != nil {
			return marker{}, false
		}
		switch k {
		case "model":
			m.Model = v
		case "kind":
			m.Kind = reconciler.ProposalKind(v)
		case "key":
			m.Key = v
		case "target":
			m.Target = reconciler.PromotionTarget(v)
		case "digest":
			m.Digest = v
		case "base":
			m.Base = v
		case "closed":
			m.Closed = v == "modelops"
		}
	}
	if m.Model == "" || m.Kind == "" {
		return marker{}, false
	}
	return m, true
}

// withMarker replaces the marker of body by m (or puts m first when body has none).
func withMarker(body string, m marker) string {
	if loc := markerRE.FindStringIndex(body); loc != nil {
		return body[:loc[0]] + m.String() + body[loc[1]:]
	}
	return m.String() + "\n" + body
}

// truncate returns s cut to at most limit characters (runes, never splitting one), ending
// with note, when s is longer. The cut is made at a line break when one is near, and a
// Markdown code fence left open by the cut is closed, so the rest of the text renders as
// written.
func truncate(s string, limit int, note string) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	// Room for the note, a closing fence and the line breaks around them.
	room := limit - utf8.RuneCountInString(note) - len("\n```\n\n")
	if room < 0 {
		return string([]rune(note)[:limit])
	}
	cut := 0
	for i := range s {
		if room == 0 {
			cut = i
			break
		}
		room--
	}
	kept := s[:cut]
	if nl := strings.LastIndexByte(kept, '\n'); nl >= 0 && len(kept)-nl < 2000 {
		kept = kept[:nl]
	}
	if strings.Count(kept, "```")%2 == 1 {
		kept += "\n```"
	}
	return kept + "\n\n" + note
}

// proposalBody is the pull request's body: the marker, then req's body, truncated under
// MaxBody with a link to the full report.
func proposalBody(m marker, body, fullReportURL string) string {
	full := m.String() + "\n" + body
	note := fmt.Sprintf("---\n*This description is cut to fit GitHub's limit of %d characters. The full report: %s*", MaxBody, fullReportURL)
	// One character under the limit, and room for the closed flag Close adds to the
	// marker, so an edit of the marker never pushes the body over.
	return truncate(full, MaxBody-1-len(" closed=modelops"), note)
}
