package forge

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/medimind/modelops/policies"
)

func TestEditsSurviveARecord(t *testing.T) {
	w := 25
	in := Edits{
		policies.SetCanaryWeight{From: 10, To: 25},
		policies.SetCanary{Expect: &policies.Canary{Version: "12"}, Canary: policies.Canary{Version: "13", URI: "models:/x/13", Weight: &w}},
		policies.RemoveCanary{Version: "13"},
		policies.PromoteCanary{Version: "13"},
		policies.SetRetrainGeneration{From: 6, To: 7},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Edits
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("read back %#v\nwant %#v", out, in)
	}
	if err := json.Unmarshal([]byte(`[{"type":"DropTable","edit":{}}]`), &out); err == nil {
		t.Fatal("an unknown edit type was accepted")
	}
}
