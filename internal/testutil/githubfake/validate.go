package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/medimind/modelops/internal/testutil/contract"
	"github.com/medimind/modelops/internal/testutil/githubfake/openapi"
)

// validator routes requests to the operations of the committed subset and
// validates requests and responses against it.
type validator struct {
	*contract.Contract
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
	// gorilla/mux matches a {name} with [^/]+, but GitHub's {ref} and {path} take slashes, so
	// the router reads those as {ref:.+}; the fake serves with or without the GHES prefix
	// (stripped before routing).
	c, err := contract.Load("GitHub", spec, contract.Options{RoutePath: func(p string) string {
		return greedyParam.ReplaceAllString(p, "{$1:.+}")
	}})
	if err != nil {
		return nil, err
	}
	doc := c.Doc
	v := &validator{Contract: c}
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

// validateResponse checks a response against the operation of the request.
// A status the operation documents is validated as documented, an
// undocumented status must be one GitHub sends from any endpoint and carry
// GitHub's error body, and 304 must have no body.
func (v *validator) validateResponse(r *http.Request, reqBody []byte, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	if route.Operation.Responses.Status(status) != nil {
		return v.ValidateResponse(r, reqBody, route, params, status, header, body)
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
