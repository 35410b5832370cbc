package config

import (
	"strings"
	"testing"

	"github.com/erpsync/erpsync/alert"
)

// TestAlertSettings: the alert channels come from their settings; an SMTP server without a
// sender or recipients, and a webhook that is no URL, are errors; nothing set is no alerts.
func TestAlertSettings(t *testing.T) {
	base := env{"ERP_URL": "http://erp", "ERP_CLIENT_ID": "id", "ERP_CLIENT_SECRET": "s", "ERPSYNC_INDEX_PREFIX": "shop-eu"}
	with := func(kv ...string) env {
		e := env{}
		for k, v := range base {
			e[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			e[kv[i]] = kv[i+1]
		}
		return e
	}
	c, _, err := parse(t, ForWorker, with("ERPSYNC_ALERT_SMTP_ADDR", "smtp.example.com:587", "ERPSYNC_ALERT_EMAIL_FROM", "erpsync@shop.example",
		"ERPSYNC_ALERT_EMAIL_TO", "ops@shop.example, it@shop.example ,", "ERPSYNC_ALERT_WEBHOOK_URL", "https://hooks.example.com/T0/B1"))
	n := c.Alerts
	if err != nil || n.Installation != "shop-eu" || n.UIURL != "http://127.0.0.1:8233" || len(n.Channels) != 2 {
		t.Fatalf("notifier %+v, error %v", n, err)
	}
	if e := n.Channels[0].(*alert.Email); e.Addr != "smtp.example.com:587" || strings.Join(e.To, ",") != "ops@shop.example,it@shop.example" {
		t.Fatalf("e-mail channel %+v", e)
	}

	_, _, err = parse(t, ForWorker, with("ERPSYNC_ALERT_SMTP_ADDR", "smtp.example.com:587", "ERPSYNC_ALERT_EMAIL_FROM", "erpsync@shop.example",
		"ERPSYNC_ALERT_WEBHOOK_URL", "hooks.example.com"))
	if err == nil || !strings.Contains(err.Error(), "ERPSYNC_ALERT_EMAIL_TO") || !strings.Contains(err.Error(), "ERPSYNC_ALERT_WEBHOOK_URL") {
		t.Fatalf("error %v, want the missing recipients and the webhook URL", err)
	}

	c, _, err = parse(t, ForWorker, with())
	if err != nil || c.Alerts.Enabled() {
		t.Fatalf("with nothing set: %+v %v", c.Alerts, err)
	}
}
