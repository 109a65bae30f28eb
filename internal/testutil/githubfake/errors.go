package githubfake

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// FieldError is one entry of the "errors" array of GitHub's 422 body.
type FieldError struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

// errorBody is GitHub's basic error: message, documentation_url and, as
// GitHub has sent since 2024, the status as a string.
func errorBody(message, docURL string, status int) map[string]any {
	return map[string]any{"message": message, "documentation_url": docURL, "status": strconv.Itoa(status)}
}

// docURL is the documentation_url GitHub puts in an operation's errors.
func docURL(op string) string {
	v, err := loadValidator()
	if err == nil {
		for _, item := range v.Doc.Paths.Map() {
			for _, o := range item.Operations() {
				if o.OperationID == op && o.ExternalDocs != nil {
					return o.ExternalDocs.URL
				}
			}
		}
	}
	return "https://docs.github.com/rest"
}

func errorResponse(rq *request, status int, message string) *response {
	return &response{status: status, body: errorBody(message, docURL(rq.op), status)}
}

func notFound(rq *request) *response { return errorResponse(rq, http.StatusNotFound, "Not Found") }

// problemsParsingJSON is GitHub's answer to a body that is not JSON of the
// expected shape.
func problemsParsingJSON(rq *request) *response {
	return errorResponse(rq, http.StatusBadRequest, "Problems parsing JSON")
}

// validationFailed is GitHub's 422 with its errors array.
func validationFailed(rq *request, errs ...FieldError) *response {
	return unprocessable(rq, "Validation Failed", errs...)
}

func unprocessable(rq *request, message string, errs ...FieldError) *response {
	body := map[string]any{"message": message, "documentation_url": docURL(rq.op), "status": "422"}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	return &response{status: http.StatusUnprocessableEntity, body: body}
}

// resourceOf names the resource of an operation as GitHub's errors do.
func resourceOf(op string) string {
	switch {
	case strings.HasPrefix(op, "pulls/"):
		return "PullRequest"
	case strings.HasPrefix(op, "issues/"):
		return "Issue"
	case strings.HasPrefix(op, "checks/"):
		return "CheckRun"
	case strings.HasPrefix(op, "git/"):
		return "Reference"
	case op == "repos/create-commit-status":
		return "Status"
	}
	return "Repository"
}

// invalidRequest answers a request that violates the description the way
// GitHub answers a schema violation: 422 "Invalid request." naming each
// offending field.
func invalidRequest(rq *request, err error) *response {
	var errs []FieldError
	for _, e := range leafErrors(err) {
		fe := FieldError{Resource: resourceOf(rq.op), Code: "invalid", Message: e.Error()}
		var se *openapi3.SchemaError
		var re *openapi3filter.RequestError
		switch {
		case errors.As(e, &se):
			fe.Field = strings.Join(se.JSONPointer(), ".")
			fe.Message = se.Reason
		case errors.As(e, &re) && re.Parameter != nil:
			fe.Field = re.Parameter.Name
		}
		errs = append(errs, fe)
	}
	msg := "Invalid request."
	if len(errs) > 0 {
		msg += "\n\n" + errs[0].Message
	}
	return unprocessable(rq, msg, errs...)
}

// leafErrors flattens kin-openapi's nested multi-errors (a MultiError of
// RequestErrors whose Err is a MultiError of SchemaErrors).
func leafErrors(err error) []error {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []error
		for _, e := range me {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) && re.Err != nil {
		if inner := leafErrors(re.Err); len(inner) > 1 || (len(inner) == 1 && inner[0] != re.Err) {
			return inner
		}
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			return []error{se}
		}
	}
	return []error{err}
}
