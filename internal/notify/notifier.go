package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/medimind/modelops/internal/retryafter"

	"github.com/cenkalti/backoff/v5"
)

// Encoder turns an event into the request body of one kind of endpoint.
type Encoder func(Event) ([]byte, error)

// Sink is one endpoint events are posted to.
type Sink struct {
	// Name identifies the sink in logs and Stats; the URL never appears there.
	Name string
	// URL is where events are posted (a secret: Slack's carry a token).
	URL    string
	Encode Encoder
	// send, when set, delivers an event itself (email) instead of posting Encode's body to URL.
	send func(ctx context.Context, e Event) error
}

// Webhook is a sink posting each Event as JSON to url.
func Webhook(name, url string) Sink { return Sink{Name: name, URL: url, Encode: WebhookPayload} }

// Slack is a sink posting Slack incoming-webhook messages to url.
func Slack(name, url string) Sink { return Sink{Name: name, URL: url, Encode: SlackPayload} }

// SinkStats counts what happened to a sink's events.
type SinkStats struct {
	Delivered int64
	// Failed counts events given up after the last attempt, or rejected by the endpoint.
	Failed int64
	// Dropped counts events pushed out of a full queue, sent after Close, or still queued
	// when Close's deadline passed.
	Dropped int64
	// Queued is the number of events waiting now.
	Queued int
}

// Option configures a Notifier.
type Option func(*config)

type config struct {
	queueSize     int
	maxAttempts   uint
	initial       time.Duration
	maxInterval   time.Duration
	maxRetryAfter time.Duration
	timeout       time.Duration
	client        *http.Client
	log           *slog.Logger
}

// WithQueueSize bounds each sink's queue (default 100).
func WithQueueSize(n int) Option { return func(c *config) { c.queueSize = n } }

// WithMaxAttempts bounds the attempts per event, the first included (default 5).
func WithMaxAttempts(n uint) Option { return func(c *config) { c.maxAttempts = n } }

// WithBackoff sets the first wait between attempts and the longest (defaults 1s and 1m).
// Each wait is randomized by ±50 % so that many replicas do not retry in step.
func WithBackoff(initial, max time.Duration) Option {
	return func(c *config) { c.initial, c.maxInterval = initial, max }
}

// WithMaxRetryAfter caps how long a 429 response's Retry-After is honoured (default 5m).
func WithMaxRetryAfter(d time.Duration) Option { return func(c *config) { c.maxRetryAfter = d } }

// WithTimeout bounds one delivery attempt (default 10s).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithHTTPClient sets the client deliveries use (default: an http.Client on
// http.DefaultTransport; each attempt is bounded by WithTimeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.client = hc } }

// WithLogger sets the logger for deliveries given up and events dropped.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Notifier fans events out to its sinks without blocking the caller.
type Notifier struct {
	cfg    config
	queues []*queue
	// stop cancels in-flight deliveries when Close's deadline passes.
	stop    context.CancelFunc
	stopCtx context.Context
	wg      sync.WaitGroup

	mu     sync.Mutex // guards closed
	closed bool
}

// New starts a Notifier delivering to sinks. Each sink needs a unique name, an http or
// https URL and an encoder; the errors name the sink, never its URL.
func New(sinks []Sink, opts ...Option) (*Notifier, error) {
	cfg := config{
		queueSize:     100,
		maxAttempts:   5,
		initial:       time.Second,
		maxInterval:   time.Minute,
		maxRetryAfter: 5 * time.Minute,
		timeout:       10 * time.Second,
		client:        &http.Client{},
		log:           slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.queueSize < 1 {
		return nil, fmt.Errorf("queue size %d: want at least 1", cfg.queueSize)
	}
	if cfg.maxAttempts < 1 {
		return nil, fmt.Errorf("max attempts %d: want at least 1", cfg.maxAttempts)
	}
	seen := map[string]bool{}
	for i, s := range sinks {
		if s.Name == "" {
			return nil, fmt.Errorf("sink %d: name is empty", i)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("sink %q: name used twice", s.Name)
		}
		seen[s.Name] = true
		if s.send != nil {
			continue // checked by its constructor
		}
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL is a secret: say what is wrong with it without quoting it.
			return nil, fmt.Errorf("sink %q: url is not an absolute http or https URL", s.Name)
		}
		if s.Encode == nil {
			return nil, fmt.Errorf("sink %q: no encoder", s.Name)
		}
	}
	n := &Notifier{cfg: cfg}
	n.stopCtx, n.stop = context.WithCancel(context.Background())
	for _, s := range sinks {
		q := &queue{sink: s, max: cfg.queueSize, wake: make(chan struct{}, 1)}
		n.queues = append(n.queues, q)
		n.wg.Add(1)
		go n.deliverLoop(q)
	}
	return n, nil
}

// Notify queues e for every sink and returns at once. When a sink's queue is full its
// oldest event is dropped (and counted) to make room: the newest news matters most. After
// Close, events are dropped. An event without a time is stamped now.
func (n *Notifier) Notify(e Event) {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	for _, q := range n.queues {
		if q.push(e) {
			n.cfg.log.Warn("notification dropped: queue full or closed", "sink", q.sink.Name, "model", e.Model)
		}
	}
}

// Close stops accepting events and waits until the queued ones are delivered or given up,
// or until ctx is done; then in-flight attempts are cancelled and what is still queued is
// dropped and counted. It returns ctx's error when the deadline cut delivery short.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	already := n.closed
	n.closed = true
	n.mu.Unlock()
	if !already {
		for _, q := range n.queues {
			q.close()
		}
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.stop()
		return nil
	case <-ctx.Done():
		n.stop()
		<-done
		lost := 0
		for _, q := range n.queues {
			lost += q.dropAll()
		}
		return fmt.Errorf("close notifier: %d events undelivered: %w", lost, ctx.Err())
	}
}

// Stats returns the counters of every sink, by name.
func (n *Notifier) Stats() map[string]SinkStats {
	out := make(map[string]SinkStats, len(n.queues))
	for _, q := range n.queues {
		out[q.sink.Name] = q.stats()
	}
	return out
}

func (n *Notifier) deliverLoop(q *queue) {
	defer n.wg.Done()
	for {
		e, ok := q.pop(n.stopCtx)
		if !ok {
			return
		}
		attempts, err := n.deliver(q.sink, e)
		if err != nil {
			q.countFailed()
			n.cfg.log.Warn("notification not delivered", "sink", q.sink.Name, "kind", string(e.Kind), "model", e.Model,
				"attempts", attempts, "error", err)
			continue
		}
		q.countDelivered()
	}
}

// deliver posts e to s (or sends it, for an email sink), retrying transient failures
// (network errors, 408, 429, 5xx; for email, any refusal or lost connection) with
// exponential backoff and jitter; a 429's Retry-After replaces the backoff wait. Other
// 4xx answers are final: the same payload would be refused again.
func (n *Notifier) deliver(s Sink, e Event) (int, error) {
	send := s.send
	if send == nil {
		body, err := s.Encode(e)
		if err != nil {
			return 0, err
		}
		send = func(ctx context.Context, _ Event) error { return n.post(ctx, s, body) }
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = n.cfg.initial
	b.MaxInterval = n.cfg.maxInterval
	b.RandomizationFactor = 0.5
	b.Multiplier = 2
	attempts := 0
	_, err := backoff.Retry(n.stopCtx, func() (struct{}, error) {
		attempts++
		ctx, cancel := context.WithTimeout(n.stopCtx, n.cfg.timeout)
		defer cancel()
		return struct{}{}, send(ctx, e)
	}, backoff.WithBackOff(b), backoff.WithMaxTries(n.cfg.maxAttempts), backoff.WithMaxElapsedTime(0))
	return attempts, err
}

// post makes one attempt.
func (n *Notifier) post(ctx context.Context, s Sink, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return backoff.Permanent(fmt.Errorf("post to %s: %w", s.Name, redact(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "modelops-notify")
	resp, err := n.cfg.client.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", s.Name, redact(err))
	}
	// Drain a little so the connection can be reused; the body is not otherwise needed.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		err := fmt.Errorf("post to %s: %s", s.Name, resp.Status)
		if d, ok := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now()); ok {
			return &retryafter.Error{Err: err, Wait: min(d, n.cfg.maxRetryAfter)}
		}
		return err
	case code == http.StatusRequestTimeout || code >= 500:
		return fmt.Errorf("post to %s: %s", s.Name, resp.Status)
	default:
		return backoff.Permanent(fmt.Errorf("post to %s: %s", s.Name, resp.Status))
	}
}

// redact drops the URL net/http puts in its errors: a webhook URL is a secret.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
