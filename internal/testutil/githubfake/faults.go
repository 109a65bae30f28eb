package githubfake

import (
	"encoding/json"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// Fault makes the fake answer matching requests with an error instead of
// serving them. The answer still carries the rate-limit headers and, unless
// Body is set, GitHub's error body for Status, and it is validated like any
// other response.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// PathPattern matches the request path without the GHES prefix, segment
	// by segment: each segment is a path.Match pattern and a "**" segment
	// matches any number of segments, for example
	// "/repos/*/*/pulls/*/merge" or "/repos/*/*/git/refs/**".
	PathPattern string
	Status      int
	// Header is added to the answer (for example Retry-After).
	Header http.Header
	// Body replaces the default error body; it is sent as JSON.
	Body any
	// Times is how many requests the fault answers; 0 means all.
	Times int
	// AfterServing serves the request (its write takes effect) before the
	// fault answers, as when GitHub's front end gives up on a backend that
	// completes the write anyway.
	AfterServing bool

	hits int
}

// Inject adds a fault; the first matching fault answers a request.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// ServerError is GitHub's 500 on the matching requests.
func ServerError(method, pathPattern string, times int) Fault {
	return Fault{Method: method, PathPattern: pathPattern, Status: http.StatusInternalServerError, Times: times}
}

// BadGateway is the 502 GitHub's front end sends when a backend times out.
func BadGateway(method, pathPattern string, times int) Fault {
	return Fault{Method: method, PathPattern: pathPattern, Status: http.StatusBadGateway, Times: times}
}

// TimedOutAfterWriting is the 502 GitHub's front end sends when it gives
// up waiting on a backend that completes the write all the same: the
// request takes effect, the client sees only the 502.
func TimedOutAfterWriting(method, pathPattern string, times int) Fault {
	f := BadGateway(method, pathPattern, times)
	f.AfterServing = true
	return f
}

// SecondaryRateLimit is GitHub's 403 for the secondary rate limit, with
// Retry-After; go-github turns it into an *AbuseRateLimitError.
func SecondaryRateLimit(method, pathPattern string, retryAfter time.Duration, times int) Fault {
	return Fault{
		Method: method, PathPattern: pathPattern, Status: http.StatusForbidden, Times: times,
		Header: http.Header{"Retry-After": {strconv.Itoa(int(retryAfter.Seconds()))}},
		Body:   errorBody(secondaryMessage, secondaryDocURL, http.StatusForbidden),
	}
}

// TooManyRequests is GitHub's 429 for the secondary rate limit, with
// Retry-After.
func TooManyRequests(method, pathPattern string, retryAfter time.Duration, times int) Fault {
	return Fault{
		Method: method, PathPattern: pathPattern, Status: http.StatusTooManyRequests, Times: times,
		Header: http.Header{"Retry-After": {strconv.Itoa(int(retryAfter.Seconds()))}},
		Body:   errorBody(secondaryMessage, secondaryDocURL, http.StatusTooManyRequests),
	}
}

// Unprocessable is GitHub's 422 "Validation Failed" with errs.
func Unprocessable(method, pathPattern string, times int, errs ...FieldError) Fault {
	body := map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest", "status": "422"}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	return Fault{Method: method, PathPattern: pathPattern, Status: http.StatusUnprocessableEntity, Times: times, Body: body}
}

// ExpiredToken is the 401 "Bad credentials" an expired token gets.
func ExpiredToken(method, pathPattern string, times int) Fault {
	return Fault{Method: method, PathPattern: pathPattern, Status: http.StatusUnauthorized, Times: times}
}

// NotFound is GitHub's 404, as for a branch deleted under the client.
func NotFound(method, pathPattern string, times int) Fault {
	return Fault{Method: method, PathPattern: pathPattern, Status: http.StatusNotFound, Times: times}
}

const (
	secondaryMessage = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID FAKE."
	secondaryDocURL  = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// defaultMessages are the messages of GitHub's error bodies by status.
var defaultMessages = map[int]string{
	http.StatusBadRequest:          "Problems parsing JSON",
	http.StatusUnauthorized:        "Bad credentials",
	http.StatusForbidden:           "Resource not accessible by integration",
	http.StatusNotFound:            "Not Found",
	http.StatusMethodNotAllowed:    "Method Not Allowed",
	http.StatusConflict:            "Conflict",
	http.StatusUnprocessableEntity: "Validation Failed",
	http.StatusTooManyRequests:     secondaryMessage,
	http.StatusInternalServerError: "Server Error",
	http.StatusBadGateway:          "Server Error",
	http.StatusServiceUnavailable:  "Service Unavailable",
}

// takeFault returns the first fault matching the request and uses one of
// its times. The caller holds s.mu.
func (s *Server) takeFault(method, p string) *Fault {
	for i, f := range s.faults {
		if (f.Method != "" && !strings.EqualFold(f.Method, method)) || !matchPath(f.PathPattern, p) {
			continue
		}
		f.hits++
		hit := *f
		if f.Times > 0 && f.hits >= f.Times {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return &hit
	}
	return nil
}

func (f *Fault) response(rq *request) *response {
	rs := &response{status: f.Status}
	for k, vs := range f.Header {
		for _, v := range vs {
			rs.setHeader(k, v)
		}
	}
	switch b := f.Body.(type) {
	case nil:
		msg := defaultMessages[f.Status]
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		rs.body = errorBody(msg, docURL(rq.op), f.Status)
	case string:
		rs.body = json.RawMessage(b)
	case []byte:
		rs.body = json.RawMessage(b)
	default:
		rs.body = b
	}
	return rs
}

// matchPath matches p against pattern segment by segment ("**" matches any
// number of segments).
func matchPath(pattern, p string) bool {
	return matchSegments(strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(p, "/"), "/"))
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := len(segs); i >= 0; i-- {
				if matchSegments(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], segs[0]); err != nil || !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
