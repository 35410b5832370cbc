package alert_test

import (
	"context"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/alert"
	"github.com/erpsync/erpsync/alert/alerttest"
)

func sample() alert.Alert {
	return alert.Alert{
		Task: "Product import", Workflow: "ProductImport", Mode: "update", Entities: []string{"products"},
		Outcome: "failed", Time: time.Date(2026, 11, 29, 10, 5, 0, 0, time.UTC), Started: time.Date(2026, 11, 29, 10, 4, 0, 0, time.UTC),
		Error:     "sync products: unauthorized: token request: 401 invalid_client\r\nBcc: victim@example.com",
		Namespace: "default", WorkflowID: "product-import-update", RunID: "r-1",
	}
}

func TestAnAlertReachesTheMailboxAndTheWebhook(t *testing.T) {
	smtpd := alerttest.StartSMTP(t)
	hook := alerttest.StartWebhook(t)
	n := &alert.Notifier{Installation: "shop-eu", UIURL: "http://temporal.example:8233",
		Channels: []alert.Channel{
			&alert.Email{Addr: smtpd.Addr, From: "erpsync@example.com", To: []string{"ops@example.com", "shop@example.com"}},
			&alert.Webhook{URL: hook.URL},
		}}
	sent, err := n.Notify(context.Background(), sample(), nil)
	if err != nil || len(sent) != 2 {
		t.Fatalf("sent %v, %v; want email and webhook", sent, err)
	}
	link := "http://temporal.example:8233/namespaces/default/workflows/product-import-update/r-1/history"

	mails := smtpd.Mail()
	if len(mails) != 1 || mails[0].From != "erpsync@example.com" || strings.Join(mails[0].To, ",") != "ops@example.com,shop@example.com" {
		t.Fatalf("mails %+v, want one to both recipients", mails)
	}
	msg, err := mail.ReadMessage(strings.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[erpsync shop-eu] Product import (update) failed" {
		t.Errorf("subject %q", subject)
	}
	if msg.Header.Get("Bcc") != "" {
		t.Errorf("the error text added a header: Bcc %q", msg.Header.Get("Bcc"))
	}
	body := decodeQP(t, mails[0].Data)
	for _, want := range []string{"Installation:  shop-eu", "Ended:         2026-11-29T10:05:00Z", "401 invalid_client", link} {
		if !strings.Contains(body, want) {
			t.Errorf("the mail lacks %q:\n%s", want, body)
		}
	}

	posts := hook.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d webhook posts, want 1", len(posts))
	}
	p := posts[0]
	if p["task"] != "Product import" || p["installation"] != "shop-eu" || p["outcome"] != "failed" || p["link"] != link ||
		p["time"] != "2026-11-29T10:05:00Z" || !strings.Contains(p["error"].(string), "401") || !strings.Contains(p["text"].(string), link) {
		t.Errorf("webhook body %v", p)
	}
}

// TestAMailServerThatIsDownDoesNotStopTheWebhook: one attempt per channel, bounded in time; a
// retry skips what was sent.
func TestAMailServerThatIsDownDoesNotStopTheWebhook(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close() // nothing listens there now
	hook := alerttest.StartWebhook(t)
	n := &alert.Notifier{Channels: []alert.Channel{
		&alert.Email{Addr: down, From: "erpsync@example.com", To: []string{"ops@example.com"}, Timeout: 2 * time.Second},
		&alert.Webhook{URL: hook.URL},
	}}
	sent, err := n.Notify(context.Background(), sample(), nil)
	if err == nil || !strings.Contains(err.Error(), "send alert by email") || len(sent) != 1 || sent[0] != "webhook" {
		t.Fatalf("sent %v, error %v; want the webhook sent and the e-mail's error", sent, err)
	}
	sent, err = n.Notify(context.Background(), sample(), map[string]bool{"webhook": true})
	if err == nil || len(sent) != 0 || len(hook.Posts()) != 1 {
		t.Fatalf("retry: sent %v, %v, %d posts; want the webhook skipped", sent, err, len(hook.Posts()))
	}
}

// TestAWebhookErrorHidesTheURLsToken: webhook URLs often carry a secret in their path; an
// error (which reaches logs and the workflow's history) names the host only.
func TestAWebhookErrorHidesTheURLsToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer srv.Close()
	err := (&alert.Webhook{URL: srv.URL + "/services/T0SECRET"}).Send(context.Background(), sample())
	if err == nil || !strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "T0SECRET") {
		t.Fatalf("error %v; want the 404 without the token", err)
	}
}

func decodeQP(t *testing.T, data string) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	r := quotedprintable.NewReader(msg.Body)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return strings.ReplaceAll(b.String(), "\r\n", "\n")
}
