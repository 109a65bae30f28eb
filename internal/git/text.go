package git

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text that reaches a commit (a message, a trailer, an author) comes from people (a retrain
// reason, a reviewer's name) and from results (versions, URIs). Control characters there
// corrupt the repository's history: git fsck refuses a NUL in a commit (nulInCommit), and
// git log stops showing a message, its trailers with it, at the first NUL. Input is refused
// at the door with CheckText or CheckLine; everything written is passed through
// EscapeControl by formatMessage as well, so nothing unchecked slips in. Bidirectional
// controls (U+202E makes "\u202eNAMRON" read "NORMAN", CVE-2021-42574) and the line and
// paragraph separators U+2028/U+2029 count as control characters here: they change how a
// text reads without being visible.

// CheckText returns an error naming field when s is not valid UTF-8 or holds a control
// character other than a newline or a tab: text that may span lines, such as a reason.
func CheckText(field, s string) error { return checkControl(field, s, "\n\t") }

// CheckLine is CheckText for one line of text, such as a name: a newline is refused too.
func CheckLine(field, s string) error { return checkControl(field, s, "\t") }

func checkControl(field, s, allowed string) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			return fmt.Errorf("%s: byte %d is not valid UTF-8", field, i+1)
		case IsControl(r) && !strings.ContainsRune(allowed, r):
			return fmt.Errorf("%s: character %d is the control character %U; expected printable text", field, utf8.RuneCountInString(s[:i])+1, r)
		}
	}
	return nil
}

// EscapeControl replaces each control character other than a newline or a tab by its Go
// escape (\x00, \u0085), and each byte that is not UTF-8 by \xNN, so that the text can go
// into a commit. Printable text is returned unchanged.
func EscapeControl(s string) string {
	if checkControl("", s, "\n\t") == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t' || !IsControl(r):
			b.WriteString(s[i : i+size])
		case r < utf8.RuneSelf:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// IsControl reports the characters no text reaching a commit may hold: Unicode control
// characters, bidirectional controls and the line and paragraph separators.
func IsControl(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}
