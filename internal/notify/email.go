package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net"
	netmail "net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/wneessen/go-mail"
)

// EmailConfig says where and to whom an email sink sends.
type EmailConfig struct {
	// URL is the submission server: smtp://user@host:587 upgrades the connection with
	// STARTTLS before anything else and refuses a server that cannot; smtps://user@host:465
	// speaks TLS from the first byte. The user, when given, authenticates with AUTH PLAIN,
	// which is only ever sent over TLS. Ports default to 587 and 465.
	URL string
	// Password of the URL's user (a password in the URL itself is used when this is empty).
	Password string
	// From is the sender's address ("modelops <modelops@example.com>").
	From string
	// To are the recipients' addresses; blank entries are ignored.
	To []string
	// TLS replaces the TLS settings (default: the system's roots, the URL's host as server
	// name, TLS 1.2 at least). Tests set it to trust their own certificate authority.
	TLS *tls.Config
}

// Email is a sink sending each event as an email with a plain-text and an HTML part. The
// errors name the sink, never the password or the URL.
func Email(name string, c EmailConfig) (Sink, error) {
	m, err := newMailer(name, c)
	if err != nil {
		return Sink{}, err
	}
	return Sink{Name: name, send: m.send}, nil
}

// mailer sends events to one submission server.
type mailer struct {
	sink string
	host string
	opts []mail.Option
	from string
	to   []string
	// implicitTLS (smtps) dials TLS from the first byte with tls.
	implicitTLS bool
	tls         *tls.Config
}

func newMailer(name string, c EmailConfig) (*mailer, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		// The URL may carry a password: say what is wrong without quoting it.
		return nil, fmt.Errorf("sink %q: url is not smtp://[user@]host[:port] or smtps://[user@]host[:port]", name)
	}
	m := &mailer{sink: name, host: u.Hostname()}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("sink %q: url port is not a number from 1 to 65535", name)
		}
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLS != nil {
		tlsConfig = c.TLS.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = m.host
	}
	m.tls, m.implicitTLS = tlsConfig, u.Scheme == "smtps"
	m.opts = []mail.Option{mail.WithPort(port), mail.WithTLSConfig(tlsConfig), mail.WithTLSPolicy(mail.TLSMandatory)}
	if m.implicitTLS {
		m.opts = append(m.opts, mail.WithSSL())
	}
	if user := u.User.Username(); user != "" {
		password := c.Password
		if p, ok := u.User.Password(); ok && password == "" {
			password = p
		}
		if password == "" {
			return nil, fmt.Errorf("sink %q: url names user %q but no password is set", name, user)
		}
		m.opts = append(m.opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(user), mail.WithPassword(password))
	}

	from, err := netmail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("sink %q: from address %q: %w", name, c.From, err)
	}
	m.from = from.String()
	for _, to := range c.To {
		if strings.TrimSpace(to) == "" {
			continue
		}
		a, err := netmail.ParseAddress(to)
		if err != nil {
			return nil, fmt.Errorf("sink %q: to address %q: %w", name, to, err)
		}
		m.to = append(m.to, a.String())
	}
	if len(m.to) == 0 {
		return nil, fmt.Errorf("sink %q: no recipient (to) address", name)
	}
	return m, nil
}

// send makes one attempt: a new connection, STARTTLS (or TLS), AUTH, the message, QUIT. Every
// failure of the server or the connection is retried: a 5xx refusal may come from a server
// being reconfigured, and the attempts are bounded.
func (m *mailer) send(ctx context.Context, e Event) error {
	msg, err := m.message(e)
	if err != nil {
		return backoff.Permanent(fmt.Errorf("mail to %s: %w", m.sink, err))
	}
	client, err := mail.NewClient(m.host, append(slices.Clone(m.opts), mail.WithDialContextFunc(m.dialer(ctx)))...)
	if err != nil {
		return backoff.Permanent(fmt.Errorf("mail to %s: %w", m.sink, err))
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail to %s: %w", m.sink, err)
	}
	return nil
}

// dialer connects as go-mail would (TLS from the first byte for smtps), and closes the
// connection when ctx is done: go-mail heeds its context only while dialling, so a server
// that stops answering would otherwise hold the attempt for go-mail's own timeout per
// command, past WithTimeout and past Close's deadline.
func (m *mailer) dialer(ctx context.Context) mail.DialContextFunc {
	return func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if m.implicitTLS {
			conn, err = (&tls.Dialer{NetDialer: d, Config: m.tls}).DialContext(dialCtx, network, addr)
		} else {
			conn, err = d.DialContext(dialCtx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}
}

// emailData is what the templates render.
type emailData struct {
	Event
	Heading string
	When    string
	// Fields are the event's, the model first.
	Fields []Field
}

var emailText = texttemplate.Must(texttemplate.New("text").Parse(`{{.Heading}}
{{with .Text}}
{{.}}
{{end}}
{{range .Fields}}{{.Name}}: {{.Value}}
{{end}}{{with .URL}}
Open: {{.}}
{{end}}
--
modelops · {{.Kind}}{{with .When}} · {{.}}{{end}}
`))

var emailHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>{{.Heading}}</h2>
{{with .Text}}<p>{{.}}</p>
{{end}}<table cellpadding="4" style="border-collapse: collapse">
{{range .Fields}}<tr><th align="left">{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{with .URL}}<p><a href="{{.}}">Open</a></p>
{{end}}<p style="color: #666; font-size: small">modelops · {{.Kind}}{{with .When}} · {{.}}{{end}}</p>
</body></html>
`))

// message builds the email of e: the subject "[modelops] <title>", a plain-text part and an
// HTML alternative.
func (m *mailer) message(e Event) (*mail.Msg, error) {
	data := emailData{Event: e, Heading: e.Title, Fields: append([]Field{{Name: "Model", Value: e.Model}}, e.Fields...)}
	if data.Heading == "" {
		data.Heading = fmt.Sprintf("%s: %s", e.Kind, e.Model)
	}
	if !e.At.IsZero() {
		data.When = e.At.UTC().Format(time.RFC3339)
	}
	msg := mail.NewMsg()
	msg.SetUserAgent("modelops")
	if err := msg.From(m.from); err != nil {
		return nil, err
	}
	if err := msg.To(m.to...); err != nil {
		return nil, err
	}
	msg.Subject("[modelops] " + data.Heading)
	if !e.At.IsZero() {
		msg.SetDateWithValue(e.At)
	} else {
		msg.SetDate()
	}
	msg.SetMessageID()
	if err := msg.SetBodyTextTemplate(emailText, data); err != nil {
		return nil, errors.Join(errors.New("render the text part"), err)
	}
	if err := msg.AddAlternativeHTMLTemplate(emailHTML, data); err != nil {
		return nil, errors.Join(errors.New("render the HTML part"), err)
	}
	return msg, nil
}
