package search_test

import (
	"testing"

	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/search"
)

// TestCheckAccessWithoutSecurity: a node with security off answers, and CheckAccess says that
// there is nothing to check rather than reporting privileges.
func TestCheckAccessWithoutSecurity(t *testing.T) {
	es := testenv.Elasticsearch(t)
	a, err := search.CheckAccess(ctx(t), es, search.WorkerPrivileges("t-anything"))
	if err != nil || a.Security || len(a.Missing) > 0 {
		t.Errorf("security off: %+v %v", a, err)
	}
}
