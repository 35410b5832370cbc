package d365

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
)

// TestSkipNamesTheNextRootAndWhereToContinue: Skip returns the first root after a cursor, as the
// ERP sent it, and the cursor after it; on the last root up to Until it says done.
func TestSkipNamesTheNextRootAndWhereToContinue(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	c := s.client(t, nil)
	all, _, end, _ := readAll(t, c.Products, erp.ReadRequest{PageSize: 500}, false)
	at := func(i int) erp.Cursor {
		return erp.Cursor{Modified: all[i].Modified, Company: all[i].Company, Key: all[i].ItemNumber}
	}
	rej, next, done, found, err := c.Skip(context.Background(), erp.Products, erp.ReadRequest{After: at(9), Until: end.Modified}, "why")
	if err != nil || !found || done || next != at(10) {
		t.Fatalf("skip after the 10th product: next %v done %v found %v err %v; want the 11th", next, done, found, err)
	}
	if rej.Entity != erp.Products || rej.Company != all[10].Company || rej.Key != all[10].ItemNumber || rej.Reason != "why" ||
		!strings.Contains(string(rej.Raw), `"ProductName"`) {
		t.Fatalf("rejection %+v (raw %s)", rej, rej.Raw)
	}
	_, next, done, found, err = c.Skip(context.Background(), erp.Products, erp.ReadRequest{After: at(len(all) - 2), Until: end.Modified}, "why")
	if err != nil || !found || !done || next != at(len(all)-1) {
		t.Fatalf("skip the last product: next %v done %v found %v err %v", next, done, found, err)
	}
	if _, _, done, found, err = c.Skip(context.Background(), erp.Products, erp.ReadRequest{After: end, Until: end.Modified}, "why"); err != nil || found || !done {
		t.Fatalf("skip after the end: found %v done %v err %v", found, done, err)
	}
}

// TestSkipPastARowTheServiceCannotSendWhole: when whole rows fail (a row the service cannot
// serialise) Skip asks for the key fields only; a root whose stamp cannot be read is stepped
// past to just before the root after it.
func TestSkipPastARowTheServiceCannotSendWhole(t *testing.T) {
	h := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.RawQuery, "select") {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":{"code":"","message":"An error has occurred."}}`)
			return
		}
		io.WriteString(w, `{"value":[{"ModifiedDateTime":"27/11/2026 10:00","dataAreaId":"usmf","ItemNumber":"BAD"},`+
			`{"ModifiedDateTime":"2026-11-27T10:00:00.5Z","dataAreaId":"usmf","ItemNumber":"NEXT"}]}`)
	})
	c := h.client(t, nil)
	after := erp.Cursor{Modified: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), Company: "usmf", Key: "PREV"}
	rej, next, done, found, err := c.Skip(context.Background(), erp.Products, erp.ReadRequest{After: after}, "why")
	if err != nil || !found || done {
		t.Fatalf("found %v done %v err %v", found, done, err)
	}
	want := erp.Cursor{Modified: time.Date(2026, 11, 27, 10, 0, 0, 500_000_000, time.UTC), Company: "usmf"}
	if next != want || !next.Less(erp.Cursor{Modified: want.Modified, Company: "usmf", Key: "NEXT"}) || !after.Less(next) {
		t.Fatalf("continue after %v, want %v: between the bad root and NEXT", next, want)
	}
	if rej.Key != "BAD" || !strings.Contains(string(rej.Raw), "27/11/2026") {
		t.Fatalf("rejection %+v (raw %s)", rej, rej.Raw)
	}
}
