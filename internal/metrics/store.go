package metrics

import (
	"cmp"
	"slices"
)

// Chunk sizes of chunks: the first holds minChunk values, each next one twice as many,
// up to maxChunk (8 MiB of float64).
const (
	minChunk = 1 << 10
	maxChunk = 1 << 20
)

// chunks is a growing list of float64 values kept in chunks rather than one slice, so
// that growing never copies the values nor leaves the old array behind as garbage: a
// slice grown by append to 80 MB would hold up to twice that while it grows. Selection
// and merging work on the chunks directly.
type chunks struct {
	c [][]float64
}

// add appends v.
func (s *chunks) add(v float64) {
	n := len(s.c)
	if n == 0 || len(s.c[n-1]) == cap(s.c[n-1]) {
		size := minChunk
		if n > 0 {
			size = min(2*cap(s.c[n-1]), maxChunk)
		}
		s.c = append(s.c, make([]float64, 0, size))
		n++
	}
	s.c[n-1] = append(s.c[n-1], v)
}

// bytes is the memory the chunks take.
func (s *chunks) bytes() int64 {
	var n int64
	for _, c := range s.c {
		n += int64(cap(c)) * 8
	}
	return n
}

// sort sorts each chunk in place.
func (s *chunks) sort() {
	for _, c := range s.c {
		slices.Sort(c)
	}
}

// scoreRun counts the labelled rows with one score value: n[0] negatives, n[1] positives.
type scoreRun struct {
	value float64
	n     [2]int64
}

// scoreSet holds the scores of one version's labelled rows, by label, as the AUC needs
// them. While the version has at most maxDistinct distinct scores it counts rows per
// distinct score (runs, found through index), so that rounded or discrete scores take
// memory for their distinct values only. The first score beyond that spills: index is
// dropped, runs are kept as they are, and every later score is stored one by one in
// raw, 8 bytes per row. Memory is therefore bounded by the distinct-value cap plus
// 8 bytes per labelled row, and AUC stays exact.
type scoreSet struct {
	maxDistinct int
	index       map[float64]int32 // score -> position in runs; nil after the spill
	runs        []scoreRun
	spilled     bool
	raw         [2]chunks // after the spill: [0] negatives' scores, [1] positives'
}

// add counts one labelled score (never NaN).
func (s *scoreSet) add(score float64, positive bool) {
	b := 0
	if positive {
		b = 1
	}
	if !s.spilled {
		if i, ok := s.index[score]; ok {
			s.runs[i].n[b]++
			return
		}
		if len(s.runs) < s.maxDistinct {
			if s.index == nil {
				s.index = make(map[float64]int32)
			}
			s.index[score] = int32(len(s.runs))
			var r scoreRun
			r.value, r.n[b] = score, 1
			s.runs = append(s.runs, r)
			return
		}
		s.spilled, s.index = true, nil
	}
	s.raw[b].add(score)
}

// sort orders the runs by score and each raw chunk, as the AUC merge needs them.
func (s *scoreSet) sort() {
	slices.SortFunc(s.runs, func(x, y scoreRun) int { return cmp.Compare(x.value, y.value) })
	if s.index != nil {
		for i, r := range s.runs {
			s.index[r.value] = int32(i)
		}
	}
	s.raw[0].sort()
	s.raw[1].sort()
}
