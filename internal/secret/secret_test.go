package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrintsItsValue(t *testing.T) {
	const value = "ghs_s3cr3t-value"
	s := Secret(value)
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		out = append(out, fmt.Sprintf(verb, s))
	}
	out = append(out, fmt.Sprint(s), fmt.Sprintf("%v", struct{ Token Secret }{s}), fmt.Sprintf("%+v", &struct{ Token Secret }{s}))
	b, err := json.Marshal(struct{ Token Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(b))
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("auth", "token", s, "cfg", struct{ Token Secret }{s})
	slog.New(slog.NewTextHandler(&logs, nil)).Info("auth", "token", s)
	out = append(out, logs.String())
	for _, o := range out {
		if strings.Contains(o, value) || strings.Contains(o, fmt.Sprintf("%x", value)) {
			t.Errorf("the value leaked: %s", o)
		}
		if !strings.Contains(o, redacted) {
			t.Errorf("%q does not say [redacted]", o)
		}
	}
	if string(s) != value {
		t.Errorf("string(s) = %q, want the value", string(s))
	}
}
