package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medimind/modelops/internal/server"
)

// TestStalledClientsCannotExhaustTheReconciler floods a real `modelops run` with
// connections that announce a body and never send it, with and without a token, and shows
// that the process's file descriptors stay bounded, /healthz answers another client, and a
// reconcile cycle still launches training.
func TestStalledClientsCannotExhaustTheReconciler(t *testing.T) {
	repo := runRepo(t, 6)
	state := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(os.Args[0], "run", "--repo", repo, "--state-dir", state, "--interval", "1h", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "MODELOPS_API_TOKEN=tok-stalled-test")
	p := startRunProcess(t, cmd)
	waitReady(t, p.base)
	addr := strings.TrimPrefix(p.base, "http://")
	before := countFDs(t, p.cmd.Process.Pid)

	const stalled = 300
	for i := range stalled {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		path := "/webhooks/github"
		if i%2 == 0 {
			path = "/api/v1/models/sepsis-risk/retrain" // refused with 401: no token
		}
		_, _ = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", path)
	}
	time.Sleep(300 * time.Millisecond)
	if got, limit := countFDs(t, p.cmd.Process.Pid), before+server.MaxConnsPerClient+16; got > limit {
		t.Fatalf("after %d stalled connections the process holds %d descriptors (%d before), want at most %d", stalled, got, before, limit)
	}

	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	other := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	resp, err := other.Get(p.base + "/healthz")
	if err != nil {
		t.Fatalf("/healthz from another client: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}

	raise(t, repo, 7)
	waitFile(t, filepath.Join(state, "runs", "sepsis-risk", "gen-7", "exit"), 20*time.Second)
	if strings.Contains(p.log(), "too many open files") {
		t.Fatalf("the process ran out of descriptors:\n%s", p.log())
	}
}

func countFDs(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(fds)
}

// TestProbesAnswerWhileOneClientStallsTheMainListener: a client that holds every connection
// its address may open on --listen (slow headers, renewed) would starve probes sent from the
// same address, as a kubelet behind the same node address is; --probe-listen serves them on
// connections of their own.
func TestProbesAnswerWhileOneClientStallsTheMainListener(t *testing.T) {
	repo := runRepo(t, 6)
	probeAddr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "run", "--repo", repo, "--state-dir", filepath.Join(t.TempDir(), "state"),
		"--interval", "1h", "--listen", "127.0.0.1:0", "--probe-listen", probeAddr)
	p := startRunProcess(t, cmd)
	waitReady(t, p.base)
	addr := strings.TrimPrefix(p.base, "http://")
	for range server.MaxConnsPerClient + 8 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_, _ = fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // headers never end
	}
	time.Sleep(300 * time.Millisecond)
	// A new transport: an idle connection kept alive from waitReady would still be served.
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get(p.base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("the main listener still served this address (%d): the stall does not reproduce the starvation", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := client.Get("http://" + probeAddr + path)
		if err != nil {
			t.Fatalf("%s on --probe-listen: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s on --probe-listen: %d", path, resp.StatusCode)
		}
	}
	resp, err := client.Get("http://" + probeAddr + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("--probe-listen serves the API; it must serve only probes and metrics")
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
