package demo

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/medimind/modelops/examples"
)

// changedLines compares a and b line by line after the common head and tail, as a reviewer
// reads a diff.
func changedLines(a, b string) (removed, added []string) {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	j := 0
	for j < len(al)-i && j < len(bl)-i && al[len(al)-1-j] == bl[len(bl)-1-j] {
		j++
	}
	return al[i : len(al)-j], bl[i : len(bl)-j]
}

func TestSetJobCommandOnTheExamples(t *testing.T) {
	cmd := []string{"/opt/modelops bin/modelops", "demo", "train"}
	for _, tc := range []struct {
		file, model string
		removed     []string
		added       []string
		droppedArgs []string
	}{
		{"models/sepsis-risk.yaml", "sepsis-risk",
			[]string{"      command: [python, -m, sepsis.train]", "      args: [--config, configs/sepsis.yaml]"},
			[]string{`      command: ["/opt/modelops bin/modelops", "demo", "train"]`},
			[]string{"--config", "configs/sepsis.yaml"}},
		{"models/deterioration-wearable.yaml", "deterioration-wearable",
			[]string{"      command: [python, train.py]", "      args: [--window, 15m]"},
			[]string{`      command: ["/opt/modelops bin/modelops", "demo", "train"]`},
			[]string{"--window", "15m"}},
		{"models/readmission-30d.yaml", "readmission-30d",
			[]string{"      command: [python, -m, readmission.train]"},
			[]string{`      command: ["/opt/modelops bin/modelops", "demo", "train"]`},
			nil},
	} {
		t.Run(tc.model, func(t *testing.T) {
			src, err := fs.ReadFile(examples.PolicyRepo(), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			out, edit, err := SetJobCommand(tc.file, src, tc.model, cmd)
			if err != nil {
				t.Fatal(err)
			}
			removed, added := changedLines(string(src), string(out))
			if strings.Join(removed, "\n") != strings.Join(tc.removed, "\n") || strings.Join(added, "\n") != strings.Join(tc.added, "\n") {
				t.Errorf("diff:\n- %s\n+ %s\nwant:\n- %s\n+ %s", strings.Join(removed, "\n- "), strings.Join(added, "\n+ "),
					strings.Join(tc.removed, "\n- "), strings.Join(tc.added, "\n+ "))
			}
			if strings.Join(edit.DroppedArgs, " ") != strings.Join(tc.droppedArgs, " ") || edit.To[0] != cmd[0] {
				t.Errorf("edit = %+v", edit)
			}
			again, _, err := SetJobCommand(tc.file, out, tc.model, cmd)
			if err != nil || string(again) != string(out) {
				t.Errorf("a second edit changed the file again (err %v)", err)
			}
		})
	}
}

const blockJob = `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: m
spec:
  production: {version: "1"}
  retrain:
    generation: 1
    job:
      args:
        - --fast
      command:   # the entrypoint
        - python
        - train.py
      gpus: 0
`

func TestSetJobCommandOnBlockSequences(t *testing.T) {
	out, _, err := SetJobCommand("m.yaml", []byte(blockJob), "m", []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(blockJob, "      args:\n        - --fast\n      command:   # the entrypoint\n        - python\n        - train.py\n",
		"      command: [\"x\"]\n", 1)
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestSetJobCommandRefusesWhatItCannotEditSafely(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"flow job", strings.Replace(blockJob, "    job:\n      args:\n        - --fast\n      command:   # the entrypoint\n        - python\n        - train.py\n      gpus: 0\n",
			"    job: {command: [python], gpus: 0}\n", 1), "flow mapping"},
		{"multi-line flow command", strings.Replace(blockJob, "      command:   # the entrypoint\n        - python\n        - train.py\n",
			"      command: [\n        python, train.py\n      ]\n", 1), "does not parse"},
		{"no such model", blockJob, "no ModelPolicy named other"},
	} {
		model := "m"
		if tc.name == "no such model" {
			model = "other"
		}
		_, _, err := SetJobCommand("m.yaml", []byte(tc.src), model, []string{"x"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}
