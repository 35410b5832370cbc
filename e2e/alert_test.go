package e2e

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/alert"
	"github.com/erpsync/erpsync/alert/alerttest"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/visibility"
	"github.com/erpsync/erpsync/workflows"
)

// TestAFailedImportSendsOneEmailAndOneWebhook: the ERP no longer accepts the worker's client
// secret (revoked); the update run fails, and within a minute one e-mail reaches an SMTP server
// and one JSON post a webhook, each naming the task, the installation, the time, the error and
// the run's page in the Temporal UI; the Temporal UI (the visibility API) lists the run by its
// outcome.
func TestAFailedImportSendsOneEmailAndOneWebhook(t *testing.T) {
	t.Parallel()
	s := newStackWithoutWorker(t, simtest.Catalog(31), erpsim.Config{}, activities.Settings{PageSize: 100})
	revoked, err := d365.New(d365.Config{BaseURL: s.sim.URL, ClientID: s.sim.ClientID, ClientSecret: "revoked-" + s.sim.ClientSecret, RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.source = revoked
	smtpd := alerttest.StartSMTP(t)
	hook := alerttest.StartWebhook(t)
	s.alerts = &alert.Notifier{Installation: s.prefix, UIURL: "http://127.0.0.1:8233", Channels: []alert.Channel{
		&alert.Email{Addr: smtpd.Addr, From: "erpsync@shop.example", To: []string{"admin@shop.example"}},
		&alert.Webhook{URL: hook.URL},
	}}
	s.startWorker()

	started := time.Now()
	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Update})
	if err := run.Get(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "nauthorized") {
		t.Fatalf("the run ended with %v; want it failed for the refused secret", err)
	}
	for time.Since(started) < time.Minute && (len(smtpd.Mail()) == 0 || len(hook.Posts()) == 0) {
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(started)
	time.Sleep(2 * time.Second) // anything sent twice would arrive by now
	mails, posts := smtpd.Mail(), hook.Posts()
	if len(mails) != 1 || len(posts) != 1 {
		t.Fatalf("%d e-mails and %d webhook posts within %s; want one of each", len(mails), len(posts), took.Round(time.Millisecond))
	}
	t.Logf("alerted by e-mail and webhook %s after the run started", took.Round(time.Millisecond))
	link := visibility.RunURL("http://127.0.0.1:8233", "default", run.GetID(), run.GetRunID())

	msg, err := mail.ReadMessage(strings.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if want := fmt.Sprintf("[erpsync %s] Product import (update) failed", s.prefix); subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	body := decodeMail(t, mails[0].Data)
	for _, want := range []string{"Installation:  " + s.prefix, "invalid_client", link, "Ended:"} {
		if !strings.Contains(body, want) {
			t.Errorf("the e-mail lacks %q:\n%s", want, body)
		}
	}
	p := posts[0]
	if p["task"] != "Product import" || p["installation"] != s.prefix || p["outcome"] != "failed" || p["link"] != link ||
		!strings.Contains(fmt.Sprint(p["error"]), "invalid_client") || p["time"] == nil {
		t.Errorf("webhook body %v", p)
	}

	// The UI's list: ErpsyncOutcome = 'failed' finds the run (visibility is eventually consistent).
	query := fmt.Sprintf("ErpsyncOutcome = 'failed' AND ErpsyncMode = 'update' AND ErpsyncEntity = 'products' AND TaskQueue = '%s'", s.queue)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("list %q: %v", query, err)
		}
		if n := len(res.GetExecutions()); n == 1 && res.GetExecutions()[0].GetExecution().GetRunId() == run.GetRunID() {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%q lists %d runs, want the failed one", query, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// decodeMail returns the text of a quoted-printable message, with \n line ends.
func decodeMail(t *testing.T, data string) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
