package mlflowfake

import (
	"net/http"
	"strconv"
	"time"
)

// Fault answers matching requests with an error, or delays them, instead of serving them
// at once. Its answer is validated against the contract like any other.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// Endpoint matches the path below Prefix ("registered-models/alias"); empty matches any.
	Endpoint string
	// Status and Code are the answer: Code is MLflow's error_code (defaulted from Status).
	// Status 0 serves the request after Delay.
	Status int
	Code   string
	// Header is added to the answer (Retry-After).
	Header http.Header
	// Delay holds the answer back (or until the client gives up).
	Delay time.Duration
	// Times is how many requests the fault answers; 0 means all.
	Times int

	hits int
}

var codeOf = map[int]string{
	http.StatusUnauthorized:        "UNAUTHENTICATED",
	http.StatusForbidden:           "PERMISSION_DENIED",
	http.StatusTooManyRequests:     "REQUEST_LIMIT_EXCEEDED",
	http.StatusInternalServerError: "INTERNAL_ERROR",
	http.StatusServiceUnavailable:  "TEMPORARILY_UNAVAILABLE",
}

func (f *Fault) response() *response {
	code := f.Code
	if code == "" {
		code = codeOf[f.Status]
	}
	r := mlflowError(code, "injected fault %d", f.Status)
	r.status = f.Status
	r.header = f.Header.Clone()
	return r
}

// Inject adds a fault; the first matching fault answers a request.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) fault(method, endpoint string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if (f.Method == "" || f.Method == method) && (f.Endpoint == "" || f.Endpoint == endpoint) && (f.Times == 0 || f.hits < f.Times) {
			f.hits++
			return f
		}
	}
	return nil
}

// InternalError is MLflow's 500 INTERNAL_ERROR.
func InternalError(method, endpoint string, times int) Fault {
	return Fault{Method: method, Endpoint: endpoint, Status: http.StatusInternalServerError, Times: times}
}

// Unavailable is a 503 TEMPORARILY_UNAVAILABLE (a restarting server behind its proxy).
func Unavailable(method, endpoint string, times int) Fault {
	return Fault{Method: method, Endpoint: endpoint, Status: http.StatusServiceUnavailable, Times: times}
}

// RateLimited is a 429 REQUEST_LIMIT_EXCEEDED with Retry-After (Databricks' rate limits).
func RateLimited(method, endpoint string, retryAfter time.Duration, times int) Fault {
	return Fault{
		Method: method, Endpoint: endpoint, Status: http.StatusTooManyRequests, Times: times,
		Header: http.Header{"Retry-After": {strconv.Itoa(int(retryAfter / time.Second))}},
	}
}

// Unauthenticated is a 401 UNAUTHENTICATED (a revoked or expired token).
func Unauthenticated(method, endpoint string, times int) Fault {
	return Fault{Method: method, Endpoint: endpoint, Status: http.StatusUnauthorized, Times: times}
}

// Slow serves matching requests after delay.
func Slow(method, endpoint string, delay time.Duration, times int) Fault {
	return Fault{Method: method, Endpoint: endpoint, Delay: delay, Times: times}
}
