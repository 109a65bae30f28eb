package server

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors a Backend returns; the API maps each to a status code.
var (
	// ErrUnknownModel: no policy names the model (404).
	ErrUnknownModel = errors.New("unknown model")
	// ErrInvalidPolicy: the model's policy does not validate, so the model is left alone
	// (409). Return a *PolicyError to list the validation errors.
	ErrInvalidPolicy = errors.New("invalid policy")
	// ErrConflict: the request contradicts the model's state, e.g. the model is suspended
	// or the candidate's version is already registered with other figures (409).
	ErrConflict = errors.New("conflict")
	// ErrInvalidInput: the request is well-formed but its content is refused, e.g. a
	// candidate metric out of range (422).
	ErrInvalidInput = errors.New("invalid input")
	// ErrUnavailable: the reconciler cannot serve the request now, e.g. no cycle has
	// completed yet or it is shutting down (503).
	ErrUnavailable = errors.New("unavailable")
)

// PolicyError lists why a model's policy is invalid; it matches ErrInvalidPolicy.
type PolicyError struct {
	Model string
	// Errors are the validation errors, each "file:line:col: field: message".
	Errors []string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("policy of %s is invalid: %s", e.Model, strings.Join(e.Errors, "; "))
}

// Is makes errors.Is(err, ErrInvalidPolicy) hold.
func (e *PolicyError) Is(target error) bool { return target == ErrInvalidPolicy }

// Error codes of the API's error bodies.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthorized     = "unauthorized"
	CodeNotFound         = "not_found"
	CodeUnknownModel     = "unknown_model"
	CodeInvalidPolicy    = "invalid_policy"
	CodeConflict         = "conflict"
	CodeTooLarge         = "payload_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeInvalidInput     = "invalid_input"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeAPIDisabled      = "api_disabled"
)

// apiError is the body of every error response.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"`
}

// statusError is an error already sorted into an HTTP status and an error code.
type statusError struct {
	status  int
	code    string
	message string
	details []string
}

func (e *statusError) Error() string { return e.message }

func errorf(status int, code, format string, args ...any) *statusError {
	return &statusError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}
