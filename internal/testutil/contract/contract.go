// Package contract checks a test fake against an OpenAPI 3 description of the real
// service's API, written for modelops from the service's own API files: every request the
// fake is sent and every answer it gives is validated (kin-openapi), so a fake cannot drift
// from the service it stands in for without failing the test that uses it. The GitHub,
// MLflow and Kubeflow Pipelines fakes share it.
package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Options tighten what kin-openapi lets through, for contracts that say more than it checks.
type Options struct {
	// StrictQuery refuses a query parameter the operation does not declare.
	StrictQuery bool
	// NoUndeclaredBody refuses a request body on an operation that declares none (a GET
	// carries its parameters in the query string only).
	NoUndeclaredBody bool
	// RoutePath rewrites a path template for routing only, e.g. to let a parameter match
	// slashes ("{ref}" → "{ref:.+}"); the operations validated stay the description's own.
	RoutePath func(template string) string
}

// Contract routes requests to the operations of a description and validates requests and
// answers against them. It is read-only once loaded, and safe to share between servers.
type Contract struct {
	// Doc is the loaded description.
	Doc    *openapi3.T
	router routers.Router
	opts   Options
}

// Load parses and checks the description spec (name says which, in errors).
func Load(name string, spec []byte, opts Options) (*Contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load the %s contract: %w", name, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate the %s contract: %w", name, err)
	}
	routed := doc
	if opts.RoutePath != nil || len(doc.Servers) > 0 {
		// The router matches the request path only: the fakes serve on loopback, not on the
		// description's servers.
		copied := *doc
		copied.Servers = nil
		copied.Paths = openapi3.NewPaths()
		for p, item := range doc.Paths.Map() {
			if opts.RoutePath != nil {
				p = opts.RoutePath(p)
			}
			copied.Paths.Set(p, item)
		}
		routed = &copied
	}
	router, err := gorillamux.NewRouter(routed)
	if err != nil {
		return nil, fmt.Errorf("route the %s contract: %w", name, err)
	}
	return &Contract{Doc: doc, router: router, opts: opts}, nil
}

// Route finds the operation of r and its path parameters (as they appear in the path).
func (c *Contract) Route(r *http.Request) (*routers.Route, map[string]string, error) {
	return c.router.FindRoute(r)
}

func (c *Contract) input(r *http.Request, body []byte, route *routers.Route, params map[string]string) *openapi3filter.RequestValidationInput {
	r.Body = io.NopCloser(bytes.NewReader(body))
	return &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
			// A fake must see only what the client sent, not the description's defaults.
			SkipSettingDefaults:               true,
			RejectWhenRequestBodyNotSpecified: c.opts.NoUndeclaredBody,
		},
	}
}

// ValidateRequest checks r, whose body was read into body, against its operation: the
// parameters' presence and types, and the body's fields (objects the description closes
// with additionalProperties: false refuse unknown fields). r.Body is readable again after.
func (c *Contract) ValidateRequest(r *http.Request, body []byte, route *routers.Route, params map[string]string) error {
	err := openapi3filter.ValidateRequest(r.Context(), c.input(r, body, route, params))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil || !c.opts.StrictQuery {
		return err
	}
	var unknown []string
	for name := range r.URL.Query() {
		if !slices.ContainsFunc(route.Operation.Parameters, func(p *openapi3.ParameterRef) bool {
			return p.Value != nil && p.Value.In == openapi3.ParameterInQuery && p.Value.Name == name
		}) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("query parameters %v are not in the contract of %s", unknown, route.Operation.OperationID)
	}
	return nil
}

// ValidateResponse checks an answer to r against the operation's response for status (or
// its default response).
func (c *Contract) ValidateResponse(r *http.Request, reqBody []byte, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: c.input(r, reqBody, route, params),
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(r.Context(), in)
}
