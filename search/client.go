// Package search is erpsync's Elasticsearch layer: the client, mappings, index generations behind
// aliases, the bulk writer with per-item outcome classification, and the sync-state store.
package search

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
)

// Config says how to reach Elasticsearch. The zero value is not usable: URL or CloudID is
// required. Credentials and TLS settings are optional; the local test node has neither.
type Config struct {
	// URL is one or more comma-separated node addresses, e.g. http://127.0.0.1:9200.
	URL string
	// CloudID is an Elastic Cloud deployment's Cloud ID (its "name:base64" string from the
	// deployment's page), instead of URL.
	CloudID string
	// APIKey is a base64 "id:key" API key (the "encoded" value Elasticsearch returns when it
	// creates one); it wins over Username/Password.
	APIKey string
	// APIKeyFile, when APIKey is empty, is a file holding the API key (a container secret or a
	// volume another service fills; the image has no shell to read it into a variable).
	APIKeyFile string
	Username   string
	Password   string
	// CACertPath is a PEM file with the CA that signed the cluster's certificate.
	CACertPath string
	// Insecure skips TLS verification (development clusters with self-signed certs only).
	Insecure bool
	// MaxRetries bounds the transport's retries of 429, 502, 503 and 504 answers (default 5).
	MaxRetries int
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.URL == "" && c.CloudID == "":
		errs = append(errs, errors.New("no Elasticsearch: set its URL, e.g. http://127.0.0.1:9200 (make dev and make test start a local node), or an Elastic Cloud ID"))
	case c.URL != "" && c.CloudID != "":
		errs = append(errs, errors.New("both an Elasticsearch URL and a Cloud ID are set: set one"))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, errors.New("an Elasticsearch password is set without a user name"))
	}
	if c.CACertPath != "" {
		if _, err := os.Stat(c.CACertPath); err != nil {
			errs = append(errs, fmt.Errorf("Elasticsearch CA certificate: %w", err))
		}
	}
	if c.APIKey == "" && c.APIKeyFile != "" {
		if _, err := c.apiKey(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Where returns where c points: the URL, or "Elastic Cloud <deployment>" for a Cloud ID.
func (c Config) Where() string {
	if c.CloudID != "" {
		name, _, _ := strings.Cut(c.CloudID, ":")
		return "Elastic Cloud deployment " + name
	}
	return c.URL
}

// apiKey is APIKey, or the content of APIKeyFile without surrounding space.
func (c Config) apiKey() (string, error) {
	if c.APIKey != "" || c.APIKeyFile == "" {
		return c.APIKey, nil
	}
	b, err := os.ReadFile(c.APIKeyFile)
	if err != nil {
		return "", fmt.Errorf("ELASTICSEARCH_API_KEY_FILE: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("ELASTICSEARCH_API_KEY_FILE: %s is empty", c.APIKeyFile)
	}
	return key, nil
}

// NewClient returns a client that retries 429, 502, 503 and 504 answers and network errors
// with exponential backoff and jitter. It does not contact the cluster.
func NewClient(c Config) (*elasticsearch.Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	apiKey, err := c.apiKey()
	if err != nil {
		return nil, err
	}
	maxRetries := c.MaxRetries
	if maxRetries == 0 {
		maxRetries = 5
	}
	cfg := elasticsearch.Config{
		CloudID:       c.CloudID,
		APIKey:        apiKey,
		Username:      c.Username,
		Password:      c.Password,
		RetryOnStatus: []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
		MaxRetries:    maxRetries,
		RetryBackoff:  Backoff(100*time.Millisecond, 10*time.Second),
	}
	if c.URL != "" {
		cfg.Addresses = strings.Split(c.URL, ",")
	}
	if c.CACertPath != "" || c.Insecure {
		tlsCfg := &tls.Config{InsecureSkipVerify: c.Insecure} //nolint:gosec // opt-in for development clusters
		if c.CACertPath != "" {
			pem, err := os.ReadFile(c.CACertPath)
			if err != nil {
				return nil, fmt.Errorf("read CA cert: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("read CA cert: no PEM certificate in %s", c.CACertPath)
			}
			tlsCfg.RootCAs = pool
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tlsCfg
		cfg.Transport = tr
	}
	es, err := elasticsearch.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch client: %w", err)
	}
	return es, nil
}

// Backoff returns a retry backoff for attempt n (1-based): exponential from base, capped at
// max, with "full jitter" so that many clients do not retry in step.
func Backoff(base, max time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base << min(attempt-1, 20)
		if d <= 0 || d > max {
			d = max
		}
		return d/2 + rand.N(d/2+1)
	}
}
