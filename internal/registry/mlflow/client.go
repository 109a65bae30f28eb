package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medimind/modelops/internal/retryafter"

	"github.com/cenkalti/backoff/v5"
)

// apiPrefix is where MLflow, and Databricks workspaces, serve the REST API.
const apiPrefix = "/api/2.0/mlflow/"

// maxBody bounds the answers read: a page of versions or a run is far smaller.
const maxBody = 16 << 20

// Options tunes a Client; zero values take the defaults.
type Options struct {
	// HTTPClient defaults to one with a 30 s timeout per attempt.
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts of a request answered 429 or 5xx, or lost on the
	// network (default 4).
	MaxAttempts int
	// InitialInterval and MaxInterval shape the exponential backoff between attempts
	// (defaults 500 ms and 10 s); a 429's Retry-After replaces the wait, capped at
	// MaxRetryAfter (default 30 s).
	InitialInterval, MaxInterval, MaxRetryAfter time.Duration
	// PageSize is the max_results of a search (default: the server's).
	PageSize int
}

// Client calls an MLflow tracking server's model registry and runs.
type Client struct {
	base url.URL // scheme and host, with any path prefix, without the trailing slash
	auth func(*http.Request)
	http *http.Client
	opts Options
}

// New returns a client for cfg.TrackingURI.
func New(cfg Config, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.TrackingURI, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mlflow tracking URI %q: expected an http or https URL", cfg.TrackingURI)
	}
	if u.User != nil {
		return nil, fmt.Errorf("mlflow tracking URI for %s: it holds credentials; set %s and %s (or %s) instead",
			u.Host, EnvTrackingUsername, EnvTrackingPassword, EnvTrackingToken)
	}
	u.RawQuery, u.Fragment = "", ""
	c := &Client{base: *u, http: opts.HTTPClient, opts: opts}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.opts.MaxAttempts <= 0 {
		c.opts.MaxAttempts = 4
	}
	if c.opts.InitialInterval <= 0 {
		c.opts.InitialInterval = 500 * time.Millisecond
	}
	if c.opts.MaxInterval <= 0 {
		c.opts.MaxInterval = 10 * time.Second
	}
	if c.opts.MaxRetryAfter <= 0 {
		c.opts.MaxRetryAfter = 30 * time.Second
	}
	switch {
	case cfg.Token != "":
		tok := "Bearer " + string(cfg.Token)
		c.auth = func(r *http.Request) { r.Header.Set("Authorization", tok) }
	case cfg.Username != "":
		user, pass := cfg.Username, string(cfg.Password)
		c.auth = func(r *http.Request) { r.SetBasicAuth(user, pass) }
	default:
		c.auth = func(*http.Request) {}
	}
	return c, nil
}

// GetRegisteredModel returns the registered model name with its aliases.
func (c *Client) GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	var out struct {
		RegisteredModel RegisteredModel `json:"registered_model"`
	}
	err := c.do(ctx, http.MethodGet, "registered-models/get", url.Values{"name": {name}}, nil, &out)
	if err != nil {
		return nil, err
	}
	return &out.RegisteredModel, nil
}

// SetAlias points alias of the registered model name at version, moving it from any other
// version. Setting it again to the same version is a no-op, so it is retried.
func (c *Client) SetAlias(ctx context.Context, name, alias, version string) error {
	body := map[string]string{"name": name, "alias": alias, "version": version}
	return c.do(ctx, http.MethodPost, "registered-models/alias", nil, body, nil)
}

// DeleteAlias removes alias from the registered model name.
func (c *Client) DeleteAlias(ctx context.Context, name, alias string) error {
	body := map[string]string{"name": name, "alias": alias}
	return c.do(ctx, http.MethodDelete, "registered-models/alias", nil, body, nil)
}

// GetVersionByAlias returns the version alias points at.
func (c *Client) GetVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	return c.modelVersion(ctx, "registered-models/alias", url.Values{"name": {name}, "alias": {alias}})
}

// GetModelVersion returns one version of the registered model name.
func (c *Client) GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error) {
	return c.modelVersion(ctx, "model-versions/get", url.Values{"name": {name}, "version": {version}})
}

func (c *Client) modelVersion(ctx context.Context, endpoint string, q url.Values) (*ModelVersion, error) {
	var out struct {
		ModelVersion ModelVersion `json:"model_version"`
	}
	if err := c.do(ctx, http.MethodGet, endpoint, q, nil, &out); err != nil {
		return nil, err
	}
	return &out.ModelVersion, nil
}

// SearchModelVersions returns every version filter matches, following the pages.
func (c *Client) SearchModelVersions(ctx context.Context, filter VersionFilter) ([]ModelVersion, error) {
	f, err := filter.Build()
	if err != nil {
		return nil, err
	}
	q := url.Values{"filter": {f}}
	if c.opts.PageSize > 0 {
		q.Set("max_results", strconv.Itoa(c.opts.PageSize))
	}
	var all []ModelVersion
	seen := map[string]bool{}
	for {
		var page struct {
			ModelVersions []ModelVersion `json:"model_versions"`
			NextPageToken string         `json:"next_page_token"`
		}
		if err := c.do(ctx, http.MethodGet, "model-versions/search", q, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.ModelVersions...)
		if page.NextPageToken == "" {
			return all, nil
		}
		if seen[page.NextPageToken] {
			return nil, fmt.Errorf("mlflow model-versions/search: the server repeated page token %q", page.NextPageToken)
		}
		seen[page.NextPageToken] = true
		q.Set("page_token", page.NextPageToken)
	}
}

// SetModelVersionTag sets (or replaces) a tag of a version.
func (c *Client) SetModelVersionTag(ctx context.Context, name, version, key, value string) error {
	body := map[string]string{"name": name, "version": version, "key": key, "value": value}
	return c.do(ctx, http.MethodPost, "model-versions/set-tag", nil, body, nil)
}

// DeleteModelVersion deletes a version. A retry after an attempt whose answer was lost
// may find it gone: ErrNotFound then means the deletion took place.
func (c *Client) DeleteModelVersion(ctx context.Context, name, version string) error {
	body := map[string]string{"name": name, "version": version}
	return c.do(ctx, http.MethodDelete, "model-versions/delete", nil, body, nil)
}

// GetRun returns a run with its metrics, params, tags and dataset inputs.
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) {
	var out struct {
		Run Run `json:"run"`
	}
	if err := c.do(ctx, http.MethodGet, "runs/get", url.Values{"run_id": {runID}}, nil, &out); err != nil {
		return nil, err
	}
	return &out.Run, nil
}

// do sends one call, retrying 429, 5xx and network failures with exponential backoff. Every
// call the client makes is idempotent (a read, or a write that sets a value), so a retry
// cannot apply a change twice.
func (c *Client) do(ctx context.Context, method, endpoint string, query url.Values, body, out any) error {
	u := c.base
	u.Path += apiPrefix + endpoint
	u.RawQuery = query.Encode()
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("mlflow %s %s: encode request: %w", method, endpoint, err)
		}
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.opts.InitialInterval
	b.MaxInterval = c.opts.MaxInterval
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		return struct{}{}, c.attempt(ctx, method, endpoint, u.String(), payload, out)
	}, backoff.WithBackOff(b), backoff.WithMaxTries(uint(c.opts.MaxAttempts)), backoff.WithMaxElapsedTime(0))
	return err
}

// attempt sends the request once. Errors that another attempt cannot mend are permanent.
func (c *Client) attempt(ctx context.Context, method, endpoint, target string, payload []byte, out any) error {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return backoff.Permanent(fmt.Errorf("mlflow %s %s: %w", method, endpoint, err))
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "modelops")
	c.auth(req)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return backoff.Permanent(fmt.Errorf("mlflow %s %s: %w", method, endpoint, ctx.Err()))
		}
		return fmt.Errorf("mlflow %s %s: %w", method, endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("mlflow %s %s: read answer: %w", method, endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		apiErr := &APIError{Method: method, Endpoint: endpoint, Status: resp.StatusCode}
		var e struct {
			Code    string `json:"error_code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil {
			apiErr.Code, apiErr.Message = e.Code, e.Message
		}
		if !apiErr.retryable() {
			return backoff.Permanent(apiErr)
		}
		if d, ok := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now()); ok {
			return &retryafter.Error{Err: apiErr, Wait: min(d, c.opts.MaxRetryAfter)}
		}
		return apiErr
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return backoff.Permanent(fmt.Errorf("mlflow %s %s: decode answer: %w", method, endpoint, err))
	}
	return nil
}

// VersionFilter is a search of model versions; the conditions are ANDed, as MLflow's
// search syntax has no OR.
type VersionFilter struct {
	Name  string
	RunID string
	Tags  map[string]string
}

// Build writes f in MLflow's syntax: name = 'x' AND tags.`k` = 'v'. Tag keys are quoted
// with backticks since modelops' keys hold dots. A value holding both quote characters
// cannot be written.
func (f VersionFilter) Build() (string, error) {
	var conds []string
	add := func(key, value string) error {
		q := "'"
		if strings.Contains(value, "'") {
			q = `"`
		}
		if strings.Contains(value, `"`) && q == `"` {
			return fmt.Errorf("mlflow search: the value of %s holds both quote characters: %q", key, value)
		}
		conds = append(conds, key+" = "+q+value+q)
		return nil
	}
	if f.Name != "" {
		if err := add("name", f.Name); err != nil {
			return "", err
		}
	}
	if f.RunID != "" {
		if err := add("run_id", f.RunID); err != nil {
			return "", err
		}
	}
	keys := make([]string, 0, len(f.Tags))
	for k := range f.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.Contains(k, "`") {
			return "", fmt.Errorf("mlflow search: tag key %q holds a backtick", k)
		}
		if err := add("tags.`"+k+"`", f.Tags[k]); err != nil {
			return "", err
		}
	}
	if len(conds) == 0 {
		return "", errors.New("mlflow search: the filter has no condition")
	}
	return strings.Join(conds, " AND "), nil
}
