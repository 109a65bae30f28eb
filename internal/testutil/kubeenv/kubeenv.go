package kubeenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

const (
	// KubernetesVersion is the kube-apiserver version that scripts/testenv.sh builds and whose
	// cache directory Start looks in.
	KubernetesVersion = "v1.37.2"

	// DirEnv names the environment variable that points at a directory holding the etcd and
	// kube-apiserver binaries, instead of the cache directory.
	DirEnv = "MODELOPS_TESTENV_DIR"

	// readyTimeout bounds the wait for each process to answer; generous because the test
	// machines are shared and a cold kube-apiserver takes several seconds even when idle.
	readyTimeout = 2 * time.Minute

	// startAttempts covers the small window in which another process takes a port that
	// freePorts found free.
	startAttempts = 3
)

// Env is a running etcd and kube-apiserver. Its methods are safe for concurrent use.
type Env struct {
	dir     string // temporary directory: etcd data, certificate, keys, tokens, logs
	binDir  string
	token   string // bearer token of the system:masters admin
	caPEM   []byte // serving certificate followed by the CA that signed it
	etcdURL string
	apiPort int

	mu        sync.Mutex // guards etcd and apiserver, which stop and RestartAPIServer replace
	etcd      *process
	apiserver *process

	stopOnce sync.Once
	stopErr  error
}

// BinDir returns the directory that holds the etcd and kube-apiserver binaries:
// $MODELOPS_TESTENV_DIR, or ${XDG_CACHE_HOME:-$HOME/.cache}/modelops-testenv/<version>, the
// directory scripts/testenv.sh builds into.
func BinDir() (string, error) {
	if d := os.Getenv(DirEnv); d != "" {
		return d, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w", err)
	}
	return filepath.Join(cache, "modelops-testenv", KubernetesVersion), nil
}

// Start starts etcd and kube-apiserver and stops them when tb's test ends. It fails the test
// (never skips it) when the binaries are missing or the server does not become ready.
func Start(tb testing.TB) *Env {
	tb.Helper()
	e, err := start(tb.Logf)
	if err != nil {
		tb.Fatalf("kubeenv: %v", err)
	}
	tb.Cleanup(func() {
		if err := e.stop(); err != nil {
			tb.Errorf("kubeenv: %v", err)
		}
	})
	return e
}

// Main starts one server for a whole test package, stores it in *env, runs the tests and
// stops the server. It returns the exit code for os.Exit; when the server cannot start it
// prints why and returns 1 without running any test:
//
//	func TestMain(m *testing.M) { os.Exit(kubeenv.Main(m, &env)) }
func Main(m *testing.M, env **Env) int {
	e, err := start(func(string, ...any) {})
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeenv: %v\n", err)
		return 1
	}
	*env = e
	code := m.Run()
	if err := e.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubeenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Config returns a client configuration for an admin (group system:masters). Each call returns
// a new copy that the caller may change. Client-side rate limiting is raised well above
// client-go's default of 5 requests per second, which would only slow tests down.
func (e *Env) Config() *rest.Config {
	return &rest.Config{
		Host:            "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(e.apiPort)),
		BearerToken:     e.token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), e.caPEM...)},
		QPS:             1000,
		Burst:           2000,
	}
}

// ImpersonatedConfig returns a client configuration that acts as user in groups, so requests
// are authorized by RBAC as that user's. A ServiceAccount is
// "system:serviceaccount:<namespace>:<name>"; the server adds no groups of its own, so pass
// "system:serviceaccounts" and "system:serviceaccounts:<namespace>" where a rule needs them.
func (e *Env) ImpersonatedConfig(user string, groups ...string) *rest.Config {
	cfg := e.Config()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// Namespace creates a namespace named after tb's test with a random suffix and returns its
// name. The namespace is not deleted: without a controller-manager a deleted namespace stays
// Terminating with everything in it, and the server is thrown away after the tests anyway.
func (e *Env) Namespace(tb testing.TB) string {
	tb.Helper()
	cs, err := kubernetes.NewForConfig(e.Config())
	if err != nil {
		tb.Fatalf("kubeenv: create clientset: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: namespacePrefix(tb.Name())},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("kubeenv: create namespace: %v", err)
	}
	return ns.Name
}

// namespacePrefix turns a test name into a DNS-1123 label prefix for generateName, leaving
// room for the five random characters the server appends.
func namespacePrefix(testName string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	p := strings.TrimRight(b.String(), "-")
	if len(p) > 40 {
		p = strings.TrimRight(p[:40], "-")
	}
	if p == "" || p[0] < 'a' {
		p = "test-" + p
	}
	return strings.TrimRight(p, "-") + "-"
}

// Kubeconfig writes a kubeconfig file for the admin into a temporary directory of tb and
// returns its path, for tests of command-line tools.
func (e *Env) Kubeconfig(tb testing.TB) string {
	tb.Helper()
	cfg := e.Config()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubeenv"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["kubeenv"] = &clientcmdapi.Context{Cluster: "kubeenv", AuthInfo: "admin"}
	kc.CurrentContext = "kubeenv"
	path := filepath.Join(tb.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		tb.Fatalf("kubeenv: write kubeconfig: %v", err)
	}
	return path
}

// RestartAPIServer stops kube-apiserver and starts it again on the same port, certificate,
// token and etcd, and returns when it is ready. Stored objects survive; open watches and
// connections end. Configurations from Config stay valid.
func (e *Env) RestartAPIServer(tb testing.TB) {
	tb.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.apiserver == nil {
		tb.Fatalf("kubeenv: restart kube-apiserver: the environment is stopped")
	}
	begin := time.Now()
	if err := e.apiserver.stop(); err != nil {
		tb.Fatalf("kubeenv: restart kube-apiserver: %v", err)
	}
	e.apiserver = nil
	stopped := time.Since(begin)
	p, err := e.startAPIServer()
	if err != nil {
		tb.Fatalf("kubeenv: restart kube-apiserver: %v", err)
	}
	e.apiserver = p
	tb.Logf("kubeenv: kube-apiserver restarted in %s (stop %s)",
		time.Since(begin).Round(time.Millisecond), stopped.Round(time.Millisecond))
}

// start finds the binaries, prepares credentials and starts both processes. Every error says
// how to get the binaries, because a missing or stale build is the usual cause.
func start(logf func(string, ...any)) (*Env, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	hint := fmt.Sprintf("run `make testenv` to build etcd and kube-apiserver %s into %s (or set %s)",
		KubernetesVersion, bin, DirEnv)
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			return nil, fmt.Errorf("find %s: %w; %s", name, err, hint)
		}
	}
	var errs []error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		begin := time.Now()
		e, err := startOnce(bin)
		if err == nil {
			logf("kubeenv: etcd and kube-apiserver %s ready at %s in %s",
				KubernetesVersion, e.Config().Host, time.Since(begin).Round(time.Millisecond))
			return e, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, fmt.Errorf("%w; %s", errors.Join(errs...), hint)
}

func startOnce(bin string) (e *Env, err error) {
	dir, err := os.MkdirTemp("", "kubeenv-")
	if err != nil {
		return nil, fmt.Errorf("create temporary directory: %w", err)
	}
	e = &Env{dir: dir, binDir: bin}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.stop())
			e = nil
		}
	}()
	if err := e.writeCredentials(); err != nil {
		return e, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return e, err
	}
	e.apiPort = ports[2]
	if e.etcd, err = e.startEtcd(ports[0], ports[1]); err != nil {
		return e, err
	}
	if e.apiserver, err = e.startAPIServer(); err != nil {
		return e, err
	}
	return e, nil
}

// writeCredentials writes the admin token file, the ServiceAccount signing key and a serving
// certificate. The certificate is made here rather than by kube-apiserver's --cert-dir so
// that Config knows the CA before the server starts and a restart serves the same one.
func (e *Env) writeCredentials() error {
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return fmt.Errorf("generate token: %w", err)
	}
	e.token = hex.EncodeToString(tok)
	// token,user,uid,"group,..." — the group system:masters passes every authorization check.
	tokens := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n", e.token)
	if err := os.WriteFile(filepath.Join(e.dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	saKey, err := keyutil.MakeEllipticPrivateKeyPEM()
	if err != nil {
		return fmt.Errorf("generate service account key: %w", err)
	}
	if err := keyutil.WriteKey(filepath.Join(e.dir, "sa.key"), saKey); err != nil {
		return fmt.Errorf("write service account key: %w", err)
	}
	crt, key, err := cert.GenerateSelfSignedCertKey("127.0.0.1", nil, []string{"localhost"})
	if err != nil {
		return fmt.Errorf("generate serving certificate: %w", err)
	}
	e.caPEM = crt
	if err := cert.WriteCert(filepath.Join(e.dir, "serving.crt"), crt); err != nil {
		return fmt.Errorf("write serving certificate: %w", err)
	}
	if err := keyutil.WriteKey(filepath.Join(e.dir, "serving.key"), key); err != nil {
		return fmt.Errorf("write serving key: %w", err)
	}
	return nil
}

func (e *Env) startEtcd(clientPort, peerPort int) (*process, error) {
	e.etcdURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))
	peerURL := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))
	p, err := startProcess("etcd", filepath.Join(e.dir, "etcd.log"), filepath.Join(e.binDir, "etcd"),
		"--name=kubeenv",
		"--data-dir="+filepath.Join(e.dir, "etcd"),
		"--listen-client-urls="+e.etcdURL,
		"--advertise-client-urls="+e.etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubeenv="+peerURL,
		// Durability is worthless for a throwaway store and fsync dominates on busy disks.
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	err = p.waitReady(func(ctx context.Context) error {
		return get(ctx, client, e.etcdURL+"/health", `"health":"true"`)
	})
	if err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

func (e *Env) startAPIServer() (*process, error) {
	args := []string{
		"--etcd-servers=" + e.etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(e.apiPort),
		"--cert-dir=" + filepath.Join(e.dir, "certs"),
		"--tls-cert-file=" + filepath.Join(e.dir, "serving.crt"),
		"--tls-private-key-file=" + filepath.Join(e.dir, "serving.key"),
		"--token-auth-file=" + filepath.Join(e.dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(e.dir, "sa.key"),
		"--service-account-signing-key-file=" + filepath.Join(e.dir, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		// Nothing creates the "default" ServiceAccount, which this plugin would require of pods.
		"--disable-admission-plugins=ServiceAccount",
		// The default reconciler refuses a loopback advertise address (v1.37).
		"--endpoint-reconciler-type=none",
		// Without these two, shutdown waits for open watches until the request timeout (60s):
		// watches are ended at shutdown, as a production server configured for graceful
		// termination does, and the HTTP server gets 2s instead of 60s to close.
		"--shutdown-watch-termination-grace-period=5s",
		"--shutdown-send-retry-after=true",
	}
	p, err := startProcess("kube-apiserver", filepath.Join(e.dir, "kube-apiserver.log"),
		filepath.Join(e.binDir, "kube-apiserver"), args...)
	if err != nil {
		return nil, err
	}
	client, err := rest.HTTPClientFor(e.Config())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create client: %w", err), p.stop())
	}
	host := e.Config().Host
	err = p.waitReady(func(ctx context.Context) error {
		return get(ctx, client, host+"/readyz", "ok")
	})
	if err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// stop stops both processes and removes the temporary directory. Later calls return the
// first call's result.
func (e *Env) stop() error {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		var errs []error
		// The API server first, so it does not spend its shutdown retrying a vanished etcd.
		if e.apiserver != nil {
			errs = append(errs, e.apiserver.stop())
			e.apiserver = nil
		}
		if e.etcd != nil {
			errs = append(errs, e.etcd.stop())
			e.etcd = nil
		}
		if err := os.RemoveAll(e.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", e.dir, err))
		}
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// get succeeds when url answers 200 with a body containing want.
func get(ctx context.Context, client *http.Client, url, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("get %s: %s: %.300s", url, resp.Status, body)
	}
	return nil
}

// freePorts returns n distinct loopback ports that were free a moment ago. The listeners are
// held open together so the kernel cannot hand out the same port twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
