package kfp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/medimind/modelops/policies"
	"github.com/medimind/modelops/reconciler"
)

// LatestVersion asks for the pipeline version uploaded last, resolved at launch.
const LatestVersion = "latest"

// launch is what a run is created from, every name resolved to an ID.
type launch struct {
	experimentID string
	ref          *PipelineVersionReference
	spec         map[string]any
	// source says what runs, for the training record: the version's IDs (and the name or
	// latest they were resolved from), or the inline spec's file and digest.
	source string
}

// resolve turns the policy's pipeline and experiment, which may be names or latest, into
// the IDs the run is created with. It is called once per run, just before it is created,
// so the run records exactly what ran.
func (r *Runner) resolve(ctx context.Context, req reconciler.JobRequest) (launch, error) {
	p := req.Pipeline
	var l launch
	var err error
	if l.experimentID, err = r.experimentID(ctx, p); err != nil {
		return l, err
	}
	if p.Spec != "" {
		if l.spec, err = InlineSpec(req.PipelineIR, p.Spec, p.CachingEnabled, slices.Collect(maps.Keys(p.Parameters))); err != nil {
			return l, err
		}
		sum := sha256.Sum256(req.PipelineIR)
		l.source = fmt.Sprintf("spec %s@%s sha256:%s", p.Spec, shortCommit(req.Commit), hex.EncodeToString(sum[:8]))
		return l, nil
	}
	id, from := p.PipelineID, ""
	if id == "" {
		pl, err := r.pipelineByName(ctx, p.PipelineName)
		if err != nil {
			return l, fmt.Errorf("find pipeline %q: %w", p.PipelineName, err)
		}
		if pl.PipelineID == "" {
			return l, fmt.Errorf("find pipeline %q: the API server answered without a pipeline_id", p.PipelineName)
		}
		id, from = pl.PipelineID, fmt.Sprintf("pipeline %q", p.PipelineName)
	}
	version := p.VersionID
	if version == LatestVersion {
		q := url.Values{"sort_by": {"created_at desc"}, "page_size": {"1"}}
		var page ListPipelineVersionsResponse
		if err := r.call(ctx, http.MethodGet, "/apis/v2beta1/pipelines/"+url.PathEscape(id)+"/versions", q, nil, &page); err != nil {
			return l, fmt.Errorf("find the latest version of pipeline %s: %w", id, err)
		}
		if len(page.PipelineVersions) == 0 || page.PipelineVersions[0].PipelineVersionID == "" {
			return l, fmt.Errorf("pipeline %s has no version to run", id)
		}
		v := page.PipelineVersions[0]
		version = v.PipelineVersionID
		from = strings.TrimPrefix(from+fmt.Sprintf(", latest version %q", v.DisplayName), ", ")
	}
	l.ref = &PipelineVersionReference{PipelineID: id, PipelineVersionID: version}
	l.source = sourceOf(l.ref)
	if from != "" {
		l.source += " (" + from + " at launch)"
	}
	return l, nil
}

// pipelineByName finds a pipeline in the configured namespace, then among the shared
// pipelines (no namespace) that a multi-user installation lets every profile run.
func (r *Runner) pipelineByName(ctx context.Context, name string) (Pipeline, error) {
	var pl Pipeline
	path := "/apis/v2beta1/pipelines/names/" + url.PathEscape(name)
	err := r.call(ctx, http.MethodGet, path, r.namespaced(nil), nil, &pl)
	var api *APIError
	if r.cfg.Namespace != "" && errors.As(err, &api) && api.Status == http.StatusNotFound {
		err = r.call(ctx, http.MethodGet, path, nil, nil, &pl)
	}
	return pl, err
}

func sourceOf(ref *PipelineVersionReference) string {
	return fmt.Sprintf("pipeline %s version %s", ref.PipelineID, ref.PipelineVersionID)
}

// experimentID returns the experiment's ID: the policy's, or that of the experiment of its
// name, created when there is none (as the KFP SDK's create_run_from_pipeline_package does).
func (r *Runner) experimentID(ctx context.Context, p *policies.PipelineSpec) (string, error) {
	if p.Experiment == "" {
		return p.ExperimentID, nil
	}
	filter, err := json.Marshal(Filter{Predicates: []Predicate{{Key: "display_name", Operation: OpEquals, StringValue: p.Experiment}}})
	if err != nil {
		return "", err
	}
	var page ListExperimentsResponse
	if err := r.call(ctx, http.MethodGet, "/apis/v2beta1/experiments", r.namespaced(url.Values{"filter": {string(filter)}, "page_size": {"1"}}), nil, &page); err != nil {
		return "", fmt.Errorf("find experiment %q: %w", p.Experiment, err)
	}
	if len(page.Experiments) > 0 && page.Experiments[0].DisplayName == p.Experiment {
		return page.Experiments[0].ExperimentID, nil
	}
	var created Experiment
	body := Experiment{DisplayName: p.Experiment, Namespace: r.cfg.Namespace, Description: "created by modelops for its training runs"}
	if err := r.call(ctx, http.MethodPost, "/apis/v2beta1/experiments", nil, body, &created); err != nil {
		return "", fmt.Errorf("create experiment %q: %w", p.Experiment, err)
	}
	return created.ExperimentID, nil
}

// namespaced adds the configured namespace to q (a new set when q is nil).
func (r *Runner) namespaced(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if r.cfg.Namespace != "" {
		q.Set("namespace", r.cfg.Namespace)
	}
	return q
}

// InlineSpec reads a compiled pipeline (the IR YAML `kfp compile` writes: the pipeline
// spec, optionally followed by a platform spec document) for submission with a run. It
// checks what the API server needs (pipelineInfo.name, root.dag, deploymentSpec,
// components, schemaVersion) and that the pipeline declares as inputs every parameter the
// run passes (modelops_* and params), with file:line errors; caching, when set, overrides
// every task's cachingOptions.enableCache, nested DAGs included.
func InlineSpec(ir []byte, file string, caching *bool, params []string) (map[string]any, error) {
	dec := yaml.NewDecoder(strings.NewReader(string(ir)))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not YAML: %w", file, err)
		}
		docs = append(docs, &n)
	}
	if len(docs) == 0 || len(docs) > 2 {
		return nil, fmt.Errorf("%s: want a compiled pipeline (one pipeline spec document, optionally a platform spec), got %d documents", file, len(docs))
	}
	root := docs[0].Content[0]
	var problems []string
	need := func(path string, kind yaml.Kind, what string) *yaml.Node {
		n, at := lookup(root, strings.Split(path, "."))
		switch {
		case n == nil:
			problems = append(problems, fmt.Sprintf("%s:%d: %s is missing: %s", file, at.Line, path, what))
		case n.Kind != kind || kind == yaml.ScalarNode && n.Value == "":
			problems = append(problems, fmt.Sprintf("%s:%d: %s: want %s", file, n.Line, path, what))
			return nil
		}
		return n
	}
	need("pipelineInfo.name", yaml.ScalarNode, "the pipeline's name")
	need("schemaVersion", yaml.ScalarNode, "the IR schema version, such as 2.1.0")
	need("deploymentSpec", yaml.MappingNode, "the executors of the components")
	need("components", yaml.MappingNode, "the components the tasks run")
	need("root.dag", yaml.MappingNode, "the pipeline's DAG of tasks")
	declared := need("root.inputDefinitions.parameters", yaml.MappingNode, "the pipeline's input parameters, which must include "+strings.Join([]string{ParamModel, ParamGeneration, ParamCommit}, ", "))
	if declared != nil {
		names := map[string]bool{}
		for i := 0; i+1 < len(declared.Content); i += 2 {
			names[declared.Content[i].Value] = true
		}
		for _, p := range append([]string{ParamModel, ParamGeneration, ParamCommit}, slices.Sorted(slices.Values(params))...) {
			if !names[p] {
				problems = append(problems, fmt.Sprintf("%s:%d: root.inputDefinitions.parameters: the pipeline does not declare %s, which the run passes", file, declared.Line, p))
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	var spec map[string]any
	if err := docs[0].Decode(&spec); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if caching != nil {
		setCaching(spec, *caching)
	}
	if _, err := json.Marshal(spec); err != nil {
		return nil, fmt.Errorf("%s: not representable as JSON: %w", file, err)
	}
	if len(docs) == 1 {
		return spec, nil
	}
	// A platform spec goes beside the pipeline spec, as the API server reads them.
	var platform map[string]any
	if err := docs[1].Decode(&platform); err != nil {
		return nil, fmt.Errorf("%s: platform spec: %w", file, err)
	}
	return map[string]any{"pipeline_spec": spec, "platform_spec": platform}, nil
}

// lookup follows path through mappings; it returns the node, or nil and the last node found.
func lookup(n *yaml.Node, path []string) (found, at *yaml.Node) {
	at = n
	for _, key := range path {
		if at.Kind != yaml.MappingNode {
			return nil, at
		}
		var next *yaml.Node
		for i := 0; i+1 < len(at.Content); i += 2 {
			if at.Content[i].Value == key {
				next = at.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil, at
		}
		at = next
	}
	return at, at
}

// setCaching sets cachingOptions.enableCache on every task of the root DAG and of every
// component's DAG.
func setCaching(spec map[string]any, enable bool) {
	dags := []any{dig(spec, "root", "dag")}
	if comps, ok := spec["components"].(map[string]any); ok {
		for _, c := range comps {
			dags = append(dags, dig(c, "dag"))
		}
	}
	for _, d := range dags {
		tasks, _ := dig(d, "tasks").(map[string]any)
		for _, t := range tasks {
			task, ok := t.(map[string]any)
			if !ok {
				continue
			}
			opts, _ := task["cachingOptions"].(map[string]any)
			if opts == nil {
				opts = map[string]any{}
				task["cachingOptions"] = opts
			}
			opts["enableCache"] = enable
		}
	}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
