package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/medimind/modelops/policies"
)

// JobEdit is what SetJobCommand changed in one policy.
type JobEdit struct {
	File, Model string
	// From and To are the old and new spec.retrain.job.command.
	From, To []string
	// DroppedArgs were spec.retrain.job.args.
	DroppedArgs []string
}

// SetJobCommand rewrites spec.retrain.job.command of the ModelPolicy named model in src (the
// bytes of file) to command, and removes spec.retrain.job.args, so that the job runs locally.
// policies.Apply has no edit for the job, so the lines are edited as text: the lines of the
// two entries are replaced (command, as a one-line flow sequence keeping its line comment)
// or deleted (args); every other byte is kept. The result is parsed again and must equal the
// original policy in everything but those two fields, or an error is returned.
func SetJobCommand(file string, src []byte, model string, command []string) ([]byte, *JobEdit, error) {
	if len(command) == 0 {
		return nil, nil, errors.New("set job command: the command is empty")
	}
	before, err := parsePolicy(file, src, model)
	if err != nil {
		return nil, nil, err
	}
	if before.Spec.Retrain == nil || before.Spec.Retrain.Job == nil {
		return nil, nil, fmt.Errorf("%s: model %s has no spec.retrain.job", file, model)
	}
	job, err := jobNode(src, model)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	if job.Style&yaml.FlowStyle != 0 {
		return nil, nil, fmt.Errorf("%s:%d: spec.retrain.job is a flow mapping; only block style is edited", file, job.Line)
	}
	flow, err := flowSequence(command)
	if err != nil {
		return nil, nil, err
	}

	lines := strings.SplitAfter(string(src), "\n")
	// Edits go bottom-up so that earlier line numbers stay valid.
	type span struct {
		first, last int // 1-based, inclusive
		repl        string
	}
	var spans []span
	for i := 0; i+1 < len(job.Content); i += 2 {
		k, v := job.Content[i], job.Content[i+1]
		switch k.Value {
		case "command":
			line := strings.Repeat(" ", k.Column-1) + "command: " + flow
			if v.LineComment != "" {
				line += " " + v.LineComment
			}
			spans = append(spans, span{k.Line, lastLine(v), line + eol(lines[lastLine(v)-1])})
		case "args":
			spans = append(spans, span{k.Line, lastLine(v), ""})
		}
	}
	if len(spans) == 0 {
		return nil, nil, fmt.Errorf("%s:%d: spec.retrain.job has no command line to replace", file, job.Line)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].first < spans[j].first })
	for i := len(spans) - 1; i >= 0; i-- {
		s := spans[i]
		if i > 0 && spans[i-1].last >= s.first {
			return nil, nil, fmt.Errorf("%s:%d: command and args share a line; cannot edit them apart", file, s.first)
		}
		tail := append([]string{}, lines[s.last:]...)
		lines = append(lines[:s.first-1], s.repl)
		lines = append(lines, tail...)
	}
	out := []byte(strings.Join(lines, ""))

	after, err := parsePolicy(file, out, model)
	if err != nil {
		return nil, nil, fmt.Errorf("the edited file does not parse: %w", err)
	}
	aj, bj := *after.Spec.Retrain.Job, *before.Spec.Retrain.Job
	if !reflect.DeepEqual(aj.Command, command) || len(aj.Args) != 0 {
		return nil, nil, fmt.Errorf("%s: the edit reads back as command %q args %q", file, aj.Command, aj.Args)
	}
	// Everything else must be untouched.
	bCopy, aCopy := before.ModelPolicy, after.ModelPolicy
	bRetrain, aRetrain := *bCopy.Spec.Retrain, *aCopy.Spec.Retrain
	bj.Command, bj.Args, aj.Command, aj.Args = nil, nil, nil, nil
	bRetrain.Job, aRetrain.Job = &bj, &aj
	bCopy.Spec.Retrain, aCopy.Spec.Retrain = &bRetrain, &aRetrain
	if !reflect.DeepEqual(bCopy, aCopy) {
		return nil, nil, fmt.Errorf("%s: the edit changed more than spec.retrain.job.command and args", file)
	}
	return out, &JobEdit{File: file, Model: model, From: before.Spec.Retrain.Job.Command, To: command, DroppedArgs: before.Spec.Retrain.Job.Args}, nil
}

func parsePolicy(file string, src []byte, model string) (*policies.Policy, error) {
	ps, err := policies.Parse(file, src)
	for _, p := range ps {
		if p.Metadata.Name == model {
			return p, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%s: no ModelPolicy named %s", file, model)
}

// jobNode finds the spec.retrain.job mapping of the ModelPolicy document named model.
func jobNode(src []byte, model string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no ModelPolicy named %s", model)
		} else if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if value(root, "kind") == nil || value(root, "kind").Value != "ModelPolicy" {
			continue
		}
		if name := value(value(root, "metadata"), "name"); name == nil || name.Value != model {
			continue
		}
		job := value(value(value(root, "spec"), "retrain"), "job")
		if job == nil || job.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("model %s has no spec.retrain.job mapping", model)
		}
		return job, nil
	}
}

// value returns the value of key in mapping m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// lastLine is the last line holding part of n. A multi-line flow sequence ending on a line
// of its own ("]") is not covered; the read-back check in SetJobCommand refuses that edit.
func lastLine(n *yaml.Node) int {
	last := n.Line
	for _, c := range n.Content {
		last = max(last, lastLine(c))
	}
	return last
}

func eol(line string) string {
	switch {
	case strings.HasSuffix(line, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(line, "\n"):
		return "\n"
	}
	return ""
}

// flowSequence renders items as a YAML flow sequence of double-quoted scalars (JSON strings
// are valid YAML double-quoted scalars).
func flowSequence(items []string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(items); err != nil {
		return "", fmt.Errorf("encode command: %w", err)
	}
	return strings.ReplaceAll(strings.TrimSpace(b.String()), `","`, `", "`), nil
}
