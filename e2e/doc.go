// Package e2e holds erpsync's end-to-end tests: the import workflows on the real Temporal dev
// server, with real workers, against the ERP simulator over HTTP and a real Elasticsearch node.
// What they check is what a user would: the documents in the index compared with the ERP, read
// over OData by a checker of their own, not through erpsync's connector.
package e2e
