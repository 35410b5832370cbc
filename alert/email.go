package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Email sends alerts through an SMTP server (a relay or submission port). It upgrades the
// connection with STARTTLS when the server offers it, and logs in with PLAIN when Username is
// set (net/smtp refuses that over plain text except to localhost).
type Email struct {
	// Addr is the server's host:port, e.g. smtp.example.com:587.
	Addr string
	// From is the envelope and header sender; To the recipients.
	From string
	To   []string
	// Username and Password log in (optional).
	Username, Password string
	// Timeout bounds one attempt, connection to QUIT (default 15 s).
	Timeout time.Duration
	// TLS, when set, is the STARTTLS configuration (default: verify the server as Addr's host).
	TLS *tls.Config
}

// Name is "email".
func (e *Email) Name() string { return "email" }

// Send delivers a as one plain-text message to every recipient.
func (e *Email) Send(ctx context.Context, a Alert) error {
	if e.Addr == "" || e.From == "" || len(e.To) == 0 {
		return errors.New("e-mail alerts need a server, a sender and a recipient")
	}
	timeout := e.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", e.Addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", e.Addr, err)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", e.Addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := e.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp %s: starttls: %w", e.Addr, err)
		}
	}
	if e.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, host)); err != nil {
			return fmt.Errorf("smtp %s: log in as %s: %w", e.Addr, e.Username, err)
		}
	}
	if err := c.Mail(e.From); err != nil {
		return fmt.Errorf("smtp %s: sender %s: %w", e.Addr, e.From, err)
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp %s: recipient %s: %w", e.Addr, to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: data: %w", e.Addr, err)
	}
	if _, err := w.Write(e.message(a)); err != nil {
		return fmt.Errorf("smtp %s: write message: %w", e.Addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: message refused: %w", e.Addr, err)
	}
	return c.Quit()
}

// message is a as an RFC 5322 message: UTF-8 text, quoted-printable, the subject encoded.
func (e *Email) message(a Alert) []byte {
	var b bytes.Buffer
	header := func(k, v string) {
		// Header values never carry a line break: an error text cannot add headers.
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	header("From", e.From)
	header("To", strings.Join(e.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", a.Summary()))
	header("Date", a.Time.Format(time.RFC1123Z))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("X-Erpsync-Outcome", a.Outcome)
	header("X-Erpsync-Workflow-Id", a.WorkflowID)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(a.Text(), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}
