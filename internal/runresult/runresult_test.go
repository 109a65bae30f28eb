package runresult

import (
	"strings"
	"testing"
)

func TestParseAcceptsAValidResult(t *testing.T) {
	for _, uri := range []string{"models:/sepsis-risk/13", "runs:/4f2a/model", "s3://bucket/m", "gs://b/m", "https://registry.example/m/13", "wasbs://c@acct.blob.core.windows.net/m", "file:///srv/models/m.json"} {
		res, err := Parse([]byte(`{"version":"13","uri":"` + uri + `","metrics":{"auc":0.9,"samples":10}}` + "\n"))
		if err != nil {
			t.Errorf("uri %s: %v", uri, err)
			continue
		}
		if res.Version != "13" || res.URI != uri || *res.Metrics.AUC != 0.9 {
			t.Errorf("parsed %+v", res)
		}
	}
}

func TestParseRefusesWhatIsNotAResult(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"malformed", `{"version":`, "parse result.json"},
		{"trailing object", `{"version":"1","uri":"models:/m/1","metrics":{}} {"version":"2"}`, "unexpected data after the JSON object"},
		{"trailing garbage", `{"version":"1","uri":"models:/m/1","metrics":{}}x`, "unexpected data after the JSON object"},
		{"duplicate top-level key", `{"version":"1","uri":"models:/m/1","version":"2","metrics":{}}`, `key "version" appears twice in the top-level object`},
		{"duplicate nested key", `{"version":"1","uri":"models:/m/1","metrics":{"auc":0.9,"auc":0.1}}`, `key "auc" appears twice in metrics`},
		{"unknown field", `{"version":"1","uri":"models:/m/1","metrics":{},"extra":1}`, `unknown field "extra"`},
		{"no version", `{"uri":"models:/m/1","metrics":{}}`, "version is empty"},
		{"no uri", `{"version":"1","metrics":{}}`, "uri is empty"},
		{"newline in version", `{"version":"1\nMerge me","uri":"models:/m/1","metrics":{}}`, `version "1\nMerge me" contains control characters`},
		{"escape in uri", `{"version":"1","uri":"models:/m/1\u001b[2J","metrics":{}}`, "uri \"models:/m/1\\x1b[2J\" contains control characters"},
		{"right-to-left override in version", `{"version":"15\u202e61","uri":"models:/m/1","metrics":{}}`, `version "15\u202e61" contains control characters`},
		{"line separator in uri", `{"version":"1","uri":"models:/m/1\u2028x","metrics":{}}`, `uri "models:/m/1\u2028x" contains control characters`},
		{"javascript uri", `{"version":"1","uri":"javascript:alert(1)","metrics":{}}`, "the scheme must be one of"},
		{"bare path", `{"version":"1","uri":"/srv/models/m","metrics":{}}`, "the scheme must be one of"},
		{"auc out of range", `{"version":"1","uri":"models:/m/1","metrics":{"auc":1.5}}`, "metrics.auc must be between 0 and 1, got 1.5"},
		{"negative samples", `{"version":"1","uri":"models:/m/1","metrics":{"samples":-1}}`, "metrics.samples must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %+v, %v; want an error containing %q", res, err, tt.want)
			}
		})
	}
}
