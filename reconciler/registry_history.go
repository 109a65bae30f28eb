package reconciler

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/medimind/modelops/policies"
)

// MainlineReader is a Repo that walks its tracked branch's history (git.Tracked). Without it
// spec.registry.cleanup cleans nothing up: a version some commit named must stay servable by
// a git revert, and only the history says which those are.
type MainlineReader interface {
	// MainlineFiles walks the mainline from tip back to stop (left out; "" walks to the
	// root), newest first, calling visit with each commit and the content of the files
	// ending in one of suffixes that it added or changed. It reports whether it met stop.
	MainlineFiles(ctx context.Context, tip, stop string, suffixes []string, visit func(commit string, files map[string][]byte) error) (bool, error)
}

// namedVersions is what the tracked branch's mainline has named, up to tip: by model, every
// version a commit gave as spec.production.version or spec.canary.version. A later tip
// walks only the commits above the last one.
type namedVersions struct {
	tip     string
	byModel map[string]map[string]bool
}

// historyNamed returns the versions the mainline up to snap.Commit named for model, walking
// only the commits not seen by an earlier cycle. It returns nil when the history cannot be
// read: nothing is then cleaned up.
func (r *Reconciler) historyNamed(ctx context.Context, snap *Snapshot, model string) map[string]bool {
	mr, ok := r.repo.(MainlineReader)
	if !ok {
		r.warnOnce(ctx, "read the history for spec.registry.cleanup", model, errors.New("the repository cannot walk its history; no version is cleaned up"))
		return nil
	}
	if r.named == nil || r.named.tip != snap.Commit {
		next := &namedVersions{tip: snap.Commit, byModel: map[string]map[string]bool{}}
		stop := ""
		if r.named != nil {
			// A rewritten history walks to the root; what the old one named stays protected.
			stop, next.byModel = r.named.tip, r.named.byModel
		}
		start := time.Now()
		_, err := mr.MainlineFiles(ctx, snap.Commit, stop, []string{".yaml", ".yml"}, func(_ string, files map[string][]byte) error {
			for _, content := range files {
				for m, versions := range versionsNamedIn(content) {
					if next.byModel[m] == nil {
						next.byModel[m] = map[string]bool{}
					}
					for _, v := range versions {
						next.byModel[m][v] = true
					}
				}
			}
			return ctx.Err()
		})
		if r.warnOnce(ctx, "read the history for spec.registry.cleanup", model, err) {
			return nil
		}
		r.log.DebugContext(ctx, "read the versions the history names", "commit", short(snap.Commit), "from", short(stop), "seconds", time.Since(start).Seconds())
		r.named = next
	}
	out := map[string]bool{}
	for v := range r.named.byModel[model] {
		out[v] = true
	}
	return out
}

// versionsNamedIn reads, from the documents of a policy file as it was at some commit, the
// production and canary versions each model's document gave. Documents that are not model
// policies, or that do not decode, name nothing; a file that is no YAML names nothing.
func versionsNamedIn(content []byte) map[string][]string {
	out := map[string][]string{}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var doc struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
			Spec struct {
				Production *struct {
					Version string `yaml:"version"`
				} `yaml:"production"`
				Canary *struct {
					Version string `yaml:"version"`
				} `yaml:"canary"`
			} `yaml:"spec"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				return out // a syntax error: nothing more can be read
			}
		}
		if !strings.HasPrefix(doc.APIVersion, policies.Group+"/") || doc.Kind != policies.KindModelPolicy || doc.Metadata.Name == "" {
			continue
		}
		name := doc.Metadata.Name
		if pr := doc.Spec.Production; pr != nil && pr.Version != "" {
			out[name] = append(out[name], pr.Version)
		}
		if c := doc.Spec.Canary; c != nil && c.Version != "" {
			out[name] = append(out[name], c.Version)
		}
	}
}
