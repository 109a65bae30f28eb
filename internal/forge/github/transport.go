package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medimind/modelops/internal/retryafter"

	"github.com/cenkalti/backoff/v5"
	"github.com/golang/groupcache/lru"
	"golang.org/x/time/rate"

	"github.com/medimind/modelops/reconciler"
)

// ErrRateLimited is returned (wrapped) when GitHub's rate limit, or the client's own limit
// on content-creating requests, asks for a wait longer than the context allows or than
// TransportOptions.MaxWait. The reconciler treats it as "wait": the next cycle tries again.
var ErrRateLimited = fmt.Errorf("github rate %w", reconciler.ErrLimited)

// Clock tells the time and waits. Tests inject one that does not sleep for real.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or returns ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RateLimit is GitHub's primary rate limit as its last answer reported it (X-RateLimit-*).
type RateLimit struct {
	Limit, Remaining, Used int
	// Reset is when the window resets; Resource the limit's resource ("core", "search").
	Reset    time.Time
	Resource string
	// Observed is when it was read; zero before the first answer.
	Observed time.Time
}

// Stats counts the requests the transport sent to GitHub.
type Stats struct {
	// Requests sent (each retry counts); NotModified of them were answered 304, which GitHub
	// does not count against the rate limit; Writes were content-creating (POST, PATCH, PUT,
	// DELETE).
	Requests, NotModified, Writes int64
}

// Counted is the number of requests GitHub counts against the rate limit.
func (s Stats) Counted() int64 { return s.Requests - s.NotModified }

// TransportOptions configures NewTransport. Zero values take the defaults.
type TransportOptions struct {
	// Clock defaults to the wall clock.
	Clock Clock
	// Jitter returns a number in [0, 1) that spreads retries; default math/rand/v2.
	Jitter func() float64
	// MaxAttempts bounds the attempts of a request answered 5xx (default 4).
	MaxAttempts int
	// MaxLimitWaits bounds the waits of one request for a secondary limit or 429 (default 3).
	MaxLimitWaits int
	// MaxWait is the longest single wait; a longer one gives ErrRateLimited (default 15m).
	MaxWait time.Duration
	// WritesPerMinute and WritesPerHour bound content-creating requests, as GitHub's
	// secondary limits do (defaults 80 and 500).
	WritesPerMinute, WritesPerHour int
	// WriteSpacing is the least time between two content-creating requests, as GitHub's
	// guidance asks ("wait at least one second between each request"); default one
	// second, negative for none.
	WriteSpacing time.Duration
	// CacheEntries bounds the conditional-request cache (default 1024 responses).
	CacheEntries int
}

// Transport is the http.RoundTripper modelops talks to GitHub through. Its layers, outermost
// first:
//
//   - conditional requests: a GET whose answer carried an ETag (or Last-Modified) is sent
//     again with If-None-Match (If-Modified-Since); a 304, which costs no rate limit, is
//     answered with the cached body. GitHub's ETags are specific to the token, so each
//     new installation token (one an hour) pays once for every URL it asks again: in the
//     steady state of TestSteadyStateCostsWithHourlyTokens that is one counted request
//     per cached URL per hour, about two per model per hour, not zero;
//   - retries: 5xx answers to idempotent requests (GET, HEAD, PUT, DELETE, and writes
//     marked with idempotentWrite) with jittered exponential backoff (bounded
//     attempts). A POST or PATCH answered 5xx may have taken effect all the same, so it
//     is handed back: the caller looks before writing again (untilSettled). 403 and 429
//     with Retry-After wait that long; a secondary-limit 403 without it backs off
//     exponentially from one minute (GitHub refused those, nothing took effect);
//   - the client's own limit on content-creating requests: one a second, 80 per minute
//     and 500 per hour;
//   - the primary limit: X-RateLimit-* are read from every answer (RateLimit, for
//     /metrics); with none remaining a request waits until the reset, and a 403/429 for
//     the primary limit is sent again after it.
//
// Every wait respects the request's context and the Clock. The primary limit's headers are
// removed from the answers handed up: this transport owns the limit, and go-github would
// otherwise refuse requests on its own wall clock instead of waiting.
type Transport struct {
	top     http.RoundTripper
	primary *primaryLimit
	stats   *counters
}

type counters struct {
	requests, notModified, writes atomic.Int64
}

// NewTransport layers the transport over next (the authenticating transport).
func NewTransport(next http.RoundTripper, opts TransportOptions) *Transport {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 4
	}
	if opts.MaxLimitWaits <= 0 {
		opts.MaxLimitWaits = 3
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 15 * time.Minute
	}
	if opts.WritesPerMinute <= 0 {
		opts.WritesPerMinute = 80
	}
	if opts.WritesPerHour <= 0 {
		opts.WritesPerHour = 500
	}
	if opts.CacheEntries <= 0 {
		opts.CacheEntries = 1024
	}
	if opts.WriteSpacing == 0 {
		opts.WriteSpacing = time.Second
	}
	stats := &counters{}
	w := waiter{clock: opts.Clock, maxWait: opts.MaxWait}
	primary := &primaryLimit{next: next, waiter: w, stats: stats}
	writes := newWriteLimiter(primary, w, opts.WritesPerMinute, opts.WritesPerHour, opts.WriteSpacing)
	retry := &retrier{next: writes, waiter: w, jitter: opts.Jitter, maxAttempts: opts.MaxAttempts, maxLimitWaits: opts.MaxLimitWaits}
	cache := newConditionalCache(retry, opts.CacheEntries)
	return &Transport{top: cache, primary: primary, stats: stats}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.top.RoundTrip(req)
	if resp != nil {
		for k := range resp.Header {
			if strings.HasPrefix(k, "X-Ratelimit-") {
				resp.Header.Del(k)
			}
		}
	}
	return resp, err
}

// RateLimit returns the primary rate limit as GitHub last reported it.
func (t *Transport) RateLimit() RateLimit { return t.primary.current() }

// Stats returns the requests sent so far.
func (t *Transport) Stats() Stats {
	return Stats{Requests: t.stats.requests.Load(), NotModified: t.stats.notModified.Load(), Writes: t.stats.writes.Load()}
}

// waiter sleeps on a clock within a context's deadline and a longest wait.
type waiter struct {
	clock   Clock
	maxWait time.Duration
}

// wait sleeps d. A wait beyond maxWait or past ctx's deadline is not started: it gives
// ErrRateLimited at once, so that the caller can come back later instead of holding a
// cycle until its deadline.
func (w waiter) wait(ctx context.Context, d time.Duration, why string) error {
	if d <= 0 {
		return ctx.Err()
	}
	if d > w.maxWait {
		return fmt.Errorf("%w: %s asks to wait %s, more than %s", ErrRateLimited, why, d, w.maxWait)
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("%w: %s asks to wait %s, beyond the deadline", ErrRateLimited, why, d)
	}
	return w.clock.Sleep(ctx, d)
}

// idempotentKey marks a context whose writes may be sent again after a 5xx.
type idempotentKey struct{}

// idempotentWrite marks the writes made with the returned context as idempotent in effect
// (adding labels already there, an edit setting the same fields), so that Transport
// retries them after a 5xx as it does GETs.
func idempotentWrite(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// idempotent reports whether sending req twice has the effect of sending it once.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Context().Value(idempotentKey{}) != nil
}

// maxSettleAttempts bounds how often untilSettled runs a step.
const maxSettleAttempts = 3

// untilSettled runs step, which looks whether its write has already taken effect and makes
// it only if not, once more after GitHub answered the write 5xx (at most maxSettleAttempts
// times). A POST or PATCH answered 5xx may have taken effect all the same, so Transport
// hands the answer back instead of sending it again blindly; looking first is what makes
// sending it again safe. step marks such an answer with unsettled.
func untilSettled(step func() error) error {
	for attempt := 1; ; attempt++ {
		err := step()
		var u unsettledWrite
		if attempt == maxSettleAttempts || !errors.As(err, &u) {
			return err
		}
	}
}

// unsettledWrite is the error of a write GitHub answered 5xx: it may have taken effect.
type unsettledWrite struct{ error }

func (u unsettledWrite) Unwrap() error { return u.error }

// unsettled marks err, the error of a write, as unsettled when GitHub answered it 5xx.
func unsettled(err error) error {
	if status(err) >= http.StatusInternalServerError {
		return unsettledWrite{err}
	}
	return err
}

// isWrite reports whether method creates content (GitHub's secondary limits count these).
func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// again returns a copy of req to send once more, with a fresh body, or nil when the body
// cannot be read again.
func again(req *http.Request) *http.Request {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r
	}
	if req.GetBody == nil {
		return nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil
	}
	r.Body = body
	return r
}

// discard reads what is left of a body (so the connection is reused) and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
}

// conditionalCache answers GETs from a cache when GitHub says 304 Not Modified.
type conditionalCache struct {
	next http.RoundTripper
	mu   sync.Mutex // guards entries: groupcache's lru is not safe for concurrent use
	// entries maps method, URL and Accept to a *cachedResponse.
	entries *lru.Cache
}

type cachedResponse struct {
	etag, lastModified string
	status             int
	header             http.Header
	body               []byte
}

// maxCachedBody bounds what one entry keeps; larger answers are not cached.
const maxCachedBody = 4 << 20

func newConditionalCache(next http.RoundTripper, entries int) *conditionalCache {
	return &conditionalCache{next: next, entries: lru.New(entries)}
}

func (c *conditionalCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" || req.Header.Get("Range") != "" {
		return c.next.RoundTrip(req)
	}
	key := req.URL.String() + "\x00" + req.Header.Get("Accept")
	c.mu.Lock()
	var entry *cachedResponse
	if v, ok := c.entries.Get(key); ok {
		entry = v.(*cachedResponse)
	}
	c.mu.Unlock()
	if entry != nil {
		req = req.Clone(req.Context())
		if entry.etag != "" {
			req.Header.Set("If-None-Match", entry.etag)
		} else {
			req.Header.Set("If-Modified-Since", entry.lastModified)
		}
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified && entry != nil {
		discard(resp)
		h := entry.header.Clone()
		for k, v := range resp.Header {
			if strings.HasPrefix(k, "X-Ratelimit-") || k == "Date" {
				h[k] = v
			}
		}
		// go-github's convention for an answer served from a cache.
		h.Set("X-From-Cache", "1")
		return &http.Response{
			Status: fmt.Sprintf("%d %s", entry.status, http.StatusText(entry.status)), StatusCode: entry.status,
			Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(bytes.NewReader(entry.body)), ContentLength: int64(len(entry.body)),
			Request: req,
		}, nil
	}
	etag, lastModified := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if resp.StatusCode != http.StatusOK || etag == "" && lastModified == "" ||
		strings.Contains(resp.Header.Get("Cache-Control"), "no-store") || resp.ContentLength > maxCachedBody {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) <= maxCachedBody {
		c.mu.Lock()
		c.entries.Add(key, &cachedResponse{etag: etag, lastModified: lastModified, status: resp.StatusCode, header: resp.Header.Clone(), body: body})
		c.mu.Unlock()
	}
	return resp, nil
}

// retrier sends a request again after 5xx answers, Retry-After, and secondary limits.
type retrier struct {
	next   http.RoundTripper
	waiter waiter
	jitter func() float64
	// maxAttempts bounds the attempts after 5xx answers; maxLimitWaits the waits for
	// secondary limits and 429.
	maxAttempts, maxLimitWaits int
}

const (
	retryBase           = time.Second
	retryCap            = 30 * time.Second
	secondaryLimitFirst = time.Minute
)

func (r *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	serverErrors, limitWaits := 0, 0
	// 1s, 2s, 4s ... up to 30s before the n-th retry after a 5xx; jittered below.
	serverBackoff := &backoff.ExponentialBackOff{InitialInterval: retryBase, Multiplier: 2, MaxInterval: retryCap}
	secondary := secondaryLimitFirst
	send := req
	for {
		resp, err := r.next.RoundTrip(send)
		if err != nil {
			return nil, err
		}
		var wait time.Duration
		var why string
		retryAfter, hasRetryAfter := retryafter.Parse(resp.Header.Get("Retry-After"), r.waiter.clock.Now())
		switch {
		case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && serverErrors+1 < r.maxAttempts && idempotent(req):
			serverErrors++
			wait = r.jittered(serverBackoff.NextBackOff())
			why = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		case (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) && hasRetryAfter:
			if limitWaits >= r.maxLimitWaits {
				return resp, nil
			}
			limitWaits++
			wait, why = retryAfter, fmt.Sprintf("%d with Retry-After", resp.StatusCode)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden && secondaryLimit(resp):
			if limitWaits >= r.maxLimitWaits {
				return resp, nil
			}
			limitWaits++
			wait, why = secondary, "the secondary rate limit"
			secondary *= 2
		default:
			return resp, nil
		}
		next := again(req)
		if next == nil {
			return resp, nil
		}
		discard(resp)
		if err := r.waiter.wait(ctx, wait, why); err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
		send = next
	}
}

// jittered is a wait between half and all of d, by the injected jitter (tests pin it), which
// backoff's own randomisation would not take.
func (r *retrier) jittered(d time.Duration) time.Duration {
	return d/2 + time.Duration(r.jitter()*float64(d/2))
}

// secondaryLimit reports whether a 403 is GitHub's secondary rate limit. The body is read
// (at most 64 KiB) and put back for the caller.
func secondaryLimit(resp *http.Response) bool {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	s := strings.ToLower(string(body))
	return strings.Contains(s, "secondary rate limit") || strings.Contains(s, "abuse")
}

// writeLimiter holds back content-creating requests beyond a per-minute and a per-hour
// limit, and spaces them.
type writeLimiter struct {
	next                      http.RoundTripper
	waiter                    waiter
	perMinute, perHr, spacing *rate.Limiter
}

// newWriteLimiter makes token buckets that never let more than perMinute requests through in
// any minute nor perHour in any hour: a bucket of burst b refilling at (limit-b) per window
// passes at most b + (limit-b) = limit in any window of that length.
// A spacing bucket of burst one refilling once per spacing keeps writes that far apart.
func newWriteLimiter(next http.RoundTripper, w waiter, perMinute, perHour int, spacing time.Duration) *writeLimiter {
	bucket := func(limit int, window time.Duration, burst int) *rate.Limiter {
		burst = max(1, min(burst, limit-1))
		return rate.NewLimiter(rate.Limit(float64(limit-burst)/window.Seconds()), burst)
	}
	every := rate.Inf
	if spacing > 0 {
		every = rate.Every(spacing)
	}
	return &writeLimiter{
		next: next, waiter: w,
		perMinute: bucket(perMinute, time.Minute, perMinute/10),
		perHr:     bucket(perHour, time.Hour, perHour/25),
		spacing:   rate.NewLimiter(every, 1),
	}
}

func (l *writeLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isWrite(req.Method) {
		return l.next.RoundTrip(req)
	}
	now := l.waiter.clock.Now()
	m, h, s := l.perMinute.ReserveN(now, 1), l.perHr.ReserveN(now, 1), l.spacing.ReserveN(now, 1)
	if d := max(m.DelayFrom(now), h.DelayFrom(now), s.DelayFrom(now)); d > 0 {
		if err := l.waiter.wait(req.Context(), d, "the client's limit on content-creating requests"); err != nil {
			m.CancelAt(now)
			h.CancelAt(now)
			s.CancelAt(now)
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
	}
	return l.next.RoundTrip(req)
}

// primaryLimit reads the X-RateLimit headers and waits for the reset when none remain.
type primaryLimit struct {
	next   http.RoundTripper
	waiter waiter
	stats  *counters

	mu sync.Mutex // guards rl
	rl RateLimit
}

func (p *primaryLimit) current() RateLimit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rl
}

// untilReset is how long to wait before sending: until a second past the reset when no
// request remains.
func (p *primaryLimit) untilReset() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rl.Observed.IsZero() || p.rl.Remaining > 0 || p.rl.Reset.IsZero() {
		return 0
	}
	return p.rl.Reset.Sub(p.waiter.clock.Now()) + time.Second
}

func (p *primaryLimit) RoundTrip(req *http.Request) (*http.Response, error) {
	send := req
	for attempt := 0; ; attempt++ {
		if d := p.untilReset(); d > 0 {
			if err := p.waiter.wait(req.Context(), d, "the primary rate limit"); err != nil {
				return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
			}
		}
		resp, err := p.next.RoundTrip(send)
		p.stats.requests.Add(1)
		if isWrite(req.Method) {
			p.stats.writes.Add(1)
		}
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusNotModified {
			p.stats.notModified.Add(1)
		}
		p.record(resp.Header)
		limited := (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) &&
			resp.Header.Get("X-Ratelimit-Remaining") == "0"
		if !limited || attempt > 0 {
			return resp, nil
		}
		if send = again(req); send == nil {
			return resp, nil
		}
		discard(resp)
	}
}

// record keeps the limit an answer reports; answers without the headers change nothing.
func (p *primaryLimit) record(h http.Header) {
	remaining, err := strconv.Atoi(h.Get("X-Ratelimit-Remaining"))
	if err != nil {
		return
	}
	rl := RateLimit{Remaining: remaining, Resource: h.Get("X-Ratelimit-Resource"), Observed: p.waiter.clock.Now()}
	rl.Limit, _ = strconv.Atoi(h.Get("X-Ratelimit-Limit"))
	rl.Used, _ = strconv.Atoi(h.Get("X-Ratelimit-Used"))
	if reset, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
		rl.Reset = time.Unix(reset, 0)
	}
	p.mu.Lock()
	p.rl = rl
	p.mu.Unlock()
}
