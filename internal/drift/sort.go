package drift

import "math"

// sortScratch is the memory sortFloats works in; it grows and is reused.
type sortScratch struct {
	bucket []uint32
	counts []int
	out    []float64
	tmp    []uint64
	keys   []uint64
}

// sortFloats sorts x (no NaNs) ascending. It distributes the values into about len(x)/2
// equal-width buckets over [min, max] — b(x) = ⌊(x − min)·scale⌋ never decreases as x
// grows under IEEE rounding, so the buckets come out in order — and sorts each bucket by
// insertion (a few values for smooth data) or, when a bucket is crowded (heavy tails,
// heavy ties), by an LSD radix sort on the float bits. For a 20,000-row column this is
// about three linear passes where radix sort needs nine and a comparison sort fifteen.
func sortFloats(x []float64, s *sortScratch) {
	n := len(x)
	if n <= 48 {
		insertionSort(x)
		return
	}
	lo, hi := x[0], x[0]
	for _, v := range x[1:] {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	span := hi - lo
	if span == 0 {
		return
	}
	nb := n / 4
	scale := float64(nb) / span
	if math.IsInf(span, 0) || math.IsInf(scale, 0) || !(scale > 0) {
		s.radix(x)
		return
	}
	if cap(s.bucket) < n {
		s.bucket = make([]uint32, n)
		s.out = make([]float64, n)
	}
	if cap(s.counts) < nb+1 {
		s.counts = make([]int, nb+1)
	}
	bucket, out, counts := s.bucket[:n], s.out[:n], s.counts[:nb+1]
	clear(counts)
	last := uint32(nb - 1)
	for i, v := range x {
		b := uint32((v - lo) * scale)
		if b > last {
			b = last
		}
		bucket[i] = b
		counts[b]++
	}
	// A crowded bucket means a skewed or heavy-tailed sample: radix sort it all.
	sum, most := 0, 0
	for _, c := range counts[:nb] {
		most = max(most, c)
	}
	if most > n/8 {
		s.radix(x)
		return
	}
	// counts[b] becomes the start of bucket b; after the scatter, its end.
	for b, c := range counts[:nb] {
		counts[b] = sum
		sum += c
	}
	for i, v := range x {
		b := bucket[i]
		out[counts[b]] = v
		counts[b]++
	}
	copy(x, out)
	start := 0
	for b := 0; b < nb; b++ {
		end := counts[b]
		switch m := end - start; {
		case m < 2:
		case m <= 64:
			insertionSort(x[start:end])
		default:
			s.radix(x[start:end])
		}
		start = end
	}
}

func (s *sortScratch) radix(x []float64) {
	if cap(s.tmp) < len(x) {
		s.tmp, s.keys = make([]uint64, len(x)), make([]uint64, len(x))
	}
	radixSortFloat64(x, s.tmp, s.keys)
}

// cleanSortInto writes the finite values of x into dst (whose capacity must exceed the
// count by one, for the walk sentinel) in ascending order and returns them. It is
// sortFloats fused with the cleaning: one pass finds the range and the count, one
// counts the buckets and one scatters straight from x, so the values are never copied
// twice.
func cleanSortInto(x, dst []float64, s *sortScratch) []float64 {
	n := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range x {
		if v-v == 0 { // false for NaN and ±Inf
			n++
			lo = min(lo, v)
			hi = max(hi, v)
		}
	}
	dst = dst[:n]
	copyValid := func() {
		k := 0
		for _, v := range x {
			if v-v == 0 {
				dst[k] = v
				k++
			}
		}
	}
	nb := n / 2
	span := hi - lo
	scale := float64(nb) / span
	if n <= 48 || !(span > 0) || math.IsInf(span, 0) || math.IsInf(scale, 0) || !(scale > 0) {
		copyValid()
		sortFloats(dst, s)
		return dst
	}
	if cap(s.counts) < nb+1 {
		s.counts = make([]int, nb+1)
	}
	counts := s.counts[:nb+1]
	clear(counts)
	last := uint32(nb - 1)
	for _, v := range x {
		if v-v == 0 {
			counts[min(uint32((v-lo)*scale), last)]++
		}
	}
	start, most := 0, 0
	for b, c := range counts[:nb] {
		most = max(most, c)
		counts[b] = start
		start += c
	}
	if most > n/8 {
		copyValid()
		s.radix(dst)
		return dst
	}
	for _, v := range x {
		if v-v == 0 {
			b := min(uint32((v-lo)*scale), last)
			dst[counts[b]] = v
			counts[b]++
		}
	}
	start = 0
	for b := 0; b < nb; b++ {
		end := counts[b]
		switch m := end - start; {
		case m < 2:
		case m <= 64:
			insertionSort(dst[start:end])
		default:
			s.radix(dst[start:end])
		}
		start = end
	}
	return dst
}
