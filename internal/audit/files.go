package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/medimind/modelops/policies"
)

// fileHasher is what internal/git's tree views offer: a file's blob hash without reading it.
type fileHasher interface {
	FileHash(name string) (string, error)
}

// policyFiles maps every policy file of fsys (*.yaml and *.yml, skipping .git and the paths
// that .modelopsignore files exclude, as policies.Load does) to a key of its content: the
// blob hash when fsys knows it, or a SHA-256 of the bytes.
func policyFiles(fsys fs.FS) (map[string]string, error) {
	hasher, _ := fsys.(fileHasher)
	var names []string
	if err := policies.WalkFiles(fsys, func(name string) { names = append(names, name) }); err != nil {
		return nil, err
	}
	files := make(map[string]string, len(names))
	for _, name := range names {
		key, err := contentKey(fsys, hasher, name)
		if err != nil {
			return nil, err
		}
		files[name] = key
	}
	return files, nil
}

func contentKey(fsys fs.FS, hasher fileHasher, name string) (string, error) {
	if hasher != nil {
		h, err := hasher.FileHash(name)
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", name, err)
		}
		return h, nil
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// parsedDoc is one ModelPolicy document of a file version: valid (policy set) or not (err
// set to its first problem).
type parsedDoc struct {
	name   string
	doc    int
	policy *policies.ModelPolicy
	err    *policies.FieldError
}

// parsedFile is the parse of one file version, independent of the file's name.
type parsedFile struct {
	docs []parsedDoc
	// err is the first problem that belongs to no named document (a YAML syntax error, a
	// document without a name): the models the file held before are invalid, not gone.
	err *policies.FieldError
}

// parseFile parses one file version. Problems are attributed to the document they are in by
// line, so that an invalid document still names its model.
func parseFile(data []byte) *parsedFile {
	ps, perr := policies.Parse("", data)
	out := &parsedFile{}
	for _, p := range ps {
		out.docs = append(out.docs, parsedDoc{name: p.Metadata.Name, doc: p.Doc, policy: &p.ModelPolicy})
	}
	problems := policies.FieldErrors(perr)
	if len(problems) == 0 {
		return out
	}
	valid := map[int]bool{}
	for _, p := range ps {
		valid[p.Doc] = true
	}
	starts := documentStarts(data)
	firstErr := map[int]*policies.FieldError{}
	for _, fe := range problems {
		doc := -1
		for _, s := range starts {
			if fe.Line > 0 && s.line <= fe.Line {
				doc = s.doc
			}
		}
		if doc < 0 && len(starts) == 1 {
			doc = starts[0].doc
		}
		if doc < 0 || valid[doc] {
			if out.err == nil {
				out.err = fe
			}
			continue
		}
		if firstErr[doc] == nil {
			firstErr[doc] = fe
		}
	}
	for _, s := range starts {
		fe := firstErr[s.doc]
		if fe == nil || valid[s.doc] {
			continue
		}
		if s.name == "" {
			if out.err == nil {
				out.err = fe
			}
			continue
		}
		out.docs = append(out.docs, parsedDoc{name: s.name, doc: s.doc, err: fe})
	}
	slices.SortFunc(out.docs, func(a, b parsedDoc) int { return a.doc - b.doc })
	return out
}

// docStart is where a modelops document of a file begins, and the name it gives.
type docStart struct {
	doc, line int
	name      string
}

// documentStarts lists the documents of data that policies.Parse treats as modelops policies,
// with their first line and metadata.name, up to the first YAML syntax error.
func documentStarts(data []byte) []docStart {
	var out []docStart
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 0; ; doc++ {
		var root yaml.Node
		if safeDecode(dec, &root) != nil {
			return out
		}
		n := &root
		if n.Kind == yaml.DocumentNode {
			if len(n.Content) == 0 {
				continue
			}
			n = n.Content[0]
		}
		if n.Kind != yaml.MappingNode || !isModelops(n) {
			continue
		}
		name := ""
		if meta := mapValue(n, "metadata"); meta != nil && meta.Kind == yaml.MappingNode {
			if v := mapValue(meta, "name"); v != nil && v.Kind == yaml.ScalarNode {
				name = v.Value
			}
		}
		out = append(out, docStart{doc: doc, line: n.Line, name: name})
	}
}

// isModelops mirrors policies.Parse: a document is ours when its apiVersion is in our group,
// or when it has no apiVersion and says kind: ModelPolicy.
func isModelops(m *yaml.Node) bool {
	api, kind := mapValue(m, "apiVersion"), mapValue(m, "kind")
	if api != nil {
		value := ""
		if api.Kind == yaml.ScalarNode && api.Tag != "!!null" {
			value = api.Value
		}
		group, _, _ := strings.Cut(value, "/")
		return group == policies.Group
	}
	return kind != nil && kind.Kind == yaml.ScalarNode && kind.Value == policies.KindModelPolicy
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// safeDecode decodes one document; yaml.v3 panics on a few malformed inputs, which must not
// end an audit.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	return dec.Decode(n)
}
