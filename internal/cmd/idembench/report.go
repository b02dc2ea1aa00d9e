package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// results holds every measured round, by concurrency and variant.
type results struct {
	m map[int]map[string][]*measurement
}

func newResults() *results { return &results{m: make(map[int]map[string][]*measurement)} }

func (r *results) add(c int, v string, m *measurement) {
	if r.m[c] == nil {
		r.m[c] = make(map[string][]*measurement)
	}
	r.m[c][v] = append(r.m[c][v], m)
}

// ratios are the comparisons the cost budget (DESIGN.md §4) is about, each
// taken per round, where both sides ran back to back.
var ratios = []struct{ name, num, den, goal string }{
	{"(a)/(c) new key: Do / floor", doNew, floorNew, "≥ 0.95"},
	{"(b)/(c) replay: Do / floor", doReplay, floorReplay, "≥ 0.90"},
	{"replay: Do / floor + decoding the response", doReplay, floorDecode, ""},
	{"(a)/(d) new key: Do / naive", doNew, naiveNew, ""},
	{"mix, 1 in 10 a retry: Do / floor", doMix, floorMix, ""},
	{"store new key: Store / floor", storeNew, floorNew, ""},
	{"store replay: Store / floor", storeReplay, floorReplay, ""},
	{"tx new key: TxManager / hand-written transaction", txNew, floorTxNew, "≥ 0.90"},
	{"tx new key: TxManager / Do + its own transaction", txNew, doTxNew, "≥ 1.5"},
	{"tx replay: TxManager / floor", txReplay, floorReplay, "≥ 0.90"},
	{"new key: Do on Redis / Do on PostgreSQL", doNew, pgDoNew, ""},
	{"hot replay: Do with cache / floor", cachedHot, floorHot, "≥ 10 (32 callers)"},
	{"hot replay: Do / floor", doHot, floorHot, ""},
	{"replay: Do with cache / floor", cachedReplay, floorReplay, ""},
	{"new key: Do with cache / Do", cachedNew, doNew, "≥ 0.98"},
	{"replay: Do on Redis / Do on PostgreSQL", doReplay, pgDoReplay, ""},
}

func (r *results) print(w io.Writer, conc []int, variants []string) {
	for _, c := range conc {
		fmt.Fprintf(w, "\n## %d concurrent caller(s)\n\n", c)
		fmt.Fprintln(w, "| variant | ops/s median | ops/s min–max | p50 | p99 | client CPU/op |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
		for _, v := range variants {
			ms := r.m[c][v]
			if len(ms) == 0 {
				continue
			}
			var ops, cpu []float64
			var lat []time.Duration
			for _, m := range ms {
				ops = append(ops, m.opsPerSec())
				cpu = append(cpu, float64(m.cpuPerOp()))
				lat = append(lat, m.lat...)
			}
			slices.Sort(ops)
			slices.Sort(cpu)
			slices.Sort(lat)
			fmt.Fprintf(w, "| %s | %.0f | %.0f–%.0f | %v | %v | %v |\n", v, median(ops), ops[0], ops[len(ops)-1],
				round(quantile(lat, 0.5)), round(quantile(lat, 0.99)), round(time.Duration(median(cpu))))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| ratio (per round) | min | median | max | goal |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---|")
		for _, q := range ratios {
			num, den := r.m[c][q.num], r.m[c][q.den]
			if len(num) == 0 || len(num) != len(den) {
				continue
			}
			var rs []float64
			for i := range num {
				rs = append(rs, num[i].opsPerSec()/den[i].opsPerSec())
			}
			slices.Sort(rs)
			fmt.Fprintf(w, "| %s | %.3f | %.3f | %.3f | %s |\n", q.name, rs[0], median(rs), rs[len(rs)-1], q.goal)
		}
	}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}
