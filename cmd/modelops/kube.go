//go:build !lite

package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/medimind/modelops/internal/leader"
	routerkserve "github.com/medimind/modelops/internal/router/kserve"
	runnerkube "github.com/medimind/modelops/internal/runner/kube"
)

// kubeOptions choose Kubernetes for training (Jobs), traffic (KServe) and high availability.
type kubeOptions struct {
	// namespace, when set, runs training as Kubernetes Jobs there.
	namespace  string
	kubeconfig string
	router     string // file or kserve
	jobTTL     time.Duration
}

func (k *kubeOptions) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&k.namespace, "namespace", "", "run training as Kubernetes Jobs in this namespace (in-cluster config, or --kubeconfig)")
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file when not running in a cluster (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&k.router, "router", "file", "traffic router: file (<traffic-dir>/<model>.json) or kserve (the InferenceService named after the model, in --namespace)")
	fs.DurationVar(&k.jobTTL, "job-ttl", 7*24*time.Hour, "how long Kubernetes keeps a finished training Job and its pod; longer than the longest reconciler outage, or a run that finishes meanwhile is recorded Unknown (0 keeps them)")
}

// kubeStack is the Kubernetes side of a stack.
type kubeStack struct {
	config *rest.Config
	client kubernetes.Interface
	runner *runnerkube.Runner
}

func (k *kubeOptions) enabled() bool { return k.namespace != "" }

func (k *kubeOptions) validate() error {
	switch k.router {
	case "", "file":
	case "kserve":
		if k.namespace == "" {
			return invalidInput(fmt.Errorf("--router kserve needs --namespace"))
		}
	default:
		return invalidInput(fmt.Errorf("--router %q: want file or kserve", k.router))
	}
	return nil
}

// open connects to the cluster. Each change the runner's informer sees on a training Job
// calls wake, so a finished run is recorded at once rather than at the next interval.
func (k *kubeOptions) open(now func() time.Time, wake func()) (*kubeStack, error) {
	cfg, err := runnerkube.Config(k.kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Kubernetes: %w", err)
	}
	opts := []runnerkube.Option{runnerkube.WithNamespace(k.namespace), runnerkube.WithTTL(k.jobTTL),
		runnerkube.WithOnChange(func(string, int64) { wake() })}
	if now != nil {
		opts = append(opts, runnerkube.WithClock(now))
	}
	return &kubeStack{config: cfg, client: client, runner: runnerkube.New(client, opts...)}, nil
}

func (ks *kubeStack) kserve(namespace string) (*routerkserve.Router, error) {
	dyn, err := dynamic.NewForConfig(ks.config)
	if err != nil {
		return nil, fmt.Errorf("connect to Kubernetes: %w", err)
	}
	return routerkserve.New(dyn, namespace), nil
}

func (ks *kubeStack) elector(namespace, name string) (*leader.Elector, error) {
	return leader.New(leader.Config{Client: ks.client.CoordinationV1(), Namespace: namespace, Name: name})
}
