package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/failure"
	"github.com/erpsync/erpsync/logging"
	"github.com/erpsync/erpsync/search"
)

// configCommand runs "worker config print|check" and returns the exit status: 0 when all is
// well, 1 when a check failed, 2 when the configuration itself is wrong. loadErr is what reading
// the configuration found.
func configCommand(args []string, cfg *config.Config, set *config.Set, loadErr error, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "config" || (args[1] != "print" && args[1] != "check") {
		fmt.Fprintf(stderr, "worker: unknown command %q: want config print or config check (worker --help)\n", strings.Join(args, " "))
		return 2
	}
	if args[1] == "print" {
		if err := set.Print(stdout); err != nil {
			fmt.Fprintln(stderr, "worker:", err)
			return 1
		}
		if loadErr != nil {
			fmt.Fprintf(stderr, "worker: configuration:\n%v\n", loadErr)
			return 2
		}
		return 0
	}
	if loadErr != nil {
		fmt.Fprintf(stderr, "worker: configuration:\n%v\nRun worker --help for the settings.\n", loadErr)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if n := check(ctx, cfg, stdout); n > 0 {
		fmt.Fprintf(stdout, "worker config check: %s\n", plural(n, "problem"))
		return 1
	}
	fmt.Fprintln(stdout, "worker config check: every connection is ok")
	return 0
}

// report prints one check's outcome and counts the failures.
type report struct {
	w      io.Writer
	failed int
}

func (r *report) ok(what, detail string, args ...any) {
	fmt.Fprintf(r.w, "ok    %-16s %s\n", what, fmt.Sprintf(detail, args...))
}

func (r *report) fail(what, detail string, args ...any) {
	r.failed++
	fmt.Fprintf(r.w, "FAIL  %-16s %s\n", what, fmt.Sprintf(detail, args...))
}

func (r *report) skip(what, detail string, args ...any) {
	fmt.Fprintf(r.w, "skip  %-16s %s\n", what, fmt.Sprintf(detail, args...))
}

// check tries every connection of cfg, writes a line per finding and returns the number of
// problems.
func check(ctx context.Context, cfg *config.Config, w io.Writer) int {
	r := &report{w: w}
	for _, warning := range cfg.Warnings() {
		fmt.Fprintf(w, "warn  %-16s %s\n", "configuration", warning)
	}
	checkERP(ctx, cfg, r)
	checkElasticsearch(ctx, cfg, r)
	checkTemporal(ctx, cfg, r)
	return r.failed
}

func checkERP(ctx context.Context, cfg *config.Config, r *report) {
	src, err := d365.New(cfg.ERP)
	if err != nil {
		r.fail("ERP", "%v", err)
		return
	}
	if err := src.Token(ctx); err != nil {
		r.fail("ERP token", "%v", err)
		r.skip("ERP collections", "not checked without a token")
		return
	}
	r.ok("ERP token", "%s issued a token to client %s", cfg.ERP.TokenURL, cfg.ERP.ClientID)
	meta, err := src.Metadata(ctx)
	if err != nil {
		r.fail("ERP $metadata", "%v (collections are checked by reading one row each)", err)
	} else {
		r.ok("ERP $metadata", "%s/data/$metadata lists %d entity sets", strings.TrimRight(cfg.ERP.BaseURL, "/"), len(meta.Sets()))
	}
	for _, coll := range src.Collections() {
		if coll.D365 == erp.DeletedRecords && cfg.Import.Detection == activities.ChildStamps {
			continue // stock D365 has no deletion log; reconcile and audit runs find deletes
		}
		if err := src.CheckCollection(ctx, meta, coll); err != nil {
			hint := ""
			if failure.KindOf(err) == failure.NotFound || failure.KindOf(err) == failure.Invalid {
				hint = " (names of this environment: erp.collections and erp.fields, $ERP_COLLECTIONS and $ERP_FIELDS)"
			}
			if coll.D365 == erp.DeletedRecords {
				hint += "; without an add-on's deletion log use child-stamps change detection ($ERPSYNC_CHANGE_DETECTION)"
			}
			r.fail("ERP collection", "%v%s", err, hint)
			continue
		}
		name := coll.Name
		if coll.Name != coll.D365 {
			name += " (D365's " + coll.D365 + ")"
		}
		r.ok("ERP collection", "%s answers", name)
	}
	if len(cfg.ERP.Companies) == 0 {
		return
	}
	langs, err := src.CompanyLanguages(ctx)
	if err != nil {
		r.fail("ERP companies", "%v", err)
		return
	}
	var missing []string
	for _, co := range cfg.ERP.Companies {
		if _, ok := langs[strings.ToLower(co)]; !ok {
			missing = append(missing, co)
		}
	}
	if len(missing) > 0 {
		r.fail("ERP companies", "%s not among the ERP's legal entities (%s)", strings.Join(missing, ", "),
			strings.Join(slices.Sorted(maps.Keys(langs)), ", "))
		return
	}
	r.ok("ERP companies", "%s are legal entities of the ERP", strings.Join(cfg.ERP.Companies, ", "))
}

func checkElasticsearch(ctx context.Context, cfg *config.Config, r *report) {
	where := cfg.Elasticsearch.Where()
	es, err := search.NewClient(cfg.Elasticsearch)
	if err != nil {
		r.fail("Elasticsearch", "%v", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	want := search.WorkerPrivileges(cfg.Index.Prefix)
	a, err := search.CheckAccess(ctx, es, want)
	switch {
	case err != nil:
		r.fail("Elasticsearch", "%s: %v", where, err)
	case !a.Security:
		r.ok("Elasticsearch", "%s answers; security is off on this node, so there are no privileges to check", where)
	case len(a.Missing) > 0:
		r.fail("Elasticsearch", "%s: user %s (%s) lacks %s; the worker needs %s", where, a.User, a.Realm,
			strings.Join(a.Missing, ", "), describePrivileges(want))
	default:
		r.ok("Elasticsearch", "%s: user %s (%s) holds %s", where, a.User, a.Realm, describePrivileges(want))
	}
}

func describePrivileges(p search.Privileges) string {
	var parts []string
	for _, ip := range p.Indices {
		parts = append(parts, strings.Join(ip.Privileges, ", ")+" on "+strings.Join(ip.Names, ", "))
	}
	for _, c := range p.Cluster {
		parts = append(parts, "cluster "+c)
	}
	return strings.Join(parts, " and ")
}

func checkTemporal(ctx context.Context, cfg *config.Config, r *report) {
	t := cfg.Temporal
	where := fmt.Sprintf("%s namespace %s", t.Address, t.Namespace)
	opts, err := t.ClientOptions()
	if err != nil {
		r.fail("Temporal", "%v", err)
		return
	}
	z, err := logging.New("error", "console")
	if err != nil {
		r.fail("Temporal", "%v", err)
		return
	}
	opts.Logger = logging.Temporal(z.WithOptions(zap.IncreaseLevel(zap.ErrorLevel)))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		r.fail("Temporal", "cannot connect to %s (TLS %v): %v", t.Address, t.TLSOn(), err)
		return
	}
	defer c.Close()
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: t.Namespace})
	var notFound *serviceerror.NamespaceNotFound
	var denied *serviceerror.PermissionDenied
	switch {
	case errors.As(err, &notFound):
		r.fail("Temporal", "%s: the namespace does not exist (temporal operator namespace create, or create it in Temporal Cloud)", where)
	case errors.As(err, &denied):
		r.fail("Temporal", "%s: the credentials may not use the namespace: %v", where, err)
	case err != nil:
		r.fail("Temporal", "%s: %v", where, err)
	default:
		r.ok("Temporal", "%s answers (TLS %v), task queue %s", where, t.TLSOn(), t.TaskQueue)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
