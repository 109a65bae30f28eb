package dataset

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
)

// The parallel CSV reader.
//
// encoding/csv reads one record at a time on one core; for a wide numeric file that is
// the whole cost of a drift check. When the text can be read again (a file, even
// gzip), and the body holds no quote and no carriage return other than in a CRLF line
// end, a record is exactly a non-empty line and a field exactly the text between
// commas, so the text can be cut at line ends into chunks that are split and parsed on
// every core, and their columns appended in order.
//
// Quotes are the reason for the condition: a quoted field may hold a line break, so a
// chunk boundary found by looking for '\n' may fall inside a record, and a quote-parity
// scan would have to run through the text in order anyway and still match
// encoding/csv's error rules. Files with quotes in their body are rare for numeric
// data (pandas and R quote only text that needs it), so they are read by the
// sequential reader, decided by the cheap pass that counts lines (scanCSV) before any
// parsing.
//
// The parallel reader never reports a data error itself: at anything the sequential
// reader would report or treat specially (a field count that differs from the
// header's, a cell over maxCellBytes, a non-number in a numeric column, a column that
// turns from numbers to text, a limit, a broken gzip stream), it stops and the whole
// file is read again sequentially. Errors, their positions and the type rules are
// therefore those of the sequential reader, by construction; TestParallelCSVMatches-
// Sequential checks the tables and the errors are the same.

// Chunking: variables so that tests can make chunks small.
var (
	csvChunkBytes   = 4 << 20  // text handed to one worker at a time
	csvParallelFrom = 16 << 20 // smaller files are read sequentially
)

// csvScan is what the counting pass learns about the text.
type csvScan struct {
	lines int
	bytes int64
	// plain is true when no '"' follows the first line break and every '\r' is
	// followed by '\n': the body can be cut at line ends (see above).
	plain bool
}

// scanCSV counts the lines of r (an upper bound of the number of records) and tells
// whether its body is plain.
func scanCSV(r io.Reader) (csvScan, error) {
	buf := make([]byte, 1<<16)
	s := csvScan{plain: true}
	last := byte('\n')
	pendingCR := false // the previous buffer ended with '\r'
	for {
		k, err := r.Read(buf)
		if k > 0 {
			b := buf[:k]
			if pendingCR && b[0] != '\n' {
				s.plain = false
			}
			pendingCR = false
			body := b
			if s.lines == 0 { // still in the first line: the header may be quoted
				if i := bytes.IndexByte(b, '\n'); i >= 0 {
					body = b[i+1:]
				} else {
					body = nil
				}
			}
			if s.plain && bytes.IndexByte(body, '"') >= 0 {
				s.plain = false
			}
			for rest := b; s.plain; {
				i := bytes.IndexByte(rest, '\r')
				if i < 0 {
					break
				}
				if i == len(rest)-1 {
					pendingCR = true
					break
				}
				if rest[i+1] != '\n' {
					s.plain = false
				}
				rest = rest[i+1:]
			}
			s.lines += bytes.Count(b, []byte{'\n'})
			s.bytes += int64(k)
			last = b[k-1]
		}
		if err == io.EOF {
			if last != '\n' {
				s.lines++
			}
			if pendingCR { // a file ending in '\r'
				s.plain = false
			}
			return s, nil
		}
		if err != nil {
			return s, err
		}
	}
}

// csvChunk is a run of whole lines and, once parsed, its columns. Chunks are reused:
// the merger hands each one back to the reader once its columns are appended.
type csvChunk struct {
	seq    int
	text   []byte
	rows   int
	floats [][]float64
	codes  [][]int32
	dicts  []dictBuilder
	// invalid counts the non-numbers read as missing, per column (InvalidIgnore).
	invalid []int
	// stop: the chunk holds something only the sequential reader handles.
	stop bool
}

// parallelCSV is one parallel read of a plain CSV body.
type parallelCSV struct {
	o       opener
	opts    Options
	limits  Limits
	nFields int
	colOf   []int // file field index → selected column, or -1
	kinds   []columnKind
	text    []bool // per selected column: read as dictionary codes
}

// readCSVParallel reads the body of a plain CSV text (see scanCSV) that starts after
// skip bytes (past the BOM) into cols, and returns the number of rows. ok is false when
// the text needs the sequential reader; cols are then in an undefined state.
func readCSVParallel(ctx context.Context, o opener, opts Options, limits Limits, nFields int, skip int64, cols []csvColumn) (rows int, ok bool, err error) {
	r, err := o.open()
	if err != nil {
		return 0, false, err
	}
	br := bufio.NewReaderSize(r, 1<<16)
	if _, err := stripBOM(br); err != nil {
		return 0, false, nil
	}
	if _, err := br.Discard(int(skip)); err != nil {
		return 0, false, nil
	}
	p := &parallelCSV{o: o, opts: opts, limits: limits, nFields: nFields, colOf: make([]int, nFields),
		kinds: make([]columnKind, len(cols)), text: make([]bool, len(cols))}
	for i := range p.colOf {
		p.colOf[i] = -1
	}
	for i := range cols {
		p.colOf[cols[i].index] = i
		p.kinds[i], p.text[i] = cols[i].kind, cols[i].text
	}

	workers := runtime.GOMAXPROCS(0)
	free := make(chan *csvChunk, 2*workers+1) // chunks in flight, at most
	for range cap(free) {
		free <- &csvChunk{}
	}
	jobs := make(chan *csvChunk, workers)
	results := make(chan *csvChunk, cap(free))
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }

	// The first chunk is parsed here, before the others: it decides which columns of
	// unknown kind are text (those whose first present cell is not a number), so that
	// every worker after it treats each column alike.
	var readErr error
	var carry []byte
	seq := 0
	next := func() *csvChunk { // the next chunk of whole lines, or nil at the end
		var c *csvChunk
		select {
		case c = <-free:
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		}
		buf := c.text[:0]
		if cap(buf) < csvChunkBytes {
			buf = make([]byte, 0, csvChunkBytes+csvChunkBytes/4)
		}
		buf = append(buf, carry...)
		carry = nil
		for readErr == nil {
			if len(buf) == cap(buf) { // a line longer than a chunk
				buf = slices.Grow(buf, len(buf))
			}
			n, err := br.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				readErr = err
				break
			}
			if len(buf) >= csvChunkBytes {
				if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
					carry = append(carry, buf[i+1:]...)
					buf = buf[:i+1]
					break
				}
			}
		}
		if len(buf) == 0 && readErr != nil {
			free <- c
			return nil
		}
		c.text, c.seq = buf, seq
		seq++
		return c
	}

	var merged int
	merge := func(c *csvChunk) bool {
		if c.stop || limits.CheckTableSize(o.source, int64(rows+c.rows), len(cols)) != nil {
			return false
		}
		for i := range cols {
			col := &cols[i]
			if p.text[i] {
				remap := make([]int32, len(c.dicts[i].dict))
				for j, s := range c.dicts[i].dict {
					remap[j] = col.dict.code(s)
				}
				for _, code := range c.codes[i] {
					if code >= 0 {
						code = remap[code]
					}
					col.codes = append(col.codes, code)
				}
			} else {
				col.floats = append(col.floats, c.floats[i]...)
				col.invalid += c.invalid[i]
			}
		}
		rows += c.rows
		merged++
		return true
	}

	first := next()
	if first == nil {
		return 0, readErr == io.EOF && ctx.Err() == nil, ctx.Err()
	}
	p.parse(first, true)
	for i := range cols {
		if p.text[i] && !cols[i].text {
			cols[i].text, cols[i].codes, cols[i].floats = true, make([]int32, 0, cap(cols[i].floats)), nil
		}
	}
	if !merge(first) {
		return 0, false, nil
	}
	free <- first

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range jobs {
				select {
				case <-stop:
					c.stop = true
				default:
					if ctx.Err() != nil {
						c.stop = true
					} else {
						p.parse(c, false)
					}
				}
				results <- c
			}
		})
	}
	go func() {
		defer close(jobs)
		for {
			c := next()
			if c == nil {
				return
			}
			jobs <- c
		}
	}()
	go func() { wg.Wait(); close(results) }()

	ok = true
	pending := map[int]*csvChunk{}
	want := 1
	for c := range results {
		pending[c.seq] = c
		for ok {
			c, found := pending[want]
			if !found {
				break
			}
			delete(pending, want)
			want++
			if !merge(c) {
				ok = false
				halt()
			}
			free <- c
		}
	}
	halt()
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if !ok || readErr != io.EOF || len(pending) > 0 {
		return 0, false, nil // a read error or a limit: the sequential reader reports it
	}
	return rows, true, nil
}

// parse splits c's lines into fields and parses the cells of the selected columns.
// With decide (the first chunk only), a column of unknown kind whose first present
// cell is not a number becomes text, as it does in the sequential reader.
func (p *parallelCSV) parse(c *csvChunk, decide bool) {
	n := len(p.kinds)
	if len(c.floats) != n {
		c.floats, c.codes, c.dicts, c.invalid = make([][]float64, n), make([][]int32, n), make([]dictBuilder, n), make([]int, n)
	}
	for i := range n {
		c.floats[i], c.codes[i], c.dicts[i], c.invalid[i] = c.floats[i][:0], c.codes[i][:0], dictBuilder{}, 0
	}
	c.rows, c.stop = 0, false
	var present []bool // decide: the column has had a present cell
	if decide {
		present = make([]bool, n)
	}
	for text := c.text; len(text) > 0; {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		if k := len(line) - 1; k >= 0 && line[k] == '\r' {
			line = line[:k]
		}
		if len(line) == 0 {
			continue // encoding/csv skips blank lines
		}
		field := 0
		for {
			cell := line
			i := bytes.IndexByte(line, ',')
			if i >= 0 {
				cell, line = line[:i], line[i+1:]
			}
			if field >= p.nFields {
				c.stop = true
				return
			}
			if col := p.colOf[field]; col >= 0 && !p.cell(c, col, cell, present) {
				c.stop = true
				return
			}
			field++
			if i < 0 {
				break
			}
		}
		if field != p.nFields {
			c.stop = true
			return
		}
		c.rows++
	}
}

// cell adds one cell to column col of c; false means the sequential reader must read
// the file.
func (p *parallelCSV) cell(c *csvChunk, col int, cell []byte, present []bool) bool {
	if len(cell) > p.limits.MaxCellBytes {
		return false
	}
	missing := isMissing(string(cell))
	if p.text[col] {
		code := int32(-1)
		if !missing {
			code = c.dicts[col].codeBytes(cell)
		}
		c.codes[col] = append(c.codes[col], code)
		return true
	}
	if missing {
		c.floats[col] = append(c.floats[col], math.NaN())
		return true
	}
	v, ok := parseDecimal(cell)
	if !ok {
		v, ok = parseNumber(string(cell))
	}
	if ok {
		if present != nil {
			present[col] = true
		}
		c.floats[col] = append(c.floats[col], v)
		return true
	}
	switch {
	case p.kinds[col] == kindNumeric && p.opts.Invalid == InvalidIgnore:
		c.floats[col] = append(c.floats[col], invalidNaN)
		c.invalid[col]++
		return true
	case p.kinds[col] == kindNumeric || present == nil || present[col]:
		return false // an error, or a column that turns part way down
	}
	// The first present cell of a column of unknown kind is text: every cell before it
	// was missing, and the column is text from the start.
	p.text[col] = true
	codes := c.codes[col][:0]
	for range c.floats[col] {
		codes = append(codes, -1)
	}
	c.codes[col], c.floats[col] = append(codes, c.dicts[col].codeBytes(cell)), c.floats[col][:0]
	return true
}

// exactPow10 are the powers of ten that float64 holds exactly.
var exactPow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseDecimal parses the common spelling of a number in a numeric CSV file, an
// optional sign, digits and an optional fraction ("-0.123456"), with at most 15
// digits. strconv.ParseFloat is general (exponents, hex, Inf, underscores, any length)
// and is most of the cost of reading such a file. With at most 15 digits the digits are
// an integer below 2^53 and the divisor a power of ten below 10^16, both exact in
// float64, so the one correctly rounded division gives the same float64 as ParseFloat
// (Clinger's fast path, which ParseFloat also takes for these inputs). ok is false for
// anything else, which ParseFloat then reads.
func parseDecimal(b []byte) (v float64, ok bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	v = float64(mant) / exactPow10[frac]
	if neg {
		v = -v
	}
	return v, true
}
