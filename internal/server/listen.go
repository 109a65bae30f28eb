package server

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/netutil"
)

// Limits of the HTTP server: a client that opens connections and sends nothing, or
// announces a body and never sends it, holds a connection (and a file descriptor) only so
// long, and only so many of them, so it cannot starve the reconciler of file descriptors.
const (
	// MaxConns bounds the connections served at once; more wait in the kernel's backlog.
	MaxConns = 256
	// MaxConnsPerClient bounds the connections of one remote IP address; more are closed at
	// once, so one client cannot take every slot. (Behind a proxy every client shares its
	// address: raise it there.)
	MaxConnsPerClient = 32
	// ReadHeaderTimeout bounds reading a request's headers, ReadTimeout the whole request
	// (the webhook's 25 MB body included).
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = time.Minute
	// WriteTimeout bounds a request from the end of its headers to the end of its answer.
	// The longest handler is the drift check on demand, which reads the model's data sets.
	WriteTimeout = 5 * time.Minute
	// IdleTimeout closes a kept-alive connection on which no request comes.
	IdleTimeout = time.Minute
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
)

// Listen listens on addr (TCP) with at most MaxConns connections at once and
// MaxConnsPerClient per remote address.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return netutil.LimitListener(&perClientListener{Listener: ln, max: MaxConnsPerClient, open: map[string]int{}}, MaxConns), nil
}

// NewHTTPServer returns an http.Server for h with the timeouts and header limit above.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// perClientListener closes a new connection at once when its remote IP address already
// has max connections open.
type perClientListener struct {
	net.Listener
	max int

	mu   sync.Mutex
	open map[string]int // open connections by remote IP
}

func (l *perClientListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := c.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		l.mu.Lock()
		full := l.open[ip] >= l.max
		if !full {
			l.open[ip]++
		}
		l.mu.Unlock()
		if full {
			_ = c.Close()
			continue
		}
		return &clientConn{Conn: c, release: sync.OnceFunc(func() { l.release(ip) })}, nil
	}
}

func (l *perClientListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// clientConn gives its slot back when it is closed (once, however often Close is called).
type clientConn struct {
	net.Conn
	release func()
}

func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
