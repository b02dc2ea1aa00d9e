package idemotel

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/idemkit/idempotency"
)

// NewCleanerHook returns a function for [idempotency.CleanerConfig.OnPass]
// that records each cleaning pass: the records it deleted, its duration, and
// whether it finished (reached a batch that came back short) or failed. A
// rising count of failed passes, or passes that take ever longer, tell a
// cleaner that falls behind. Only cfg.MeterProvider is used: a pass makes no
// span. The function is safe for concurrent use, so one may serve several
// Cleaners, whose passes then add up.
//
// It fails only if the MeterProvider refuses to create an instrument.
func NewCleanerHook(cfg Config) (func(idempotency.PassStats), error) {
	meter := cfg.meter()
	deleted, err1 := meter.Int64Counter("idempotency.cleaner.deleted.records", metric.WithUnit("{record}"),
		metric.WithDescription("Expired records deleted by the cleaner."))
	passes, err2 := meter.Int64Counter("idempotency.cleaner.passes", metric.WithUnit("{pass}"),
		metric.WithDescription("Cleaning passes, by whether they finished or failed."))
	duration, err3 := meter.Float64Histogram("idempotency.cleaner.pass.duration", metric.WithUnit("s"),
		metric.WithDescription("Wall time of a cleaning pass."), metric.WithExplicitBucketBoundaries(passBuckets...))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("idemotel: create cleaner instruments: %w", err)
	}
	finished := metric.WithAttributeSet(attribute.NewSet(AttrCleanerOutcome.String("finished")))
	return func(s idempotency.PassStats) {
		// OnPass carries no context: the pass belongs to no request.
		ctx := context.Background()
		attrs := finished
		if !s.Finished {
			kvs := []attribute.KeyValue{AttrCleanerOutcome.String("failed")}
			if s.Err != nil {
				kvs = append(kvs, AttrErrorType.String(errorType(s.Err)))
			}
			attrs = metric.WithAttributeSet(attribute.NewSet(kvs...))
		}
		deleted.Add(ctx, s.Deleted) // also 0, so that the series exists from the first pass
		passes.Add(ctx, 1, attrs)
		duration.Record(ctx, s.Duration.Seconds(), attrs)
	}, nil
}
