package metrics

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Column names of a prediction log (SPEC.md, spec.metrics.predictions).
const (
	ColumnTimestamp = "timestamp"
	ColumnVersion   = "model_version"
	ColumnScore     = "score"
	ColumnLabel     = "label"
	ColumnLatency   = "latency_ms"
	ColumnCategory  = "category"
)

// Messages of the data errors about cells.
const (
	msgLabel   = "want a label 0 or 1 (or true/false)"
	msgVersion = "want a model version, got an empty cell"
	msgTime    = "want a time such as 2024-03-01T12:00:00Z"
)

// isMissing reports whether a text cell of a prediction log is missing: empty, or one
// of pandas' default na_values (pandas.io.parsers: STR_NA_VALUES), as pandas reads a log.
// Logs keep this wider rule (a label "NA" is unlabelled); drift data files take only
// empty cells and NaN as missing (dataset.IsMissing), so that a placeholder in a
// numeric column is reported rather than dropped.
func isMissing(s string) bool {
	if len(s) > 8 {
		return false
	}
	switch s {
	case "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
		"1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null":
		return true
	}
	return false
}

// parseNumber parses a cell as a float64: NaN when missing. msg is empty on success and
// otherwise says what was wrong. Out-of-range values ("1e999") become ±Inf, as pandas
// reads them; the callers reject infinities with their own message.
func parseNumber(s string) (v float64, msg string) {
	if isMissing(s) {
		return math.NaN(), ""
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Declared here, the error's target escapes only on this path: the common one
		// does not allocate.
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return 0, fmt.Sprintf("want a number, got %q", s)
		}
	}
	return v, "" // NaN in a spelling pandas does not list ("NAN") is missing too
}

// parseScore parses a score cell: NaN when missing.
func parseScore(s string) (float64, string) {
	v, msg := parseNumber(s)
	if msg == "" && math.IsInf(v, 0) {
		return 0, fmt.Sprintf("%s, got %q", msgScore, s)
	}
	return v, msg
}

// parseLatency parses a latency cell: NaN when missing.
func parseLatency(s string) (float64, string) {
	v, msg := parseNumber(s)
	if msg == "" && !validLatency(v) {
		return 0, fmt.Sprintf("%s, got %q", msgLatency, s)
	}
	return v, msg
}

// parseLabel parses a label cell: 0 or 1 as a number in any spelling ("1", "1.0"),
// true or false in any case, -1 when missing.
func parseLabel(s string) (int8, string) {
	if isMissing(s) {
		return -1, ""
	}
	switch {
	case strings.EqualFold(s, "true"):
		return 1, ""
	case strings.EqualFold(s, "false"):
		return 0, ""
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		if l, ok := labelOf(v); ok {
			return l, ""
		}
	}
	return 0, fmt.Sprintf("%s, got %q", msgLabel, s)
}

// labelOf converts a numeric label; ok is false unless it is 0 or 1.
func labelOf(v float64) (int8, bool) {
	switch v {
	case 0:
		return 0, true
	case 1:
		return 1, true
	}
	return 0, false
}

// timeLayouts are the spellings of a timestamp cell: RFC 3339, also with a space
// instead of the T (pandas writes that), and without a zone, which means UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	time.DateOnly,
}

// parseTime parses a timestamp cell; ok is false when missing.
func parseTime(s string) (t time.Time, ok bool, msg string) {
	if isMissing(s) {
		return time.Time{}, false, ""
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true, ""
		}
	}
	return time.Time{}, false, fmt.Sprintf("%s, got %q", msgTime, s)
}

// window is Options.Since and Until.
type window struct {
	since, until time.Time
}

func (w window) on() bool { return !w.since.IsZero() || !w.until.IsZero() }

// holds reports whether t is inside the window.
func (w window) holds(t time.Time) bool {
	return (w.since.IsZero() || !t.Before(w.since)) && (w.until.IsZero() || t.Before(w.until))
}
