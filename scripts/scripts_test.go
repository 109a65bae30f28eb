package scripts

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// earlyReader matches a pipe into a command that may stop reading before the writer is done
// (head, grep -q/-m/--quiet/--max-count, sed ...q). Under pipefail the writer's SIGPIPE then
// fails the pipeline, and set -e the script: make stopped with Error 141 on a fresh machine.
var earlyReader = regexp.MustCompile(`(^|[^|])\|\s*(head\b|grep\s+(-[a-zA-Z]*[qm]|--quiet|--silent|--max-count)|sed\s+(-n\s+)?'?[0-9]*q)`)

// TestNoPipeIntoEarlyReader checks every script make and CI run for such a pipe.
func TestNoPipeIntoEarlyReader(t *testing.T) {
	files, err := filepath.Glob("*.sh")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../.ci/run", "../Makefile")
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, "#") {
				continue
			}
			if earlyReader.MatchString(line) {
				t.Errorf("%s:%d: a pipe into a reader that may stop early dies of SIGPIPE under pipefail; capture the output first: %s", f, n, line)
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEarlyReaderPattern keeps the pattern honest: it must catch the lines that broke and let
// the safe forms through.
func TestEarlyReaderPattern(t *testing.T) {
	for _, bad := range []string{
		`"$OUT/etcd" --version | head -1`,
		`prometheus --version 2>&1 | head -1`,
		`x --version | grep -q foo`,
		`x | grep -qx foo`,
		`x |grep -m1 foo`,
		`x | sed 1q`,
	} {
		if !earlyReader.MatchString(bad) {
			t.Errorf("not caught: %s", bad)
		}
	}
	for _, ok := range []string{
		`grep -qx "Kubernetes ${K8S_VERSION}" <<<"$v"`,
		`etcd_ok || build_etcd`,
		`out=$($GO test ./x | tee /dev/stderr)`,
		`x | sed -n 's/a/b/p'`,
		`grep -m1 'model name' /proc/cpuinfo | cut -d: -f2`,
	} {
		if earlyReader.MatchString(ok) {
			t.Errorf("flagged, but safe: %s", ok)
		}
	}
}

// fakeGo stands in for the go command: `go build -o FILE` writes there an "etcd" whose
// --version prints the wanted first line and then far more than a pipe buffer, so that a
// reader stopping after the first line kills it with SIGPIPE; every other call succeeds.
const fakeGo = `#!/usr/bin/env bash
if [ "$1" = build ]; then
	while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
	printf '#!/usr/bin/env bash\necho "etcd Version: 3.6.16"\nseq 1 200000\n' >"$out"
	chmod +x "$out"
fi
`

// TestBuildEtcdSurvivesSIGPIPE runs testenv.sh's build_etcd (sourced, with set -euo
// pipefail as the script has it) against a fake go and checks that it succeeds and reports
// the version: on a fresh machine it died of SIGPIPE after the real build.
func TestBuildEtcdSurvivesSIGPIPE(t *testing.T) {
	dir := t.TempDir()
	goBin := filepath.Join(dir, "go")
	if err := os.WriteFile(goBin, []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	out, work := filepath.Join(dir, "out"), filepath.Join(dir, "work")
	for _, d := range []string{out, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", "-c", `source ./testenv.sh; work=$1; build_etcd; echo "build_etcd returned"`, "bash", work)
	cmd.Env = append(os.Environ(), "GO="+goBin, "MODELOPS_TESTENV_DIR="+out, "ETCD_VERSION=v3.6.16")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build_etcd failed (%v):\n%s", err, b)
	}
	if !strings.Contains(string(b), "built etcd Version: 3.6.16") || !strings.Contains(string(b), "build_etcd returned") {
		t.Errorf("build_etcd did not report the version and return:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(out, "etcd")); err != nil {
		t.Errorf("no etcd in the output directory: %v", err)
	}
}
