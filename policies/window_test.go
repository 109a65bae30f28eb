package policies

import (
	"strings"
	"testing"
	"time"
)

func TestParseDurationReadsDaysAndGoUnits(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"90d", 90 * 24 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"12h1d", 36 * time.Hour},
		{"0d", 0},
		{"1.5d", 36 * time.Hour},
		{"2d30m15s", 48*time.Hour + 30*time.Minute + 15*time.Second},
		{"6h", 6 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"-1d", -24 * time.Hour},
	} {
		got, err := ParseDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "d", "90days", "1dd", "d1", "1d12", "1y", "1d 12h", "999999999999d"} {
		if got, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, got)
		}
	}
}

const windowPolicyHead = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: omics
spec:
  data:
`

func TestWindowsOfALogParseWithTheirDefaults(t *testing.T) {
	ps, err := Parse("p.yaml", []byte(windowPolicyHead+`    source: {path: logs/features, timestamp: ts}
    reference: {last: 30d, ago: 365d, minRows: 50000}
    current: {last: 7d}
  drift: {interval: 1d}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := ps[0].Spec.Data
	if d.Source.Path != "logs/features" || d.Source.Timestamp != "ts" {
		t.Errorf("source = %+v", d.Source)
	}
	if d.Reference.Last.Duration != 30*24*time.Hour || d.Reference.Ago.Duration != 365*24*time.Hour || d.Reference.MinRows != 50000 {
		t.Errorf("reference window = %+v", d.Reference)
	}
	if d.Current.Last.Duration != 7*24*time.Hour || d.Current.Ago.Duration != 0 || d.Current.MinRows != DefaultWindowMinRows {
		t.Errorf("current window = %+v, want last 7d, ago 0, minRows %d", d.Current, DefaultWindowMinRows)
	}
	if ps[0].Spec.Drift.Interval.Duration != 24*time.Hour {
		t.Errorf("interval 1d = %v", ps[0].Spec.Drift.Interval)
	}

	// Without a source the two files keep no window defaults.
	ps, err = Parse("p.yaml", []byte(windowPolicyHead+"    reference: {path: a.csv}\n    current: {path: b.csv}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := ps[0].Spec.Data; d.Reference.MinRows != 0 || d.Current.MinRows != 0 {
		t.Errorf("files got window defaults: %+v %+v", d.Reference, d.Current)
	}
}

func TestWindowProblemsAreReportedAtTheirPosition(t *testing.T) {
	for _, c := range []struct {
		name, data string
		want       []string
	}{
		{
			name: "windows without a source, and a malformed duration",
			data: `    reference: {path: a.csv, last: 7d}
    current:
      path: b.csv
      ago: 1w
      minRows: 10
`,
			want: []string{
				`p.yaml:7:36: spec.data.reference.last: is a window field, allowed only with spec.data.source`,
				`p.yaml:10:12: spec.data.current.ago: expected a duration such as 6h, 90m, 30d or 1d12h, got "1w"`,
				`p.yaml:11:16: spec.data.current.minRows: is a window field, allowed only with spec.data.source`,
			},
		},
		{
			name: "files with a source, a window without last, a timestamp that is a feature",
			data: `    source: {url: "ftp://x/log.csv", timestamp: ts}
    categorical: [ts]
    reference: {path: a.csv, last: 180d}
    current: {ago: 1d, minRows: -3}
`,
			want: []string{
				`p.yaml:7:19: spec.data.source.url: must be an http or https URL, got scheme "ftp"`,
				`p.yaml:7:49: spec.data.source.timestamp: column "ts" is the timestamp, not a feature`,
				`p.yaml:9:16: spec.data.reference: is a window of spec.data.source`,
				`p.yaml:10:14: spec.data.current.last: is required with spec.data.source`,
				`p.yaml:10:33: spec.data.current.minRows: must be 1 or more, got -3`,
			},
		},
		{
			name: "a source without a timestamp",
			data: `    source: {path: logs}
    reference: {last: 180d}
    current: {last: 7d}
`,
			want: []string{`p.yaml:7:13: spec.data.source.timestamp: is required`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(windowPolicyHead+c.data))
			got := FieldErrors(err)
			if len(got) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(c.want), err)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i].Error(), w) {
					t.Errorf("error %d = %q\nwant prefix %q", i, got[i].Error(), w)
				}
			}
		})
	}
}
