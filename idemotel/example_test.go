package idemotel_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/idemkit/idempotency"
	"github.com/idemkit/idempotency/idemotel"
	"github.com/idemkit/idempotency/sqlstore"
)

// The metrics of a Manager on a Prometheus endpoint, through OpenTelemetry's
// Prometheus exporter. A service registers with prometheus.DefaultRegisterer
// (the exporter's default) and serves promhttp.Handler() on its own mux;
// the example uses a registry of its own and a test server.
func Example_prometheus() {
	registry := prometheus.NewRegistry()
	// WithoutScopeInfo leaves out the otel_scope_* labels, to keep the
	// output short.
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo())
	if err != nil {
		log.Fatal(err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer provider.Shutdown(context.Background())

	obs, err := idemotel.New(idemotel.Config{MeterProvider: provider})
	if err != nil {
		log.Fatal(err)
	}
	store, closeStore := openStore()
	defer closeStore()
	charges, err := idempotency.New[charge, receipt](store, idempotency.Config{Namespace: "charges", Observer: obs})
	if err != nil {
		log.Fatal(err)
	}
	for range 3 { // a client retries twice
		if _, err := charges.Do(context.Background(), "order-7f3a", charge{Amount: 1999}, okFn); err != nil {
			log.Fatal(err)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if line := lines.Text(); strings.HasPrefix(line, "idempotency_calls_total{") || strings.HasPrefix(line, "idempotency_call_duration_seconds_count{") {
			fmt.Println(line)
		}
	}
	// Output:
	// idempotency_call_duration_seconds_count{idempotency_namespace="charges",idempotency_outcome="executed",idempotency_transactional="false"} 1
	// idempotency_call_duration_seconds_count{idempotency_namespace="charges",idempotency_outcome="replayed",idempotency_transactional="false"} 2
	// idempotency_calls_total{idempotency_namespace="charges",idempotency_outcome="executed",idempotency_transactional="false"} 1
	// idempotency_calls_total{idempotency_namespace="charges",idempotency_outcome="replayed",idempotency_transactional="false"} 2
}

// openStore opens an embedded SQLite store in a temporary directory.
func openStore() (*sqlstore.Store, func()) {
	dir, err := os.MkdirTemp("", "idemotel-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sqlx.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "idem.db")))
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(context.Background()); err != nil {
		log.Fatal(err)
	}
	return store, func() { store.Close(); db.Close(); os.RemoveAll(dir) }
}
