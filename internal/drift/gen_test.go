package drift

import (
	"fmt"
	"math"
)

// genSpec describes a deterministic sample, expanded identically by
// scripts/drift_reference.py (generate) and by expand: a 64-bit LCG in integer
// arithmetic and only IEEE-754 + − × ÷ and floor, which round the same in both languages.
type genSpec struct {
	Dist    string   `json:"dist"`
	N       int      `json:"n"`
	Seed    uint64   `json:"seed"`
	Loc     float64  `json:"loc"`
	Scale   *float64 `json:"scale"`
	K       float64  `json:"k"`
	Quantum float64  `json:"quantum"`
}

type lcg struct{ state uint64 }

// next returns (2·(state>>12)+1)/2^53, a uniform in (0, 1) with no rounding.
func (l *lcg) next() float64 {
	l.state = l.state*6364136223846793005 + 1442695040888963407
	return float64(2*(l.state>>12)+1) / 9007199254740992.0
}

func (g *genSpec) expand() []float64 {
	scale := 1.0
	if g.Scale != nil {
		scale = *g.Scale
	}
	out := make([]float64, g.N)
	u := &lcg{state: g.Seed}
	for i := range out {
		var x float64
		switch g.Dist {
		case "grid":
			x = g.Loc + float64(scale*((float64(i)+0.5)/float64(g.N)))
		case "uniform":
			x = g.Loc + float64(scale*u.next())
		case "normal":
			s := 0.0
			for k := 0; k < 12; k++ {
				s += u.next()
			}
			x = g.Loc + float64(scale*(s-6.0))
		case "cauchy":
			a := u.next()
			b := u.next()
			x = g.Loc + float64(scale*((a-0.5)/b))
		case "pareto":
			x = g.Loc + scale/u.next()
		case "int":
			x = g.Loc + math.Floor(float64(u.next()*g.K))
		default:
			panic(fmt.Sprintf("unknown dist %q", g.Dist))
		}
		out[i] = x
	}
	if g.Quantum != 0 {
		for i, x := range out {
			out[i] = math.Floor(float64(x*g.Quantum)) / g.Quantum
		}
	}
	return out
}
