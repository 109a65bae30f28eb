package audit

import "testing"

// A job command is shell text: the timeline shows its > and & as written, not as the
// \u003e and \u0026 that JSON escapes for HTML.
func TestChangeStringShowsShellTextAsWritten(t *testing.T) {
	c := Change{
		Path: "spec.retrain.job.command",
		Op:   OpChanged,
		From: []any{"python", "train.py"},
		To:   []any{"sh", "-c", `train <in.csv > "$MODELOPS_OUTPUT/result.json" && echo done`},
	}
	want := `spec.retrain.job.command ["python","train.py"] → ["sh","-c","train <in.csv > \"$MODELOPS_OUTPUT/result.json\" && echo done"]`
	if got := c.String(); got != want {
		t.Fatalf("String() = %s\nwant       %s", got, want)
	}
}
