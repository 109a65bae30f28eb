package mlflowfake

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type model struct {
	name             string
	created, updated int64
	description      string
	tags             map[string]string
	aliases          map[string]int // alias → version
	versions         map[int]*version
	next             int
}

type version struct {
	number           int
	created, updated int64
	source, runID    string
	description      string
	tags             map[string]string
	readyAt          time.Time
	neverReady       bool
	failure          string
}

// VersionSpec describes a version a test registers, as a training job would.
type VersionSpec struct {
	Source string
	RunID  string
	Tags   map[string]string
	// NeverReady keeps the version PENDING_REGISTRATION for good.
	NeverReady bool
	// Failure, when set, makes the version FAILED_REGISTRATION with this message once its
	// registration delay has passed.
	Failure string
}

// RunSpec is a tracking run the fake serves on runs/get.
type RunSpec struct {
	ID      string
	Name    string
	Status  string // default FINISHED
	Metrics map[string]float64
	Params  map[string]string
	Tags    map[string]string
	// Datasets are the run's dataset inputs.
	Datasets []DatasetSpec
}

// DatasetSpec is one dataset input of a run.
type DatasetSpec struct {
	Name, Digest, Source, SourceType, Context string
}

func (s *Server) millis() int64 { return s.now().UnixMilli() }

// CreateRegisteredModel registers an empty model, as a person or a pipeline would.
func (s *Server) CreateRegisteredModel(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.models[name] == nil {
		s.newModel(name)
	}
}

func (s *Server) newModel(name string) *model {
	now := s.millis()
	m := &model{name: name, created: now, updated: now, tags: map[string]string{}, aliases: map[string]int{}, versions: map[int]*version{}, next: 1}
	s.models[name] = m
	return m
}

// CreateVersion registers a new version of name (creating the model if needed) and returns
// its number.
func (s *Server) CreateVersion(name string, spec VersionSpec) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models[name]
	if m == nil {
		m = s.newModel(name)
	}
	return strconv.Itoa(s.addVersion(m, spec).number)
}

func (s *Server) addVersion(m *model, spec VersionSpec) *version {
	now := s.now()
	v := &version{
		number: m.next, created: now.UnixMilli(), updated: now.UnixMilli(), source: spec.Source, runID: spec.RunID,
		tags: maps.Clone(spec.Tags), readyAt: now.Add(s.readyAfter), neverReady: spec.NeverReady, failure: spec.Failure,
	}
	if v.tags == nil {
		v.tags = map[string]string{}
	}
	m.versions[v.number] = v
	m.next++
	m.updated = v.created
	return v
}

// AddRun makes runs/get serve run.
func (s *Server) AddRun(run RunSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[run.ID] = run
}

// MoveAlias points alias at version behind modelops' back, as a person in MLflow's UI does.
func (s *Server) MoveAlias(name, alias, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := strconv.Atoi(version)
	if m := s.models[name]; m != nil && m.versions[n] != nil {
		m.aliases[alias] = n
		return
	}
	s.tb.Fatalf("mlflowfake: MoveAlias: no version %s of %s", version, name)
}

// Aliases returns the aliases of name and their versions.
func (s *Server) Aliases(name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	if m := s.models[name]; m != nil {
		for a, v := range m.aliases {
			out[a] = strconv.Itoa(v)
		}
	}
	return out
}

// VersionTags returns the tags of a version, nil if it does not exist.
func (s *Server) VersionTags(name, version string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, _ := s.lookupVersion(name, version); v != nil {
		return maps.Clone(v.tags)
	}
	return nil
}

// status is the version's registration status at the fake's time.
func (s *Server) status(v *version) (status, message string) {
	switch {
	case v.neverReady || s.now().Before(v.readyAt):
		return "PENDING_REGISTRATION", "Model version is being registered"
	case v.failure != "":
		return "FAILED_REGISTRATION", v.failure
	}
	return "READY", ""
}

func tagList(tags map[string]string) []map[string]string {
	var out []map[string]string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, map[string]string{"key": k, "value": tags[k]})
	}
	return out
}

// versionJSON is a ModelVersion message; empty fields are left out as MLflow leaves them.
func (s *Server) versionJSON(m *model, v *version) map[string]any {
	status, message := s.status(v)
	out := map[string]any{
		"name": m.name, "version": strconv.Itoa(v.number), "creation_timestamp": v.created,
		"last_updated_timestamp": v.updated, "current_stage": "None", "source": v.source, "status": status,
	}
	if message != "" {
		out["status_message"] = message
	}
	if v.runID != "" {
		out["run_id"] = v.runID
	}
	if v.description != "" {
		out["description"] = v.description
	}
	if tags := tagList(v.tags); tags != nil {
		out["tags"] = tags
	}
	var aliases []string
	for a, n := range m.aliases {
		if n == v.number {
			aliases = append(aliases, a)
		}
	}
	if aliases != nil {
		sort.Strings(aliases)
		out["aliases"] = aliases
	}
	return out
}

func (s *Server) modelJSON(m *model) map[string]any {
	out := map[string]any{"name": m.name, "creation_timestamp": m.created, "last_updated_timestamp": m.updated}
	if m.description != "" {
		out["description"] = m.description
	}
	if tags := tagList(m.tags); tags != nil {
		out["tags"] = tags
	}
	var aliases []map[string]string
	for _, a := range slices.Sorted(maps.Keys(m.aliases)) {
		aliases = append(aliases, map[string]string{"alias": a, "version": strconv.Itoa(m.aliases[a])})
	}
	if aliases != nil {
		out["aliases"] = aliases
	}
	if len(m.versions) > 0 {
		latest := slices.Max(slices.Collect(maps.Keys(m.versions)))
		out["latest_versions"] = []map[string]any{s.versionJSON(m, m.versions[latest])}
	}
	return out
}

func modelNotFound(name string) *response {
	return mlflowError("RESOURCE_DOES_NOT_EXIST", "Registered Model with name=%s not found", name)
}

// lookupVersion finds a version as MLflow does: the number must be an integer.
func (s *Server) lookupVersion(name, number string) (*version, *response) {
	n, err := strconv.Atoi(number)
	if err != nil {
		return nil, mlflowError("INVALID_PARAMETER_VALUE", "Parameter 'version' must be an integer, got '%s'.", number)
	}
	m := s.models[name]
	if m == nil || m.versions[n] == nil {
		return nil, mlflowError("RESOURCE_DOES_NOT_EXIST", "Model Version (name=%s, version=%s) not found", name, number)
	}
	return m.versions[n], nil
}

func required(rq *request, names ...string) *response {
	for _, n := range names {
		if rq.param(n) == "" {
			return mlflowError("INVALID_PARAMETER_VALUE", "Missing value for required parameter '%s'.", n)
		}
	}
	return nil
}

var versionLike = regexp.MustCompile(`^[vV]\d+$`)

// validAlias refuses the names MLflow reserves: "latest" and version references "v<N>".
func validAlias(alias string) *response {
	switch {
	case alias == "" || len(alias) > 256:
		return mlflowError("INVALID_PARAMETER_VALUE", "Alias must be 1 to 256 characters, got %d", len(alias))
	case strings.EqualFold(alias, "latest") || versionLike.MatchString(alias):
		return mlflowError("INVALID_PARAMETER_VALUE", "'%s' alias name (case insensitive) is reserved.", alias)
	}
	return nil
}

func (s *Server) createRegisteredModel(rq *request) *response {
	if r := required(rq, "name"); r != nil {
		return r
	}
	name := rq.param("name")
	if s.models[name] != nil {
		return mlflowError("RESOURCE_ALREADY_EXISTS", "Registered Model (name=%s) already exists.", name)
	}
	m := s.newModel(name)
	m.description = rq.param("description")
	for _, t := range bodyTags(rq) {
		m.tags[t[0]] = t[1]
	}
	return ok(map[string]any{"registered_model": s.modelJSON(m)})
}

func bodyTags(rq *request) [][2]string {
	var out [][2]string
	list, _ := rq.body["tags"].([]any)
	for _, item := range list {
		t, _ := item.(map[string]any)
		k, _ := t["key"].(string)
		v, _ := t["value"].(string)
		out = append(out, [2]string{k, v})
	}
	return out
}

func (s *Server) getRegisteredModel(rq *request) *response {
	if r := required(rq, "name"); r != nil {
		return r
	}
	m := s.models[rq.param("name")]
	if m == nil {
		return modelNotFound(rq.param("name"))
	}
	return ok(map[string]any{"registered_model": s.modelJSON(m)})
}

func (s *Server) getModelVersionByAlias(rq *request) *response {
	if r := required(rq, "name", "alias"); r != nil {
		return r
	}
	name, alias := rq.param("name"), rq.param("alias")
	m := s.models[name]
	if m == nil {
		return modelNotFound(name)
	}
	n, found := m.aliases[alias]
	if !found {
		return mlflowError("INVALID_PARAMETER_VALUE", "Registered model alias %s not found.", alias)
	}
	return ok(map[string]any{"model_version": s.versionJSON(m, m.versions[n])})
}

func (s *Server) setRegisteredModelAlias(rq *request) *response {
	if r := required(rq, "name", "alias", "version"); r != nil {
		return r
	}
	name, alias := rq.param("name"), rq.param("alias")
	if r := validAlias(alias); r != nil {
		return r
	}
	if s.models[name] == nil {
		return modelNotFound(name)
	}
	v, r := s.lookupVersion(name, rq.param("version"))
	if r != nil {
		return r
	}
	m := s.models[name]
	m.aliases[alias] = v.number
	m.updated = s.millis()
	return empty()
}

func (s *Server) deleteRegisteredModelAlias(rq *request) *response {
	if r := required(rq, "name", "alias"); r != nil {
		return r
	}
	m := s.models[rq.param("name")]
	if m == nil {
		return modelNotFound(rq.param("name"))
	}
	// MLflow deletes an alias that exists and says nothing about one that does not.
	delete(m.aliases, rq.param("alias"))
	m.updated = s.millis()
	return empty()
}

func (s *Server) createModelVersion(rq *request) *response {
	if r := required(rq, "name", "source"); r != nil {
		return r
	}
	m := s.models[rq.param("name")]
	if m == nil {
		return modelNotFound(rq.param("name"))
	}
	spec := VersionSpec{Source: rq.param("source"), RunID: rq.param("run_id"), Tags: map[string]string{}}
	for _, t := range bodyTags(rq) {
		spec.Tags[t[0]] = t[1]
	}
	v := s.addVersion(m, spec)
	v.description = rq.param("description")
	return ok(map[string]any{"model_version": s.versionJSON(m, v)})
}

func (s *Server) getModelVersion(rq *request) *response {
	if r := required(rq, "name", "version"); r != nil {
		return r
	}
	v, r := s.lookupVersion(rq.param("name"), rq.param("version"))
	if r != nil {
		return r
	}
	return ok(map[string]any{"model_version": s.versionJSON(s.models[rq.param("name")], v)})
}

func (s *Server) setModelVersionTag(rq *request) *response {
	if r := required(rq, "name", "version", "key"); r != nil {
		return r
	}
	key := rq.param("key")
	if len(key) > 250 {
		return mlflowError("INVALID_PARAMETER_VALUE", "Tag key '%s' exceeds the maximum length of 250", key)
	}
	v, r := s.lookupVersion(rq.param("name"), rq.param("version"))
	if r != nil {
		return r
	}
	v.tags[key] = rq.param("value")
	v.updated = s.millis()
	return empty()
}

func (s *Server) deleteModelVersion(rq *request) *response {
	if r := required(rq, "name", "version"); r != nil {
		return r
	}
	v, r := s.lookupVersion(rq.param("name"), rq.param("version"))
	if r != nil {
		return r
	}
	m := s.models[rq.param("name")]
	// The version's aliases go with it, as in MLflow's stores.
	for a, n := range m.aliases {
		if n == v.number {
			delete(m.aliases, a)
		}
	}
	delete(m.versions, v.number)
	m.updated = s.millis()
	return empty()
}

func (s *Server) getRun(rq *request) *response {
	id := rq.param("run_id")
	if id == "" {
		id = rq.param("run_uuid")
	}
	if id == "" {
		return mlflowError("INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'.")
	}
	run, found := s.runs[id]
	if !found {
		return mlflowError("RESOURCE_DOES_NOT_EXIST", "Run with id=%s not found", id)
	}
	status := run.Status
	if status == "" {
		status = "FINISHED"
	}
	info := map[string]any{"run_id": run.ID, "run_uuid": run.ID, "experiment_id": "0", "status": status, "lifecycle_stage": "active",
		"artifact_uri": fmt.Sprintf("mlflow-artifacts:/0/%s/artifacts", run.ID)}
	if run.Name != "" {
		info["run_name"] = run.Name
	}
	data := map[string]any{}
	var metrics []map[string]any
	for _, k := range slices.Sorted(maps.Keys(run.Metrics)) {
		metrics = append(metrics, map[string]any{"key": k, "value": run.Metrics[k], "timestamp": s.millis(), "step": 0})
	}
	if metrics != nil {
		data["metrics"] = metrics
	}
	if p := tagList(run.Params); p != nil {
		data["params"] = p
	}
	if t := tagList(run.Tags); t != nil {
		data["tags"] = t
	}
	out := map[string]any{"info": info, "data": data}
	var inputs []map[string]any
	for _, d := range run.Datasets {
		ds := map[string]any{"name": d.Name, "digest": d.Digest}
		if d.Source != "" {
			ds["source"] = d.Source
		}
		if d.SourceType != "" {
			ds["source_type"] = d.SourceType
		}
		in := map[string]any{"dataset": ds}
		if d.Context != "" {
			in["tags"] = tagList(map[string]string{"mlflow.data.context": d.Context})
		}
		inputs = append(inputs, in)
	}
	if inputs != nil {
		out["inputs"] = map[string]any{"dataset_inputs": inputs}
	}
	return ok(map[string]any{"run": out})
}
