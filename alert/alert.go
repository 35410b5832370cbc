// Package alert tells people when an import did not succeed, as Sana Commerce Cloud e-mails an
// administrator when a scheduled task fails: by e-mail (SMTP) and by webhook (a JSON POST),
// each alert carrying the task, the installation, the time, the error and a link to the run in
// the Temporal UI.
package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/erpsync/erpsync/visibility"
)

// Alert is one import run that did not succeed.
type Alert struct {
	// Task is the import as people name it: "Product import".
	Task string `json:"task"`
	// Workflow is its workflow type: ProductImport, CustomerImport.
	Workflow string   `json:"workflow"`
	Mode     string   `json:"mode"`
	Entities []string `json:"entities"`
	// Outcome is visibility.Failed, Partial or Refused.
	Outcome string `json:"outcome"`
	// Installation names the erpsync installation (by default its index prefix).
	Installation string `json:"installation"`
	// Time is when the run ended; Started when it started.
	Time    time.Time `json:"time"`
	Started time.Time `json:"started"`
	// Error is why it failed, or what was dead-lettered or refused.
	Error string `json:"error,omitempty"`
	// Written and DeadLettered count documents written (indexed or deleted) and records
	// dead-lettered.
	Written      int `json:"written"`
	DeadLettered int `json:"dead_lettered"`
	// Namespace, WorkflowID and RunID name the run in Temporal; Link is its page in the UI.
	Namespace  string `json:"namespace"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Link       string `json:"link"`
}

// Summary is the alert in one line: "[erpsync shop] Product import (update) failed".
func (a Alert) Summary() string {
	what := map[string]string{visibility.Failed: "failed", visibility.Partial: "finished with dead letters",
		visibility.Refused: "refused to delete"}[a.Outcome]
	if what == "" {
		what = "ended: " + a.Outcome
	}
	return fmt.Sprintf("[erpsync %s] %s (%s) %s", a.Installation, a.Task, a.Mode, what)
}

// Text is the alert as a plain-text message.
func (a Alert) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", a.Summary())
	fmt.Fprintf(&b, "Task:          %s (%s), %s\n", a.Task, a.Mode, strings.Join(a.Entities, ", "))
	fmt.Fprintf(&b, "Installation:  %s\n", a.Installation)
	fmt.Fprintf(&b, "Outcome:       %s\n", a.Outcome)
	fmt.Fprintf(&b, "Started:       %s\n", a.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "Ended:         %s\n", a.Time.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "Written:       %d documents\n", a.Written)
	fmt.Fprintf(&b, "Dead-lettered: %d records (starter dead-letters lists them)\n", a.DeadLettered)
	if a.Error != "" {
		fmt.Fprintf(&b, "\nError:\n%s\n", a.Error)
	}
	fmt.Fprintf(&b, "\nThe run in the Temporal UI:\n%s\n", a.Link)
	fmt.Fprintf(&b, "Workflow %s, run %s, namespace %s\n", a.WorkflowID, a.RunID, a.Namespace)
	return b.String()
}

// Channel delivers alerts one way (e-mail, webhook). Send returns when the alert was handed
// over or ctx ended; it makes one attempt (the caller retries, boundedly).
type Channel interface {
	// Name names the channel in logs and in the caller's record of what was sent.
	Name() string
	Send(ctx context.Context, a Alert) error
}

// Notifier sends alerts to every channel. Its zero value has no channel and sends nothing.
type Notifier struct {
	// Installation fills Alert.Installation when it is empty.
	Installation string
	// UIURL is the Temporal UI's base URL for Alert.Link (visibility.DefaultUIURL when "").
	UIURL    string
	Channels []Channel
}

// Enabled reports whether n has a channel.
func (n *Notifier) Enabled() bool { return n != nil && len(n.Channels) > 0 }

// Notify fills a's installation and link and sends it to every channel whose name is not in
// skip (those a previous attempt reached). It returns the channels reached now and the errors
// of the others, joined.
func (n *Notifier) Notify(ctx context.Context, a Alert, skip map[string]bool) (sent []string, err error) {
	if a.Installation == "" {
		a.Installation = n.Installation
	}
	if a.Link == "" {
		a.Link = visibility.RunURL(n.UIURL, a.Namespace, a.WorkflowID, a.RunID)
	}
	var errs []error
	for _, c := range n.Channels {
		if skip[c.Name()] {
			continue
		}
		if err := c.Send(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("send alert by %s: %w", c.Name(), err))
			continue
		}
		sent = append(sent, c.Name())
	}
	return sent, errors.Join(errs...)
}
