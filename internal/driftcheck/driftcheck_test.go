package driftcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/medimind/modelops/internal/dataset"
	"github.com/medimind/modelops/policies"
)

// Two columns: lactate shifted far beyond the reference (KS p tiny: drift), age identical
// on both sides (KS D = 0, p = 1: no drift). Half the columns drift, which is dataset drift
// at the default share (>= 0.5).
func csvs() (ref, cur string) {
	var r, c strings.Builder
	r.WriteString("patient_id,lactate,age\n")
	c.WriteString("patient_id,lactate,age\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&r, "p%d,%d,%d\n", i, i, 40+i)
		fmt.Fprintf(&c, "q%d,%d,%d\n", i, i+100, 40+i)
	}
	return r.String(), c.String()
}

func policy(t *testing.T, data string) *policies.Policy {
	t.Helper()
	src := `apiVersion: modelops.medimind.io/v1alpha1
kind: ModelPolicy
metadata: {name: sepsis-risk}
spec:
  data:
` + data + `
    exclude: [patient_id]
    groups:
      labs: {features: [lactate]}
      demographics: {features: [age]}
`
	ps, err := policies.Parse("models/sepsis-risk.yaml", []byte(src))
	if err != nil || len(ps) != 1 {
		t.Fatalf("parse test policy: %v", err)
	}
	return ps[0]
}

func TestCheckReadsThePolicysDataAndReportsItsGroups(t *testing.T) {
	ref, cur := csvs()
	data := fstest.MapFS{"data/ref.csv": {Data: []byte(ref)}, "data/cur.csv": {Data: []byte(cur)}}
	p := policy(t, "    reference: {path: data/ref.csv}\n    current: {path: data/cur.csv}")
	res, err := New(nil).Check(context.Background(), p, data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Drifted || res.DriftedColumns != 1 || res.Columns != 2 || res.Share != 0.5 {
		t.Fatalf("result = %+v, want 1 of 2 columns drifted (share 0.5, dataset drift)", res)
	}
	var rep struct {
		Columns []struct {
			Name    string  `json:"name"`
			Test    string  `json:"test"`
			Score   float64 `json:"score"`
			Drifted bool    `json:"drifted"`
		} `json:"columns"`
		Groups []struct {
			Name    string `json:"name"`
			Drifted bool   `json:"drifted"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(res.Report, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Columns) != 2 || rep.Columns[1].Name != "age" || rep.Columns[1].Score != 1 || rep.Columns[1].Test != "ks" {
		t.Fatalf("columns = %+v, want age with KS p = 1 (identical samples)", rep.Columns)
	}
	// Groups come sorted by name, each with its own verdict.
	if len(rep.Groups) != 2 || rep.Groups[0].Name != "demographics" || rep.Groups[0].Drifted || !rep.Groups[1].Drifted {
		t.Fatalf("groups = %+v, want demographics clean and labs drifted", rep.Groups)
	}
}

func TestCheckDownloadsURLSourcesAndNamesThemInErrors(t *testing.T) {
	ref, cur := csvs()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ref.csv":
			fmt.Fprint(w, ref)
		case "/cur.csv":
			fmt.Fprint(w, cur)
		case "/bad.csv":
			fmt.Fprint(w, "lactate,age\n1,2\n3\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := New(srv.Client())
	ctx := context.Background()

	p := policy(t, fmt.Sprintf("    reference: {url: %q}\n    current: {url: %q}", srv.URL+"/ref.csv", srv.URL+"/cur.csv"))
	res, err := c.Check(ctx, p, nil, time.Now())
	if err != nil || res.DriftedColumns != 1 {
		t.Fatalf("Check over http = %+v, %v", res, err)
	}

	p = policy(t, fmt.Sprintf("    reference: {url: %q}\n    current: {url: %q}", srv.URL+"/ref.csv", srv.URL+"/missing.csv"))
	if _, err := c.Check(ctx, p, nil, time.Now()); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "/missing.csv: 404") {
		t.Fatalf("a 404 = %v, want a not-exist error naming the URL", err)
	}

	p = policy(t, fmt.Sprintf("    reference: {url: %q}\n    current: {url: %q}", srv.URL+"/ref.csv", srv.URL+"/bad.csv"))
	_, err = c.Check(ctx, p, nil, time.Now())
	var de *dataset.DataError
	if !errors.As(err, &de) || de.Source != srv.URL+"/bad.csv" || de.Line != 3 {
		t.Fatalf("a ragged downloaded file = %v, want a data error naming the URL and line 3", err)
	}
}

func TestOptionsMapThePolicy(t *testing.T) {
	p := policy(t, "    reference: {path: a.csv}\n    current: {path: b.csv}\n    categorical: [ward]\n    numeric: [code]")
	read, cmp := Options(p)
	if strings.Join(read.Categorical, ",") != "ward" || strings.Join(read.Numeric, ",") != "code" || strings.Join(read.Exclude, ",") != "patient_id" {
		t.Fatalf("reader options = %+v", read)
	}
	if cmp.NumericTest != "auto" || cmp.CategoricalTest != "auto" || len(cmp.Groups) != 2 || cmp.Groups[0].Name != "demographics" {
		t.Fatalf("engine options = %+v", cmp)
	}
	if cmp.DatasetShare == nil || *cmp.DatasetShare != 0.5 {
		t.Fatalf("dataset share = %v, want the policy's default 0.5", cmp.DatasetShare)
	}
}

func TestPolicyLimitsAndInvalidValuesReachTheReader(t *testing.T) {
	ref, cur := csvs()
	// Line 4 of the current file holds a word where the reference has numbers.
	cur = strings.Replace(cur, "q2,102,", "q2,abc,", 1)
	data := fstest.MapFS{"data/ref.csv": {Data: []byte(ref)}, "data/cur.csv": {Data: []byte(cur)}}
	sources := "    reference: {path: data/ref.csv}\n    current: {path: data/cur.csv}\n"

	_, err := New(nil).Report(context.Background(), policy(t, sources), data)
	if want := `data/cur.csv: line 4: column "lactate": want a number, got "abc"`; err == nil || err.Error() != want {
		t.Errorf("default: got %v\nwant %s", err, want)
	}

	rep, err := New(nil).Report(context.Background(), policy(t, sources+"    invalidValues: ignore"), data)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Columns[0]; c.Name != "lactate" || c.Kind != "numeric" || c.InvalidCurrent != 1 || c.MissingCurrent != 0 || c.NCurrent != 49 {
		t.Errorf("ignore: lactate = %+v, want numeric with 1 invalid value", c)
	}

	_, err = New(nil).Report(context.Background(), policy(t, sources+"    limits: {maxRows: 10}"), data)
	if want := "data/ref.csv: 11 rows, more than the limit maxRows = 10"; err == nil || !errors.Is(err, dataset.ErrLimit) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("limits: got %v\nwant %s", err, want)
	}
}
