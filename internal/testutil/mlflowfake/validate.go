package mlflowfake

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Contract is modelops' description of the part of MLflow's REST API it uses.
//
//go:embed openapi.yaml
var Contract []byte

// validator routes requests to the contract's operations and validates requests and
// responses against them.
type validator struct {
	router routers.Router
}

var (
	loadOnce   sync.Once
	loaded     *validator
	errLoading error
)

// loadValidator parses and checks the contract once per test binary.
func loadValidator() (*validator, error) {
	loadOnce.Do(func() {
		ctx := context.Background()
		doc, err := openapi3.NewLoader().LoadFromData(Contract)
		if err != nil {
			errLoading = fmt.Errorf("load mlflow contract: %w", err)
			return
		}
		if err := doc.Validate(ctx); err != nil {
			errLoading = fmt.Errorf("validate mlflow contract: %w", err)
			return
		}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			errLoading = fmt.Errorf("route mlflow contract: %w", err)
			return
		}
		loaded = &validator{router: router}
	})
	return loaded, errLoading
}

func requestInput(r *http.Request, body []byte, route *routers.Route, params map[string]string) *openapi3filter.RequestValidationInput {
	r.Body = io.NopCloser(bytes.NewReader(body))
	return &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
			// The handlers must see only what the client sent.
			SkipSettingDefaults: true,
			// A GET carries its parameters in the query string only.
			RejectWhenRequestBodyNotSpecified: true,
		},
	}
}

// validateRequest checks r against its operation: the parameters' presence and types, the
// JSON body's fields (the contract's objects are closed, so an unknown field fails), no
// body where the operation takes none, and no query parameter the operation does not
// declare (kin-openapi lets those through).
func (v *validator) validateRequest(r *http.Request, body []byte, route *routers.Route, params map[string]string) error {
	in := requestInput(r, body, route, params)
	err := openapi3filter.ValidateRequest(r.Context(), in)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return err
	}
	declared := map[string]bool{}
	for _, p := range route.Operation.Parameters {
		if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
			declared[p.Value.Name] = true
		}
	}
	var unknown []string
	for name := range r.URL.Query() {
		if !declared[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("query parameters %v are not in the contract of %s", unknown, route.Operation.OperationID)
	}
	return nil
}

// validateResponse checks an answer against the operation: 200 against its response
// schema, any other status against the error body.
func (v *validator) validateResponse(r *http.Request, reqBody []byte, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: requestInput(r, reqBody, route, params),
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(r.Context(), in)
}
