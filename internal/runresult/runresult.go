// Package runresult is the one strict reader of a training job's result (SPEC.md "Jobs"):
// the local runner's result.json, the Kubernetes runner's termination message and the
// candidates the API registers are all checked here.
package runresult

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/reconciler"
)

// URISchemes are the schemes a candidate's uri may have: model registries and object
// stores a serving stack loads a model from. Anything else (javascript:, data:, a bare
// path) is not where a model lives.
var URISchemes = []string{"models", "runs", "s3", "gs", "https", "wasbs", "abfss", "file"}

// Parse decodes a training result strictly: exactly one JSON object, no unknown fields, no
// key twice (the second would silently win), then Problems must be empty.
func Parse(b []byte) (*reconciler.RunResult, error) {
	if err := CheckDuplicateKeys(b); err != nil {
		return nil, fmt.Errorf("parse result.json: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var res reconciler.RunResult
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("parse result.json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse result.json: unexpected data after the JSON object at byte %d", dec.InputOffset())
	}
	if problems := Problems(res); len(problems) > 0 {
		return nil, fmt.Errorf("invalid result.json: %s", strings.Join(problems, "; "))
	}
	return &res, nil
}

// Problems lists, sorted, what is wrong with a result: a missing version or uri, control
// characters in either (a newline in a version splits a proposal's title), a uri scheme
// outside URISchemes, figures outside their range.
func Problems(res reconciler.RunResult) []string {
	var problems []string
	if p := VersionProblem(res.Version); p != "" {
		problems = append(problems, "version "+p)
	}
	if p := URIProblem(res.URI); p != "" {
		problems = append(problems, "uri "+p)
	}
	for name, v := range map[string]*float64{"auc": res.Metrics.AUC, "precision": res.Metrics.Precision, "recall": res.Metrics.Recall, "coverage": res.Metrics.Coverage} {
		if v != nil && (math.IsNaN(*v) || *v < 0 || *v > 1) {
			problems = append(problems, fmt.Sprintf("metrics.%s must be between 0 and 1, got %g", name, *v))
		}
	}
	if res.Metrics.Samples < 0 {
		problems = append(problems, fmt.Sprintf("metrics.samples must not be negative, got %d", res.Metrics.Samples))
	}
	if v := res.Metrics.LatencyMs; v != nil && *v < 0 {
		problems = append(problems, fmt.Sprintf("metrics.latencyMs must not be negative, got %g", *v))
	}
	slices.Sort(problems)
	return problems
}

// VersionProblem says what is wrong with a candidate's version ("" when nothing): empty, or
// holding control characters as git.IsControl counts them (a newline in a version splits a
// proposal's title, a right-to-left override reverses how it reads).
func VersionProblem(v string) string { return textProblem(v) }

// URIProblem says what is wrong with a candidate's uri ("" when nothing): empty, holding
// control characters, or with a scheme outside URISchemes.
func URIProblem(uri string) string {
	if p := textProblem(uri); p != "" {
		return p
	}
	scheme, _, found := strings.Cut(uri, ":")
	if !found || !slices.Contains(URISchemes, strings.ToLower(scheme)) {
		return fmt.Sprintf("%q: the scheme must be one of %s:", uri, strings.Join(URISchemes, ":, "))
	}
	return ""
}

func textProblem(v string) string {
	switch {
	case strings.TrimSpace(v) == "":
		return "is empty"
	case strings.ContainsFunc(v, git.IsControl):
		return fmt.Sprintf("%q contains control characters", v)
	}
	return ""
}

// CheckDuplicateKeys walks b's JSON tokens and refuses an object naming a key twice (the
// decoder would silently keep the last). Syntax errors are left to the decoder, which
// reports them better.
func CheckDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil
				}
				key, _ := kt.(string)
				if seen[key] {
					where := "the top-level object"
					if path != "" {
						where = strings.TrimPrefix(path, ".")
					}
					return fmt.Errorf("key %q appears twice in %s", key, where)
				}
				seen[key] = true
				if err := walk(path + "." + key); err != nil {
					return err
				}
			}
			_, _ = dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, _ = dec.Token()
		}
		return nil
	}
	return walk("")
}
