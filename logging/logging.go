// Package logging builds erpsync's zap loggers and bridges them into the Temporal SDK's logger.
package logging

import (
	"fmt"
	"os"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a production zap logger at level ("debug", "info", "warn", "error"). With
// format "console" it writes human-readable lines (what make dev uses); otherwise JSON.
func New(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	if format == "console" {
		cfg.Encoding = "console"
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
	}
	return cfg.Build()
}

// Temporal adapts z to the Temporal SDK's logger, so the SDK's own messages (polling, retries,
// workflow panics) reach the same sink as erpsync's.
func Temporal(z *zap.Logger) log.Logger {
	return &temporalLogger{z: z.WithOptions(zap.AddCallerSkip(1))}
}

// temporalLogger implements log.Logger and log.WithLogger over zap's key-value API.
type temporalLogger struct{ z *zap.Logger }

func (l *temporalLogger) fields(keyvals []any) []zap.Field {
	fs := make([]zap.Field, 0, len(keyvals)/2+1)
	for i := 0; i < len(keyvals); i += 2 {
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		if i+1 >= len(keyvals) {
			fs = append(fs, zap.Any("!BADKEY", key))
			break
		}
		fs = append(fs, zap.Any(key, keyvals[i+1]))
	}
	return fs
}

func (l *temporalLogger) Debug(msg string, keyvals ...any) { l.z.Debug(msg, l.fields(keyvals)...) }
func (l *temporalLogger) Info(msg string, keyvals ...any)  { l.z.Info(msg, l.fields(keyvals)...) }
func (l *temporalLogger) Warn(msg string, keyvals ...any)  { l.z.Warn(msg, l.fields(keyvals)...) }
func (l *temporalLogger) Error(msg string, keyvals ...any) { l.z.Error(msg, l.fields(keyvals)...) }

// With returns a logger that adds keyvals to every message.
func (l *temporalLogger) With(keyvals ...any) log.Logger {
	return &temporalLogger{z: l.z.With(l.fields(keyvals)...)}
}

var _ log.WithLogger = (*temporalLogger)(nil)
