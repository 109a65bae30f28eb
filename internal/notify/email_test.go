package notify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	smtpUser     = "modelops-bot"
	smtpPassword = "pa55-w0rd-NEVER-LOGGED"
)

// testTLS makes a certificate authority and a server certificate for 127.0.0.1 signed by it:
// the server's configuration, and a client configuration trusting only that authority.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "modelops test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	return server, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// received is one message the test server accepted.
type received struct {
	from  string
	to    []string
	data  []byte
	tls   bool
	authd bool
}

// mailServer is an SMTP submission server on loopback (go-smtp) that offers STARTTLS and
// AUTH PLAIN (only over TLS), and answers each DATA in turn as plan says: "ok", an SMTP
// error code such as "451" or "554", or "drop" to close the connection without an answer.
type mailServer struct {
	addr string

	mu       sync.Mutex
	plan     []string
	got      []received
	attempts []time.Time
}

func newMailServer(t *testing.T, plan ...string) (*mailServer, *tls.Config) {
	t.Helper()
	serverTLS, clientTLS := testTLS(t)
	return serveMail(t, serverTLS, false, plan), clientTLS
}

// serveMail starts the server; without serverTLS it offers no STARTTLS and takes AUTH in
// the clear, as a misconfigured relay would. implicit serves TLS from the first byte (smtps).
func serveMail(t *testing.T, serverTLS *tls.Config, implicit bool, plan []string) *mailServer {
	t.Helper()
	ms := &mailServer{plan: plan}
	srv := smtp.NewServer(ms)
	srv.Domain = "localhost"
	srv.TLSConfig = serverTLS
	srv.AllowInsecureAuth = serverTLS == nil // otherwise AUTH only after STARTTLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = silentLog{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = ln.Addr().String()
	if implicit {
		ln = tls.NewListener(ln, serverTLS)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ms
}

type silentLog struct{}

func (silentLog) Printf(string, ...any) {}
func (silentLog) Println(...any)        {}

func (ms *mailServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &mailSession{ms: ms, conn: c}, nil
}

func (ms *mailServer) messages() []received {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]received(nil), ms.got...)
}

func (ms *mailServer) dataAttempts() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return len(ms.attempts)
}

type mailSession struct {
	ms    *mailServer
	conn  *smtp.Conn
	authd bool
	from  string
	to    []string
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != smtpUser || password != smtpPassword {
			return errors.New("invalid credentials")
		}
		s.authd = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authd {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ms.mu.Lock()
	s.ms.attempts = append(s.ms.attempts, time.Now())
	answer := "ok"
	if len(s.ms.plan) > 0 {
		answer, s.ms.plan = s.ms.plan[0], s.ms.plan[1:]
	}
	if answer == "ok" {
		_, isTLS := s.conn.TLSConnectionState()
		s.ms.got = append(s.ms.got, received{from: s.from, to: s.to, data: b, tls: isTLS, authd: s.authd})
	}
	s.ms.mu.Unlock()
	switch answer {
	case "ok":
		return nil
	case "drop":
		_ = s.conn.Close()
		return errors.New("connection dropped by the test")
	case "451":
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	default:
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 3, 0}, Message: "Transaction failed"}
	}
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

func emailSink(t *testing.T, ms *mailServer, clientTLS *tls.Config) Sink {
	t.Helper()
	s, err := Email("email", EmailConfig{
		URL:      "smtp://" + smtpUser + "@" + ms.addr,
		Password: smtpPassword,
		From:     "modelops <modelops@example.com>",
		To:       []string{"ml-oncall@example.com", " Ward Team <ward@example.com> ", ""},
		TLS:      clientTLS,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// syncBuffer is a log destination safe for the delivery goroutines.
type syncBuffer struct {
	mu  sync.Mutex
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

// parts reads a multipart/alternative message into its parts' bodies by content type,
// decoding their transfer encoding.
func parts(t *testing.T, msg *netmail.Message) map[string]string {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		var r io.Reader = p // quoted-printable is decoded by the multipart reader
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out[ct] = string(b)
	}
	return out
}

func TestEmailArrivesOverSTARTTLSWithSubjectRecipientsAndBothParts(t *testing.T) {
	ms, clientTLS := newMailServer(t)
	n, err := New([]Sink{emailSink(t, ms, clientTLS)}, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(sampleEvent())
	closeNow(t, n)
	if st := n.Stats()["email"]; st.Delivered != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v, want 1 delivered", st)
	}
	got := ms.messages()
	if len(got) != 1 {
		t.Fatalf("%d messages arrived, want 1", len(got))
	}
	m := got[0]
	if !m.tls || !m.authd {
		t.Errorf("message sent with TLS %v, authenticated %v; want both", m.tls, m.authd)
	}
	if m.from != "modelops@example.com" || strings.Join(m.to, ",") != "ml-oncall@example.com,ward@example.com" {
		t.Errorf("envelope from %q to %v", m.from, m.to)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(m.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "[modelops] Canary 13 rolled back" {
		t.Errorf("subject %q (%v)", subject, err)
	}
	if to := msg.Header.Get("To"); !strings.Contains(to, "<ml-oncall@example.com>") || !strings.Contains(to, `"Ward Team" <ward@example.com>`) {
		t.Errorf("To: %q", to)
	}
	if from := msg.Header.Get("From"); from != `"modelops" <modelops@example.com>` {
		t.Errorf("From: %q", from)
	}
	if date, err := msg.Header.Date(); err != nil || !date.Equal(sampleEvent().At) {
		t.Errorf("Date %v (%v), want the event's time", date, err)
	}
	ps := parts(t, msg)
	text, html := ps["text/plain"], ps["text/html"]
	for _, want := range []string{
		"Canary 13 rolled back",
		"AUC of version 13 fell 0.031 below production <!channel> & stayed there for 2 checks.",
		"Model: sepsis-risk", "Canary: 13", "Production: 12", "AUC drop: 0.031 (max 0.02)",
		"Open: https://github.example/medimind/models/commit/4f2a9c1?a=1&b=2",
		"modelops · rollback · 2026-03-04T05:06:07Z",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{
		"<h2>Canary 13 rolled back</h2>",
		// The event's text is escaped: no markup of its own reaches the reader.
		"below production &lt;!channel&gt; &amp; stayed",
		"<th align=\"left\">AUC drop</th><td>0.031 (max 0.02)</td>",
		`<a href="https://github.example/medimind/models/commit/4f2a9c1?a=1&amp;b=2">Open</a>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}
}

func TestEmailRefusedOrDroppedIsRetriedWithBackoffThenDelivered(t *testing.T) {
	for _, plan := range [][]string{{"451", "451"}, {"554"}, {"drop", "451"}} {
		t.Run(strings.Join(plan, ","), func(t *testing.T) {
			ms, clientTLS := newMailServer(t, plan...)
			var logs syncBuffer
			opts := []Option{WithBackoff(20*time.Millisecond, 200*time.Millisecond), WithTimeout(5 * time.Second),
				WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}
			n, err := New([]Sink{emailSink(t, ms, clientTLS)}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			n.Notify(sampleEvent())
			closeNow(t, n)
			if st := n.Stats()["email"]; st.Delivered != 1 || st.Failed != 0 {
				t.Fatalf("stats %+v, want delivered after the refusals", st)
			}
			if got := ms.dataAttempts(); got != len(plan)+1 {
				t.Errorf("%d attempts, want %d", got, len(plan)+1)
			}
			if len(ms.messages()) != 1 {
				t.Errorf("%d messages accepted, want 1", len(ms.messages()))
			}
			ms.mu.Lock()
			defer ms.mu.Unlock()
			for i := 1; i < len(ms.attempts); i++ {
				// The first wait is 20ms randomized by ±50 %: at least 10ms.
				if gap := ms.attempts[i].Sub(ms.attempts[i-1]); gap < 10*time.Millisecond {
					t.Errorf("attempt %d came %v after the one before: no backoff", i+1, gap)
				}
			}
		})
	}
}

func TestEmailGivenUpIsLoggedWithoutTheCredentials(t *testing.T) {
	ms, clientTLS := newMailServer(t, "554", "554", "554")
	var logs syncBuffer
	n, err := New([]Sink{emailSink(t, ms, clientTLS)}, append(fast(), WithMaxAttempts(3),
		WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))...)
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(sampleEvent())
	closeNow(t, n)
	if st := n.Stats()["email"]; st.Failed != 1 || st.Delivered != 0 {
		t.Fatalf("stats %+v, want given up after 3 refusals", st)
	}
	out := logs.String()
	if !strings.Contains(out, "notification not delivered") || !strings.Contains(out, "sink=email") || !strings.Contains(out, "554") {
		t.Errorf("log lacks the failure, the sink or the server's answer:\n%s", out)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + smtpUser + "\x00" + smtpPassword))
	for _, secret := range []string{smtpPassword, plain} {
		if strings.Contains(out, secret) {
			t.Errorf("log carries the credentials %q:\n%s", secret, out)
		}
	}
}

// TestEmailNeverSendsWithoutTrustedTLS: a server that offers no STARTTLS, and one whose
// certificate is not trusted, get neither the credentials nor the message.
func TestEmailNeverSendsWithoutTrustedTLS(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	for _, tc := range []struct {
		name      string
		serverTLS *tls.Config
		clientTLS *tls.Config
	}{
		{"no STARTTLS", nil, clientTLS},
		{"untrusted certificate", serverTLS, &tls.Config{RootCAs: x509.NewCertPool()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := serveMail(t, tc.serverTLS, false, nil)
			s, err := Email("email", EmailConfig{URL: "smtp://" + smtpUser + "@" + ms.addr, Password: smtpPassword,
				From: "modelops@example.com", To: []string{"ml-oncall@example.com"}, TLS: tc.clientTLS})
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			n, err := New([]Sink{s}, append(fast(), WithMaxAttempts(2), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))...)
			if err != nil {
				t.Fatal(err)
			}
			n.Notify(sampleEvent())
			closeNow(t, n)
			if st := n.Stats()["email"]; st.Failed != 1 || st.Delivered != 0 {
				t.Errorf("stats %+v, want the event given up", st)
			}
			if len(ms.messages()) != 0 || ms.dataAttempts() != 0 {
				t.Errorf("a message reached the server without a trusted TLS connection")
			}
			if strings.Contains(logs.String(), smtpPassword) {
				t.Errorf("log carries the password:\n%s", logs.String())
			}
		})
	}
}

func TestEmailConfigErrors(t *testing.T) {
	good := EmailConfig{URL: "smtp://bot@mail.example.com:587", Password: smtpPassword, From: "modelops@example.com", To: []string{"a@example.com"}}
	for _, tc := range []struct {
		name string
		edit func(*EmailConfig)
		want string
	}{
		{"http url", func(c *EmailConfig) { c.URL = "https://bot:" + smtpPassword + "@mail.example.com" }, "url is not smtp://"},
		{"no host", func(c *EmailConfig) { c.URL = "smtp://" }, "url is not smtp://"},
		{"bad port", func(c *EmailConfig) { c.URL = "smtp://bot@mail.example.com:99999" }, "port is not a number"},
		{"user without password", func(c *EmailConfig) { c.Password = "" }, `user "bot" but no password`},
		{"bad from", func(c *EmailConfig) { c.From = "modelops" }, `from address "modelops"`},
		{"bad to", func(c *EmailConfig) { c.To = []string{"a@example.com", "not an address"} }, `to address "not an address"`},
		{"no to", func(c *EmailConfig) { c.To = []string{" "} }, "no recipient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			_, err := Email("email", c)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `sink "email"`) {
				t.Fatalf("err = %v, want %q naming the sink", err, tc.want)
			}
			if strings.Contains(err.Error(), smtpPassword) {
				t.Errorf("error carries the password: %v", err)
			}
		})
	}
	if _, err := Email("email", good); err != nil {
		t.Errorf("good config: %v", err)
	}
	// The password may come in the URL.
	c := good
	c.URL, c.Password = "smtps://bot:"+smtpPassword+"@mail.example.com", ""
	if _, err := Email("email", c); err != nil {
		t.Errorf("password in the url: %v", err)
	}
}

// TestEmailToAServerThatNeverAnswersIsCutByTheAttemptTimeout: a server that accepts the
// connection and says nothing holds neither Notify nor the queue beyond WithTimeout.
func TestEmailToAServerThatNeverAnswersIsCutByTheAttemptTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		close(accepted)
		for c := range accepted {
			c.Close()
		}
	})
	s, err := Email("email", EmailConfig{URL: "smtp://" + smtpUser + "@" + ln.Addr().String(), Password: smtpPassword,
		From: "modelops@example.com", To: []string{"ml-oncall@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := New([]Sink{s}, WithBackoff(time.Millisecond, 5*time.Millisecond), WithTimeout(200*time.Millisecond), WithMaxAttempts(2))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		n.Notify(sampleEvent()) // returns while the first attempt waits for a greeting
	}
	closeNow(t, n)
	if st := n.Stats()["email"]; st.Failed != 3 || st.Delivered != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want all 3 given up after their attempts timed out", st)
	}
}

func TestEmailOverImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	ms := serveMail(t, serverTLS, true, nil)
	s, err := Email("email", EmailConfig{URL: "smtps://" + smtpUser + "@" + ms.addr, Password: smtpPassword,
		From: "modelops@example.com", To: []string{"ml-oncall@example.com"}, TLS: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	n, err := New([]Sink{s}, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(sampleEvent())
	closeNow(t, n)
	got := ms.messages()
	if len(got) != 1 || !got[0].tls || !got[0].authd {
		t.Fatalf("messages %+v, want one sent over TLS after AUTH", got)
	}
}
