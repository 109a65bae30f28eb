package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/medimind/modelops/schemas"
)

func TestSchemaCommandPrintsTheEmbeddedSchema(t *testing.T) {
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"schema"})
	if err := root.Execute(); err != nil {
		t.Fatalf("modelops schema: %v (stderr %q)", err, errOut.String())
	}
	if !bytes.Equal(out.Bytes(), schemas.ModelPolicy) {
		t.Fatalf("modelops schema printed %d bytes, want the %d bytes of the embedded schema", out.Len(), len(schemas.ModelPolicy))
	}
	var doc struct {
		ID string `json:"$id"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if doc.ID != schemas.ModelPolicyID {
		t.Errorf("$id = %q, want %q", doc.ID, schemas.ModelPolicyID)
	}
}

func TestSchemaCommandTakesNoArguments(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"schema", "extra"})
	if err := root.Execute(); err == nil {
		t.Fatal("modelops schema extra succeeded; want an error for the unexpected argument")
	}
}
