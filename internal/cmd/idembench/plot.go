package main

import (
	"fmt"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plot draws the median throughput of every variant against the number of
// callers into a PNG file, both axes logarithmic: the variants differ by
// orders of magnitude (a cached replay, a commit).
func (r *results) plot(file, title string, conc []int, variants []string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "concurrent callers"
	p.Y.Label.Text = "operations per second (median of rounds)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Tick.Marker = callerTicks(conc)
	p.Add(plotter.NewGrid())

	var lines []any
	for _, v := range variants {
		var xys plotter.XYs
		for _, c := range conc {
			ms := r.m[c][v]
			if len(ms) == 0 {
				continue
			}
			var ops []float64
			for _, m := range ms {
				ops = append(ops, m.opsPerSec())
			}
			slices.Sort(ops)
			xys = append(xys, plotter.XY{X: float64(c), Y: median(ops)})
		}
		if len(xys) > 0 {
			lines = append(lines, v, xys)
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("plot: nothing was measured")
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	// The legend sits at the top right, in room left free for it beyond
	// the most callers measured.
	p.Legend.Top, p.Legend.Left = true, false
	p.X.Max *= 10
	if err := p.Save(9*vg.Inch, 5.5*vg.Inch, file); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// callerTicks marks exactly the measured numbers of callers.
func callerTicks(conc []int) plot.ConstantTicks {
	var ticks []plot.Tick
	for _, c := range conc {
		ticks = append(ticks, plot.Tick{Value: float64(c), Label: strconv.Itoa(c)})
	}
	return ticks
}
