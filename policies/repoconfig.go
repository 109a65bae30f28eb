package policies

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// KindRepositoryConfig is the kind of the repository configuration document.
const KindRepositoryConfig = "RepositoryConfig"

// RepositoryConfigFile is where the repository configuration lives, at the root of the
// policy repository.
const RepositoryConfigFile = ".modelops.yaml"

// Defaults of the repository configuration. The pull-request limits follow Renovate's
// recommended preset: at most 10 of the bot's pull requests open at once and at most 2
// opened per hour, so a burst of drift across many models reaches reviewers as a trickle
// they can keep up with rather than as a flood. Updating an open pull request is never
// limited.
const (
	DefaultPRConcurrentLimit = 10
	DefaultPRHourlyLimit     = 2
)

// ChangeMode says how the reconciler writes a change it may make on its own: a direct
// commit to the tracked branch, or a pull request a person merges.
type ChangeMode string

// Change modes.
const (
	ChangeCommit      ChangeMode = "commit"
	ChangePullRequest ChangeMode = "pullRequest"
)

// ChangeModes lists the accepted change modes.
var ChangeModes = []string{string(ChangeCommit), string(ChangePullRequest)}

// RepositoryConfig is the repository-wide configuration of the reconciler, read from
// RepositoryConfigFile at the tip of the tracked branch:
//
//	apiVersion: modelops.medimind.io/v1alpha1
//	kind: RepositoryConfig
//	spec:
//	  labels: [modelops, ml]
//	  reviewers: [ana]
//	  teamReviewers: [clinical-ml]
//	  canarySteps: commit        # commit | pullRequest
//	  rollback: commit           # commit | pullRequest
//	  prConcurrentLimit: 10      # 0 = unlimited
//	  prHourlyLimit: 2           # 0 = unlimited
//	  kubernetes:
//	    serviceAccounts: [trainer] # what training Jobs may run as
type RepositoryConfig struct {
	// APIVersion must be modelops.medimind.io/v1alpha1.
	APIVersion string `json:"apiVersion" yaml:"apiVersion" jsonschema:"enum=modelops.medimind.io/v1alpha1"`
	// Kind must be RepositoryConfig.
	Kind string `json:"kind" yaml:"kind" jsonschema:"enum=RepositoryConfig"`
	// Metadata is optional; its labels and annotations are for people and tools.
	Metadata ObjectMeta `json:"metadata,omitempty" yaml:"metadata,omitempty"`
	// Spec is the configuration.
	Spec RepositoryConfigSpec `json:"spec" yaml:"spec"`
}

// RepositoryConfigSpec is the configuration of the reconciler's pull requests and direct
// changes.
type RepositoryConfigSpec struct {
	// Labels are added to every pull request the reconciler opens.
	Labels []string `json:"labels,omitempty" yaml:"labels,omitempty"`
	// Reviewers are the users asked to review every pull request the reconciler opens.
	Reviewers []string `json:"reviewers,omitempty" yaml:"reviewers,omitempty"`
	// TeamReviewers are the teams (slugs) asked to review every pull request the reconciler
	// opens.
	TeamReviewers []string `json:"teamReviewers,omitempty" yaml:"teamReviewers,omitempty"`
	// CanarySteps says how a canary step is written: commit (default) or pullRequest.
	CanarySteps ChangeMode `json:"canarySteps,omitempty" yaml:"canarySteps,omitempty" jsonschema:"enum=commit,enum=pullRequest"`
	// Rollback says how a rollback is written: commit (default) or pullRequest.
	Rollback ChangeMode `json:"rollback,omitempty" yaml:"rollback,omitempty" jsonschema:"enum=commit,enum=pullRequest"`
	// PRConcurrentLimit bounds the reconciler's open pull requests (default 10; 0 =
	// unlimited). A pointer, because 0 is meaningful.
	PRConcurrentLimit *int `json:"prConcurrentLimit,omitempty" yaml:"prConcurrentLimit,omitempty" jsonschema:"minimum=0"`
	// PRHourlyLimit bounds the pull requests the reconciler opens per hour (default 2; 0 =
	// unlimited).
	PRHourlyLimit *int `json:"prHourlyLimit,omitempty" yaml:"prHourlyLimit,omitempty" jsonschema:"minimum=0"`
	// Kubernetes configures the training Jobs of the Kubernetes runner.
	Kubernetes KubernetesConfig `json:"kubernetes,omitzero" yaml:"kubernetes,omitempty"`
	// Kubeflow is the Kubeflow Pipelines endpoint the policies with spec.retrain.pipeline
	// run on.
	Kubeflow *KubeflowConfig `json:"kubeflow,omitempty" yaml:"kubeflow,omitempty"`
	// MLflow is the model registry the policies' spec.registry blocks reconcile.
	MLflow MLflowConfig `json:"mlflow,omitzero" yaml:"mlflow,omitempty"`
}

// KubeflowConfig is where training pipelines run: a Kubeflow Pipelines (v2) API server. The
// reconciler authenticates with the Bearer token of MODELOPS_KFP_TOKEN (or the file named by
// MODELOPS_KFP_TOKEN_FILE), or else the projected ServiceAccount token of the KFP multi-user
// API (/var/run/secrets/kubeflow/pipelines/token); tokens are never kept in the repository.
type KubeflowConfig struct {
	// Host is the API server's base URL, e.g. https://kfp.example/pipeline; the v2beta1
	// API is under Host/apis/v2beta1.
	Host string `json:"host" yaml:"host" jsonschema:"minLength=1"`
	// Namespace is the Kubeflow profile namespace runs are created and listed in
	// (multi-user installations); empty on a single-user installation.
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	// User is the identity sent in UserHeader, for installations whose API server trusts a
	// user header set by an authenticating proxy (multi-user KFP without a token). Empty
	// sends none.
	User string `json:"user,omitempty" yaml:"user,omitempty"`
	// UserHeader is the header carrying User. Default kubeflow-userid, KFP's default.
	UserHeader string `json:"userHeader,omitempty" yaml:"userHeader,omitempty"`
}

// DefaultKubeflowUserHeader is the header KFP's multi-user API server reads the user from
// unless configured otherwise (KUBEFLOW_USERID_HEADER).
const DefaultKubeflowUserHeader = "kubeflow-userid"

// MLflowConfig locates the MLflow tracking server whose Model Registry follows the
// repository. Credentials never go here: they come from MLFLOW_TRACKING_TOKEN, or
// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or their _FILE forms), or
// DATABRICKS_TOKEN for a Databricks workspace.
type MLflowConfig struct {
	// TrackingURI is the server's http(s) URL, or "databricks" for the workspace at
	// DATABRICKS_HOST. Empty: MLFLOW_TRACKING_URI.
	TrackingURI string `json:"trackingURI,omitempty" yaml:"trackingURI,omitempty"`
}

// KubernetesConfig is what the repository allows its training Jobs on Kubernetes.
type KubernetesConfig struct {
	// ServiceAccounts are the ServiceAccounts a policy's spec.retrain.job.serviceAccountName
	// may name. A job naming another is refused; with none listed, jobs run as the
	// namespace's default ServiceAccount only. The reconciler's own is never allowed. Have
	// the platform team own this file (CODEOWNERS): it grants rights to training code.
	ServiceAccounts []string `json:"serviceAccounts,omitempty" yaml:"serviceAccounts,omitempty"`
}

// DefaultRepositoryConfig is the configuration of a repository without RepositoryConfigFile.
func DefaultRepositoryConfig() *RepositoryConfig {
	c := &RepositoryConfig{APIVersion: APIVersion, Kind: KindRepositoryConfig}
	c.Default()
	return c
}

// Default fills in the fields left out. It is pure and idempotent.
func (c *RepositoryConfig) Default() {
	s := &c.Spec
	if s.CanarySteps == "" {
		s.CanarySteps = ChangeCommit
	}
	if s.Rollback == "" {
		s.Rollback = ChangeCommit
	}
	if s.PRConcurrentLimit == nil {
		s.PRConcurrentLimit = ptrTo(DefaultPRConcurrentLimit)
	}
	if s.PRHourlyLimit == nil {
		s.PRHourlyLimit = ptrTo(DefaultPRHourlyLimit)
	}
}

// Validate checks c and returns every problem at once: nil, or a *multierror.Error of
// *FieldError with Field and Message set. It gives the same verdict before and after
// Default.
func (c *RepositoryConfig) Validate() error {
	v := &validator{}
	if c.APIVersion != APIVersion {
		v.add("apiVersion", "must be %s, got %q", APIVersion, c.APIVersion)
	}
	if c.Kind != KindRepositoryConfig {
		v.add("kind", "must be %s, got %q", KindRepositoryConfig, c.Kind)
	}
	s := &c.Spec
	v.names("spec.labels", s.Labels, func(l string) string {
		// GitHub's own limit on a label's name.
		if len([]rune(l)) > 50 {
			return "must be at most 50 characters"
		}
		return ""
	})
	v.names("spec.reviewers", s.Reviewers, func(u string) string {
		if !githubLogin(u) {
			return "must be a GitHub user name (letters, digits and single hyphens, at most 39 characters)"
		}
		return ""
	})
	v.names("spec.teamReviewers", s.TeamReviewers, func(t string) string {
		if strings.Contains(t, "/") {
			return "must be a team slug without the organisation (clinical-ml, not medimind/clinical-ml)"
		}
		if !teamSlug.MatchString(t) {
			return "must be a team slug (letters, digits, '-', '_' and '.')"
		}
		return ""
	})
	if s.CanarySteps != "" {
		v.oneOf("spec.canarySteps", string(s.CanarySteps), ChangeModes)
	}
	if s.Rollback != "" {
		v.oneOf("spec.rollback", string(s.Rollback), ChangeModes)
	}
	if l := s.PRConcurrentLimit; l != nil && *l < 0 {
		v.add("spec.prConcurrentLimit", "must be 0 (unlimited) or more, got %d", *l)
	}
	if l := s.PRHourlyLimit; l != nil && *l < 0 {
		v.add("spec.prHourlyLimit", "must be 0 (unlimited) or more, got %d", *l)
	}
	v.names("spec.kubernetes.serviceAccounts", s.Kubernetes.ServiceAccounts, ServiceAccountProblem)
	if k := s.Kubeflow; k != nil {
		if u, err := url.Parse(k.Host); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			shown := k.Host
			if err == nil {
				shown = u.Redacted() // a password never reaches a log or a check
			}
			v.add("spec.kubeflow.host", "must be an http(s) URL without credentials, query or fragment, such as https://kfp.example/pipeline, got %q", shown)
		}
		if ns := k.Namespace; ns != "" {
			if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
				v.add("spec.kubeflow.namespace", "must be a Kubernetes namespace name, got %q: %s", ns, strings.Join(msgs, "; "))
			}
		}
		if h := k.UserHeader; h != "" {
			if msgs := validation.IsHTTPHeaderName(h); len(msgs) > 0 {
				v.add("spec.kubeflow.userHeader", "must be an HTTP header name, got %q: %s", h, strings.Join(msgs, "; "))
			}
			if k.User == "" {
				v.add("spec.kubeflow.userHeader", "goes with spec.kubeflow.user: the identity to send in it")
			}
		}
		if strings.ContainsAny(k.User, "\r\n") {
			v.add("spec.kubeflow.user", "must be one line")
		}
	}
	if u := s.MLflow.TrackingURI; u != "" && u != "databricks" {
		v.httpURL("spec.mlflow.trackingURI", u)
		if strings.Contains(u, "@") {
			v.add("spec.mlflow.trackingURI", "must not hold credentials; set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD")
		}
	}
	return multiError(v.errs)
}

// names checks a list of names: none empty, none repeated, each accepted by check (which
// returns what is wrong, or "").
func (v *validator) names(field string, names []string, check func(string) string) {
	for i, n := range names {
		f := indexPath(field, i)
		switch {
		case strings.TrimSpace(n) == "":
			v.add(f, "must not be empty")
		case slices.Index(names, n) < i:
			v.add(f, "duplicate %q, first at %s", n, indexPath(field, slices.Index(names, n)))
		default:
			if msg := check(n); msg != "" {
				v.add(f, "%s, got %q", msg, n)
			}
		}
	}
}

// teamSlug matches a GitHub team's slug.
var teamSlug = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// githubLogin reports whether s is a valid GitHub user name.
func githubLogin(s string) bool {
	if s == "" || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// LimitOf returns the value of a defaulted limit (0 = unlimited).
func LimitOf(l *int) int {
	if l == nil {
		return 0
	}
	return *l
}

var repositoryConfigType = reflect.TypeFor[RepositoryConfig]()

// ParseRepositoryConfig strictly decodes the repository configuration in data (file names
// it in errors), applies Default and Validate, and returns it, or ALL problems at once (a
// *multierror.Error of *FieldError, each at file:line:col): unknown keys, wrong types and
// invalid values. The file holds exactly one document.
func ParseRepositoryConfig(file string, data []byte) (*RepositoryConfig, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := safeDecode(dec.Decode, &root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, multiError([]error{&FieldError{File: file, Message: "is empty, expected a " + KindRepositoryConfig + " document"}})
		}
		return nil, multiError([]error{syntaxError(file, data, err)})
	}
	var next yaml.Node
	if err := safeDecode(dec.Decode, &next); !errors.Is(err, io.EOF) {
		fe := &FieldError{File: file, Line: next.Line, Column: next.Column, Message: "expected one document, found more"}
		if err != nil {
			fe = syntaxError(file, data, err)
		}
		return nil, multiError([]error{fe})
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil, multiError([]error{&FieldError{File: file, Line: n.Line, Column: n.Column, Message: "expected a " + KindRepositoryConfig + " mapping, got " + describeNode(n)}})
	}

	d := newDecoder(file, len(data))
	var c RepositoryConfig
	d.walk(n, reflect.ValueOf(&c).Elem(), nil)
	if d.exotic || len(d.errs) > 0 {
		// As for policies: aliases, merges and tags are decoded exactly as yaml.v3 does, and
		// a document with errors is decoded as far as it goes for Validate to see.
		c = RepositoryConfig{}
		if err := safeDecode(n.Decode, &c); err != nil && len(d.errs) == 0 {
			d.errs = append(d.errs, &FieldError{File: file, Line: n.Line, Column: n.Column, Message: "decode: " + strings.TrimPrefix(err.Error(), "yaml: ")})
		}
	}
	c.Default()
	if fes := FieldErrors(c.Validate()); len(fes) > 0 {
		// Positions of every field, found by the same walk as the decoding, for the errors
		// Validate reports without one.
		ix := newDecoder(file, len(data))
		ix.index = fieldIndex{"": {n.Line, n.Column}}
		ix.walkType(n, reflect.Value{}, repositoryConfigType, nil)
		d.index = ix.index
		for _, fe := range fes {
			if !d.covered(fe.Field) {
				d.errs = append(d.errs, d.fieldError(fe.Field, "%s", fe.Message))
			}
		}
	}
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, multiError(d.errs)
	}
	return &c, nil
}

// LoadRepositoryConfig reads RepositoryConfigFile at the root of fsys (a git tree). A
// repository without one gets DefaultRepositoryConfig; an invalid one is an error listing
// every problem, as ParseRepositoryConfig does.
func LoadRepositoryConfig(fsys fs.FS) (*RepositoryConfig, error) {
	data, err := fs.ReadFile(fsys, RepositoryConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultRepositoryConfig(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RepositoryConfigFile, err)
	}
	return ParseRepositoryConfig(RepositoryConfigFile, data)
}
