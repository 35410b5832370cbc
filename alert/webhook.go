package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// redact returns u without its path and query, which often hold the webhook's secret token.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "(an invalid URL)"
	}
	return p.Scheme + "://" + p.Host + "/…"
}

// Webhook POSTs alerts as JSON: the Alert's fields and "text", its summary and link in one
// line (what chat webhooks such as Slack's show).
type Webhook struct {
	URL string
	// Header is added to each request (e.g. Authorization).
	Header http.Header
	// Client sends the requests (default: one with a 15 s timeout).
	Client *http.Client
}

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Send posts a and succeeds on a 2xx answer.
func (w *Webhook) Send(ctx context.Context, a Alert) error {
	body, err := json.Marshal(struct {
		Alert
		Text string `json:"text"`
	}{a, a.Summary() + ": " + a.Link})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", redact(w.URL), err)
	}
	for k, vs := range w.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "erpsync-alert")
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", redact(w.URL), errors.Unwrap(err))
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: %s %s", redact(w.URL), res.Status, bytes.TrimSpace(msg))
	}
	return nil
}
