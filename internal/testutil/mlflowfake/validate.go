package mlflowfake

import (
	_ "embed"
	"sync"

	"github.com/medimind/modelops/internal/testutil/contract"
)

// Contract is modelops' description of the part of MLflow's REST API it uses.
//
//go:embed openapi.yaml
var Contract []byte

var (
	loadOnce   sync.Once
	loaded     *contract.Contract
	errLoading error
)

// loadValidator parses and checks the contract once per test binary. MLflow's objects are
// closed (an unknown field fails), a GET carries its parameters in the query string only, and
// a query parameter the operation does not declare fails too (kin-openapi lets those through).
func loadValidator() (*contract.Contract, error) {
	loadOnce.Do(func() {
		loaded, errLoading = contract.Load("MLflow", Contract, contract.Options{StrictQuery: true, NoUndeclaredBody: true})
	})
	return loaded, errLoading
}
