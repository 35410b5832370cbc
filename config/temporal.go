package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/erpsync/erpsync/visibility"
	"github.com/erpsync/erpsync/workflows"
)

// Temporal says how to reach Temporal: a dev server, a self-hosted cluster (mTLS) or Temporal
// Cloud (an API key, or mTLS). It is read like the SDK's own client configuration
// (go.temporal.io/sdk/contrib/envconfig): a profile of a TOML file (TEMPORAL_PROFILE in
// TEMPORAL_CONFIG_FILE, default ~/.config/temporalio/temporal.toml, as the temporal CLI
// writes it), the SDK's other TEMPORAL_* variables (TEMPORAL_TLS_CLIENT_CERT_DATA,
// TEMPORAL_GRPC_META_*, TEMPORAL_CODEC_*...), then the settings below, which win.
type Temporal struct {
	Address, Namespace, TaskQueue string
	// APIKey authenticates to Temporal Cloud (and turns TLS on).
	APIKey string
	// TLS is "true", "false", or "" for on with an API key or a client certificate.
	TLS string
	// TLSCert and TLSKey are the client certificate and key (mTLS), TLSCA the server's CA and
	// TLSServerName the name its certificate is checked against.
	TLSCert, TLSKey, TLSCA, TLSServerName string
	// Profile and ConfigFile select the SDK profile the settings start from.
	Profile, ConfigFile string
	// UIURL is the Temporal UI's base URL, for links to runs.
	UIURL string

	// extra is what the profile and the SDK's variables set beyond the fields above.
	extra envconfig.ClientConfigProfile
}

// ClientOptions returns the SDK client options: address, namespace, credentials and TLS.
// The caller adds its logger and metrics handler.
func (t Temporal) ClientOptions() (client.Options, error) {
	p := t.extra
	p.Address, p.Namespace, p.APIKey = t.Address, t.Namespace, t.APIKey
	tlsOn := t.TLS == "true" || t.TLSCert != "" || t.TLSKey != "" || t.TLSCA != "" || t.TLSServerName != ""
	if tlsOn || t.TLS == "false" {
		if p.TLS == nil {
			p.TLS = &envconfig.ClientConfigTLS{}
		} else {
			tls := *p.TLS
			p.TLS = &tls
		}
		p.TLS.Disabled = t.TLS == "false"
		p.TLS.ClientCertPath, p.TLS.ClientKeyPath = t.TLSCert, t.TLSKey
		p.TLS.ServerCACertPath, p.TLS.ServerName = t.TLSCA, t.TLSServerName
	}
	opts, err := p.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal client options: %w", err)
	}
	return opts, nil
}

// TLSOn reports whether the connection uses TLS.
func (t Temporal) TLSOn() bool {
	if t.TLS != "" {
		return t.TLS == "true"
	}
	return t.APIKey != "" || t.TLSCert != "" || t.TLSCA != "" || (t.extra.TLS != nil && !t.extra.TLS.Disabled)
}

// temporalEnv lists the TEMPORAL_* variables that are erpsync settings; the SDK's others are
// read by envconfig.
var temporalEnv = []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS",
	"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
	"TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE"}

// sdkEnv shows envconfig the environment without the variables erpsync reads itself.
type sdkEnv struct{ env Env }

func (e sdkEnv) LookupEnv(k string) (string, bool) {
	if slices.Contains(temporalEnv, k) || e.env == nil {
		return "", false
	}
	return e.env(k)
}

func (e sdkEnv) Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := e.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func (c *Config) declareTemporal(s *Set) {
	t := &c.Temporal
	s.Section("temporal", "Temporal (also the SDK's profile and TEMPORAL_* variables, see README)")
	s.Add(
		&Setting{Key: "temporal.address", Env: []string{"TEMPORAL_ADDRESS"}, Flag: "temporal-address", Aliases: []string{"temporal"},
			Default: DefaultTemporalAddress, DefaultText: DefaultTemporalAddress + ", or the profile's",
			Help:  "Temporal frontend, host:port (Temporal Cloud: <namespace>.<account>.tmprl.cloud:7233, or the regional endpoint for API keys).",
			Value: String(&t.Address)},
		&Setting{Key: "temporal.namespace", Env: []string{"TEMPORAL_NAMESPACE"}, Flag: "temporal-namespace",
			Default: DefaultNamespace, DefaultText: DefaultNamespace + ", or the profile's",
			Help: "Namespace of the imports and schedules.", Value: String(&t.Namespace)},
		&Setting{Key: "temporal.task-queue", Env: []string{"ERPSYNC_TASK_QUEUE"}, Flag: "task-queue", Default: workflows.TaskQueue,
			Help: "Task queue of the workers.", Value: String(&t.TaskQueue)},
		&Setting{Key: "temporal.api-key", Env: []string{"TEMPORAL_API_KEY"}, Flag: "temporal-api-key", Secret: true,
			Help: "Temporal Cloud API key; turns TLS on.", Value: String(&t.APIKey)},
		&Setting{Key: "temporal.tls", Env: []string{"TEMPORAL_TLS"}, Flag: "temporal-tls", DefaultText: "on with an API key or a client certificate",
			Help: "true or false: TLS to the frontend.", Value: String(&t.TLS),
			Check: func() error {
				if t.TLS != "" && t.TLS != "true" && t.TLS != "false" {
					return errors.New("want true or false")
				}
				return nil
			}},
		&Setting{Key: "temporal.tls-cert", Env: []string{"TEMPORAL_TLS_CLIENT_CERT_PATH"}, Flag: "temporal-tls-cert",
			Help: "PEM file of the client certificate (mTLS).", Value: String(&t.TLSCert)},
		&Setting{Key: "temporal.tls-key", Env: []string{"TEMPORAL_TLS_CLIENT_KEY_PATH"}, Flag: "temporal-tls-key",
			Help: "PEM file of the client certificate's key.", Value: String(&t.TLSKey)},
		&Setting{Key: "temporal.tls-ca", Env: []string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH"}, Flag: "temporal-tls-ca",
			DefaultText: "the system's CAs", Help: "PEM file of the CA of the server's certificate.", Value: String(&t.TLSCA)},
		&Setting{Key: "temporal.tls-server-name", Env: []string{"TEMPORAL_TLS_SERVER_NAME"}, Flag: "temporal-tls-server-name",
			Help: "Name the server's certificate is checked against, when it differs from the address's host.", Value: String(&t.TLSServerName)},
		&Setting{Key: "temporal.profile", Env: []string{"TEMPORAL_PROFILE"}, Flag: "temporal-profile", DefaultText: "default",
			Help: "Profile of the SDK's TOML client configuration to start from.", Value: String(&t.Profile)},
		&Setting{Key: "temporal.config-file", Env: []string{"TEMPORAL_CONFIG_FILE"}, Flag: "temporal-config-file",
			DefaultText: "~/.config/temporalio/temporal.toml when it exists",
			Help:        "The SDK's TOML client configuration file.", Value: String(&t.ConfigFile)},
		&Setting{Key: "temporal.ui-url", Env: []string{"ERPSYNC_TEMPORAL_UI_URL"}, Flag: "temporal-ui-url", Default: visibility.DefaultUIURL,
			Help: "The Temporal UI's base URL, for links to runs (Temporal Cloud: https://cloud.temporal.io).", Value: String(&t.UIURL),
			Check: func() error {
				if !strings.HasPrefix(t.UIURL, "http://") && !strings.HasPrefix(t.UIURL, "https://") {
					return errors.New("want an http(s) URL")
				}
				return nil
			}},
	)
	s.Derive(func() error { return c.deriveTemporal(s) })
	s.Check(func() error {
		var errs []error
		if t.Address == "" {
			errs = append(errs, errors.New("TEMPORAL_ADDRESS is empty"))
		}
		if (t.TLSCert == "") != (t.TLSKey == "") {
			errs = append(errs, errors.New("temporal: a client certificate needs its key and the other way round (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH)"))
		}
		for _, f := range []struct{ key, path string }{{"temporal.tls-cert", t.TLSCert}, {"temporal.tls-key", t.TLSKey}, {"temporal.tls-ca", t.TLSCA}} {
			if f.path == "" {
				continue
			}
			if _, err := os.Stat(f.path); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.Describe(f.key), err))
			}
		}
		return errors.Join(errs...)
	})
}

// deriveTemporal starts from the SDK's profile and its other variables and keeps the settings
// given to erpsync over them.
func (c *Config) deriveTemporal(s *Set) error {
	t := &c.Temporal
	switch strings.ToLower(t.TLS) {
	case "true", "1", "yes":
		t.TLS = "true"
	case "false", "0", "no":
		t.TLS = "false"
	}
	if t.ConfigFile != "" {
		if _, err := os.Stat(t.ConfigFile); err != nil {
			return fmt.Errorf("%s: %w", s.Describe("temporal.config-file"), err)
		}
	}
	env := sdkEnv{s.env}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath: t.ConfigFile, ConfigFileProfile: t.Profile, DisableEnv: true, EnvLookup: env})
	if err != nil {
		return fmt.Errorf("temporal profile: %w", err)
	}
	if err := prof.ApplyEnvVars(env); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	file := t.ConfigFile
	if file == "" {
		file = envconfig.DefaultConfigFilePath()
	}
	profile := t.Profile
	if profile == "" {
		profile = envconfig.DefaultConfigFileProfile
	}
	from := fmt.Sprintf("profile %s of %s", profile, file)
	take := func(key string, v string) error {
		if v == "" {
			return nil
		}
		return s.SetDerived(key, v, from)
	}
	var errs []error
	errs = append(errs, take("temporal.address", prof.Address), take("temporal.namespace", prof.Namespace), take("temporal.api-key", prof.APIKey))
	if tls := prof.TLS; tls != nil {
		on := "true"
		if tls.Disabled {
			on = "false"
		}
		errs = append(errs, take("temporal.tls", on), take("temporal.tls-cert", tls.ClientCertPath), take("temporal.tls-key", tls.ClientKeyPath),
			take("temporal.tls-ca", tls.ServerCACertPath), take("temporal.tls-server-name", tls.ServerName))
	}
	t.extra = envconfig.ClientConfigProfile{Codec: prof.Codec, GRPCMeta: prof.GRPCMeta, Authority: prof.Authority}
	if tls := prof.TLS; tls != nil {
		t.extra.TLS = &envconfig.ClientConfigTLS{ClientCertData: tls.ClientCertData, ClientKeyData: tls.ClientKeyData,
			ServerCACertData: tls.ServerCACertData, DisableHostVerification: tls.DisableHostVerification, Disabled: tls.Disabled}
	}
	return errors.Join(errs...)
}
