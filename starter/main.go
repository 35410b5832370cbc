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

	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/internal/buildinfo"
	"github.com/erpsync/erpsync/logging"
	"github.com/erpsync/erpsync/search"
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

Run "starter COMMAND --help" for a command's own flags. Every command also takes the settings
below, as flags, environment variables or from the config file.

Schedules (IDs): product-import-update, product-import-rebuild, customer-import-update,
customer-import-rebuild; with child-stamps change detection also product-import-reconcile,
product-import-audit, customer-import-reconcile, customer-import-audit. Pause, unpause and
trigger them here or in the Temporal UI.

`

func main() {
	if buildinfo.Asked(os.Args[1:]) {
		fmt.Println(buildinfo.String("starter"))
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], config.OSEnv, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
}

// cli is what every command works with: its output and the configuration, read once the
// command's own flags are declared.
type cli struct {
	cfg *config.Config
	set *config.Set
	env config.Env
	out io.Writer
}

// flags returns a flag set for a command whose --help prints its synopsis, its own flags and a
// pointer to the settings.
func (e *cli) flags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.out)
	fs.Usage = func() {
		fmt.Fprintf(e.out, "Usage: starter %s\n\n", synopsis)
		e.set.PrintFlags(e.out, fs)
		fmt.Fprintln(e.out, "and every setting of starter --help.")
	}
	return fs
}

// parse reads the command's flags and the configuration; flags may stand before or after the
// positional arguments, which it returns.
func (e *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := e.set.Parse(fs, args, e.env)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	return pos, err
}

func (e *cli) temporal(ctx context.Context) (client.Client, error) {
	z, err := logging.New("warn", "console")
	if err != nil {
		return nil, err
	}
	opts, err := e.cfg.Temporal.ClientOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = logging.Temporal(z.WithOptions(zap.IncreaseLevel(zap.ErrorLevel)))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w (is it running? make dev starts it)", e.cfg.Temporal.Address, err)
	}
	return c, nil
}

func (e *cli) index() (*search.Index, error) {
	es, err := search.NewClient(e.cfg.Elasticsearch)
	if err != nil {
		return nil, err
	}
	return search.New(es, e.cfg.Index.Prefix), nil
}

func run(ctx context.Context, args []string, env config.Env, out io.Writer) error {
	cfg, set := config.ForStarter()
	e := &cli{cfg: cfg, set: set, env: env, out: out}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, usage)
		set.PrintSettings(out)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "run":
		return runImport(ctx, e, args[1:])
	case "schedules":
		return schedules(ctx, e, args[1:])
	case "status":
		return status(ctx, e, args[1:])
	case "dead-letters":
		if len(args) > 1 && args[1] == "retry" {
			return retryDeadLetters(ctx, e, args[2:])
		}
		return deadLetters(ctx, e, args[1:])
	case "explain":
		return explain(ctx, e, args[1:])
	}
	return fmt.Errorf("unknown command %q; run starter --help", args[0])
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(word, "s"))
}
