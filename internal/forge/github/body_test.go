package github

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/medimind/modelops/reconciler"
)

func TestMarkerRoundTrips(t *testing.T) {
	m := marker{Model: "sepsis-risk", Kind: reconciler.ProposalRetrain, Key: "generation 7", Digest: "sha256:ab=cd", Base: "0123abcd"}
	body := "intro\n" + m.String() + "\nevidence"
	got, ok := parseMarker(body)
	if !ok || got != m {
		t.Fatalf("parseMarker = %+v, %v; want %+v", got, ok, m)
	}
	if !strings.HasPrefix(m.String(), "<!-- modelops:proposal model=sepsis-risk kind=retrain key=generation+7 digest=sha256%3Aab%3Dcd base=0123abcd") {
		t.Errorf("marker = %s", m)
	}
	closed := m
	closed.Closed = true
	edited := withMarker(body, closed)
	if got, _ := parseMarker(edited); !got.Closed || strings.Count(edited, "modelops:proposal") != 1 || !strings.HasSuffix(edited, "\nevidence") {
		t.Errorf("withMarker = %q", edited)
	}
	promo := marker{Model: "sepsis-risk", Kind: reconciler.ProposalPromote, Key: "production-13", Target: reconciler.TargetProduction, Digest: "d"}
	if got, ok := parseMarker(promo.String()); !ok || got != promo || !strings.Contains(promo.String(), " target=production ") {
		t.Errorf("a promotion's marker %s parses as %+v", promo, got)
	}
	for _, b := range []string{"no marker", "<!-- modelops:proposal key=x -->", "<!-- modelops:proposal model=a kind=b key=%zz -->"} {
		if _, ok := parseMarker(b); ok {
			t.Errorf("parseMarker(%q) found one", b)
		}
	}
}

func TestProposalBodyIsCutUnderGitHubsLimitByCharacters(t *testing.T) {
	m := marker{Model: "sepsis-risk", Kind: reconciler.ProposalRetrain, Key: "generation-7", Digest: "d1"}
	short := proposalBody(m, "evidence", "https://x/full")
	if short != m.String()+"\nevidence" {
		t.Errorf("a short body changed: %q", short)
	}
	// Multi-byte characters: a cut by bytes would be far too short, one by runes exact.
	table := "| column | p-value |\n|---|---|\n" + strings.Repeat("| génè_ö 🧬 | 0.001 |\n", 5000)
	long := "## Evidence\n```\n" + strings.Repeat("δ", 10) + "\n" + table + "```\n"
	got := proposalBody(m, long, "https://github.com/o/r/blob/modelops/status/proposals/sepsis-risk/retrain.md")
	n := utf8.RuneCountInString(got)
	if n >= MaxBody || n < MaxBody-2100 {
		t.Errorf("cut body has %d characters, want just under %d", n, MaxBody)
	}
	if !utf8.ValidString(got) {
		t.Error("the cut split a character")
	}
	if !strings.HasPrefix(got, m.String()) || !strings.HasSuffix(got, "The full report: https://github.com/o/r/blob/modelops/status/proposals/sepsis-risk/retrain.md*") {
		t.Errorf("cut body starts %q and ends %q", got[:80], got[len(got)-120:])
	}
	if strings.Count(got, "```")%2 != 0 {
		t.Error("the cut left a code fence open")
	}
	closed := m
	closed.Closed = true
	if n := utf8.RuneCountInString(withMarker(got, closed)); n >= MaxBody {
		t.Errorf("closing the proposal makes the body %d characters", n)
	}
}
