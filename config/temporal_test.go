package config

import (
	"context"
	"strings"
	"testing"
)

// TestTemporalProfileAndAPIKey: the settings start from the SDK's TOML profile (as the temporal
// CLI writes it), erpsync's settings win over it, and an API key gives credentials and TLS.
func TestTemporalProfileAndAPIKey(t *testing.T) {
	file := writeFile(t, "temporal.toml", `
[profile.cloud]
address = "eu-west-1.aws.api.temporal.io:7233"
namespace = "shop.a1b2c"
api_key = "from-the-profile"

[profile.cloud.grpc_meta]
x-extra = "kept"
`)
	e := env{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "cloud"}
	c, s, err := parse(t, ForStarter, e)
	if err != nil {
		t.Fatal(err)
	}
	tc := c.Temporal
	if tc.Address != "eu-west-1.aws.api.temporal.io:7233" || tc.Namespace != "shop.a1b2c" || tc.APIKey != "from-the-profile" {
		t.Errorf("from the profile: %+v", tc)
	}
	if o := s.Origin("temporal.address"); !strings.Contains(o, "profile cloud of "+file) {
		t.Errorf("origin of the address: %q", o)
	}
	opts, err := tc.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != tc.Address || opts.Namespace != "shop.a1b2c" || opts.Credentials == nil || opts.ConnectionOptions.TLS == nil {
		t.Errorf("client options: host %q namespace %q credentials %v TLS %v", opts.HostPort, opts.Namespace, opts.Credentials, opts.ConnectionOptions.TLS)
	}
	if opts.HeadersProvider == nil {
		t.Error("the profile's gRPC metadata is lost")
	} else if h, _ := opts.HeadersProvider.GetHeaders(context.Background()); h["x-extra"] != "kept" {
		t.Errorf("gRPC metadata %v", h)
	}

	// The environment and flags win over the profile; TLS can be turned off.
	e["TEMPORAL_NAMESPACE"] = "other"
	c, _, err = parse(t, ForStarter, e, "--temporal-address", "127.0.0.1:7233", "--temporal-tls", "false")
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Address != "127.0.0.1:7233" || c.Temporal.Namespace != "other" || c.Temporal.APIKey != "from-the-profile" || c.Temporal.TLSOn() {
		t.Errorf("over the profile: %+v", c.Temporal)
	}
	if opts, err := c.Temporal.ClientOptions(); err != nil || !opts.ConnectionOptions.TLSDisabled {
		t.Errorf("TLS off: %+v %v", opts.ConnectionOptions, err)
	}

	// Without a profile: the local dev server, no TLS.
	c, _, err = parse(t, ForStarter, env{})
	if err != nil {
		t.Fatal(err)
	}
	if opts, err := c.Temporal.ClientOptions(); err != nil || opts.HostPort != DefaultTemporalAddress || opts.Namespace != DefaultNamespace ||
		opts.Credentials != nil || opts.ConnectionOptions.TLS != nil {
		t.Errorf("defaults: %+v %v", opts, err)
	}
	if _, _, err := parse(t, ForStarter, env{"TEMPORAL_PROFILE": "nope", "TEMPORAL_CONFIG_FILE": file}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a profile that is not in the file: %v", err)
	}
	if _, _, err := parse(t, ForStarter, env{"TEMPORAL_TLS_CLIENT_CERT_PATH": "/nonexistent/cert.pem"}); err == nil ||
		!strings.Contains(err.Error(), "TEMPORAL_TLS_CLIENT_CERT_PATH") || !strings.Contains(err.Error(), "key") {
		t.Errorf("a certificate without its key, and a file that is not there: %v", err)
	}
}
