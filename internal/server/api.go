package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/medimind/modelops/internal/git"
	"github.com/medimind/modelops/internal/runresult"
	"github.com/medimind/modelops/reconciler"
)

// statusResponse is the body of GET /api/v1/status.
type statusResponse struct {
	Models []ModelStatus `json:"models"`
}

// driftResponse is the body of POST .../drift.
type driftResponse struct {
	Model          string  `json:"model"`
	Drifted        bool    `json:"drifted"`
	Share          float64 `json:"share"`
	DriftedColumns int     `json:"driftedColumns"`
	Columns        int     `json:"columns"`
	// Report is the full report (the `modelops drift -o json` object).
	Report json.RawMessage `json:"report,omitempty"`
}

// retrainResponse is the body of POST .../retrain.
type retrainResponse struct {
	Proposal reconciler.Proposal `json:"proposal"`
}

// candidateResponse is the body of POST .../candidates.
type candidateResponse struct {
	Model    string                      `json:"model"`
	Passed   bool                        `json:"passed"`
	Verdict  reconciler.PromotionVerdict `json:"verdict"`
	Proposal *reconciler.Proposal        `json:"proposal,omitempty"`
}

// modelName is a DNS-1123 label, as policies require of metadata.name.
var modelName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// pathModel returns the {model} of r, or answers 404 when no model could have that name.
func pathModel(w http.ResponseWriter, r *http.Request) (string, bool) {
	model := r.PathValue("model")
	if !modelName.MatchString(model) {
		writeError(w, errorf(http.StatusNotFound, CodeUnknownModel, "no policy defines model %q: model names are DNS-1123 labels", model))
		return "", false
	}
	return model, true
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	models, err := s.backend.Status(r.Context())
	if err != nil {
		s.backendError(w, r, "", err)
		return
	}
	for i := range models {
		// Empty lists are [] rather than null, as the description says.
		if models[i].Conditions == nil {
			models[i].Conditions = []reconciler.Condition{}
		}
		if models[i].Proposals == nil {
			models[i].Proposals = []reconciler.Proposal{}
		}
	}
	if models == nil {
		models = []ModelStatus{}
	}
	writeJSON(w, http.StatusOK, statusResponse{Models: models})
}

func (s *Server) drift(w http.ResponseWriter, r *http.Request) {
	model, ok := pathModel(w, r)
	if !ok {
		return
	}
	// The drift check takes no parameters; a body, if any, must be an empty object.
	var none struct{}
	if err := s.decode(w, r, &none, true); err != nil {
		writeError(w, err)
		return
	}
	res, err := s.backend.CheckDrift(r.Context(), model)
	if err != nil {
		s.backendError(w, r, model, err)
		return
	}
	out := driftResponse{Model: model, Drifted: res.Drifted, Share: res.Share, DriftedColumns: res.DriftedColumns, Columns: res.Columns}
	if len(res.Report) > 0 {
		if !json.Valid(res.Report) {
			s.backendError(w, r, model, fmt.Errorf("drift report of %s is not valid JSON", model))
			return
		}
		out.Report = res.Report
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) retrain(w http.ResponseWriter, r *http.Request) {
	model, ok := pathModel(w, r)
	if !ok {
		return
	}
	var req RetrainRequest
	if err := s.decode(w, r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	req.Reason, req.By = strings.TrimSpace(req.Reason), strings.TrimSpace(req.By)
	if req.Reason == "" {
		writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, `field "reason": required, a non-empty string saying why`))
		return
	}
	// Both go into commits on the status branch and the proposal.
	if err := errors.Join(git.CheckText(`field "reason"`, req.Reason), git.CheckLine(`field "by"`, req.By)); err != nil {
		writeError(w, errorf(http.StatusBadRequest, CodeBadRequest, "%s", err))
		return
	}
	p, err := s.backend.Retrain(r.Context(), model, req)
	if err != nil {
		s.backendError(w, r, model, err)
		return
	}
	writeJSON(w, http.StatusOK, retrainResponse{Proposal: p})
}

func (s *Server) candidates(w http.ResponseWriter, r *http.Request) {
	model, ok := pathModel(w, r)
	if !ok {
		return
	}
	var c reconciler.RunResult
	if err := s.decode(w, r, &c, false); err != nil {
		writeError(w, err)
		return
	}
	if err := checkCandidate(c); err != nil {
		writeError(w, err)
		return
	}
	out, err := s.backend.RegisterCandidate(r.Context(), model, c)
	if err != nil {
		s.backendError(w, r, model, err)
		return
	}
	if out.Verdict.Criteria == nil {
		out.Verdict.Criteria = []reconciler.Criterion{}
	}
	writeJSON(w, http.StatusOK, candidateResponse{Model: model, Passed: out.Verdict.Passed, Verdict: out.Verdict, Proposal: out.Proposal})
}

// checkCandidate checks a training result as SPEC.md "Jobs" defines it: a version and a URI
// (as runresult checks them),
// fractions within 0..1, counts and latencies not negative.
func checkCandidate(c reconciler.RunResult) *statusError {
	var problems []string
	if strings.TrimSpace(c.Version) == "" {
		problems = append(problems, `field "version": required, a non-empty string`)
	} else if p := runresult.VersionProblem(c.Version); p != "" {
		problems = append(problems, `field "version": `+p)
	}
	if strings.TrimSpace(c.URI) == "" {
		problems = append(problems, `field "uri": required, a non-empty string`)
	} else if p := runresult.URIProblem(c.URI); p != "" {
		problems = append(problems, `field "uri": `+p)
	}
	fraction := func(name string, v *float64) {
		if v != nil && (math.IsNaN(*v) || *v < 0 || *v > 1) {
			problems = append(problems, fmt.Sprintf(`field "metrics.%s": %g is outside 0..1`, name, *v))
		}
	}
	fraction("auc", c.Metrics.AUC)
	fraction("precision", c.Metrics.Precision)
	fraction("recall", c.Metrics.Recall)
	fraction("coverage", c.Metrics.Coverage)
	if c.Metrics.Samples < 0 {
		problems = append(problems, fmt.Sprintf(`field "metrics.samples": %d is negative`, c.Metrics.Samples))
	}
	if v := c.Metrics.LatencyMs; v != nil && *v < 0 {
		problems = append(problems, fmt.Sprintf(`field "metrics.latencyMs": %g is negative`, *v))
	}
	if len(problems) == 0 {
		return nil
	}
	e := errorf(http.StatusBadRequest, CodeBadRequest, "%s", problems[0])
	if len(problems) > 1 {
		e.message = fmt.Sprintf("%d problems in the candidate: %s", len(problems), strings.Join(problems, "; "))
	}
	e.details = problems
	return e
}

// decode reads r's body as exactly one JSON value into v: unknown fields, a key given twice, trailing data,
// a body over the limit or a content type other than JSON are refused with a message
// naming the problem. With optional, an empty body leaves v as it is.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, optional bool) *statusError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "content type %q: want application/json", ct)
		}
	}
	// The body is read whole (it is bounded) so that a key given twice, which the decoder
	// would silently resolve to the last, is refused first.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		if dup := runresult.CheckDuplicateKeys(body); dup != nil {
			return errorf(http.StatusBadRequest, CodeBadRequest, "%s", dup)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err == nil {
		err = dec.Decode(v)
	}
	if errors.Is(err, io.EOF) {
		if optional {
			return nil
		}
		return errorf(http.StatusBadRequest, CodeBadRequest, "the request body is empty: want a JSON object")
	}
	if err == nil {
		// A second value (or any trailing non-space) makes the body ambiguous.
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return errorf(http.StatusBadRequest, CodeBadRequest, "the body holds more than one JSON value")
		}
		return nil
	}
	var (
		mbe *http.MaxBytesError
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the request body is larger than %d bytes", mbe.Limit)
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, CodeBadRequest, "the body is not valid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(the body)"
		}
		return errorf(http.StatusBadRequest, CodeBadRequest, "field %q: got a JSON %s, want %s", field, typ.Value, jsonKind(typ.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, CodeBadRequest, "the body ends in the middle of a JSON value")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; its message is stable since Go 1.10.
		return errorf(http.StatusBadRequest, CodeBadRequest, "field %s: unknown field", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return errorf(http.StatusBadRequest, CodeBadRequest, "the body is not what this endpoint takes: %s", err)
	}
}

// jsonKind names a Go kind as the JSON type it decodes from.
func jsonKind(kind string) string {
	switch {
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "struct", kind == "map":
		return "an object"
	case kind == "slice", kind == "array":
		return "an array"
	case kind == "ptr":
		return "a value of another type"
	}
	return kind
}
