package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erpsim/store"
)

func TestConfigFlagsEnvAndDefaults(t *testing.T) {
	t.Setenv("ERPSIM_ADDR", "0.0.0.0:9999")
	t.Setenv("ERPSIM_CHANGE_RATE", "0")
	t.Setenv("ERPSIM_PRODUCTS", "50")
	c, err := parseConfig([]string{"--products", "70", "--companies", "USMF, demf", "--latency", "5ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "0.0.0.0:9999" || c.changeRate != 0 {
		t.Errorf("environment not applied: %+v", c)
	}
	if c.gen.Products != 70 {
		t.Errorf("a flag must win over the environment: products %d", c.gen.Products)
	}
	if strings.Join(c.gen.Companies, ",") != "usmf,demf" || time.Duration(c.faults.Latency) != 5*time.Millisecond {
		t.Errorf("companies %v latency %v", c.gen.Companies, c.faults.Latency)
	}
	if c.clientID != "erpsync" || c.clientSecret != "erpsync-dev-secret" || c.db != "erpsim.db" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestConfigErrorsAllAtOnce(t *testing.T) {
	t.Setenv("ERPSIM_TOKEN_TTL", "soon")
	_, err := parseConfig([]string{"--error-share", "2", "--change-rate", "-1"}, io.Discard)
	for _, want := range []string{"ERPSIM_TOKEN_TTL", "error_share", "-change-rate"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestHelpMentionsEverySetting(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"-help"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"generate", "/oauth2/token", "/data/$metadata", "/admin/faults"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not mention %s", want)
		}
	}
	_, set := declare()
	for _, st := range set.Settings() {
		for _, want := range []string{st.Key, "--" + st.Flag, "$" + st.Env[0], "Default: " + st.Default} {
			if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), want) {
				t.Errorf("help does not mention %s of %s", want, st.Key)
			}
		}
	}
}

func TestGenerateThenRefuse(t *testing.T) {
	db := filepath.Join(t.TempDir(), "erp.db")
	c, err := parseConfig([]string{"--db", db, "--products", "30", "--customers", "3"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if err := run(context.Background(), "generate", c, log); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), "generate", c, log); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Errorf("second generate: %v", err)
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Count(context.Background(), store.ReleasedProducts); err != nil || n != 30 {
		t.Errorf("%d products, %v", n, err)
	}
}
