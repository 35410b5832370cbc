// Command starter runs and controls erpsync's imports on Temporal: it applies, pauses, unpauses
// and triggers the schedules, runs an import now (optionally waiting with a progress bar),
// shows the status of every import and lists dead letters.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/internal/buildinfo"
	"github.com/erpsync/erpsync/logging"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/visibility"
	"github.com/erpsync/erpsync/workflows"
)

const usage = `starter controls erpsync's imports on Temporal.

Usage:
  starter run products|customers [--mode update|rebuild|reconcile|audit] [--wait] [--json]
  starter schedules apply [--update-every 5m] [--rebuild-cron "0 2 * * *"]
                          [--change-detection parent-stamps|child-stamps]
  starter schedules pause|unpause [--note TEXT] [SCHEDULE_ID ...]
  starter schedules trigger SCHEDULE_ID
  starter status [--json]
  starter dead-letters [--limit 20] [--json]
  starter dead-letters retry [--entity products] [--id usmf:1000 ...] [--json]
  starter explain products|customers|contacts|salesreps COMPANY KEY [--json]

Run "starter COMMAND --help" for a command's flags.

Environment:
  TEMPORAL_ADDRESS      Temporal frontend (default 127.0.0.1:7233)
  TEMPORAL_NAMESPACE    namespace (default "default")
  ERPSYNC_TASK_QUEUE    the workers' task queue (default "erpsync")
  ELASTICSEARCH_URL     for status and dead-letters (default http://127.0.0.1:9200), with
                        ELASTICSEARCH_API_KEY, _USERNAME, _PASSWORD, _CA_CERT as the worker
  ERPSYNC_INDEX_PREFIX  index prefix (default "erpsync")
  ERPSYNC_SCHEDULE_PREFIX  put before every schedule ID (default none)
  ERPSYNC_CHANGE_DETECTION the worker's change detection, for schedules apply (default
                        parent-stamps; child-stamps adds reconcile and audit schedules)
  ERPSYNC_TEMPORAL_UI_URL  the Temporal UI, for links to runs (default http://127.0.0.1:8233)
  ERP_URL, ERP_CLIENT_ID, ERP_CLIENT_SECRET, ERP_TOKEN_URL, ERP_SCOPE
                        the ERP, as the worker reads it (explain only)

Schedules (IDs): product-import-update, product-import-rebuild, customer-import-update,
customer-import-rebuild. Pause, unpause and trigger them here or in the Temporal UI.
`

func main() {
	if buildinfo.Asked(os.Args[1:]) {
		fmt.Println(buildinfo.String("starter"))
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
}

// env is what every command connects with.
type env struct {
	temporalAddress, namespace, taskQueue, prefix, schedulePrefix string
	// uiURL is the Temporal UI's base URL, for links to runs.
	uiURL string
	es    search.Config
}

func loadEnv() env {
	e := env{
		temporalAddress: getenv("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		namespace:       getenv("TEMPORAL_NAMESPACE", "default"),
		taskQueue:       getenv("ERPSYNC_TASK_QUEUE", workflows.TaskQueue),
		prefix:          getenv("ERPSYNC_INDEX_PREFIX", "erpsync"),
		schedulePrefix:  os.Getenv("ERPSYNC_SCHEDULE_PREFIX"),
		uiURL:           getenv("ERPSYNC_TEMPORAL_UI_URL", visibility.DefaultUIURL),
		es:              search.ConfigFromEnv(),
	}
	if e.es.URL == "" {
		e.es.URL = "http://127.0.0.1:9200"
	}
	return e
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (e env) temporal(ctx context.Context) (client.Client, error) {
	z, err := logging.New("warn", "console")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: e.temporalAddress, Namespace: e.namespace, Logger: logging.Temporal(z.WithOptions(zap.IncreaseLevel(zap.ErrorLevel)))})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w (is it running? make dev starts it)", e.temporalAddress, err)
	}
	return c, nil
}

func (e env) index() (*search.Index, error) {
	es, err := search.NewClient(e.es)
	if err != nil {
		return nil, err
	}
	return search.New(es, e.prefix), nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, usage)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return flag.ErrHelp
	}
	e := loadEnv()
	switch args[0] {
	case "run":
		return runImport(ctx, e, args[1:], out)
	case "schedules":
		return schedules(ctx, e, args[1:], out)
	case "status":
		return status(ctx, e, args[1:], out)
	case "dead-letters":
		if len(args) > 1 && args[1] == "retry" {
			return retryDeadLetters(ctx, e, args[2:], out)
		}
		return deadLetters(ctx, e, args[1:], out)
	case "explain":
		return explain(ctx, e, args[1:], out)
	}
	return fmt.Errorf("unknown command %q; run starter --help", args[0])
}

// newFlags returns a flag set whose --help prints the command's synopsis and flags.
func newFlags(name, synopsis string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: starter %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags that may stand before or after positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(word, "s"))
}
