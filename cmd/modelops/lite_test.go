package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLiteBuildLeavesOutKubernetesGitHubAndPrometheus checks what make demo builds: the lite
// binary compiles, none of the three heavy clients is among its packages, and it runs the
// commands of the embedded defaults while saying what it lacks.
func TestLiteBuildLeavesOutKubernetesGitHubAndPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	out, err := exec.Command("go", "list", "-deps", "-tags", "lite", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, heavy := range []string{"k8s.io/client-go/", "github.com/google/go-github/", "github.com/prometheus/client_golang/", "gocloud.dev/", "github.com/aws/aws-sdk-go-v2/"} {
		if strings.Contains(string(out), heavy) {
			t.Errorf("the lite build imports %s", heavy)
		}
	}
	bin := filepath.Join(t.TempDir(), "modelops")
	if b, err := exec.Command("go", "build", "-tags", "lite", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags lite: %v\n%s", err, b)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(badPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command(bin, "validate", dir).CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(b), "p.yaml:") {
		t.Errorf("lite validate of an invalid policy: exit %d, %s", code, b)
	}
	b, err = exec.Command(bin, "run", "--repo", dir).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(b), "built with -tags lite") {
		t.Errorf("lite run: exit %d, %s; want 1 and the reason", code, b)
	}
	b, err = exec.Command(bin, "demo", "ui", "--dir", dir).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(b), "built with -tags lite") || !strings.Contains(string(b), "demo ui") {
		t.Errorf("lite demo ui: exit %d, %s; want 1 and the reason", code, b)
	}
	b, err = exec.Command(bin, "reconcile", "--help").CombinedOutput()
	if err != nil || strings.Contains(string(b), "--kubeconfig") || strings.Contains(string(b), "--github") {
		t.Errorf("lite reconcile --help (%v) lists flags it cannot use:\n%s", err, b)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
