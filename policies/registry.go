package policies

import (
	"regexp"
	"strings"
	"time"
)

// Defaults of spec.registry.
const (
	DefaultProductionAlias     = "champion"
	DefaultCanaryAlias         = "challenger"
	DefaultCleanupKeepLast     = 10
	DefaultCleanupOlderThan    = 90 * 24 * time.Hour
	DefaultCleanupMaxPerCycle  = 5
	CleanupDelete              = "delete"
	CleanupTag                 = "tag"
	maxRegistryAliasLength     = 256 // MLflow's guaranteed alias length
	maxRegisteredModelNameSize = 256
)

// CleanupActions lists the accepted spec.registry.cleanup.action values.
var CleanupActions = []string{CleanupDelete, CleanupTag}

// RegistrySpec makes the MLflow Model Registry follow the policy: the production alias
// points at spec.production.version and the canary alias at spec.canary.version (absent
// without a canary).
//
//	registry:
//	  name: sepsis-risk            # the registered model; default metadata.name
//	  aliases: {production: champion, canary: challenger}
//	  enforce: true                # set back an alias moved by hand; false only reports it
//	  cleanup: {keepLast: 10, olderThan: 90d, action: delete, maxPerCycle: 5}
type RegistrySpec struct {
	// Name is the registered model's name. Default metadata.name.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Aliases are the registry aliases the production and canary versions carry.
	Aliases RegistryAliases `json:"aliases,omitzero" yaml:"aliases,omitempty"`
	// Enforce sets an alias moved outside git back to git's version (default true); false
	// only reports the drift.
	Enforce *bool `json:"enforce,omitempty" yaml:"enforce,omitempty"`
	// Cleanup deletes (or tags) old versions; never a version git references. Without it
	// no version is ever deleted.
	Cleanup *RegistryCleanup `json:"cleanup,omitempty" yaml:"cleanup,omitempty"`
}

// RegistryAliases names the aliases of the production and canary versions.
type RegistryAliases struct {
	// Production is the alias of spec.production.version. Default champion.
	Production string `json:"production,omitempty" yaml:"production,omitempty"`
	// Canary is the alias of spec.canary.version. Default challenger.
	Canary string `json:"canary,omitempty" yaml:"canary,omitempty"`
}

// RegistryCleanup says which old versions are deleted or tagged.
type RegistryCleanup struct {
	// KeepLast versions are always kept, the newest by version number. Default 10.
	KeepLast *int `json:"keepLast,omitempty" yaml:"keepLast,omitempty" jsonschema:"minimum=1"`
	// OlderThan is the age a version must reach to be cleaned up. Default 90d.
	OlderThan Duration `json:"olderThan,omitzero" yaml:"olderThan,omitempty"`
	// Action is delete (default) or tag (modelops.archived=true, the version stays).
	Action string `json:"action,omitempty" yaml:"action,omitempty" jsonschema:"enum=delete,enum=tag"`
	// MaxPerCycle bounds the versions cleaned up per reconcile cycle. Default 5.
	MaxPerCycle *int `json:"maxPerCycle,omitempty" yaml:"maxPerCycle,omitempty" jsonschema:"minimum=1"`
}

// defaultRegistry fills in spec.registry's defaults when the block exists.
func (p *ModelPolicy) defaultRegistry() {
	r := p.Spec.Registry
	if r == nil {
		return
	}
	if r.Name == "" {
		r.Name = p.Metadata.Name
	}
	if r.Aliases.Production == "" {
		r.Aliases.Production = DefaultProductionAlias
	}
	if r.Aliases.Canary == "" {
		r.Aliases.Canary = DefaultCanaryAlias
	}
	if r.Enforce == nil {
		r.Enforce = ptrTo(true)
	}
	if c := r.Cleanup; c != nil {
		if c.KeepLast == nil {
			c.KeepLast = ptrTo(DefaultCleanupKeepLast)
		}
		if c.OlderThan.Duration == 0 {
			c.OlderThan.Duration = DefaultCleanupOlderThan
		}
		if c.Action == "" {
			c.Action = CleanupDelete
		}
		if c.MaxPerCycle == nil {
			c.MaxPerCycle = ptrTo(DefaultCleanupMaxPerCycle)
		}
	}
}

// reservedAlias matches the alias names MLflow refuses: "latest" and version references.
var reservedAlias = regexp.MustCompile(`^(?i:latest|v\d+)$`)

func (v *validator) registry(field string, r *RegistrySpec) {
	if len(r.Name) > maxRegisteredModelNameSize || r.Name != strings.TrimSpace(r.Name) {
		v.add(field+".name", "must be a registered model name without surrounding blanks, at most %d characters, got %q", maxRegisteredModelNameSize, r.Name)
	}
	for _, a := range []struct{ key, alias string }{{"production", r.Aliases.Production}, {"canary", r.Aliases.Canary}} {
		switch {
		case a.alias == "":
		case len(a.alias) > maxRegistryAliasLength || strings.TrimSpace(a.alias) != a.alias:
			v.add(field+".aliases."+a.key, "must be an alias without surrounding blanks, at most %d characters, got %q", maxRegistryAliasLength, a.alias)
		case reservedAlias.MatchString(a.alias):
			v.add(field+".aliases."+a.key, "must not be %q: MLflow reserves latest and v<number>", a.alias)
		}
	}
	prod, canary := r.Aliases.Production, r.Aliases.Canary
	if prod == "" {
		prod = DefaultProductionAlias
	}
	if canary == "" {
		canary = DefaultCanaryAlias
	}
	if prod == canary {
		v.add(field+".aliases.canary", "must differ from the production alias, got %q for both", canary)
	}
	if c := r.Cleanup; c != nil {
		if c.KeepLast != nil && *c.KeepLast < 1 {
			v.add(field+".cleanup.keepLast", "must be 1 or more, got %d", *c.KeepLast)
		}
		if c.Action != "" {
			v.oneOf(field+".cleanup.action", c.Action, CleanupActions)
		}
		if c.MaxPerCycle != nil && *c.MaxPerCycle < 1 {
			v.add(field+".cleanup.maxPerCycle", "must be 1 or more, got %d", *c.MaxPerCycle)
		}
	}
}
