package policies

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// goodPolicy is a complete, valid policy written in Go.
func goodPolicy() *ModelPolicy {
	share, drop := 0.5, 0.05
	weight := 10
	schedule := "@weekly"
	return &ModelPolicy{
		APIVersion: APIVersion,
		Kind:       KindModelPolicy,
		Metadata:   ObjectMeta{Name: "sepsis-risk"},
		Spec: ModelPolicySpec{
			Production: &ModelVersion{Version: "12"},
			Canary:     &Canary{Version: "13", Weight: &weight},
			Data: &DataSpec{
				Reference:   DataSource{Path: "data/ref.csv"},
				Current:     DataSource{URL: "https://data.example/current.csv"},
				Categorical: []string{"sex"},
				Groups:      map[string]FeatureGroup{"omics": {Pattern: "^gene_"}},
			},
			Metrics: &MetricsSpec{Prometheus: &PrometheusSpec{URL: "http://prometheus:9090", Queries: map[string]string{"auc": "model_auc"}}},
			Retrain: &RetrainSpec{
				Schedule:          &schedule,
				OnDrift:           &DriftTrigger{Share: &share, Of: 4},
				OnPerformanceDrop: &PerformanceTrigger{Metric: MetricRecall, Drop: &drop},
				Job:               &JobSpec{Command: []string{"train"}, Env: []EnvVar{{Name: "SEED", Value: "1"}}},
			},
			CanaryAnalysis: CanaryAnalysisSpec{Steps: []int{10, 100}, Interval: Duration{time.Hour}, Duration: Duration{2 * time.Hour}},
		},
	}
}

func TestValidateReportsEachRule(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		mutate func(p *ModelPolicy)
		want   []string
	}{
		{"a complete policy is valid", func(p *ModelPolicy) {}, nil},
		{"a canary weight above 100 is rejected", func(p *ModelPolicy) { *p.Spec.Canary.Weight = 150 },
			[]string{"spec.canary.weight: must be between 0 and 100, got 150"}},
		{"a canary needs a version that differs from production's", func(p *ModelPolicy) { p.Spec.Canary.Version = "12" },
			[]string{`spec.canary.version: must differ from spec.production.version, got "12" for both`}},
		{"a name must be a DNS-1123 label", func(p *ModelPolicy) { p.Metadata.Name = "-x" },
			[]string{`metadata.name: must be a DNS-1123 label, got "-x": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{"steps must increase strictly and end at 100", func(p *ModelPolicy) { p.Spec.CanaryAnalysis.Steps = []int{10, 10, 101} },
			[]string{"spec.canaryAnalysis.steps[1]: must be greater than the step before (10), got 10",
				"spec.canaryAnalysis.steps[2]: must be between 1 and 100, got 101",
				"spec.canaryAnalysis.steps: must end at 100, got 101 as the last step"}},
		{"a NaN fraction is rejected", func(p *ModelPolicy) { p.Spec.Drift.DatasetShare = &nan },
			[]string{"spec.drift.datasetShare: must be between 0 and 1, got NaN"}},
		{"confidence 0 is outside the open interval", func(p *ModelPolicy) { zero := 0.0; p.Spec.CanaryAnalysis.Confidence = &zero },
			[]string{"spec.canaryAnalysis.confidence: must be between 0 and 1 (exclusive), got 0"}},
		{"a data path may not climb out of the repository", func(p *ModelPolicy) { p.Spec.Data.Reference.Path = "data/../../etc/passwd" },
			[]string{`spec.data.reference.path: must stay inside the repository root, got "data/../../etc/passwd"`}},
		{"a Windows absolute path is absolute", func(p *ModelPolicy) { p.Spec.Data.Reference.Path = `C:\data\ref.csv` },
			[]string{`spec.data.reference.path: must be relative to the repository root, got absolute path "C:\\data\\ref.csv"`}},
		{"a file URL is not http", func(p *ModelPolicy) { p.Spec.Data.Current.URL = "file:///etc/passwd" },
			[]string{`spec.data.current.url: must be an http or https URL, got scheme "file" in "file:///etc/passwd"`}},
		{"data in object storage is a path", func(p *ModelPolicy) {
			p.Spec.Data.Reference.Path = "s3://omics/sepsis/reference.parquet?region=eu-west-1"
			p.Spec.Data.Current = DataSource{Path: "gs://omics/sepsis/current/"}
			p.Spec.Metrics = &MetricsSpec{Predictions: &DataSource{Path: "azblob://logs/sepsis/predictions.csv.gz?storage_account=medimind"}}
		}, nil},
		{"an object URL carries no credentials", func(p *ModelPolicy) {
			p.Spec.Data.Reference.Path = "s3://omics/ref.parquet?aws_secret_access_key=x"
			p.Spec.Data.Current = DataSource{Path: "s3://AKIA:secret@omics/cur.parquet"}
		}, []string{
			`spec.data.reference.path: s3://omics/ref.parquet: unknown parameter "aws_secret_access_key" for s3:// (want region, endpoint, use_path_style, disable_https, profile, anonymous, dualstack, fips); credentials never go in a policy: they come from the environment`,
			`spec.data.current.path: s3://...: credentials do not go in a policy: they come from the environment (see the README)`,
		}},
		{"an object URL names a bucket and a clean key", func(p *ModelPolicy) {
			p.Spec.Data.Reference.Path = "s3:///ref.parquet"
			p.Spec.Data.Current = DataSource{Path: "gs://omics/a//b.csv"}
		}, []string{
			`spec.data.reference.path: s3:///ref.parquet has no bucket: want s3://BUCKET/KEY`,
			`spec.data.current.path: gs://omics/a//b.csv: the key "a//b.csv" must be a clean slash-separated path (no empty, . or .. elements)`,
		}},
		{"a group needs exactly one of pattern or features", func(p *ModelPolicy) {
			p.Spec.Data.Groups["sensor"] = FeatureGroup{}
		}, []string{"spec.data.groups.sensor: must set exactly one of pattern or features, got neither"}},
		{"a column cannot be both categorical and numeric", func(p *ModelPolicy) { p.Spec.Data.Numeric = []string{"age", "sex"} },
			[]string{`spec.data.numeric[1]: column "sex" is listed as both categorical and numeric`}},
		{"a memory budget is a positive quantity", func(p *ModelPolicy) { p.Spec.Data.Limits = &DataLimits{Memory: "4GiB"} },
			[]string{`spec.data.limits.memory: must be a positive number of bytes such as 1Mi or 16Gi, got "4GiB"`}},
		{"a memory budget of 4Gi is valid", func(p *ModelPolicy) { p.Spec.Data.Limits = &DataLimits{Memory: "4Gi"} }, nil},
		{"metrics come from one place", func(p *ModelPolicy) { p.Spec.Metrics.Predictions = &DataSource{Path: "p.csv"} },
			[]string{"spec.metrics: must set at most one of predictions or prometheus, got both"}},
		{"a cron schedule must parse", func(p *ModelPolicy) { s := "every monday"; p.Spec.Retrain.Schedule = &s },
			[]string{`spec.retrain.schedule: must be a cron schedule (5 fields, or a descriptor such as @weekly), got "every monday": expected exactly 5 fields, found 2: [every monday]`}},
		{"a cron error speaks of the schedule, not of Go", func(p *ModelPolicy) { s := "0 2 * * mon-x"; p.Spec.Retrain.Schedule = &s },
			[]string{`spec.retrain.schedule: must be a cron schedule (5 fields, or a descriptor such as @weekly), got "0 2 * * mon-x": x is not a number`}},
		{"an empty schedule disables the periodic trigger", func(p *ModelPolicy) { s := ""; p.Spec.Retrain.Schedule = &s }, nil},
		{"MODELOPS_ variables are reserved", func(p *ModelPolicy) { p.Spec.Retrain.Job.Env[0].Name = "MODELOPS_OUTPUT" },
			[]string{`spec.retrain.job.env[0].name: MODELOPS_* variables are set by modelops and cannot be overridden, got "MODELOPS_OUTPUT"`}},
		{"a job needs a command", func(p *ModelPolicy) { p.Spec.Retrain.Job.Command = nil },
			[]string{"spec.retrain.job.command: must not be empty"}},
		{"negative counts are rejected", func(p *ModelPolicy) {
			n := -1
			p.Spec.Retrain.Generation = -2
			p.Spec.Retrain.Job.GPUs = &n
			p.Spec.Retrain.OnDrift.Of = -3
			p.Spec.CanaryAnalysis.Rollback.FailedChecks = -4
		}, []string{
			"spec.retrain.generation: must be >= 0, got -2",
			"spec.retrain.onDrift.of: must be >= 1, got -3",
			"spec.retrain.job.gpus: must be >= 0, got -1",
			"spec.canaryAnalysis.rollback.failedChecks: must be >= 1, got -4",
		}},
		{"metric names are auc, precision or recall", func(p *ModelPolicy) {
			p.Spec.Retrain.OnPerformanceDrop.Metric = "f1"
			p.Spec.CanaryAnalysis.Rollback.Metric = "AUC"
		}, []string{
			`spec.retrain.onPerformanceDrop.metric: must be one of auc, precision, recall, got "f1"`,
			`spec.canaryAnalysis.rollback.metric: must be one of auc, precision, recall, got "AUC"`,
		}},
		{"a test for categorical columns is not accepted for numeric ones", func(p *ModelPolicy) { p.Spec.Drift.NumericTest = StatTestChiSquare },
			[]string{`spec.drift.numericTest: must be one of auto, ks, wasserstein, psi, kl_div, jensenshannon, got "chisquare"`}},
		{"a job may not run as the reconciler's own ServiceAccount", func(p *ModelPolicy) { p.Spec.Retrain.Job.ServiceAccountName = "modelops" },
			[]string{`spec.retrain.job.serviceAccountName: must not be the reconciler's own ServiceAccount: training code would get the reconciler's rights, got "modelops"`}},
		{"a ServiceAccount name is a DNS-1123 subdomain", func(p *ModelPolicy) { p.Spec.Retrain.Job.ServiceAccountName = "Trainer" },
			[]string{`spec.retrain.job.serviceAccountName: must be a ServiceAccount name (a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')), got "Trainer"`}},
		{"a job runs as a non-root user, with a bounded disruption budget", func(p *ModelPolicy) {
			j := p.Spec.Retrain.Job
			j.SecurityContext = &JobSecurityContext{RunAsUser: new(int64(0)), RunAsGroup: new(int64(-1)), FSGroup: new(int64(-2))}
			j.MaxDisruptions = new(int32(21))
		}, []string{
			"spec.retrain.job.maxDisruptions: must be between 0 and 20, got 21",
			"spec.retrain.job.securityContext.runAsUser: must be a non-root user ID (>= 1), got 0",
			"spec.retrain.job.securityContext.runAsGroup: must be >= 0, got -1",
			"spec.retrain.job.securityContext.fsGroup: must be >= 0, got -2",
		}},
		{"a job's ServiceAccount and user are accepted", func(p *ModelPolicy) {
			j := p.Spec.Retrain.Job
			j.ServiceAccountName, j.SecurityContext, j.MaxDisruptions = "trainer", &JobSecurityContext{RunAsUser: new(int64(1000))}, new(int32(0))
		}, nil},
		{"the apiVersion and kind are checked", func(p *ModelPolicy) { p.APIVersion, p.Kind = "v1", "Pod" },
			[]string{`apiVersion: must be modelops.medimind.io/v1alpha1, got "v1"`, `kind: must be ModelPolicy, got "Pod"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goodPolicy()
			tt.mutate(p)
			var got []string
			for _, fe := range FieldErrors(p.Validate()) {
				if fe.File != "" || fe.Line != 0 {
					t.Errorf("Validate positioned an error: %+v", fe)
				}
				got = append(got, fe.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidateIsPure(t *testing.T) {
	p := goodPolicy()
	*p.Spec.Canary.Weight = 500
	before := deepCopy(t, *p)
	_ = p.Validate()
	if !reflect.DeepEqual(before, deepCopy(t, *p)) {
		t.Fatal("Validate changed the policy")
	}
}
