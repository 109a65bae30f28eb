package mlflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/registry/mlflow"
	"github.com/medimind/modelops/internal/testutil/mlflowfake"
)

// fastRetries keeps the backoff short so that retry tests take milliseconds.
var fastRetries = mlflow.Options{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxRetryAfter: 10 * time.Millisecond}

func newClient(t *testing.T, fake *mlflowfake.Server, cfg mlflow.Config, opts mlflow.Options) *mlflow.Client {
	t.Helper()
	cfg.TrackingURI = fake.URL()
	c, err := mlflow.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seeded is a registry holding sepsis-risk versions 1..3 with champion on 1.
func seeded(t *testing.T, opts ...mlflowfake.Option) (*mlflowfake.Server, *mlflow.Client) {
	fake := mlflowfake.New(t, opts...)
	for i := 1; i <= 3; i++ {
		fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: fmt.Sprintf("s3://models/%d", i), RunID: fmt.Sprintf("run%d", i)})
	}
	fake.MoveAlias("sepsis-risk", "champion", "1")
	return fake, newClient(t, fake, mlflow.Config{}, fastRetries)
}

func TestAliasesAreSetMovedAndDeleted(t *testing.T) {
	fake, c := seeded(t)
	ctx := context.Background()
	if err := c.SetAlias(ctx, "sepsis-risk", "challenger", "3"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAlias(ctx, "sepsis-risk", "champion", "2"); err != nil {
		t.Fatal(err)
	}
	m, err := c.GetRegisteredModel(ctx, "sepsis-risk")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.AliasVersions(); len(got) != 2 || got["champion"] != "2" || got["challenger"] != "3" {
		t.Fatalf("aliases = %v, want champion→2 challenger→3", got)
	}
	v, err := c.GetVersionByAlias(ctx, "sepsis-risk", "champion")
	if err != nil || v.Version != "2" || len(v.Aliases) != 1 || v.Aliases[0] != "champion" {
		t.Fatalf("champion's version = %+v, %v; want version 2 listing the alias", v, err)
	}
	if v, _ := c.GetModelVersion(ctx, "sepsis-risk", "1"); len(v.Aliases) != 0 {
		t.Fatalf("version 1 still lists %v after champion moved", v.Aliases)
	}
	if err := c.DeleteAlias(ctx, "sepsis-risk", "challenger"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAlias(ctx, "sepsis-risk", "challenger"); err != nil {
		t.Fatalf("deleting an absent alias: %v, want no error as MLflow", err)
	}
	if got := fake.Aliases("sepsis-risk"); len(got) != 1 || got["champion"] != "2" {
		t.Fatalf("aliases = %v, want only champion→2", got)
	}
}

func TestModelVersionStatusTurnsReadyAfterTheRegistrationDelay(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	fake := mlflowfake.New(t, mlflowfake.WithClock(func() time.Time { return now }), mlflowfake.WithReadyAfter(time.Minute))
	c := newClient(t, fake, mlflow.Config{}, fastRetries)
	v14 := fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m/14"})
	stuck := fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m/15", NeverReady: true})
	failed := fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m/16", Failure: "artifact copy failed"})
	ctx := context.Background()
	status := func(version string) (string, string) {
		t.Helper()
		v, err := c.GetModelVersion(ctx, "sepsis-risk", version)
		if err != nil {
			t.Fatal(err)
		}
		return v.Status, v.StatusMessage
	}
	if s, _ := status(v14); s != mlflow.StatusPending {
		t.Fatalf("new version status %s, want %s", s, mlflow.StatusPending)
	}
	now = now.Add(time.Minute)
	if s, _ := status(v14); s != mlflow.StatusReady {
		t.Fatalf("status after the delay %s, want READY", s)
	}
	now = now.Add(24 * time.Hour)
	if s, _ := status(stuck); s != mlflow.StatusPending {
		t.Fatalf("never-ready version status %s", s)
	}
	if s, msg := status(failed); s != mlflow.StatusFailed || msg != "artifact copy failed" {
		t.Fatalf("failed version: %s %q", s, msg)
	}
}

func TestSearchModelVersionsFollowsPagesWithTheFilter(t *testing.T) {
	fake := mlflowfake.New(t)
	tags := map[string]string{"modelops.model": "sepsis-risk", "modelops.generation": "7"}
	var want []string
	for i := 0; i < 5; i++ {
		want = append([]string{fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m", Tags: tags})}, want...)
		fake.CreateVersion("sepsis-risk", mlflowfake.VersionSpec{Source: "s3://m", Tags: map[string]string{"modelops.generation": "6"}})
	}
	fake.CreateVersion("other", mlflowfake.VersionSpec{Source: "s3://m", Tags: tags})
	opts := fastRetries
	opts.PageSize = 2
	c := newClient(t, fake, mlflow.Config{}, opts)
	got, err := c.SearchModelVersions(context.Background(), mlflow.VersionFilter{Name: "sepsis-risk", Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, v := range got {
		versions = append(versions, v.Version)
	}
	if strings.Join(versions, ",") != strings.Join(want, ",") {
		t.Fatalf("versions %v, want %v (newest first)", versions, want)
	}
	var searches, withToken int
	for _, call := range fake.Calls() {
		if call.Endpoint == "model-versions/search" {
			searches++
			if strings.Contains(call.Query, "page_token=") {
				withToken++
			}
			if !strings.Contains(call.Query, "filter=name+%3D+%27sepsis-risk%27+AND+tags.%60modelops.generation%60+%3D+%277%27+AND+tags.%60modelops.model%60") {
				t.Errorf("search query %s does not carry the filter in MLflow's syntax", call.Query)
			}
		}
	}
	if searches != 3 || withToken != 2 {
		t.Fatalf("%d searches (%d with a page token), want 3 pages of 2", searches, withToken)
	}
}

func TestVersionFilterIsWrittenInMLflowSyntax(t *testing.T) {
	for _, tc := range []struct {
		f       mlflow.VersionFilter
		want    string
		wantErr bool
	}{
		{f: mlflow.VersionFilter{Name: "sepsis-risk"}, want: "name = 'sepsis-risk'"},
		{f: mlflow.VersionFilter{Name: "o'brien", RunID: "abc"}, want: `name = "o'brien" AND run_id = 'abc'`},
		{f: mlflow.VersionFilter{Tags: map[string]string{"b": "2", "a.x": "1"}}, want: "tags.`a.x` = '1' AND tags.`b` = '2'"},
		{f: mlflow.VersionFilter{Name: `a'b"c`}, wantErr: true},
		{f: mlflow.VersionFilter{}, wantErr: true},
	} {
		got, err := tc.f.Build()
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%+v.Build() = %q, %v; want %q (error %v)", tc.f, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestVersionTagsAreSetAndVersionsDeleted(t *testing.T) {
	fake, c := seeded(t)
	ctx := context.Background()
	if err := c.SetModelVersionTag(ctx, "sepsis-risk", "2", "modelops.gate", "passed sha256:abc"); err != nil {
		t.Fatal(err)
	}
	v, err := c.GetModelVersion(ctx, "sepsis-risk", "2")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v.Tag("modelops.gate"); got != "passed sha256:abc" {
		t.Fatalf("tag = %q", got)
	}
	if err := c.DeleteModelVersion(ctx, "sepsis-risk", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetModelVersion(ctx, "sepsis-risk", "1"); !errors.Is(err, mlflow.ErrNotFound) {
		t.Fatalf("deleted version: %v, want ErrNotFound", err)
	}
	if got := fake.Aliases("sepsis-risk"); len(got) != 0 {
		t.Fatalf("aliases %v survived the deletion of their version", got)
	}
	if err := c.DeleteModelVersion(ctx, "sepsis-risk", "1"); !errors.Is(err, mlflow.ErrNotFound) {
		t.Fatalf("deleting again: %v, want ErrNotFound", err)
	}
}

func TestGetRunReadsMetricsParamsTagsAndDatasetDigests(t *testing.T) {
	fake := mlflowfake.New(t)
	fake.AddRun(mlflowfake.RunSpec{
		ID: "r14", Name: "train-14",
		Metrics:  map[string]float64{"auroc": 0.91, "brier": 0.08},
		Params:   map[string]string{"max_depth": "6"},
		Tags:     map[string]string{"mlflow.source.git.commit": "0123abc"},
		Datasets: []mlflowfake.DatasetSpec{{Name: "train", Digest: "d41d8cd9", Source: "s3://data/train", SourceType: "s3", Context: "training"}},
	})
	c := newClient(t, fake, mlflow.Config{}, fastRetries)
	run, err := c.GetRun(context.Background(), "r14")
	if err != nil {
		t.Fatal(err)
	}
	if m := run.Data.MetricValues(); m["auroc"] != 0.91 || m["brier"] != 0.08 {
		t.Errorf("metrics %v", m)
	}
	if p, _ := run.Data.Param("max_depth"); p != "6" {
		t.Errorf("param max_depth = %q", p)
	}
	if c, _ := run.Data.Tag("mlflow.source.git.commit"); c != "0123abc" {
		t.Errorf("commit tag = %q", c)
	}
	if in := run.Inputs.DatasetInputs; len(in) != 1 || in[0].Dataset.Digest != "d41d8cd9" || in[0].Dataset.Name != "train" || in[0].Tags[0].Value != "training" {
		t.Errorf("dataset inputs %+v", in)
	}
	if run.Info.RunID != "r14" || run.Info.Status != "FINISHED" {
		t.Errorf("info %+v", run.Info)
	}
}

func TestErrorsAreTyped(t *testing.T) {
	_, c := seeded(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		call   func() error
		want   error
		status int
		code   string
	}{
		{"unknown model", func() error { _, err := c.GetRegisteredModel(ctx, "nope"); return err }, mlflow.ErrNotFound, 404, mlflow.CodeNotFound},
		{"unknown version", func() error { return c.SetAlias(ctx, "sepsis-risk", "champion", "99") }, mlflow.ErrNotFound, 404, mlflow.CodeNotFound},
		{"non-numeric version", func() error { _, err := c.GetModelVersion(ctx, "sepsis-risk", "latest"); return err }, mlflow.ErrInvalidParameter, 400, mlflow.CodeInvalidParameter},
		{"reserved alias", func() error { return c.SetAlias(ctx, "sepsis-risk", "v2", "2") }, mlflow.ErrInvalidParameter, 400, mlflow.CodeInvalidParameter},
		{"unknown run", func() error { _, err := c.GetRun(ctx, "gone"); return err }, mlflow.ErrNotFound, 404, mlflow.CodeNotFound},
	}
	for _, tc := range cases {
		err := tc.call()
		var apiErr *mlflow.APIError
		if !errors.Is(err, tc.want) || !errors.As(err, &apiErr) || apiErr.Status != tc.status || apiErr.Code != tc.code {
			t.Errorf("%s: %v, want %v (%d %s)", tc.name, err, tc.want, tc.status, tc.code)
		}
	}
}

func TestRetriesServerErrorsAndRateLimits(t *testing.T) {
	for _, f := range []mlflowfake.Fault{
		mlflowfake.InternalError(http.MethodGet, "registered-models/get", 2),
		mlflowfake.Unavailable(http.MethodGet, "registered-models/get", 3),
		mlflowfake.RateLimited(http.MethodGet, "registered-models/get", time.Second, 2),
	} {
		fake, c := seeded(t)
		fake.Inject(f)
		if _, err := c.GetRegisteredModel(context.Background(), "sepsis-risk"); err != nil {
			t.Errorf("%d ×%d: %v, want success after retries", f.Status, f.Times, err)
		}
		if n := len(fake.Calls()); n != f.Times+1 {
			t.Errorf("%d ×%d: %d requests, want %d", f.Status, f.Times, n, f.Times+1)
		}
	}
}

func TestRetriesGiveUpAndClientErrorsAreNotRetried(t *testing.T) {
	fake, c := seeded(t)
	fake.Inject(mlflowfake.Unavailable("", "registered-models/alias", 0))
	err := c.SetAlias(context.Background(), "sepsis-risk", "champion", "2")
	if !errors.Is(err, mlflow.ErrUnavailable) {
		t.Fatalf("%v, want ErrUnavailable", err)
	}
	if n := len(fake.Calls()); n != 4 {
		t.Fatalf("%d attempts, want the default 4", n)
	}
	fake2, c2 := seeded(t)
	fake2.Inject(mlflowfake.Unauthenticated("", "", 1))
	if _, err := c2.GetRegisteredModel(context.Background(), "sepsis-risk"); !errors.Is(err, mlflow.ErrUnauthenticated) {
		t.Fatalf("%v, want ErrUnauthenticated", err)
	}
	if n := len(fake2.Calls()); n != 1 {
		t.Fatalf("a 401 was sent %d times, want once", n)
	}
}

func TestSlowAnswerEndsAtTheClientTimeoutAndIsRetried(t *testing.T) {
	fake, _ := seeded(t)
	fake.Inject(mlflowfake.Slow(http.MethodGet, "model-versions/get", 2*time.Second, 1))
	opts := fastRetries
	opts.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	c := newClient(t, fake, mlflow.Config{}, opts)
	v, err := c.GetModelVersion(context.Background(), "sepsis-risk", "2")
	if err != nil || v.Version != "2" {
		t.Fatalf("%+v, %v; want version 2 from the second attempt", v, err)
	}
}

func TestAuthHeaders(t *testing.T) {
	ctx := context.Background()
	bearer, _ := seeded(t, mlflowfake.WithBearerToken("tok-123"))
	if _, err := newClient(t, bearer, mlflow.Config{Token: "tok-123"}, fastRetries).GetRegisteredModel(ctx, "sepsis-risk"); err != nil {
		t.Fatalf("bearer: %v", err)
	}
	if _, err := newClient(t, bearer, mlflow.Config{Token: "wrong"}, fastRetries).GetRegisteredModel(ctx, "sepsis-risk"); !errors.Is(err, mlflow.ErrUnauthenticated) {
		t.Fatalf("wrong bearer: %v, want ErrUnauthenticated", err)
	}
	basic, _ := seeded(t, mlflowfake.WithBasicAuth("ops", "pw"))
	if _, err := newClient(t, basic, mlflow.Config{Username: "ops", Password: "pw"}, fastRetries).GetRegisteredModel(ctx, "sepsis-risk"); err != nil {
		t.Fatalf("basic: %v", err)
	}
	if _, err := newClient(t, basic, mlflow.Config{}, fastRetries).GetRegisteredModel(ctx, "sepsis-risk"); !errors.Is(err, mlflow.ErrUnauthenticated) {
		t.Fatalf("no credentials: %v, want ErrUnauthenticated", err)
	}
}

func TestConfigFromEnvReadsMLflowsVariablesAndFiles(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	c, err := mlflow.ConfigFromEnv("", env(map[string]string{"MLFLOW_TRACKING_URI": "https://mlflow.example", "MLFLOW_TRACKING_USERNAME": "ops", "MLFLOW_TRACKING_PASSWORD_FILE": pwFile}))
	if err != nil || c.TrackingURI != "https://mlflow.example" || c.Username != "ops" || string(c.Password) != "s3cret" {
		t.Fatalf("basic from env and file: %+v %v", c, err)
	}
	c, err = mlflow.ConfigFromEnv("https://repo.example", env(map[string]string{"MLFLOW_TRACKING_URI": "https://env.example", "MLFLOW_TRACKING_TOKEN": "t"}))
	if err != nil || c.TrackingURI != "https://repo.example" || string(c.Token) != "t" {
		t.Fatalf("repository URI and token: %+v %v", c, err)
	}
	c, err = mlflow.ConfigFromEnv("databricks", env(map[string]string{"DATABRICKS_HOST": "adb-1.azuredatabricks.net", "DATABRICKS_TOKEN": "dapi1"}))
	if err != nil || c.TrackingURI != "https://adb-1.azuredatabricks.net" || string(c.Token) != "dapi1" {
		t.Fatalf("databricks: %+v %v", c, err)
	}
	if _, err := mlflow.ConfigFromEnv("", env(map[string]string{"MLFLOW_TRACKING_USERNAME": "ops"})); err == nil {
		t.Fatal("a username without a password was accepted")
	}
	if _, err := mlflow.New(mlflow.Config{TrackingURI: "https://ops:pw@mlflow.example"}, mlflow.Options{}); err == nil || strings.Contains(err.Error(), "pw") {
		t.Fatalf("credentials in the URI: %v, want an error that does not show them", err)
	}
}

func TestSecretsNeverReachLogsOrErrors(t *testing.T) {
	const token, password = "tok-SECRET-1", "pw-SECRET-2"
	cfg := mlflow.Config{TrackingURI: "https://mlflow.example", Token: token, Username: "ops", Password: password}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("config", "cfg", cfg, "token", cfg.Token)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "cfg", cfg)
	j, _ := json.Marshal(cfg)
	buf.Write(j)
	fmt.Fprintf(&buf, "%v %+v %#v %s %q %x", cfg, cfg, cfg, cfg.Token, cfg.Password, cfg.Token)
	// An error answer to an authenticated request names neither secret either.
	fake := mlflowfake.New(t, mlflowfake.WithBearerToken("other"))
	c := newClient(t, fake, cfg, fastRetries)
	_, err := c.GetRegisteredModel(context.Background(), "m")
	fmt.Fprint(&buf, err)
	for _, s := range []string{token, password} {
		if strings.Contains(buf.String(), s) {
			t.Fatalf("secret %q leaked into:\n%s", s, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "[redacted]") {
		t.Fatalf("no redaction marker in:\n%s", buf.String())
	}
}
