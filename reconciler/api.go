package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/medimind/modelops/policies"
)

// Errors of the on-demand operations (the HTTP API).
var (
	// ErrUnknownModel is returned for a model no policy at the tip defines.
	ErrUnknownModel = errors.New("unknown model")
	// ErrCandidateConflict is returned when a candidate version is registered again with
	// other figures.
	ErrCandidateConflict = errors.New("candidate registered with other figures")
	// ErrSuspended is returned for an operation on a model whose spec.suspend is true.
	ErrSuspended = errors.New("model is suspended")
)

// InvalidPolicyError is returned for a model whose policy file is invalid at the tip.
type InvalidPolicyError struct {
	Model  string
	Errors []string
}

func (e *InvalidPolicyError) Error() string {
	return fmt.Sprintf("the policy of %s is invalid: %s", e.Model, strings.Join(e.Errors, "; "))
}

// Candidate is a trained model registered from outside the reconciler's own runs (the API),
// with the promotion gate's verdict on it.
type Candidate struct {
	Result     RunResult        `json:"result"`
	Registered time.Time        `json:"registered"`
	Verdict    PromotionVerdict `json:"verdict"`
}

// Snapshot observes the world as a cycle would, without acting.
func (r *Reconciler) Snapshot(ctx context.Context) (*Snapshot, error) {
	snap, _, err := r.Plan(ctx)
	return snap, err
}

// ModelPolicy returns model's valid policy at the tip, or ErrUnknownModel, or an
// *InvalidPolicyError naming the errors of the file that defines it.
func (snap *Snapshot) ModelPolicy(model string) (*policies.Policy, error) {
	if p := snap.Policies.Get(model); p != nil {
		return p, nil
	}
	var errs []string
	for _, e := range snap.Policies.Errors {
		var fe *policies.FieldError
		if errors.As(e, &fe) {
			if data, err := fs.ReadFile(snap.Tree, fe.File); err == nil && slices.Contains(policyNames(data), model) {
				errs = append(errs, e.Error())
			}
		}
	}
	if len(errs) > 0 {
		return nil, &InvalidPolicyError{Model: model, Errors: errs}
	}
	return nil, fmt.Errorf("%w %q at %s", ErrUnknownModel, model, short(snap.Commit))
}

// CheckDrift runs model's drift check now and records it (report on the status branch, the
// check on the tip) exactly as a scheduled check would; the schedule counts from it.
func (r *Reconciler) CheckDrift(ctx context.Context, model string) (DriftResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	snap, err := r.Observe(ctx)
	if err != nil {
		return DriftResult{}, err
	}
	p, err := snap.ModelPolicy(model)
	if err != nil {
		return DriftResult{}, err
	}
	if p.Spec.Data == nil {
		return DriftResult{}, fmt.Errorf("model %s has no spec.data to check", model)
	}
	files := map[string][]byte{}
	res, _, err := r.checkDrift(ctx, snap, p, snap.Status.Model(model), files)
	if err != nil {
		return DriftResult{}, err
	}
	msg := fmt.Sprintf("modelops: drift check of %s on request at %s", model, short(snap.Commit))
	if err := r.status.Save(ctx, snap.Status, files, msg); err != nil {
		return DriftResult{}, fmt.Errorf("save status: %w", err)
	}
	return res, nil
}

// RegisterCandidate judges a candidate trained outside the reconciler's runs with model's
// promotion gate, records the verdict, and when it passes opens (or refreshes) the promotion
// proposal setting it as the canary. Registering the same candidate again judges nothing
// and returns the recorded verdict with the open proposal; registering its version with
// other figures is ErrCandidateConflict.
func (r *Reconciler) RegisterCandidate(ctx context.Context, model string, res RunResult) (PromotionVerdict, *Proposal, error) {
	if res.Version == "" {
		return PromotionVerdict{}, nil, errors.New("the candidate has no version")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	snap, err := r.Observe(ctx)
	if err != nil {
		return PromotionVerdict{}, nil, err
	}
	p, err := snap.ModelPolicy(model)
	if err != nil {
		return PromotionVerdict{}, nil, err
	}
	if p.Spec.Suspend {
		return PromotionVerdict{}, nil, fmt.Errorf("register candidate of %s: %w", model, ErrSuspended)
	}
	ms := snap.Status.Model(model)
	for _, c := range ms.Candidates {
		if c.Result.Version != res.Version {
			continue
		}
		if !sameResult(c.Result, res) {
			return PromotionVerdict{}, nil, fmt.Errorf("%w: version %s of %s", ErrCandidateConflict, res.Version, model)
		}
		var open *Proposal
		if prop, ok := findProposal(proposalsOf(snap, model), ProposalPromote); ok && prop.Key == promoteKey(res.Version) {
			open = &prop
		}
		return c.Verdict, open, nil
	}

	v := JudgePromotion(p.Spec.Promotion, res.Metrics, productionFigures(p, ms))
	v.Version, v.JudgedAt = res.Version, snap.Now
	if p.Spec.Production != nil {
		v.ProductionVersion = p.Spec.Production.Version
	}
	var prop *Proposal
	declined, isDeclined := findProposalIn(proposalsOf(snap, model), ProposalPromote, ProposalDeclined)
	switch {
	case !v.Passed:
	case servesAlready(p, res.Version):
		v.Note = fmt.Sprintf("version %s already serves; nothing proposed", res.Version)
	case isDeclined && declined.Key == promoteKey(res.Version):
		v.Note = fmt.Sprintf("a person declined the promotion of version %s; not proposed again", res.Version)
	default:
		a := promotionAction(p, snap.Commit, "", res, v, fmt.Sprintf("candidate %s registered through the API at %s", res.Version, snap.Now.UTC().Format(time.RFC3339)))
		a.Promotion.Registered = true
		a.Key = fmt.Sprintf("%s/%s/registered/%s", ActionProposePromotion, model, promoteKey(res.Version))
		a.Reason = fmt.Sprintf("registered candidate %q passed the promotion gate", res.Version)
		var err error
		if _, prop, err = r.applyProposePromotion(ctx, snap, p, ms, a); err != nil {
			return PromotionVerdict{}, nil, err
		}
	}
	ms.Candidates = append(ms.Candidates, Candidate{Result: res, Registered: snap.Now, Verdict: v})
	if len(ms.Candidates) > maxCandidates {
		ms.Candidates = ms.Candidates[len(ms.Candidates)-maxCandidates:]
	}
	msg := fmt.Sprintf("modelops: candidate %s of %s registered: %s", res.Version, model, passedWord(v.Passed))
	if err := r.status.Save(ctx, snap.Status, nil, msg); err != nil {
		return PromotionVerdict{}, nil, fmt.Errorf("save status: %w", err)
	}
	return v, prop, nil
}

// maxCandidates bounds the registered candidates kept per model.
const maxCandidates = 50

func passedWord(passed bool) string {
	if passed {
		return "passed the promotion gate"
	}
	return "did not pass the promotion gate"
}

func proposalsOf(snap *Snapshot, model string) []Proposal {
	var out []Proposal
	for _, p := range snap.Proposals {
		if p.Model == model {
			out = append(out, p)
		}
	}
	return out
}

func sameResult(a, b RunResult) bool {
	eq := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	m, n := a.Metrics, b.Metrics
	return a.Version == b.Version && a.URI == b.URI && m.Samples == n.Samples &&
		eq(m.AUC, n.AUC) && eq(m.Precision, n.Precision) && eq(m.Recall, n.Recall) && eq(m.LatencyMs, n.LatencyMs) && eq(m.Coverage, n.Coverage)
}
