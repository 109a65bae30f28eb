package ui

import (
	"fmt"
	"math"
	"strings"

	"github.com/medimind/modelops/internal/drift"
)

// histChart draws a column's reference and current histograms side by side: vertical bars
// over the value axis for a numeric column, horizontal bars, one row per category, for a
// categorical one.
type histChart struct {
	ID, Label string
	Column    string
	W, H      float64
	Left      float64
	Right     float64
	Top       float64
	Bottom    float64
	// Horizontal is the categorical layout.
	Horizontal bool
	Bins       []histBin
	XTicks     []tick
	YTicks     []tick
}

// histBin is one bin: its label and the reference and current bars.
type histBin struct {
	Label          string
	LabelX, LabelY float64
	Ref, Cur       histBar
	Title          string
}

type histBar struct{ X, Y, W, H float64 }

func newHistChart(column string, h *drift.Histogram) *histChart {
	if h == nil || len(h.Reference) == 0 || len(h.Reference) != len(h.Current) {
		return nil
	}
	top := 0.0
	for i := range h.Reference {
		top = max(top, h.Reference[i], h.Current[i])
	}
	top = niceTop(top)
	c := &histChart{ID: "column-histogram-svg", Column: column}
	if len(h.Categories) > 0 {
		return c.horizontal(h, top)
	}
	edges := h.Edges()
	if len(edges) != len(h.Reference)+1 {
		return nil
	}
	c.Label = fmt.Sprintf("Histogram of %s: share of the reference and of the current values in %d bins from %s to %s", column, len(h.Reference), num(edges[0]), num(edges[len(edges)-1]))
	c.W, c.H, c.Left, c.Right, c.Top, c.Bottom = 440, 220, 44, 430, 10, 186
	ys := linear{d0: 0, d1: top, r0: c.Bottom, r1: c.Top}
	n := len(h.Reference)
	slot := (c.Right - c.Left) / float64(n)
	bar := slot * 0.4
	for i := range n {
		x := c.Left + slot*float64(i)
		closing := ")"
		if i == n-1 {
			closing = "]"
		}
		b := histBin{
			Ref:   histBar{X: round1(x + slot*0.1), W: round1(bar), Y: round1(ys.at(h.Reference[i])), H: round1(c.Bottom - ys.at(h.Reference[i]))},
			Cur:   histBar{X: round1(x + slot*0.5), W: round1(bar), Y: round1(ys.at(h.Current[i])), H: round1(c.Bottom - ys.at(h.Current[i]))},
			Title: fmt.Sprintf("[%s, %s%s: reference %s, current %s", num(edges[i]), num(edges[i+1]), closing, sharePercent(h.Reference[i]), sharePercent(h.Current[i])),
		}
		c.Bins = append(c.Bins, b)
	}
	// The first, middle and last edges; the end ones anchored inside the chart.
	c.XTicks = append(c.XTicks, tick{X: c.Left, Y: c.Bottom + 18, Text: num(edges[0]), Anchor: "start"})
	if n >= 2 {
		c.XTicks = append(c.XTicks, tick{X: round1(c.Left + slot*float64(n/2)), Y: c.Bottom + 18, Text: num(edges[n/2]), Anchor: "middle"})
	}
	c.XTicks = append(c.XTicks, tick{X: c.Right, Y: c.Bottom + 18, Text: num(edges[n]), Anchor: "end"})
	c.yTicks(top, ys)
	return c
}

// horizontal lays the categories out as rows, the most frequent on top.
func (c *histChart) horizontal(h *drift.Histogram, top float64) *histChart {
	names := append([]string(nil), h.Categories...)
	if h.Others > 0 {
		names = append(names, fmt.Sprintf("%d others", h.Others))
	}
	if len(names) != len(h.Reference) {
		return nil
	}
	c.Horizontal = true
	c.Label = fmt.Sprintf("Histogram of %s: share of the reference and of the current values per category, the %d most frequent", c.Column, len(h.Categories))
	row := 26.0
	c.W, c.Left, c.Right, c.Top = 440, 130, 420, 4
	c.Bottom = c.Top + row*float64(len(names))
	c.H = c.Bottom + 24
	xs := linear{d0: 0, d1: top, r0: c.Left, r1: c.Right}
	for i, name := range names {
		y := c.Top + row*float64(i)
		label := name
		if r := []rune(label); len(r) > 18 {
			label = string(r[:17]) + "…"
		}
		c.Bins = append(c.Bins, histBin{
			Label: label, LabelX: c.Left - 6, LabelY: round1(y + row/2),
			Ref:   histBar{X: c.Left, Y: round1(y + 3), H: 9, W: round1(xs.at(h.Reference[i]) - c.Left)},
			Cur:   histBar{X: c.Left, Y: round1(y + 13), H: 9, W: round1(xs.at(h.Current[i]) - c.Left)},
			Title: fmt.Sprintf("%s: reference %s, current %s", name, sharePercent(h.Reference[i]), sharePercent(h.Current[i])),
		})
	}
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		anchor := "middle"
		if i == 4 {
			anchor = "end"
		}
		c.XTicks = append(c.XTicks, tick{X: round1(xs.at(v)), Y: c.Bottom + 16, Text: sharePercent(v), Anchor: anchor})
	}
	return c
}

func (c *histChart) yTicks(top float64, ys linear) {
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		c.YTicks = append(c.YTicks, tick{X: c.Left - 6, Y: round1(ys.at(v)), Text: sharePercent(v)})
	}
}

// niceTop rounds the largest share up to four equal steps of 1, 2, 2.5 or 5 times a power
// of ten, so that the axis reads 0%, 5%, 10%, 15%, 20% rather than thirds of a percent.
func niceTop(top float64) float64 {
	if !(top > 0) {
		return 1
	}
	q := top / 4
	p := math.Pow(10, math.Floor(math.Log10(q)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= q*(1-1e-9) {
			return 4 * m * p
		}
	}
	return 4 * 10 * p
}

// sharePercent writes a share with one decimal when it is small.
func sharePercent(v float64) string {
	if v > 0 && v < 0.1 {
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v*100), ".0") + "%"
	}
	return percent(v)
}
