package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/visibility"
)

// explanation answers "why is this record (not) in the shop?".
type explanation struct {
	Entity  erp.Entity `json:"entity"`
	Company string     `json:"company"`
	Key     string     `json:"key"`
	ID      string     `json:"id"`
	ERP     erpSide    `json:"erp"`
	Index   indexSide  `json:"index"`
	// Shown is whether the storefront shows the record (products only; nil for others), Why
	// the reasons it does not.
	Shown *bool    `json:"shown,omitempty"`
	Why   []string `json:"why,omitempty"`
	// Elsewhere are other companies whose documents have this key.
	Elsewhere   []string            `json:"elsewhere,omitempty"`
	DeadLetters []search.DeadLetter `json:"dead_letters"`
	// LastRun is the sync state's last finished run of the entity; Runs the runs since the
	// indexed version (from the Temporal UI's search attributes), oldest first: the first
	// wrote it.
	LastRun search.RunSummary `json:"last_run"`
	Runs    []runRef          `json:"runs,omitempty"`
	// Problems are parts that could not be answered (a service that did not answer).
	Problems []string `json:"problems,omitempty"`
}

type erpSide struct {
	Found bool `json:"found"`
	// Modified is the root row's own stamp (ModifiedDateTime); Digest summarises the rows the
	// record is read from (its children's keys and stamps too).
	Modified time.Time `json:"modified,omitempty"`
	Digest   string    `json:"digest,omitempty"`
	// Rejected is why the ERP's record cannot be read into a document.
	Rejected string `json:"rejected,omitempty"`
	Name     string `json:"name,omitempty"`
	// ContentHash is the content hash of the document the worker would build from the record
	// now (document.Encode).
	ContentHash string `json:"content_hash,omitempty"`
}

type indexSide struct {
	Found bool `json:"found"`
	// Version is the external version; VersionTime the time it stands for (the ERP's stamp
	// with parent-stamps, the time of the read with child-stamps).
	Version     int64     `json:"version,omitempty"`
	VersionTime time.Time `json:"version_time,omitempty"`
	Modified    time.Time `json:"modified,omitempty"`
	Digest      string    `json:"digest,omitempty"`
	Generation  string    `json:"generation,omitempty"`
	// ContentHash is the indexed document's content hash.
	ContentHash string `json:"content_hash,omitempty"`
	// Current is whether the document is what the ERP has now: built from the same rows (same
	// digest), or with the same content (same content hash; an update does not rewrite a
	// document whose content did not change, so its version and digest may be older).
	Current bool `json:"current"`
}

type runRef struct {
	WorkflowID string    `json:"workflow_id"`
	RunID      string    `json:"run_id"`
	Mode       string    `json:"mode"`
	Outcome    string    `json:"outcome"`
	Written    int64     `json:"written"`
	Closed     time.Time `json:"closed"`
	Link       string    `json:"link"`
}

// entityOf reads the record kind of explain's first argument.
func entityOf(s string) (erp.Entity, error) {
	switch strings.ToLower(s) {
	case "products", "product", "item", "items":
		return erp.Products, nil
	case "customers", "customer":
		return erp.Customers, nil
	case "contacts", "contact":
		return erp.Contacts, nil
	case "salesreps", "salesrep", "reps", "rep":
		return erp.SalesReps, nil
	}
	return "", fmt.Errorf("%q: want products, customers, contacts or salesreps", s)
}

func explain(ctx context.Context, e *cli, args []string) error {
	out := e.out
	fs := e.flags("explain", "explain products|customers|contacts|salesreps COMPANY KEY [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	runs := fs.Int("runs", 3, "how many runs since the indexed version to show")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		fs.Usage()
		return fmt.Errorf("explain takes a record kind, a company and a key, e.g. explain products usmf 1000")
	}
	ent, err := entityOf(pos[0])
	if err != nil {
		return err
	}
	x := explanation{Entity: ent, Company: strings.ToLower(pos[1]), Key: pos[2], ID: document.ID(pos[1], pos[2]), DeadLetters: []search.DeadLetter{}}
	ix, err := e.index()
	if err != nil {
		return err
	}
	src, err := d365.New(e.cfg.ERP)
	if err != nil {
		return fmt.Errorf("explain reads the ERP as the worker does (ERP_URL, ERP_CLIENT_ID, ERP_CLIENT_SECRET): %w", err)
	}
	x.readERP(ctx, src, e.cfg.Import.Document)
	x.readIndex(ctx, ix)
	x.judge(ctx, ix)
	x.readRuns(ctx, e, ix, *runs)
	if *asJSON {
		return json.NewEncoder(out).Encode(x)
	}
	x.print(out, e)
	return nil
}

func (x *explanation) problem(what string, err error) {
	x.Problems = append(x.Problems, fmt.Sprintf("%s: %v", what, err))
}

func (x *explanation) readERP(ctx context.Context, src *d365.Client, opts document.Options) {
	p, err := src.Lookup(ctx, x.Entity, []erp.Ref{{Entity: x.Entity, Company: x.Company, Key: x.Key}})
	if err != nil {
		x.problem("read the ERP", err)
		return
	}
	for _, r := range p.Records {
		x.ERP = erpSide{Found: true, Modified: r.Modified.UTC(), Digest: r.Digest, Name: nameOf(r.Value)}
		// The document the worker would build now, in the companies' languages as it reads them.
		if opts.CompanyLanguages == nil {
			if opts.CompanyLanguages, err = src.CompanyLanguages(ctx); err != nil {
				x.problem("read the companies' languages", err)
				continue
			}
		}
		if _, hash, err := document.Encode(r, opts); err != nil {
			x.problem("build the document", err)
		} else {
			x.ERP.ContentHash = hash
		}
	}
	for _, r := range p.Rejected {
		x.ERP.Found, x.ERP.Rejected = true, r.Reason
	}
}

// nameOf is a record's name, for people.
func nameOf(v any) string {
	switch r := v.(type) {
	case erp.Product:
		return r.Name
	case erp.Customer:
		return r.Name
	case erp.Contact:
		return strings.TrimSpace(r.FirstName + " " + r.LastName)
	case erp.SalesRep:
		return r.Name
	}
	return ""
}

func (x *explanation) readIndex(ctx context.Context, ix *search.Index) {
	doc, found, err := ix.Document(ctx, x.Entity, x.ID)
	if err != nil {
		x.problem("read the index", err)
		return
	}
	if found {
		var env document.Envelope
		_ = json.Unmarshal(doc.Source, &env)
		x.Index = indexSide{Found: true, Version: doc.Version, VersionTime: time.UnixMicro(doc.Version).UTC(), Modified: env.ModifiedAt.UTC(),
			Digest: env.SourceDigest, ContentHash: env.ContentHash, Generation: doc.Index}
		x.Index.Current = x.ERP.Found && (x.ERP.Digest != "" && env.SourceDigest == x.ERP.Digest ||
			x.ERP.ContentHash != "" && env.ContentHash == x.ERP.ContentHash)
		if x.Entity == erp.Products {
			var p document.Product
			if err := json.Unmarshal(doc.Source, &p); err != nil {
				x.problem("read the product document", err)
				return
			}
			visible, err := ix.VisibleCategories(ctx, p.Company)
			if err != nil {
				x.problem("read the company's visible categories", err)
				return
			}
			why := storefront.HiddenBecause(p, visible, false)
			shown := len(why) == 0
			x.Shown, x.Why = &shown, why
		}
	}
	dls, err := ix.FindDeadLetters(ctx, search.DeadLetterQuery{Entity: x.Entity, IDs: []string{x.ID}}, 20)
	if err != nil {
		x.problem("read dead letters", err)
	}
	if dls != nil {
		x.DeadLetters = dls
	}
}

// judge explains a record the index does not hold, and names other companies that have it.
func (x *explanation) judge(ctx context.Context, ix *search.Index) {
	if x.Index.Found && x.ERP.Found {
		return
	}
	if !x.Index.Found {
		var why string
		switch {
		case !x.ERP.Found && len(x.DeadLetters) == 0:
			why = storefront.HiddenDeleted + ": neither the ERP nor the index has it"
		case !x.ERP.Found:
			why = storefront.HiddenDeleted + ": the ERP no longer has it"
		case len(x.DeadLetters) > 0:
			why = "dead-lettered: " + x.DeadLetters[0].Reason
		default:
			why = "not imported yet: the next update run reads it"
		}
		if x.Entity == erp.Products {
			f := false
			x.Shown = &f
		}
		x.Why = append(x.Why, why)
	} else if !x.ERP.Found {
		x.Why = append(x.Why, "the ERP no longer has it: the next update (deletion log) or reconcile run deletes it")
	}
	cos, err := ix.Companies(ctx, x.Entity, x.Key)
	if err != nil {
		x.problem("look in other companies", err)
		return
	}
	for _, co := range cos {
		if co != x.Company && !slices.Contains(x.Elsewhere, co) {
			x.Elsewhere = append(x.Elsewhere, co)
		}
	}
	if len(x.Elsewhere) > 0 {
		x.Why = append(x.Why, fmt.Sprintf("other company: the index has %s %s in %s", x.Entity, x.Key, strings.Join(x.Elsewhere, ", ")))
	}
}

// readRuns reads the sync state's last run and the runs of the entity that wrote documents and
// closed after the indexed version's time, oldest first.
func (x *explanation) readRuns(ctx context.Context, e *cli, ix *search.Index, n int) {
	st, err := ix.LoadState(ctx, x.Entity)
	if err != nil {
		x.problem("read the sync state", err)
	} else {
		x.LastRun = st.LastRun
	}
	if n <= 0 {
		return
	}
	since := x.Index.VersionTime
	if !x.Index.Found {
		since = x.ERP.Modified // the runs since the ERP's change
	}
	c, err := e.temporal(ctx)
	if err != nil {
		x.problem("read runs", err)
		return
	}
	defer c.Close()
	q := fmt.Sprintf("ErpsyncEntity = '%s' AND TaskQueue = '%s' AND ErpsyncRecordsWritten > 0 AND ExecutionStatus != 'Running'", x.Entity, e.cfg.Temporal.TaskQueue)
	if !since.IsZero() {
		q += fmt.Sprintf(" AND CloseTime >= '%s'", since.Format(time.RFC3339Nano))
	}
	var all []runRef
	var token []byte
	for page := 0; page < 20; page++ { // newest first, at most 2,000 runs
		res, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 100, NextPageToken: token})
		if err != nil {
			x.problem("read runs", err)
			return
		}
		for _, wf := range res.GetExecutions() {
			r := runRef{WorkflowID: wf.GetExecution().GetWorkflowId(), RunID: wf.GetExecution().GetRunId(), Closed: wf.GetCloseTime().AsTime().UTC()}
			r.Link = visibility.RunURL(e.cfg.Temporal.UIURL, e.cfg.Temporal.Namespace, r.WorkflowID, r.RunID)
			fields := wf.GetSearchAttributes().GetIndexedFields()
			var s string
			var i int64
			if json.Unmarshal(fields[visibility.Mode.GetName()].GetData(), &s) == nil {
				r.Mode = s
			}
			if json.Unmarshal(fields[visibility.Outcome.GetName()].GetData(), &s) == nil {
				r.Outcome = s
			}
			if json.Unmarshal(fields[visibility.Written.GetName()].GetData(), &i) == nil {
				r.Written = i
			}
			all = append(all, r)
		}
		token = res.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	slices.SortFunc(all, func(a, b runRef) int { return a.Closed.Compare(b.Closed) })
	x.Runs = all[:min(n, len(all))]
}

func (x *explanation) print(out io.Writer, e *cli) {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	fmt.Fprintf(out, "%s %s in company %s (document %s)\n\n", strings.TrimSuffix(string(x.Entity), "s"), x.Key, x.Company, x.ID)
	switch {
	case x.ERP.Rejected != "":
		fmt.Fprintf(out, "ERP        has it, but it cannot be read into a document: %s\n", x.ERP.Rejected)
	case x.ERP.Found:
		fmt.Fprintf(out, "ERP        %q, stamped %s (digest %s)\n", x.ERP.Name, ts(x.ERP.Modified), x.ERP.Digest)
	default:
		fmt.Fprintf(out, "ERP        does not have it\n")
	}
	if x.Index.Found {
		cur := "older than the ERP's record"
		if x.Index.Current {
			cur = "what the ERP has now"
		}
		fmt.Fprintf(out, "index      version %d (%s) in %s, stamped %s: %s\n", x.Index.Version, ts(x.Index.VersionTime), x.Index.Generation, ts(x.Index.Modified), cur)
	} else {
		fmt.Fprintf(out, "index      does not have it\n")
	}
	switch {
	case x.Shown != nil && *x.Shown:
		fmt.Fprintf(out, "shop       shows it\n")
	case x.Shown != nil:
		fmt.Fprintf(out, "shop       does not show it: %s\n", strings.Join(x.Why, "; "))
	case len(x.Why) > 0:
		fmt.Fprintf(out, "note       %s\n", strings.Join(x.Why, "; "))
	}
	if len(x.DeadLetters) == 0 {
		fmt.Fprintf(out, "dead letters  none\n")
	}
	for _, d := range x.DeadLetters {
		fmt.Fprintf(out, "dead letter   %s %s: %s\n", d.At.UTC().Format(time.RFC3339), d.Origin, d.Reason)
	}
	if l := x.LastRun; l.ID != "" {
		fmt.Fprintf(out, "last run   %s %s, finished %s: %d read, %d indexed, %d dead-lettered\n", l.Mode, l.ID, l.Finished.UTC().Format(time.RFC3339), l.Read, l.Indexed, l.DeadLettered)
	}
	if len(x.Runs) > 0 {
		fmt.Fprintf(out, "runs that wrote %s documents since this version (the first wrote it):\n", x.Entity)
	}
	for _, r := range x.Runs {
		fmt.Fprintf(out, "  %s  %-9s %-8s %d written  %s\n", r.Closed.Format(time.RFC3339), r.Mode, r.Outcome, r.Written, r.Link)
	}
	for _, p := range x.Problems {
		fmt.Fprintf(out, "could not: %s\n", p)
	}
}
