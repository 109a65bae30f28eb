package githubfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/medimind/modelops/internal/testutil/githubfake/openapi"
)

// validator routes requests to the operations of the committed subset and
// validates requests and responses against it.
type validator struct {
	doc    *openapi3.T
	router routers.Router
	// generic holds the schemas of the error bodies GitHub sends from any
	// endpoint (401, 403, 404, 422, 5xx) although most operations do not
	// document them.
	basicError, validationError *openapi3.Schema
	// webhooks maps an x-webhooks key ("pull-request-closed", "push") to
	// its payload schema.
	webhooks map[string]*openapi3.Schema
}

var (
	loadOnce   sync.Once
	loaded     *validator
	errLoading error
)

// loadValidator parses and checks the embedded description once per test
// binary; the router is read-only and shared by every Server.
func loadValidator() (*validator, error) {
	loadOnce.Do(func() {
		loaded, errLoading = newValidator(openapi.Subset)
	})
	return loaded, errLoading
}

// greedyParam matches the path parameters whose values contain slashes on
// GitHub: a git ref ("heads/modelops/x/retrain") or a file path.
var greedyParam = regexp.MustCompile(`\{(ref|path)\}`)

func newValidator(spec []byte) (*validator, error) {
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load github openapi subset: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate github openapi subset: %w", err)
	}
	// The router matches the request path only: the fake serves on a
	// loopback address, not on api.github.com, with or without the GHES
	// prefix (stripped before routing). gorilla/mux matches a {name} with
	// [^/]+, but GitHub's {ref} and {path} take slashes, so the router gets
	// a copy of the paths where those read {ref:.+}; the path items, and so
	// the operations and parameters validated, are the subset's own.
	routed := *doc
	routed.Servers = nil
	routed.Paths = openapi3.NewPaths()
	for p, item := range doc.Paths.Map() {
		routed.Paths.Set(greedyParam.ReplaceAllString(p, "{$1:.+}"), item)
	}
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("build router for github openapi subset: %w", err)
	}
	v := &validator{doc: doc, router: router}
	for name, dst := range map[string]**openapi3.Schema{"basic-error": &v.basicError, "validation-error": &v.validationError} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("github openapi subset: schema %s missing", name)
		}
		*dst = ref.Value
	}
	if v.webhooks, err = webhookSchemas(doc); err != nil {
		return nil, err
	}
	return v, nil
}

// webhookSchemas resolves the payload schema of each kept webhook. The
// loader leaves the x-webhooks extension raw, but the schemas it refers to
// are components and so are loaded and resolved.
func webhookSchemas(doc *openapi3.T) (map[string]*openapi3.Schema, error) {
	var hooks map[string]struct {
		Post struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"post"`
	}
	raw, err := json.Marshal(doc.Extensions["x-webhooks"])
	if err != nil {
		return nil, fmt.Errorf("read x-webhooks of github openapi subset: %w", err)
	}
	if err := json.Unmarshal(raw, &hooks); err != nil {
		return nil, fmt.Errorf("read x-webhooks of github openapi subset: %w", err)
	}
	out := map[string]*openapi3.Schema{}
	for name, h := range hooks {
		ref := h.Post.RequestBody.Content["application/json"].Schema.Ref
		s := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
		if s == nil || s.Value == nil {
			return nil, fmt.Errorf("github openapi subset: webhook %s: schema %q missing", name, ref)
		}
		out[name] = s.Value
	}
	return out, nil
}

// validateWebhook checks a payload of event (with its action, if any)
// against the description's schema for it.
func (v *validator) validateWebhook(event string, payload []byte) error {
	var value map[string]any
	if err := json.Unmarshal(payload, &value); err != nil {
		return fmt.Errorf("decode %s payload: %w", event, err)
	}
	key := strings.ReplaceAll(event, "_", "-")
	if action, ok := value["action"].(string); ok {
		key += "-" + strings.ReplaceAll(action, "_", "-")
	}
	schema := v.webhooks[key]
	if schema == nil {
		return fmt.Errorf("webhook %s is not in the subset (add it to the script's WEBHOOKS)", key)
	}
	if err := schema.VisitJSON(value, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("%s payload does not match the description: %w", key, err)
	}
	return nil
}

// route finds the operation of r, whose URL path must already be stripped
// of the GHES prefix. The parameters are as they appear in the path
// (percent-encoded).
func (v *validator) route(r *http.Request) (*routers.Route, map[string]string, error) {
	return v.router.FindRoute(r)
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
			// GitHub answers with its own defaults; the handlers must not
			// see values the client did not send.
			SkipSettingDefaults: true,
		},
	}
}

// validateRequest checks r against its operation.
func (v *validator) validateRequest(r *http.Request, body []byte, route *routers.Route, params map[string]string) error {
	in := requestInput(r, body, route, params)
	err := openapi3filter.ValidateRequest(r.Context(), in)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return err
}

// validateResponse checks a response against the operation of the request.
// A status the operation documents is validated as documented, an
// undocumented status must be one GitHub sends from any endpoint and carry
// GitHub's error body, and 304 must have no body.
func (v *validator) validateResponse(r *http.Request, reqBody []byte, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	if route.Operation.Responses.Status(status) != nil {
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: requestInput(r, reqBody, route, params),
			Status:                 status,
			Header:                 header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{
				IncludeResponseStatus: true,
				MultiError:            true,
			},
		}
		return openapi3filter.ValidateResponse(r.Context(), in)
	}
	switch status {
	case http.StatusNotModified:
		if len(body) != 0 {
			return fmt.Errorf("304 response has a body of %d bytes", len(body))
		}
		return nil
	case http.StatusUnprocessableEntity:
		return visitJSON(v.validationError, body)
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed,
		http.StatusConflict, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusBadRequest:
		return visitJSON(v.basicError, body)
	}
	return fmt.Errorf("status %d is neither documented for %s nor one GitHub sends from any endpoint", status, route.Operation.OperationID)
}

func visitJSON(schema *openapi3.Schema, body []byte) error {
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("decode error body: %w", err)
	}
	if err := schema.VisitJSON(value, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("error body does not match %s: %w", schema.Title, err)
	}
	return nil
}
