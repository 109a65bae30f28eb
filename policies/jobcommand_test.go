package policies_test

import (
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/medimind/modelops/examples"
	"github.com/medimind/modelops/policies"
)

// TestSetJobCommandOnTheExamples replaces the training command of the example policies (flow
// lists, with and without args) and checks the diff a reviewer would read.
func TestSetJobCommandOnTheExamples(t *testing.T) {
	cmd := []string{"/opt/modelops bin/modelops", "demo", "train"}
	const added = "      command: [/opt/modelops bin/modelops, demo, train]"
	for _, tc := range []struct {
		file, model   string
		command, args []string
		removed       []string
	}{
		{"models/sepsis-risk.yaml", "sepsis-risk", []string{"python", "-m", "sepsis.train"}, []string{"--config", "configs/sepsis.yaml"},
			[]string{"      command: [python, -m, sepsis.train]", "      args: [--config, configs/sepsis.yaml]"}},
		{"models/deterioration-wearable.yaml", "deterioration-wearable", []string{"python", "train.py"}, []string{"--window", "15m"},
			[]string{"      command: [python, train.py]", "      args: [--window, 15m]"}},
		{"models/readmission-30d.yaml", "readmission-30d", []string{"python", "-m", "readmission.train"}, nil,
			[]string{"      command: [python, -m, readmission.train]"}},
	} {
		t.Run(tc.model, func(t *testing.T) {
			src, err := fs.ReadFile(examples.PolicyRepo(), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			ed := policies.SetJobCommand{From: tc.command, To: cmd, DroppedArgs: tc.args}
			out, err := policies.Apply(src, tc.model, ed)
			if err != nil {
				t.Fatal(err)
			}
			inSrc, inOut := lineDiff(string(src), string(out))
			if got, want := pick(string(src), inSrc)+"\n+"+pick(string(out), inOut), strings.Join(tc.removed, "\n")+"\n+"+added; got != want {
				t.Errorf("diff:\n%s\nwant:\n%s", got, want)
			}
			p := decodePolicy(t, out, tc.model)
			if job := p.Spec.Retrain.Job; strings.Join(job.Command, "|") != strings.Join(cmd, "|") || job.Args != nil {
				t.Errorf("reads back as command %q args %q", job.Command, job.Args)
			}
			again, err := policies.Apply(out, tc.model, ed)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("a second edit changed the file again (err %v)", err)
			}
		})
	}
}

// pick returns the 1-based lines idx of s, joined.
func pick(s string, idx []int) string {
	lines := strings.Split(s, "\n")
	var out []string
	for _, i := range idx {
		out = append(out, lines[i-1])
	}
	return strings.Join(out, "\n")
}

const jobHead = "apiVersion: modelops.medimind.io/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: m\nspec:\n  production: {version: \"1\"}\n  retrain:\n    generation: 1\n"

// TestSetJobCommandShapes covers the list and job shapes beyond the examples, with the
// exact result.
func TestSetJobCommandShapes(t *testing.T) {
	tests := []struct {
		name, src, want string
		edit            policies.SetJobCommand
	}{
		{"block list keeps its style and the comment after the key",
			"    job:\n      args:\n        - --fast\n      command:   # the entrypoint\n        - python   # interpreter\n        - train.py\n      gpus: 0\n",
			"    job:\n      command:   # the entrypoint\n        - x\n        - \"true\"\n      gpus: 0\n",
			policies.SetJobCommand{From: []string{"python", "train.py"}, To: []string{"x", "true"}, DroppedArgs: []string{"--fast"}}},
		{"block list at the end of a file without a final line break",
			"    job:\n      command:\n      - python\n      - train.py",
			"    job:\n      command:\n      - x",
			policies.SetJobCommand{From: []string{"python", "train.py"}, To: []string{"x"}}},
		{"quoted flow list: each item quoted as the one it replaces",
			"    job:\n      command: [\"python\", 'train.py']  # entry\n      gpus: 0\n",
			"    job:\n      command: [\"x\", 'a, b']  # entry\n      gpus: 0\n",
			policies.SetJobCommand{From: []string{"python", "train.py"}, To: []string{"x", "a, b"}}},
		{"flow job mapping",
			"    job: {command: [python], args: [--fast], gpus: 0}\n",
			"    job: {command: [x], gpus: 0}\n",
			policies.SetJobCommand{From: []string{"python"}, To: []string{"x"}, DroppedArgs: []string{"--fast"}}},
		{"missing command inserted after the image",
			"    job:\n      image: train:1\n      gpus: 0\n",
			"    job:\n      image: train:1\n      command: [x, \"1\"]\n      gpus: 0\n",
			policies.SetJobCommand{To: []string{"x", "1"}}},
		{"null command filled",
			"    job:\n      command: ~\n",
			"    job:\n      command: [x]\n",
			policies.SetJobCommand{To: []string{"x"}}},
		{"CRLF",
			"    job:\r\n      command:\r\n        - python\r\n      args: [--fast]\r\n      gpus: 0\r\n",
			"    job:\r\n      command:\r\n        - x\r\n        - y\r\n      gpus: 0\r\n",
			policies.SetJobCommand{From: []string{"python"}, To: []string{"x", "y"}, DroppedArgs: []string{"--fast"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := jobHead
			if strings.Contains(tt.src, "\r\n") {
				head = strings.ReplaceAll(head, "\n", "\r\n")
			}
			out, err := policies.Apply([]byte(head+tt.src), "m", tt.edit)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := strings.TrimPrefix(string(out), head); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			again, err := policies.Apply(out, "m", tt.edit)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("edit again: %v\n%s", err, again)
			}
		})
	}
}

func TestSetJobCommandRefuses(t *testing.T) {
	const job = "    job:\n      command: [python]\n      args: [--fast]\n"
	tests := []struct {
		name, src string
		edit      policies.SetJobCommand
		want      string
		is        error
	}{
		{"another command", job, policies.SetJobCommand{From: []string{"R"}, To: []string{"x"}, DroppedArgs: []string{"--fast"}}, `command ["python"]`, policies.ErrConflict},
		{"other args", job, policies.SetJobCommand{From: []string{"python"}, To: []string{"x"}}, `args ["--fast"]`, policies.ErrConflict},
		{"no job", "", policies.SetJobCommand{To: []string{"x"}}, "spec.retrain.job is not set", nil},
		{"empty command", job, policies.SetJobCommand{From: []string{"python"}, DroppedArgs: []string{"--fast"}}, "empty", nil},
		{"multi-line flow list", "    job:\n      command: [\n        python]\n", policies.SetJobCommand{From: []string{"python"}, To: []string{"x"}}, "over several lines", nil},
		{"command is a string", "    job:\n      command: python\n", policies.SetJobCommand{From: []string{"python"}, To: []string{"x"}}, "expected a list", nil},
		{"command anchored and used elsewhere", "    job:\n      command: &c [python]\n      args: *c\n", policies.SetJobCommand{From: []string{"python"}, To: []string{"x"}, DroppedArgs: []string{"python"}}, "shared", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(jobHead + tt.src)
			out, err := policies.Apply(src, "m", tt.edit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q; output:\n%s", err, tt.want, out)
			}
			if errors.Is(err, policies.ErrConflict) != (tt.is == policies.ErrConflict) {
				t.Errorf("err = %v, conflict %v", err, errors.Is(err, policies.ErrConflict))
			}
		})
	}
}
