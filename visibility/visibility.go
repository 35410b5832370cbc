// Package visibility declares erpsync's custom search attributes, by which the Temporal UI and
// `temporal workflow list --query` filter import runs (entity, mode, outcome, records written,
// dead-lettered), registers them on a namespace, and builds the UI's links to a run.
package visibility

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// The search attributes an import run sets. Register them on the namespace before a worker
// runs imports (Register; `make dev` does; on Temporal Cloud see README): a workflow that sets
// an unregistered attribute fails its workflow tasks until it is registered.
var (
	// Entity lists the entities the run imports (products; customers, contacts, salesreps).
	Entity = temporal.NewSearchAttributeKeyKeywordList("ErpsyncEntity")
	// Mode is the run's mode: update, rebuild, reconcile or audit.
	Mode = temporal.NewSearchAttributeKeyKeyword("ErpsyncMode")
	// Outcome is set when the run ends: one of the Outcome values.
	Outcome = temporal.NewSearchAttributeKeyKeyword("ErpsyncOutcome")
	// Written is the number of documents the run indexed or deleted.
	Written = temporal.NewSearchAttributeKeyInt64("ErpsyncRecordsWritten")
	// DeadLettered is the number of records the run dead-lettered.
	DeadLettered = temporal.NewSearchAttributeKeyInt64("ErpsyncDeadLettered")
)

// The outcomes of a run (the Outcome attribute).
const (
	// Success: every record read reached the index (or was already current).
	Success = "success"
	// Partial: the run finished, but some records were dead-lettered.
	Partial = "partial"
	// Failed: the run ended with an error; its watermark did not move.
	Failed = "failed"
	// Refused: a reconcile found more orphans than its share allows and deleted nothing.
	Refused = "refused"
	// Cancelled: someone cancelled the run.
	Cancelled = "cancelled"
)

// Attributes are the custom search attributes by name, with their types.
func Attributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		Entity.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		Mode.GetName():         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		Outcome.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		Written.GetName():      enumspb.INDEXED_VALUE_TYPE_INT,
		DeadLettered.GetName(): enumspb.INDEXED_VALUE_TYPE_INT,
	}
}

// CLITypes maps the attributes' types to the names `temporal operator search-attribute create
// --type` and Temporal Cloud's `tcld namespace search-attributes add` take.
var CLITypes = map[enumspb.IndexedValueType]string{
	enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList",
	enumspb.INDEXED_VALUE_TYPE_KEYWORD:      "Keyword",
	enumspb.INDEXED_VALUE_TYPE_INT:          "Int",
}

// ErrCannotList is wrapped by Missing's error when the server would not list the namespace's
// search attributes (a connection or a permission problem), as opposed to one of erpsync's
// being registered with another type.
var ErrCannotList = errors.New("cannot list the search attributes")

// Missing returns the names of the attributes namespace lacks, sorted; it fails when one is
// registered with another type (rename it away: nothing here can fix that).
func Missing(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	res, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("%w of namespace %s: %w", ErrCannotList, namespace, err)
	}
	var missing []string
	var errs []error
	for name, want := range Attributes() {
		got, ok := res.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case got != want:
			errs = append(errs, fmt.Errorf("search attribute %s is a %s in namespace %s; erpsync needs a %s", name, CLITypes[got], namespace, CLITypes[want]))
		}
	}
	slices.Sort(missing)
	return missing, errors.Join(errs...)
}

// Register adds the attributes namespace lacks; it is idempotent. It works on a self-hosted
// server or the dev server; Temporal Cloud refuses it (add them with tcld or in the Cloud UI:
// HowToRegister).
func Register(ctx context.Context, c client.Client, namespace string) error {
	missing, err := Missing(ctx, c, namespace)
	if err != nil || len(missing) == 0 {
		return err
	}
	add := map[string]enumspb.IndexedValueType{}
	for _, name := range missing {
		add[name] = Attributes()[name]
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{SearchAttributes: add, Namespace: namespace})
	if err != nil {
		return fmt.Errorf("register search attributes %s on namespace %s: %w", strings.Join(missing, ", "), namespace, err)
	}
	return nil
}

// HowToRegister returns the commands that register the attributes on namespace, for a person:
// the Temporal CLI's (self-hosted, dev server) and tcld's (Temporal Cloud).
func HowToRegister(namespace string) string {
	names := make([]string, 0, len(Attributes()))
	for name := range Attributes() {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("temporal operator search-attribute create --namespace " + namespace)
	for _, n := range names {
		fmt.Fprintf(&b, " --name %s --type %s", n, CLITypes[Attributes()[n]])
	}
	b.WriteString("\n  or on Temporal Cloud:\ntcld namespace search-attributes add --namespace " + namespace + ".<account>")
	for _, n := range names {
		fmt.Fprintf(&b, " --search-attribute %s=%s", n, CLITypes[Attributes()[n]])
	}
	return b.String()
}

// DefaultUIURL is the Temporal UI of the dev server `make dev` starts.
const DefaultUIURL = "http://127.0.0.1:8233"

// RunURL is the Temporal UI's page of a workflow run (its latest run when runID is ""), under
// the UI's base URL (DefaultUIURL when "").
func RunURL(base, namespace, workflowID, runID string) string {
	if base == "" {
		base = DefaultUIURL
	}
	u := strings.TrimRight(base, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(workflowID)
	if runID != "" {
		u += "/" + url.PathEscape(runID) + "/history"
	}
	return u
}
