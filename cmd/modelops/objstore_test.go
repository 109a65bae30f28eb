//go:build !lite

package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/objstore"
	"github.com/medimind/modelops/internal/testutil/gitserver"
	"github.com/medimind/modelops/internal/testutil/s3fake"
)

// objectPolicy is a model whose drift check reads reference and current from the data
// paths given.
func objectPolicy(name, reference, current string) string {
	return fmt.Sprintf(`apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata:
  name: %s
spec:
  data:
    reference: {path: %q}
    current: {path: %q}
    categorical: [ward, sex]
    exclude: [id]
`, name, reference, current)
}

// TestReconcileReadsObjectStorageAndAFailingStoreFailsOnlyItsModel runs one cycle over
// models whose data is in S3 (a real S3 API on loopback): one whose objects are there
// (CSV and gzip CSV), one whose object is missing, one whose bucket refuses the
// credentials of the environment, one whose server does not answer. Each failure is that
// model's error, saying what went wrong, and the others are checked; the secret key
// appears nowhere.
func TestReconcileReadsObjectStorageAndAFailingStoreFailsOnlyItsModel(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(driftData, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(read("current.csv"))
	zw.Close()

	store := s3fake.Start(t, s3fake.KeyID)
	otherAccount := s3fake.Start(t, "AKIAANOTHERACCOUNT") // refuses the environment's key
	silent := s3fake.Start(t, s3fake.KeyID)
	for _, s := range []*s3fake.Server{store, otherAccount, silent} {
		s.Put(t, "sepsis/reference.csv", read("reference.csv"))
		s.Put(t, "sepsis/current.csv.gz", gz.Bytes())
	}
	silent.Delay(time.Minute)
	s3fake.UseCredentials(t, "")
	// The process's buckets, with a short stall bound for the silent server.
	saved := objstore.Default
	objstore.Default = objstore.New(objstore.Options{Stall: 300 * time.Millisecond})
	t.Cleanup(func() { objstore.Default.Close(); objstore.Default = saved })

	bare := bareRepo(t, map[string]string{
		"models/in-s3.yaml":   objectPolicy("in-s3", store.Path("sepsis/reference.csv"), store.Path("sepsis/current.csv.gz")),
		"models/missing.yaml": objectPolicy("missing", store.Path("sepsis/gone.csv"), store.Path("sepsis/current.csv.gz")),
		"models/denied.yaml":  objectPolicy("denied", otherAccount.Path("sepsis/reference.csv"), store.Path("sepsis/current.csv.gz")),
		"models/silent.yaml":  objectPolicy("silent", silent.Path("sepsis/reference.csv"), store.Path("sepsis/current.csv.gz")),
		"models/local.yaml":   dataPolicy("local", "data/reference.csv"),
		"data/reference.csv":  string(read("reference.csv")),
		"data/current.csv":    string(read("current.csv")),
	})

	code, out, errOut := runCLI(t, "reconcile", "--once", "--repo", bare, "--state-dir", t.TempDir(), "-o", "json", "--log-level", "debug")
	var res struct {
		Actions []struct {
			Action struct{ Kind, Model string }
			Error  string
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("exit %d, output %q, stderr %s: %v", code, out, errOut, err)
	}
	got := map[string]string{}
	for _, a := range res.Actions {
		if a.Action.Kind == "check-drift" {
			got[a.Action.Model] = a.Error
		}
	}
	want := map[string]string{
		"in-s3":   "",
		"local":   "",
		"missing": "check drift of missing: read s3://data/sepsis/gone.csv: no such object",
		"denied":  "check drift of denied: s3://data/sepsis/reference.csv: access denied: the credentials from the environment (AWS_ACCESS_KEY_ID",
		"silent":  "check drift of silent: s3://data/sepsis/reference.csv: no answer from the object store for 300ms",
	}
	for model, w := range want {
		g, ok := got[model]
		switch {
		case !ok:
			t.Errorf("no drift check of %s ran", model)
		case w == "" && g != "":
			t.Errorf("drift check of %s failed: %s", model, g)
		case !strings.HasPrefix(g, w) || w == "" && g != "":
			t.Errorf("drift check of %s: error %q, want it to start %q", model, g, w)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1 (three drift checks failed)", code)
	}
	if all := out + errOut + gitserver.MustGit(t, bare, "log", "-p", "modelops/status"); strings.Contains(all, s3fake.Secret) {
		t.Error("the secret key is in the output, the logs or the status branch")
	}
	// The report of the model read from S3 is on the status branch, naming its objects.
	reports := gitserver.MustGit(t, bare, "log", "-p", "modelops/status", "--", "reports/in-s3")
	if !strings.Contains(reports, `"drifted"`) {
		t.Errorf("no drift report of in-s3 on the status branch:\n%.2000s", reports)
	}
}

// TestDriftReadsObjectsNamedOnTheCommandLine: modelops drift takes s3:// paths for
// --reference and --current, and a missing object is invalid input (exit 2), as a missing
// file is.
func TestDriftReadsObjectsNamedOnTheCommandLine(t *testing.T) {
	store := s3fake.Start(t, s3fake.KeyID)
	s3fake.UseCredentials(t, "")
	for _, name := range []string{"reference.csv", "current.csv"} {
		b, err := os.ReadFile(filepath.Join(driftData, name))
		if err != nil {
			t.Fatal(err)
		}
		store.Put(t, "sepsis/"+name, b)
	}
	local, want, _ := runCLI(t, "drift", "--reference", filepath.Join(driftData, "reference.csv"), "--current", filepath.Join(driftData, "current.csv"), "--categorical", "ward,sex", "-o", "json")
	if local != 0 {
		t.Fatalf("drift of the local files: exit %d", local)
	}
	code, got, errOut := runCLI(t, "drift", "--reference", store.Path("sepsis/reference.csv"), "--current", store.Path("sepsis/current.csv"), "--categorical", "ward,sex", "-o", "json")
	if code != 0 {
		t.Fatalf("drift of the objects: exit %d: %s", code, errOut)
	}
	if got != want {
		t.Errorf("the report of the objects differs from the local files':\n%.1500s\nwant\n%.1500s", got, want)
	}
	code, _, errOut = runCLI(t, "drift", "--reference", store.Path("sepsis/gone.csv"), "--current", store.Path("sepsis/current.csv"), "-o", "json")
	if code != 2 || !strings.Contains(errOut, "s3://data/sepsis/gone.csv: no such object") {
		t.Errorf("drift of a missing object: exit %d, %s; want 2 and the object named", code, errOut)
	}
}

// TestEvaluateReadsAPredictionLogInObjectStorage: modelops evaluate --predictions s3://...
// gives the figures of the same log read from a file.
func TestEvaluateReadsAPredictionLogInObjectStorage(t *testing.T) {
	store := s3fake.Start(t, s3fake.KeyID)
	s3fake.UseCredentials(t, "")
	file := filepath.Join(evaluateData, "versions.csv")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	store.Put(t, "logs/versions.csv", b)
	code, want, errOut := runCLI(t, "evaluate", "--predictions", file, "-o", "json")
	if code != 0 {
		t.Fatalf("evaluate of the file: exit %d: %s", code, errOut)
	}
	code, got, errOut := runCLI(t, "evaluate", "--predictions", store.Path("logs/versions.csv"), "-o", "json")
	if code != 0 || got != want {
		t.Errorf("evaluate of the object: exit %d, %s\n%s\nwant\n%s", code, errOut, got, want)
	}
}
