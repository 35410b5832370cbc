package main

import (
	"strings"
	"testing"

	"github.com/erpsync/erpsync/alert"
)

func TestAlertSettings(t *testing.T) {
	t.Setenv("ERPSYNC_INSTALLATION", "")
	t.Setenv("ERPSYNC_TEMPORAL_UI_URL", "")
	t.Setenv("ERPSYNC_ALERT_SMTP_ADDR", "smtp.example.com:587")
	t.Setenv("ERPSYNC_ALERT_EMAIL_FROM", "erpsync@shop.example")
	t.Setenv("ERPSYNC_ALERT_EMAIL_TO", "ops@shop.example, it@shop.example ,")
	t.Setenv("ERPSYNC_ALERT_WEBHOOK_URL", "https://hooks.example.com/T0/B1")
	var errs []error
	n := alertsFromEnv("shop-eu", &errs)
	if len(errs) != 0 || n.Installation != "shop-eu" || n.UIURL != "http://127.0.0.1:8233" || len(n.Channels) != 2 {
		t.Fatalf("notifier %+v, errors %v", n, errs)
	}
	if e := n.Channels[0].(*alert.Email); e.Addr != "smtp.example.com:587" || strings.Join(e.To, ",") != "ops@shop.example,it@shop.example" {
		t.Fatalf("e-mail channel %+v", e)
	}

	// An SMTP server without a sender or recipients, and a webhook that is no URL, are errors.
	t.Setenv("ERPSYNC_ALERT_EMAIL_TO", "")
	t.Setenv("ERPSYNC_ALERT_WEBHOOK_URL", "hooks.example.com")
	errs = nil
	alertsFromEnv("shop-eu", &errs)
	if len(errs) != 2 {
		t.Fatalf("errors %v, want the missing recipients and the webhook URL", errs)
	}

	// Nothing set: no channel, no alerts.
	for _, k := range []string{"ERPSYNC_ALERT_SMTP_ADDR", "ERPSYNC_ALERT_EMAIL_FROM", "ERPSYNC_ALERT_WEBHOOK_URL"} {
		t.Setenv(k, "")
	}
	errs = nil
	if n := alertsFromEnv("shop-eu", &errs); n.Enabled() || len(errs) != 0 {
		t.Fatalf("with nothing set: %+v %v", n, errs)
	}
}
