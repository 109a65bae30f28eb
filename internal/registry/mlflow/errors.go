package mlflow

import (
	"errors"
	"fmt"
	"net/http"
)

// MLflow's error codes (databricks.proto's ErrorCode) the client tells apart.
const (
	CodeNotFound           = "RESOURCE_DOES_NOT_EXIST"
	CodeAlreadyExists      = "RESOURCE_ALREADY_EXISTS"
	CodeInvalidParameter   = "INVALID_PARAMETER_VALUE"
	CodePermissionDenied   = "PERMISSION_DENIED"
	CodeUnauthenticated    = "UNAUTHENTICATED"
	CodeRequestLimit       = "REQUEST_LIMIT_EXCEEDED"
	CodeInternalError      = "INTERNAL_ERROR"
	CodeTemporarilyUnavail = "TEMPORARILY_UNAVAILABLE"
)

// Errors an *APIError matches with errors.Is, by its error code or, when the answer carried
// none (a proxy's page), by its HTTP status.
var (
	ErrNotFound         = errors.New("mlflow: resource does not exist")
	ErrAlreadyExists    = errors.New("mlflow: resource already exists")
	ErrInvalidParameter = errors.New("mlflow: invalid parameter value")
	ErrPermissionDenied = errors.New("mlflow: permission denied")
	ErrUnauthenticated  = errors.New("mlflow: not authenticated")
	// ErrUnavailable is a 429 or 5xx still answered after the retries.
	ErrUnavailable = errors.New("mlflow: unavailable")
)

// APIError is an answer of MLflow other than 200.
type APIError struct {
	// Endpoint is the path below /api/2.0/mlflow/, e.g. "registered-models/alias".
	Method, Endpoint string
	Status           int
	// Code and Message are MLflow's error_code and message; empty when the body was not
	// MLflow's error (a proxy's or an auth plugin's page).
	Code, Message string
}

func (e *APIError) Error() string {
	msg := e.Message
	if e.Code != "" {
		msg = e.Code + ": " + msg
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("mlflow %s %s: %d %s", e.Method, e.Endpoint, e.Status, msg)
}

// Is matches the sentinel errors above.
func (e *APIError) Is(target error) bool {
	switch e.Code {
	case CodeNotFound:
		return target == ErrNotFound
	case CodeAlreadyExists:
		return target == ErrAlreadyExists
	case CodeInvalidParameter:
		return target == ErrInvalidParameter
	case CodePermissionDenied:
		return target == ErrPermissionDenied
	case CodeUnauthenticated:
		return target == ErrUnauthenticated
	}
	switch {
	case e.Status == http.StatusTooManyRequests || e.Status >= 500:
		return target == ErrUnavailable
	case e.Status == http.StatusUnauthorized:
		return target == ErrUnauthenticated
	case e.Status == http.StatusForbidden:
		return target == ErrPermissionDenied
	case e.Status == http.StatusNotFound && e.Code == "":
		return target == ErrNotFound
	}
	return false
}

// retryable reports whether the same request may succeed later.
func (e *APIError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}
