package policies

import (
	"errors"
	"testing"
)

func TestCanaryAsWrittenKeepsAnAbsentWeight(t *testing.T) {
	src := []byte(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: other}
spec:
  production: {version: "1"}
---
apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: sepsis-risk}
spec:
  production: {version: "12"}
  canary: {version: "13", uri: "models:/sepsis-risk/13"}
`)
	c, err := CanaryAsWritten(src, "sepsis-risk")
	if err != nil {
		t.Fatal(err)
	}
	if c == nil || c.Version != "13" || c.URI != "models:/sepsis-risk/13" || c.Weight != nil {
		t.Fatalf("canary = %+v, want version 13 with no weight (as written, not defaulted)", c)
	}
	if c, err := CanaryAsWritten(src, "other"); err != nil || c != nil {
		t.Fatalf("no canary = %+v, %v; want nil", c, err)
	}
	if _, err := CanaryAsWritten(src, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown model = %v, want ErrNotFound", err)
	}
}
