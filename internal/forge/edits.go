package forge

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/medimind/modelops/policies"
)

// Edits are a proposal's typed edits as a record keeps them, so that its branch can be
// built again on a newer tip of the tracked branch: a JSON list of {"type", "edit"}.
type Edits []policies.Edit

// editTypes are the edits a record can keep, by the name it keeps them under.
var editTypes = map[string]reflect.Type{}

func init() {
	for _, e := range []policies.Edit{
		policies.SetCanaryWeight{}, policies.SetCanary{}, policies.RemoveCanary{},
		policies.PromoteCanary{}, policies.SetRetrainGeneration{},
	} {
		editTypes[reflect.TypeOf(e).Name()] = reflect.TypeOf(e)
	}
}

type storedEdit struct {
	Type string          `json:"type"`
	Edit json.RawMessage `json:"edit"`
}

// MarshalJSON implements json.Marshaler.
func (es Edits) MarshalJSON() ([]byte, error) {
	out := make([]storedEdit, 0, len(es))
	for _, e := range es {
		t := reflect.TypeOf(e)
		if editTypes[t.Name()] != t {
			return nil, fmt.Errorf("edit %T: a record cannot keep it; add it to forge.editTypes", e)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		out = append(out, storedEdit{Type: t.Name(), Edit: b})
	}
	return json.Marshal(out)
}

// UnmarshalJSON implements json.Unmarshaler.
func (es *Edits) UnmarshalJSON(b []byte) error {
	var stored []storedEdit
	if err := json.Unmarshal(b, &stored); err != nil {
		return err
	}
	*es = make(Edits, 0, len(stored))
	for i, s := range stored {
		t, ok := editTypes[s.Type]
		if !ok {
			return fmt.Errorf("edit %d: unknown type %q", i, s.Type)
		}
		v := reflect.New(t)
		if err := json.Unmarshal(s.Edit, v.Interface()); err != nil {
			return fmt.Errorf("edit %d (%s): %w", i, s.Type, err)
		}
		*es = append(*es, v.Elem().Interface().(policies.Edit))
	}
	return nil
}
