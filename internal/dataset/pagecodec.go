package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// maxPageBytes bounds one Parquet page once decompressed, whatever maxBytes allows:
// writers make pages of about a megabyte, and parquet-go holds a whole page in memory.
const maxPageBytes = 512 << 20

// checkPageBody checks that a compressed page decompresses to no more than the size
// its header gives (size), before parquet-go decompresses it: parquet-go trusts the
// codec's own length (snappy), grows its buffer while a stream inflates (gzip, brotli,
// zstd), and doubles its buffer without end while LZ4 fails. Streams are decompressed
// here into a counter, which costs a second decompression of those codecs' pages.
func checkPageBody(codec format.CompressionCodec, body []byte, size int) error {
	switch codec {
	case format.Uncompressed:
		return nil
	case format.Snappy:
		n, err := snappy.DecodedLen(body)
		if err != nil {
			return err
		}
		if n > size {
			return fmt.Errorf("snappy data of %d bytes in a page of %d", n, size)
		}
		return nil
	case format.Lz4Raw:
		// With a buffer of the page's size, a failure is a malformed or longer page.
		if _, err := lz4.UncompressBlock(body, make([]byte, size)); err != nil {
			return fmt.Errorf("LZ4 data that does not decompress to the page's %d bytes: %w", size, err)
		}
		return nil
	}
	var r io.Reader
	switch codec {
	case format.Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return err
		}
		r = zr
	case format.Brotli:
		r = brotli.NewReader(bytes.NewReader(body))
	case format.Zstd:
		zr, err := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(size)+1))
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	default:
		return fmt.Errorf("unsupported compression codec %s", codec)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r, int64(size)+1))
	switch {
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return err
	case n > int64(size):
		return fmt.Errorf("%s data of more than the page's %d bytes", codec, size)
	}
	return nil
}
