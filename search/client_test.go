package search_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"

	"github.com/erpsync/erpsync/search"
)

// TestCloudID: an Elastic Cloud ID ("name:base64(host$es-id$kibana-id)", as the deployment's
// page shows it) is the address https://<es-id>.<host>; one of URL and Cloud ID is required.
func TestCloudID(t *testing.T) {
	id := "shop:" + base64.StdEncoding.EncodeToString([]byte("westeurope.azure.elastic-cloud.com:443$abc123$def456"))
	es, err := search.NewClient(search.Config{CloudID: id, APIKey: "a2V5"})
	if err != nil {
		t.Fatal(err)
	}
	urls := es.Transport.(*elastictransport.Client).URLs()
	if len(urls) != 1 || urls[0].String() != "https://abc123.westeurope.azure.elastic-cloud.com:443" {
		t.Errorf("Cloud ID %s: addresses %v", id, urls)
	}
	if w := (search.Config{CloudID: id}).Where(); w != "Elastic Cloud deployment shop" {
		t.Errorf("where: %q", w)
	}
	for _, c := range []search.Config{{}, {URL: "http://127.0.0.1:9200", CloudID: id}} {
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "Cloud ID") {
			t.Errorf("%+v: %v; want a problem naming the URL and the Cloud ID", c, err)
		}
	}
}
