package search

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// Privileges are Elasticsearch privileges, as the security API names them.
type Privileges struct {
	Cluster []string
	Indices []IndexPrivileges
}

// IndexPrivileges are privileges on indexes or aliases (names may end in *).
type IndexPrivileges struct {
	Names      []string `json:"names"`
	Privileges []string `json:"privileges"`
}

// WorkerPrivileges are what the worker needs on prefix's indexes: create, manage, read and write
// them (generations, aliases, sync state, dead letters), and cluster monitor (it lists
// generations with _cat/indices). docker-compose.yml's worker key has exactly these.
func WorkerPrivileges(prefix string) Privileges {
	return Privileges{Cluster: []string{"monitor"}, Indices: []IndexPrivileges{{
		Names:      []string{prefix + "-*"},
		Privileges: []string{"create_index", "delete_index", "manage", "read", "write", "view_index_metadata"},
	}}}
}

// StorefrontPrivileges are what the storefront needs: read on the aliases it searches and joins
// (products, categories, line discounts, trade agreement activations, customers), nothing else.
// scripts/compose-es-keys.sh gives the storefront's key the same.
func StorefrontPrivileges(prefix string) Privileges {
	var names []string
	for _, e := range []erp.Entity{erp.Products, erp.Categories, erp.LineDiscounts, erp.Activations, erp.Customers} {
		names = append(names, prefix+"-"+string(e))
	}
	return Privileges{Indices: []IndexPrivileges{{Names: names, Privileges: []string{"read"}}}}
}

// Access is what Elasticsearch says about the credentials a client uses.
type Access struct {
	// Security is false on a cluster without security: anyone may do anything.
	Security bool
	// User is the authenticated user (for an API key, its owner) and Realm how it
	// authenticated.
	User, Realm string
	// Missing lists the wanted privileges not held, as "cluster monitor" or
	// "write on erpsync-*".
	Missing []string
}

// CheckAccess asks Elasticsearch who the client is (_security/_authenticate) and whether it
// holds want (_security/user/_has_privileges). On a cluster without security it says so after
// checking that the cluster answers. Wrong credentials are a failure.Unauthorized error.
func CheckAccess(ctx context.Context, es *elasticsearch.Client, want Privileges) (Access, error) {
	var a Access
	var who struct {
		Username string `json:"username"`
		Realm    struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"authentication_realm"`
		APIKey *struct {
			Name string `json:"name"`
		} `json:"api_key"`
	}
	status, body, err := call(ctx, es, esapi.SecurityAuthenticateRequest{})
	switch {
	case err != nil:
		return a, failure.E(failure.Unavailable, "reach Elasticsearch", err)
	case status == http.StatusUnauthorized:
		return a, failure.E(failure.Unauthorized, "authenticate to Elasticsearch", fmt.Errorf("the credentials were refused: %s", reason(body)))
	case securityOff(status, body):
		status, body, err := call(ctx, es, esapi.ClusterHealthRequest{})
		if err != nil {
			return a, failure.E(failure.Unavailable, "reach Elasticsearch", err)
		}
		if status != http.StatusOK {
			return a, failure.E(failure.FromStatus(status), "cluster health", fmt.Errorf("HTTP %d: %s", status, reason(body)))
		}
		return a, nil
	case status != http.StatusOK:
		return a, failure.E(failure.FromStatus(status), "authenticate to Elasticsearch", fmt.Errorf("HTTP %d: %s", status, reason(body)))
	}
	if err := json.Unmarshal(body, &who); err != nil {
		return a, failure.E(failure.Unavailable, "authenticate to Elasticsearch", err)
	}
	a.Security, a.User, a.Realm = true, who.Username, who.Realm.Type
	if who.APIKey != nil {
		a.Realm = "API key " + who.APIKey.Name
	}

	req, _ := json.Marshal(map[string]any{"cluster": nonNil(want.Cluster), "index": nonNilIdx(want.Indices)})
	status, body, err = call(ctx, es, esapi.SecurityHasPrivilegesRequest{Body: strings.NewReader(string(req))})
	if err != nil {
		return a, failure.E(failure.Unavailable, "check privileges", err)
	}
	if status != http.StatusOK {
		return a, failure.E(failure.FromStatus(status), "check privileges", fmt.Errorf("HTTP %d: %s", status, reason(body)))
	}
	var has struct {
		Cluster map[string]bool            `json:"cluster"`
		Index   map[string]map[string]bool `json:"index"`
	}
	if err := json.Unmarshal(body, &has); err != nil {
		return a, failure.E(failure.Unavailable, "check privileges", err)
	}
	for _, p := range want.Cluster {
		if !has.Cluster[p] {
			a.Missing = append(a.Missing, "cluster "+p)
		}
	}
	for _, ip := range want.Indices {
		for _, name := range ip.Names {
			for _, p := range ip.Privileges {
				if !has.Index[name][p] {
					a.Missing = append(a.Missing, p+" on "+name)
				}
			}
		}
	}
	return a, nil
}

// call performs req and returns the status and up to 64 KiB of the body.
func call(ctx context.Context, es *elasticsearch.Client, req esapi.Request) (int, []byte, error) {
	res, err := req.Do(ctx, es)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, body, err
}

// securityOff reports whether an answer to a security API says that security is off: a node
// without the security plugin has no handler for it, one with security disabled says so.
func securityOff(status int, body []byte) bool {
	if status < 400 || status == http.StatusUnauthorized || status == http.StatusForbidden {
		return false
	}
	b := strings.ToLower(string(body))
	return strings.Contains(b, "no handler found") || strings.Contains(b, "security must be explicitly enabled") ||
		strings.Contains(b, "security is not enabled") || strings.Contains(b, "incorrect http method")
}

// reason returns Elasticsearch's error reason in body, or the body.
func reason(body []byte) string {
	var e struct {
		Error struct {
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Reason != "" {
		return e.Error.Reason
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilIdx(s []IndexPrivileges) []IndexPrivileges {
	return slices.DeleteFunc(slices.Clone(s), func(p IndexPrivileges) bool { return len(p.Names) == 0 })
}
