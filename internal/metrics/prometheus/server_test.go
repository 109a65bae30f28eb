package prometheus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The test exporter's figures, per model version. Version 11 is retired but still exported;
// version 13 is the canary.
var exported = map[string]map[string]float64{
	"11": {MetricAUC: 0.88, MetricPrecision: 0.79, MetricRecall: 0.74, MetricLatencyP95: 140.25, MetricSamples: 90210, MetricCoverage: 1},
	"12": {MetricAUC: 0.9125, MetricPrecision: 0.8125, MetricRecall: 0.7625, MetricLatencyP95: 118.5, MetricSamples: 15234, MetricCoverage: 0.96875},
	"13": {MetricAUC: 0.9375, MetricPrecision: 0.84375, MetricRecall: 0.71875, MetricLatencyP95: 131.75, MetricSamples: 1702, MetricCoverage: 0.9375},
}

// gaugeNames are the exporter's gauges per metric name.
var gaugeNames = map[string]string{
	MetricAUC:        "modelops_test_auc",
	MetricPrecision:  "modelops_test_precision",
	MetricRecall:     "modelops_test_recall",
	MetricLatencyP95: "modelops_test_latency_p95_ms",
	MetricSamples:    "modelops_test_samples",
	MetricCoverage:   "modelops_test_coverage",
}

// promURL is the address of the Prometheus server TestMain starts for the package.
var promURL string

// TestMain starts one Prometheus server scraping a test exporter every second, waits until
// the exporter's series are queryable, runs the tests and stops the server. Without a
// prometheus binary the tests fail: they are the only check of the source against the
// real query API.
func TestMain(m *testing.M) {
	os.Exit(runWithPrometheus(m))
}

func runWithPrometheus(m *testing.M) int {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the prometheus binary is not on PATH; the Prometheus source is tested against a real server (apt-get install prometheus, as .ci/run does)")
		return 1
	}
	exporter := httptest.NewServer(promhttp.HandlerFor(exporterRegistry(), promhttp.HandlerOpts{}))
	defer exporter.Close()

	srv, err := startPrometheus(bin, exporter.Listener.Addr().String())
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start prometheus:", err)
		return 1
	}
	defer srv.stop()
	promURL = srv.url
	if err := srv.waitForSeries(`count(modelops_test_auc) == 3 and count(modelops_test_coverage) == 3`, 90*time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: wait for the exporter's series: %v\nprometheus log:\n%s\n", err, srv.log.String())
		return 1
	}
	return m.Run()
}

// exporterRegistry registers the gauges of exported, plus series the error tests need.
func exporterRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	for metric, name := range gaugeNames {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Test figure " + metric + " per model version."}, []string{VersionLabel})
		for version, figures := range exported {
			g.WithLabelValues(version).Set(figures[metric])
		}
		reg.MustRegister(g)
	}
	// Two series for one version, as two replicas would export them.
	dup := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelops_test_replica_auc", Help: "AUC per replica."}, []string{VersionLabel, "replica"})
	dup.WithLabelValues("12", "a").Set(0.91)
	dup.WithLabelValues("12", "b").Set(0.92)
	reg.MustRegister(dup)
	return reg
}

// promServer is a Prometheus process on loopback.
type promServer struct {
	cmd  *exec.Cmd
	url  string
	dir  string
	log  *syncBuffer
	exit chan error
}

// startPrometheus starts prometheus on a free loopback port with a temporary TSDB, scraping
// target every second. A port taken between choosing and binding is retried.
func startPrometheus(bin, target string) (*promServer, error) {
	var lastErr error
	for range 3 {
		s, err := tryStartPrometheus(bin, target)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func tryStartPrometheus(bin, target string) (*promServer, error) {
	dir, err := os.MkdirTemp("", "modelops-prometheus-")
	if err != nil {
		return nil, err
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: modelops-test
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &promServer{url: "http://" + addr, dir: dir, log: &syncBuffer{}, exit: make(chan error, 1)}
	s.cmd = exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { s.exit <- s.cmd.Wait() }()
	if err := s.waitReady(60 * time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\nprometheus log:\n%s", err, s.log.String())
	}
	return s, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady polls /-/ready until Prometheus serves queries or exits.
func (s *promServer) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exit:
			s.exit <- err
			return fmt.Errorf("prometheus exited: %v", err)
		default:
		}
		resp, err := http.Get(s.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("prometheus at %s not ready after %v", s.url, timeout)
}

// waitForSeries polls until query (a condition) returns a non-empty vector.
func (s *promServer) waitForSeries(query string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url + "/api/v1/query?query=" + url.QueryEscape(query))
		if err == nil {
			var body struct {
				Data struct {
					Result []json.RawMessage `json:"result"`
				} `json:"data"`
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if json.Unmarshal(b, &body) == nil && len(body.Data.Result) > 0 {
				return nil
			}
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("%s still empty after %v; last answer: %s", query, timeout, last)
}

// stop terminates Prometheus (SIGTERM, then SIGKILL) and removes its data.
func (s *promServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
	os.RemoveAll(s.dir)
}

// syncBuffer is a bytes.Buffer safe for the process's output and the reader.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
