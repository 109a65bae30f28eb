package ui

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Charts are SVG drawn here and written into the page by the templates: no script, no
// library, nothing fetched, and a <title> on every point is the browser's own tooltip.

// chart is a line chart over time.
type chart struct {
	ID    string
	Label string // what the chart shows, for screen readers
	W, H  float64
	// The plot area inside the axes.
	Left, Right, Top, Bottom float64
	Series                   []series
	Bands                    []band
	Rules                    []rule
	Marks                    []mark
	XTicks, YTicks           []tick
}

type series struct {
	Name   string
	Class  string // s0…s7: the colour
	Points string // polyline points
	Dots   []dot
}

type dot struct {
	X, Y  float64
	Title string
}

// band is a shaded interval (the DeLong confidence interval).
type band struct {
	Path  string
	Title string
}

// rule is a horizontal reference line (a threshold, zero).
type rule struct {
	Y     float64
	Label string
}

// mark is a vertical event line (a rollback).
type mark struct {
	X     float64
	Label string
}

type tick struct {
	X, Y float64
	Text string
	// Anchor is the text-anchor of a histogram's tick: the end ones stay inside the chart.
	Anchor string
}

// linear maps a domain onto a range.
type linear struct{ d0, d1, r0, r1 float64 }

func (s linear) at(v float64) float64 {
	if s.d1 == s.d0 {
		return (s.r0 + s.r1) / 2
	}
	return s.r0 + (v-s.d0)/(s.d1-s.d0)*(s.r1-s.r0)
}

// point is one value at one time.
type point struct {
	At    time.Time
	V     float64
	Title string
}

// line is a named series of points, oldest first.
type line struct {
	Name   string
	Points []point
	// Step draws the value as held until the next point (a canary's weight), not as a slope.
	Step bool
}

// newTimeChart lays lines out over time with y in [y0, y1]; the time axis spans the points
// and the times of span (so that charts of one story share their axis).
func newTimeChart(id, label string, lines []line, y0, y1 float64, yFormat func(float64) string, span ...time.Time) (*chart, func(time.Time) float64, linear) {
	c := &chart{ID: id, Label: label, W: 720, H: 260, Left: 48, Right: 708, Top: 12, Bottom: 226}
	var first, last time.Time
	extend := func(at time.Time) {
		if at.IsZero() {
			return
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	for _, at := range span {
		extend(at)
	}
	for _, l := range lines {
		for _, p := range l.Points {
			extend(p.At)
		}
	}
	xs := linear{d0: float64(first.UnixMilli()), d1: float64(last.UnixMilli()), r0: c.Left, r1: c.Right}
	ys := linear{d0: y0, d1: y1, r0: c.Bottom, r1: c.Top}
	x := func(t time.Time) float64 { return round1(xs.at(float64(t.UnixMilli()))) }
	for i, l := range lines {
		s := series{Name: l.Name, Class: fmt.Sprintf("s%d", i%8)}
		var pts []string
		for i, p := range l.Points {
			px, py := x(p.At), round1(ys.at(p.V))
			if l.Step && i > 0 {
				pts = append(pts, fmt.Sprintf("%g,%g", px, round1(ys.at(l.Points[i-1].V))))
			}
			pts = append(pts, fmt.Sprintf("%g,%g", px, py))
			s.Dots = append(s.Dots, dot{X: px, Y: py, Title: p.Title})
		}
		s.Points = strings.Join(pts, " ")
		c.Series = append(c.Series, s)
	}
	for i := 0; i <= 4; i++ {
		v := y0 + (y1-y0)*float64(i)/4
		c.YTicks = append(c.YTicks, tick{X: c.Left - 6, Y: round1(ys.at(v)), Text: yFormat(v)})
	}
	if !first.IsZero() {
		c.XTicks = append(c.XTicks, tick{X: c.Left, Y: c.Bottom + 18, Text: first.UTC().Format("2006-01-02 15:04")})
		if last.After(first) {
			c.XTicks = append(c.XTicks, tick{X: c.Right, Y: c.Bottom + 18, Text: last.UTC().Format("2006-01-02 15:04")})
		}
	}
	return c, x, ys
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// sparkline is a small line of values in [0, 1], oldest first.
type sparkline struct {
	Label  string
	Points string
	LastX  float64
	LastY  float64
	W, H   float64
}

func newSparkline(values []float64, label string) *sparkline {
	if len(values) == 0 {
		return nil
	}
	s := &sparkline{Label: label, W: 100, H: 24}
	xs := linear{d0: 0, d1: float64(len(values) - 1), r0: 2, r1: s.W - 2}
	ys := linear{d0: 0, d1: 1, r0: s.H - 2, r1: 2}
	var pts []string
	for i, v := range values {
		s.LastX, s.LastY = round1(xs.at(float64(i))), round1(ys.at(v))
		pts = append(pts, fmt.Sprintf("%g,%g", s.LastX, s.LastY))
	}
	s.Points = strings.Join(pts, " ")
	return s
}

func percent(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }
