package drift

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// The encoded form of a Profile's prepared columns, which a profile cache keeps between
// checks so that a reference that did not change is neither read nor prepared again.
// Every float64 is kept bit for bit (the sorted values, the standard deviation), so a
// report from a decoded profile is byte-identical to one from the table. The layout,
// little-endian:
//
//	"MOPROFC\x00" version:u32 columns:u32
//	per column: name:str kind:u8 numeric:u8 n:u64 missing:u64 invalid:u64 nunique:u64 std:f64
//	  numeric: len:u64 then len sorted f64 values (the sentinel is not stored)
//	  text:    entries:u64 then entries × (value:str count:u64), values sorted
//	str is len:u32 then bytes.
//
// The encoding says nothing of its integrity: the cache that stores it adds a checksum.
const (
	profileMagic   = "MOPROFC\x00"
	profileVersion = 1
)

// EncodeProfile writes the prepared columns of p to w (see the layout above). The
// options, groups and source of p are not written: DecodeProfile takes them anew.
func EncodeProfile(w io.Writer, p *Profile) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	buf = append(buf, profileMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, profileVersion)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(p.columns)))
	for _, cp := range p.columns {
		buf = appendString(buf, cp.name)
		kind := byte(0)
		if cp.kind == KindCategorical {
			kind = 1
		}
		numeric := byte(0)
		if cp.numeric {
			numeric = 1
		}
		buf = append(buf, kind, numeric)
		for _, v := range []int{cp.n, cp.missing, cp.invalid, cp.nunique} {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
		}
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(cp.std))
		if cp.numeric {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(len(cp.sorted)))
			for _, v := range cp.sorted {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
				if len(buf) >= 1<<16 {
					if _, err := bw.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
		} else {
			keys := make([]string, 0, len(cp.counts))
			for k := range cp.counts {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			buf = binary.LittleEndian.AppendUint64(buf, uint64(len(keys)))
			for _, k := range keys {
				buf = appendString(buf, k)
				buf = binary.LittleEndian.AppendUint64(buf, uint64(cp.counts[k]))
			}
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	return bw.Flush()
}

func appendString(buf []byte, s string) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// ErrProfileFormat is wrapped by the errors of DecodeProfile about the bytes: another
// version, or bytes that are not a profile. A cache treats it as a miss.
var ErrProfileFormat = errors.New("not a drift profile of this version")

// DecodeProfile reads the prepared columns EncodeProfile wrote and makes them a Profile
// that compares under opts; source names the reference in errors. opts must be those the
// profile was prepared under as far as preparation goes (Exclude, Numeric, Categorical):
// the caller keys its cache by them. maxValues bounds the values of one column the
// bytes may claim, so that a damaged length cannot allocate without bound.
func DecodeProfile(ctx context.Context, r io.Reader, source string, opts Options, maxValues int) (*Profile, error) {
	opts = opts.clone()
	groups, err := opts.validate()
	if err != nil {
		return nil, err
	}
	d := profileDecoder{r: bufio.NewReaderSize(r, 1<<16), max: maxValues}
	if magic := d.bytes(len(profileMagic)); d.err == nil && string(magic) != profileMagic {
		return nil, fmt.Errorf("bad magic: %w", ErrProfileFormat)
	}
	if v := d.u32(); d.err == nil && v != profileVersion {
		return nil, fmt.Errorf("version %d, want %d: %w", v, profileVersion, ErrProfileFormat)
	}
	ncols := int(d.u32())
	if d.err == nil && ncols > d.max {
		return nil, fmt.Errorf("%d columns: %w", ncols, ErrProfileFormat)
	}
	p := &Profile{source: source, opts: opts, groups: groups}
	for i := 0; i < ncols && d.err == nil; i++ {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		cp := &columnProfile{name: d.str(), kind: KindNumeric}
		flags := d.bytes(2)
		if d.err != nil {
			break
		}
		if flags[0] == 1 {
			cp.kind = KindCategorical
		}
		cp.numeric = flags[1] == 1
		cp.n, cp.missing, cp.invalid, cp.nunique = d.count(), d.count(), d.count(), d.count()
		cp.std = math.Float64frombits(d.u64())
		n := d.count()
		if d.err != nil {
			break
		}
		if cp.numeric {
			if n != cp.n || n == 0 {
				return nil, fmt.Errorf("column %q: %d values for n = %d: %w", cp.name, n, cp.n, ErrProfileFormat)
			}
			cp.sorted = withSentinel(d.floats(make([]float64, n, n+1)))
		} else {
			cp.counts = make(map[string]int, min(n, 1<<16))
			for j := 0; j < n && d.err == nil; j++ {
				k := d.str()
				cp.counts[k] = d.count()
			}
		}
		p.columns = append(p.columns, cp)
	}
	if d.err != nil {
		if errors.Is(d.err, io.EOF) || errors.Is(d.err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("cut short: %w", ErrProfileFormat)
		}
		return nil, d.err
	}
	if _, err := d.r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("bytes after the last column: %w", ErrProfileFormat)
	}
	if len(p.columns) == 0 {
		return nil, fmt.Errorf("no columns: %w", ErrProfileFormat)
	}
	return p, nil
}

// profileDecoder reads the fields of an encoded profile, keeping the first error.
type profileDecoder struct {
	r   *bufio.Reader
	max int
	err error
	buf [8]byte
}

func (d *profileDecoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	b := d.buf[:0]
	if n > len(d.buf) {
		b = make([]byte, n)
	}
	b = b[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = err
		return nil
	}
	return b
}

func (d *profileDecoder) u32() uint32 {
	b := d.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (d *profileDecoder) u64() uint64 {
	b := d.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// count reads a u64 that counts values, at most d.max.
func (d *profileDecoder) count() int {
	v := d.u64()
	if d.err == nil && v > uint64(d.max) {
		d.err = fmt.Errorf("a count of %d, more than %d: %w", v, d.max, ErrProfileFormat)
		return 0
	}
	return int(v)
}

func (d *profileDecoder) str() string {
	n := d.u32()
	if d.err == nil && int64(n) > int64(d.max) {
		d.err = fmt.Errorf("a string of %d bytes: %w", n, ErrProfileFormat)
	}
	return string(d.bytes(int(n)))
}

// floats fills dst with float64 values read 64 KiB at a time.
func (d *profileDecoder) floats(dst []float64) []float64 {
	var chunk [8192 * 8]byte
	for i := 0; i < len(dst) && d.err == nil; {
		k := min(len(dst)-i, len(chunk)/8)
		b := chunk[:k*8]
		if _, err := io.ReadFull(d.r, b); err != nil {
			d.err = err
			break
		}
		for j := range k {
			dst[i+j] = math.Float64frombits(binary.LittleEndian.Uint64(b[j*8:]))
		}
		i += k
	}
	return dst
}
