package reconciler

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medimind/modelops/policies"
)

// The registry actions: the MLflow Model Registry's aliases follow the tip (spec.registry).
// PlanRegistry plans them; the cycle applies them after apply-traffic (registry_apply.go).
const (
	// ActionSetAlias points an alias at the version the tip gives it.
	ActionSetAlias ActionKind = "set-alias"
	// ActionDeleteAlias removes the canary alias when the tip has no serving canary.
	ActionDeleteAlias ActionKind = "delete-alias"
	// ActionReportRegistryDrift reports an alias moved outside git, left as it is because
	// spec.registry.enforce is false.
	ActionReportRegistryDrift ActionKind = "report-registry-drift"
	// ActionCleanupVersion deletes an old version from the registry, or tags it archived
	// (spec.registry.cleanup.action).
	ActionCleanupVersion ActionKind = "cleanup-version"
	// ActionAwaitRegistryVersion holds an alias back because its version is not READY in
	// the registry (PENDING_REGISTRATION, FAILED_REGISTRATION or absent).
	ActionAwaitRegistryVersion ActionKind = "await-registry-version"
)

// RegistryPlan is what a registry action changes: an alias, or a version cleaned up.
type RegistryPlan struct {
	// RegisteredModel is spec.registry.name.
	RegisteredModel string `json:"registeredModel"`
	Alias           string `json:"alias"`
	// Version is where the tip wants the alias; empty for delete-alias.
	Version string `json:"version,omitempty"`
	// Observed is where the alias points in the registry; empty when it is not set.
	Observed string `json:"observed,omitempty"`
	// Drift is set when the alias was moved outside git: it no longer points where modelops
	// last put it.
	Drift bool `json:"drift,omitempty"`
	// Cleanup is delete or tag for cleanup-version.
	Cleanup string `json:"cleanup,omitempty"`
}

// Registry version statuses, as MLflow reports them.
const (
	RegistryPending = "PENDING_REGISTRATION"
	RegistryFailed  = "FAILED_REGISTRATION"
	RegistryReady   = "READY"
)

// RegistryVersion is a version's state in the registry.
type RegistryVersion struct {
	// Status is READY, PENDING_REGISTRATION or FAILED_REGISTRATION; empty when the version
	// does not exist.
	Status string
	// Message is MLflow's status_message (why a registration failed).
	Message string
}

// ErrRegistryPending says a version is still being registered: wait for a later cycle.
var ErrRegistryPending = errors.New("the version is still PENDING_REGISTRATION in the model registry")

// CheckRegistryVersion says whether version may be proposed or given traffic: nil when
// READY, ErrRegistryPending (wrapped) while it is being registered, and an error naming the
// reason when the registration failed or the version does not exist.
func CheckRegistryVersion(model, version string, v RegistryVersion) error {
	switch v.Status {
	case RegistryReady:
		return nil
	case RegistryPending:
		return fmt.Errorf("%s version %s: %w", model, version, ErrRegistryPending)
	case RegistryFailed:
		return fmt.Errorf("%s version %s failed its registration in the model registry: %s", model, version, v.Message)
	case "":
		return fmt.Errorf("%s version %s does not exist in the model registry", model, version)
	}
	return fmt.Errorf("%s version %s has the unknown registry status %q", model, version, v.Status)
}

// RegistryObservation is what the registry and the status branch show for one model.
type RegistryObservation struct {
	// Aliases maps each alias of the registered model to its version.
	Aliases map[string]string
	// Applied maps each alias modelops manages to the version it last set (from the status
	// branch); an alias missing here was never set by modelops, so no drift is claimed.
	Applied map[string]string
	// Versions holds the registry state of the versions the tip references.
	Versions map[string]RegistryVersion
	// All is every version of the registered model, read only for spec.registry.cleanup.
	All []RegistryVersionAge
	// History holds the versions a commit of the tracked branch's mainline named as
	// production or canary of the model (observed only when a cleanup could be due); nil
	// when it is not known, and then nothing is cleaned up.
	History map[string]bool
}

// PlanRegistry plans the alias changes that make the registry follow the tip of policy p:
// the production alias on spec.production.version, the canary alias on the serving canary's
// version, and no canary alias without one. served is the split the router serves; an
// alias is moved to a version only once the router sends that version traffic, so that
// models:/name@alias never names a version no traffic reaches yet (removing an alias is
// never held back). served nil means there is no modelops router: the aliases follow the
// tip directly. An alias moved outside git is set back (Drift set) or, with
// spec.registry.enforce false, only reported. A version that is not READY holds its alias
// back with an await-registry-version action. Aliases other than the two are left alone.
func PlanRegistry(commit string, p *policies.Policy, served *Traffic, obs RegistryObservation) []Action {
	r := p.Spec.Registry
	if r == nil {
		return nil
	}
	name := p.Metadata.Name
	enforce := r.Enforce == nil || *r.Enforce
	reached := func(version string) bool {
		return served == nil || served.Production == version || (served.Canary == version && served.Weight > 0)
	}
	var actions []Action
	plan := func(alias, want string) {
		observed, set := obs.Aliases[alias]
		applied, known := obs.Applied[alias]
		drift := known && observed != applied
		ap := &RegistryPlan{RegisteredModel: r.Name, Alias: alias, Version: want, Observed: observed, Drift: drift}
		action := func(kind ActionKind, key, reason string) {
			actions = append(actions, Action{Kind: kind, Model: name, Key: key, Reason: reason, Commit: commit, Registry: ap})
		}
		from := observed
		if !set {
			from = "unset"
		}
		switch {
		case want == "" && !set, want != "" && observed == want:
			return
		case drift && !enforce:
			action(ActionReportRegistryDrift, fmt.Sprintf("%s/%s/%s/%s", ActionReportRegistryDrift, name, alias, from),
				fmt.Sprintf("alias %s of %s was moved outside git to %s (modelops set %s); spec.registry.enforce is false, so it stays", alias, r.Name, describeAlias(observed, set), describeAlias(applied, applied != "")))
		case want == "":
			action(ActionDeleteAlias, fmt.Sprintf("%s/%s/%s/%s", ActionDeleteAlias, name, alias, from),
				fmt.Sprintf("alias %s of %s points at %s but the tip has no serving canary", alias, r.Name, observed))
		case obs.Versions[want].Status != RegistryReady:
			err := CheckRegistryVersion(r.Name, want, obs.Versions[want])
			action(ActionAwaitRegistryVersion, fmt.Sprintf("%s/%s/%s/%s/%s", ActionAwaitRegistryVersion, name, alias, want, obs.Versions[want].Status),
				fmt.Sprintf("alias %s waits: %v", alias, err))
		case !reached(want):
			// The router has not sent want any traffic yet; the alias follows it next cycle.
		default:
			reason := fmt.Sprintf("alias %s of %s points at %s; the tip has %s", alias, r.Name, describeAlias(observed, set), want)
			if drift {
				reason = fmt.Sprintf("alias %s of %s was moved outside git to %s; setting it back to %s", alias, r.Name, describeAlias(observed, set), want)
			}
			action(ActionSetAlias, fmt.Sprintf("%s/%s/%s/%s/from-%s", ActionSetAlias, name, alias, want, from), reason)
		}
	}
	if prod := p.Spec.Production; prod != nil {
		plan(r.Aliases.Production, prod.Version)
	}
	canary := ""
	if c, _, ok := servingCanary(p); ok {
		canary = c.Version
	}
	plan(r.Aliases.Canary, canary)
	return actions
}

func describeAlias(version string, set bool) string {
	if !set {
		return "no version"
	}
	return "version " + version
}

// RegistryVersionAge is a version of the registered model and when it was registered.
type RegistryVersionAge struct {
	Version string
	Created time.Time
	// Aliased is set when any alias points at the version: MLflow would delete the alias
	// with it, so it is never cleaned up.
	Aliased bool
	// Archived is set when the version carries modelops.archived=true: cleaned up with
	// action tag already.
	Archived bool
}

// planRegistryCleanup plans spec.registry.cleanup from the observation: the versions
// referenced are the tip's production and canary, every version a mainline commit named
// (obs.History) and every open proposal's; nothing is planned while the history is not
// known.
func planRegistryCleanup(now time.Time, commit string, p *policies.Policy, obs RegistryObservation, props []Proposal) []Action {
	r := p.Spec.Registry
	if r == nil || r.Cleanup == nil || obs.History == nil || len(obs.All) == 0 {
		return nil
	}
	referenced := maps.Clone(obs.History)
	if prod := p.Spec.Production; prod != nil {
		referenced[prod.Version] = true
	}
	if c := p.Spec.Canary; c != nil {
		referenced[c.Version] = true
	}
	for _, pr := range props {
		if v, ok := proposedVersion(pr); ok && pr.State == ProposalOpen {
			referenced[v] = true
		}
	}
	aliased := map[string]bool{}
	for _, v := range obs.Aliases {
		aliased[v] = true
	}
	versions := make([]RegistryVersionAge, 0, len(obs.All))
	for _, v := range obs.All {
		v.Aliased = v.Aliased || aliased[v.Version]
		if v.Archived && r.Cleanup.Action == policies.CleanupTag {
			continue // done
		}
		versions = append(versions, v)
	}
	return PlanRegistryCleanup(commit, p, versions, referenced, now)
}

// proposedVersion is the version a promotion proposal would serve, read from its key
// (promoteKey, fullPromotionKey): the key is what the forges keep of a proposal.
func proposedVersion(pr Proposal) (string, bool) {
	if pr.Kind != ProposalPromote {
		return "", false
	}
	if pr.promotesToProduction() {
		return strings.CutPrefix(pr.Key, fullPromotionKey(""))
	}
	return strings.CutPrefix(pr.Key, promoteKey(""))
}

// PlanRegistryCleanup picks the versions spec.registry.cleanup removes: beyond the newest
// keepLast (by version number), registered more than olderThan before now, never one in
// referenced (the tip's production and canary, every version a commit within the audit
// retention names, so that a git revert can be served, and every open proposal's), never
// one an alias points at; the oldest first, at most maxPerCycle. Versions that are not
// numbers are left alone.
func PlanRegistryCleanup(commit string, p *policies.Policy, versions []RegistryVersionAge, referenced map[string]bool, now time.Time) []Action {
	r := p.Spec.Registry
	if r == nil || r.Cleanup == nil {
		return nil
	}
	c := r.Cleanup
	keep, limit := policies.LimitOf(c.KeepLast), policies.LimitOf(c.MaxPerCycle)
	type numbered struct {
		RegistryVersionAge
		n int
	}
	var all []numbered
	for _, v := range versions {
		if n, err := strconv.Atoi(v.Version); err == nil {
			all = append(all, numbered{v, n})
		}
	}
	// Newest first: the first keep are kept whatever their age.
	slices.SortFunc(all, func(a, b numbered) int { return cmp.Compare(b.n, a.n) })
	if len(all) <= keep {
		return nil
	}
	var actions []Action
	name := p.Metadata.Name
	for i := len(all) - 1; i >= keep && len(actions) < limit; i-- {
		v := all[i]
		if referenced[v.Version] || v.Aliased || now.Sub(v.Created) < c.OlderThan.Duration {
			continue
		}
		actions = append(actions, Action{
			Kind:  ActionCleanupVersion,
			Model: name,
			Key:   fmt.Sprintf("%s/%s/%s/%s", ActionCleanupVersion, name, v.Version, c.Action),
			Reason: fmt.Sprintf("version %s of %s was registered %s ago, is older than %s and beyond the newest %d, and nothing in git references it",
				v.Version, r.Name, inDays(now.Sub(v.Created)), inDays(c.OlderThan.Duration), keep),
			Commit:   commit,
			Registry: &RegistryPlan{RegisteredModel: r.Name, Version: v.Version, Cleanup: c.Action},
		})
	}
	return actions
}

// inDays writes an age as people count it: whole days (90d), or hours under two days.
func inDays(d time.Duration) string {
	if d < 48*time.Hour {
		return d.Round(time.Hour).String()
	}
	return fmt.Sprintf("%dd", d/(24*time.Hour))
}
