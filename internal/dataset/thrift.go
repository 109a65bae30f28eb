package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Parquet's footer and page headers are Thrift structs in the compact protocol, and
// parquet-go's decoder allocates a list, a string or a map at the size the data states
// before it reads the elements: a forged count of 2^31 costs gigabytes for a few bytes of
// input, and nesting costs stack. checkThrift walks a struct without allocating, and
// refuses sizes larger than the bytes left (each element takes at least one byte) and
// nesting deeper than maxThriftDepth, so that only sound structs reach the decoder.

// maxThriftDepth is far deeper than any Parquet struct nests.
const maxThriftDepth = 32

// errThriftShort means b ended inside the struct: more bytes may complete it.
var errThriftShort = errors.New("struct cut short")

// Compact protocol types.
const (
	thriftStop = iota
	thriftTrue
	thriftFalse
	thriftByte
	thriftI16
	thriftI32
	thriftI64
	thriftDouble
	thriftBinary
	thriftList
	thriftSet
	thriftMap
	thriftStruct
	thriftUUID
)

// thriftWalker reads compact-protocol values from b.
type thriftWalker struct {
	b   []byte
	off int
}

// checkThrift checks the struct at the start of b and returns its length.
func checkThrift(b []byte) (int, error) {
	w := thriftWalker{b: b}
	if err := w.value(thriftStruct, 0); err != nil {
		return 0, err
	}
	return w.off, nil
}

func (w *thriftWalker) left() int { return len(w.b) - w.off }

func (w *thriftWalker) byte() (byte, error) {
	if w.off >= len(w.b) {
		return 0, errThriftShort
	}
	c := w.b[w.off]
	w.off++
	return c, nil
}

func (w *thriftWalker) varint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.off:])
	switch {
	case n == 0:
		return 0, errThriftShort
	case n < 0:
		return 0, errors.New("varint overflows 64 bits")
	}
	w.off += n
	return v, nil
}

// skip moves past n bytes.
func (w *thriftWalker) skip(n uint64) error {
	if n > uint64(w.left()) {
		return errThriftShort
	}
	w.off += int(n)
	return nil
}

// count reads a size of elements that take at least one byte each.
func (w *thriftWalker) count(n uint64, what string) error {
	if n > uint64(w.left()) {
		return fmt.Errorf("%s of %d elements in %d bytes", what, n, w.left())
	}
	return nil
}

// value walks a value of type t.
func (w *thriftWalker) value(t byte, depth int) error {
	if depth > maxThriftDepth {
		return fmt.Errorf("structs nested deeper than %d", maxThriftDepth)
	}
	switch t {
	case thriftTrue, thriftFalse:
		return nil
	case thriftByte:
		return w.skip(1)
	case thriftI16, thriftI32, thriftI64:
		_, err := w.varint()
		return err
	case thriftDouble:
		return w.skip(8)
	case thriftUUID:
		return w.skip(16)
	case thriftBinary:
		n, err := w.varint()
		if err != nil {
			return err
		}
		return w.skip(n)
	case thriftList, thriftSet:
		h, err := w.byte()
		if err != nil {
			return err
		}
		n, elem := uint64(h>>4), h&0x0f
		if n == 15 {
			if n, err = w.varint(); err != nil {
				return err
			}
		}
		if err := w.count(n, "a list"); err != nil {
			return err
		}
		for range n {
			if elem == thriftTrue || elem == thriftFalse { // a bool in a list takes a byte
				if err := w.skip(1); err != nil {
					return err
				}
				continue
			}
			if err := w.value(elem, depth+1); err != nil {
				return err
			}
		}
		return nil
	case thriftMap:
		n, err := w.varint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		if err := w.count(2*n, "a map"); err != nil {
			return err
		}
		for range n {
			if err := w.value(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.value(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case thriftStruct:
		for {
			h, err := w.byte()
			if err != nil {
				return err
			}
			if h == thriftStop {
				return nil
			}
			if h>>4 == 0 { // a long-form field id follows
				if _, err := w.varint(); err != nil {
					return err
				}
			}
			if err := w.value(h&0x0f, depth+1); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("unknown Thrift type %d", t)
}
