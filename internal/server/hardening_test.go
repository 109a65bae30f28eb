package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// A path that is not canonical answers the JSON 404, not a redirect to its cleaned form
// that carries an error body.
func TestNonCanonicalPathsAnswerNotFound(t *testing.T) {
	c := apiServer(t, &fakeBackend{})
	for _, p := range []string{"/api/v1/models/../x", "/api/v1/models/../../healthz", "/api/v1//status", "/./healthz", "/api/v1/models/m/./drift"} {
		r := c.do("GET", p, "")
		if e := errorOf(t, r); r.status != http.StatusNotFound || e.Code != CodeNotFound || r.header.Get("Location") != "" {
			t.Errorf("GET %s: %d %s, Location %q; want 404 not_found without a redirect", p, r.status, r.body, r.header.Get("Location"))
		}
	}
}

// Without a token every API endpoint says the API is off; the description is still served.
func TestAPIOffAnswersAPIDisabled(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/api/v1/status", ""},
		{"POST", "/api/v1/models/sepsis-risk/drift", ""},
		{"POST", "/api/v1/models/sepsis-risk/retrain", `{"reason":"r"}`},
		{"POST", "/api/v1/models/sepsis-risk/candidates", `{"version":"1","uri":"models:/m/1","metrics":{}}`},
	} {
		r := c.do(rq.method, rq.path, rq.body, "Content-Type", "application/json")
		if e := errorOf(t, r); r.status != http.StatusNotFound || e.Code != CodeAPIDisabled || !strings.Contains(e.Message, "MODELOPS_API_TOKEN") {
			t.Errorf("%s %s: %d %s; want 404 api_disabled naming MODELOPS_API_TOKEN", rq.method, rq.path, r.status, r.body)
		}
	}
	if r := c.do("GET", "/api/v1/openapi.yaml", ""); r.status != http.StatusOK {
		t.Errorf("openapi.yaml: %d", r.status)
	}
}

// A client that announces a body and sends none gets its refusal at once (no token, no
// such endpoint, API off), and the connection is closed: the body is never waited for.
func TestRefusedRequestOrGETClosesTheConnectionWithoutReadingTheBody(t *testing.T) {
	off, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		h      http.Handler
		method string
		path   string
		status int
	}{
		{"no token", apiHandler(t), "POST", "/api/v1/models/m/retrain", http.StatusUnauthorized},
		{"no such endpoint", apiHandler(t), "POST", "/api/v1/models/m/promote", http.StatusNotFound},
		{"not canonical", apiHandler(t), "POST", "/api/v1/models/../m/retrain", http.StatusNotFound},
		{"API off", off, "POST", "/api/v1/models/m/retrain", http.StatusNotFound},
		// A GET never reads a body: one announced is not waited for (32 such requests
		// from one address held every slot of that address, /healthz included).
		{"GET /healthz announcing a body", off, "GET", "/healthz", http.StatusOK},
		{"GET /api/v1/status announcing a body", apiHandler(t), "GET", "/api/v1/status", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.h)
			conn, err := net.Dial("tcp", c.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(conn, tc.method+" "+tc.path+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer while the body is outstanding: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !resp.Close {
				t.Fatalf("answer %d, close %v; want %d with Connection: close", resp.StatusCode, resp.Close, tc.status)
			}
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Fatalf("the connection stays open after the refusal: %v", err)
			}
		})
	}
}

func apiHandler(t *testing.T) http.Handler {
	t.Helper()
	s, err := New(WithAPI(&fakeBackend{}, testToken))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Stalled connections from one client are capped: the file descriptors they take are
// bounded, and another client is still served.
func TestStalledConnectionsAreBoundedPerClient(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(s)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()

	before := openFDs(t)
	const stalled = 300
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for range stalled {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		// Headers announcing a body, then nothing.
		_, _ = io.WriteString(c, "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	}
	// Each of our stalled connections costs this process one descriptor (the client end);
	// the server holds at most MaxConnsPerClient more, with some slack for the runtime.
	time.Sleep(200 * time.Millisecond)
	if got, limit := openFDs(t)-before, stalled+MaxConnsPerClient+16; got > limit {
		t.Fatalf("%d stalled connections opened %d descriptors, want at most %d", stalled, got, limit)
	}
	// Another client (another loopback address) is served at once.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	resp, err := cl.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz from another client: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(fds)
}
