package resp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// Default limits of a Reader. They match what a Redis server itself accepts or sends.
const (
	DefaultMaxBulkLen = 512 << 20     // proto-max-bulk-len of a stock server
	DefaultMaxElems   = math.MaxInt32 // elements of one aggregate (pairs for a map)
	DefaultMaxDepth   = 128           // aggregate and attribute nesting
	DefaultMaxLineLen = 64 << 10      // simple strings, errors and headers
)

// ReaderOptions bounds what a Reader accepts. A zero field takes its default.
type ReaderOptions struct {
	MaxBulkLen int64 // bytes in one bulk string, blob error or verbatim string
	MaxElems   int64 // elements in one aggregate
	MaxDepth   int   // nesting of aggregates and attributes
	MaxLineLen int   // bytes in one line, CRLF excluded
}

func (o ReaderOptions) withDefaults() ReaderOptions {
	if o.MaxBulkLen <= 0 {
		o.MaxBulkLen = DefaultMaxBulkLen
	}
	if o.MaxElems <= 0 {
		o.MaxElems = DefaultMaxElems
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxLineLen <= 0 {
		o.MaxLineLen = DefaultMaxLineLen
	}
	return o
}

const (
	readerBufSize = 16 << 10
	arenaSize     = 8 << 10  // small payloads are carved from chunks of this size
	arenaMaxItem  = 512      // payloads up to this size use the arena
	bulkChunk     = 64 << 10 // larger payloads are read in chunks of this size as they arrive
	stackKeep     = 4096     // elements of scratch space kept between values
)

// Reader reads RESP2 and RESP3 values from a stream. What it allocates follows the bytes
// that have arrived, never the lengths that headers declare: a header that promises more
// than the stream holds costs a small constant at most. It never consumes a byte past
// the end of the value it returns, and what it consumes and returns depends only on the
// bytes, not on how the underlying reader splits them.
//
// Small payloads of the values it returns share chunks of a few KiB, so a value that is
// kept keeps its chunk alive.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	br    *bufio.Reader
	opts  ReaderOptions
	off   int64   // bytes consumed so far
	long  []byte  // scratch for a line that goes on past what is buffered
	arena []byte  // free tail of the current small-payload chunk
	stack []Value // elements of the aggregates being read, innermost last
}

// NewReader returns a Reader over r. When r is a *bufio.Reader it is used as is.
func NewReader(r io.Reader, opts ReaderOptions) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, readerBufSize)
	}
	return &Reader{br: br, opts: opts.withDefaults()}
}

// Buffered returns how many bytes are buffered and not yet consumed.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Offset returns how many bytes the Reader has consumed.
func (r *Reader) Offset() int64 { return r.off }

// ReadValue reads one value. At a clean end of stream it returns io.EOF; a stream that
// ends inside a value gives io.ErrUnexpectedEOF; malformed bytes give a *ProtocolError.
// Other errors come from the underlying reader unchanged (a net timeout stays a timeout).
func (r *Reader) ReadValue() (Value, error) {
	v, err := r.readValue(0)
	// After an error the stack holds the elements of the aggregates left unfinished.
	clear(r.stack)
	r.stack = r.stack[:0]
	if cap(r.stack) > stackKeep {
		r.stack = nil
	}
	return v, err
}

func (r *Reader) protoErr(format string, args ...any) error {
	return &ProtocolError{Offset: r.off, Msg: fmt.Sprintf(format, args...)}
}

func (r *Reader) readValue(depth int) (Value, error) {
	if depth > r.opts.MaxDepth {
		return Value{}, r.protoErr("nesting deeper than %d levels", r.opts.MaxDepth)
	}
	line, err := r.readLine()
	if err != nil {
		if depth > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Value{}, err
	}
	if len(line) == 0 {
		return Value{}, r.protoErr("empty line where a type byte was expected")
	}
	typ, body := line[0], line[1:]
	switch typ {
	case '+':
		return Value{Kind: SimpleString, Str: r.clone(body)}, nil
	case '-':
		return Value{Kind: Error, Str: r.clone(body)}, nil
	case ':':
		n, ok := parseInt(body)
		if !ok {
			return Value{}, r.protoErr("bad integer %q", clip(body))
		}
		return Value{Kind: Integer, Int: n}, nil
	case '_':
		if len(body) != 0 {
			return Value{}, r.protoErr("bad null %q", clip(body))
		}
		return Value{Kind: Null}, nil
	case '#':
		if len(body) == 1 && (body[0] == 't' || body[0] == 'f') {
			return BoolValue(body[0] == 't'), nil
		}
		return Value{}, r.protoErr("bad boolean %q", clip(body))
	case ',':
		f, ok := parseDouble(body)
		if !ok {
			return Value{}, r.protoErr("bad double %q", clip(body))
		}
		return Value{Kind: Double, Float: f, Str: r.clone(body)}, nil
	case '(':
		if !isBigNumber(body) {
			return Value{}, r.protoErr("bad big number %q", clip(body))
		}
		return Value{Kind: BigNumber, Str: r.clone(body)}, nil
	case '$', '!', '=':
		return r.readBlob(typ, body)
	case '*', '~', '>', '%', '|':
		return r.readAggregate(typ, body, depth)
	default:
		return Value{}, r.protoErr("unknown type byte %q", typ)
	}
}

func (r *Reader) readBlob(typ byte, header []byte) (Value, error) {
	n, ok := parseInt(header)
	switch {
	case !ok:
		return Value{}, r.protoErr("bad length %q", clip(header))
	case n == -1 && typ == '$':
		return Value{Kind: Null}, nil
	case n < 0:
		return Value{}, r.protoErr("bad length %d", n)
	case n > r.opts.MaxBulkLen:
		return Value{}, r.protoErr("length %d exceeds the limit of %d bytes", n, r.opts.MaxBulkLen)
	}
	payload, err := r.readPayload(n)
	if err != nil {
		return Value{}, err
	}
	switch typ {
	case '!':
		return Value{Kind: Error, Str: payload}, nil
	case '=':
		if len(payload) < 4 || payload[3] != ':' {
			return Value{}, r.protoErr("verbatim string without a format prefix")
		}
		return Value{Kind: Verbatim, Format: string(payload[:3]), Str: payload[4:]}, nil
	}
	return Value{Kind: BulkString, Str: payload}, nil
}

func (r *Reader) readAggregate(typ byte, header []byte, depth int) (Value, error) {
	n, ok := parseInt(header)
	switch {
	case !ok:
		return Value{}, r.protoErr("bad length %q", clip(header))
	case n == -1 && typ == '*':
		return Value{Kind: Null}, nil
	case n < 0:
		return Value{}, r.protoErr("bad length %d", n)
	case n > r.opts.MaxElems:
		return Value{}, r.protoErr("%d elements exceed the limit of %d", n, r.opts.MaxElems)
	}
	count := n
	if typ == '%' || typ == '|' {
		if n > math.MaxInt64/2 { // possible only under a custom MaxElems
			return Value{}, r.protoErr("%d pairs overflow", n)
		}
		count = 2 * n
	}
	// Elements collect on the shared stack and are copied out once all have arrived,
	// so memory follows the elements actually read, never the declared count.
	base := len(r.stack)
	for i := int64(0); i < count; i++ {
		e, err := r.readValue(depth + 1)
		if err != nil {
			return Value{}, unexpectedEOF(err)
		}
		if len(r.stack) == cap(r.stack) {
			r.stack = slices.Grow(r.stack, max(len(r.stack), 16))
		}
		r.stack = append(r.stack, e)
	}
	elems := make([]Value, count)
	copy(elems, r.stack[base:])
	clear(r.stack[base:])
	r.stack = r.stack[:base]
	var kind Kind
	switch typ {
	case '*':
		kind = Array
	case '~':
		kind = Set
	case '>':
		kind = Push
	case '%':
		kind = Map
	case '|':
		// An attribute annotates the value that follows it.
		v, err := r.readValue(depth + 1)
		if err != nil {
			return Value{}, unexpectedEOF(err)
		}
		v.Attrs = append(elems, v.Attrs...)
		return v, nil
	}
	return Value{Kind: kind, Elems: elems}, nil
}

// readLine returns the next line without its CRLF. The slice is valid until the next read.
//
// What it consumes depends only on the bytes, never on how they arrive: a line ends at
// the first LF within MaxLineLen+2 bytes; when there is none, the line is too long and
// exactly those bytes are consumed.
func (r *Reader) readLine() ([]byte, error) {
	limit := r.opts.MaxLineLen
	if limit < math.MaxInt-2 {
		limit += 2 // the CRLF
	}
	r.long = r.long[:0]
	for {
		n := r.br.Buffered()
		if n == 0 {
			if _, err := r.br.Peek(1); err != nil {
				if len(r.long) > 0 {
					return nil, unexpectedEOF(err)
				}
				return nil, err
			}
			n = r.br.Buffered()
		}
		room := limit - len(r.long)
		buf, _ := r.br.Peek(min(n, room)) // cannot fail: the bytes are buffered
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line := buf[:i+1]
			if len(r.long) > 0 {
				r.long = append(r.long, line...)
				line = r.long
			}
			r.discard(i + 1)
			return r.checkLine(line)
		}
		if len(buf) == room {
			r.discard(room)
			return nil, r.protoErr("line longer than %d bytes", r.opts.MaxLineLen)
		}
		// The line goes on past what is buffered: keep its start and read more.
		r.long = append(r.long, buf...)
		r.discard(len(buf))
	}
}

// checkLine strips the CRLF that must end line.
func (r *Reader) checkLine(line []byte) ([]byte, error) {
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, r.protoErr("line not terminated by CRLF")
	}
	line = line[:len(line)-2]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, r.protoErr("carriage return inside a line")
	}
	return line, nil
}

// discard consumes n buffered bytes.
func (r *Reader) discard(n int) {
	d, _ := r.br.Discard(n) // cannot fail: the bytes are buffered
	r.off += int64(d)
}

// readPayload reads n bytes and the CRLF after them. A payload too large to trust its
// header with is read in chunks as its bytes arrive and joined once all have arrived,
// so a lying header costs no more memory than the bytes that did arrive.
func (r *Reader) readPayload(n int64) ([]byte, error) {
	if n > bulkChunk && n > int64(r.br.Buffered()) {
		return r.readChunked(n)
	}
	buf := r.alloc(int(n))
	got, err := io.ReadFull(r.br, buf)
	r.off += int64(got)
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	return buf, r.readCRLF()
}

func (r *Reader) readChunked(n int64) ([]byte, error) {
	var chunks [][]byte
	for left := n; left > 0; {
		chunk := make([]byte, min(left, bulkChunk))
		got, err := io.ReadFull(r.br, chunk)
		r.off += int64(got)
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		chunks = append(chunks, chunk)
		left -= int64(got)
	}
	buf := make([]byte, 0, n)
	for _, c := range chunks {
		buf = append(buf, c...)
	}
	return buf, r.readCRLF()
}

func (r *Reader) readCRLF() error {
	b, err := r.br.Peek(2)
	if err != nil {
		if len(b) == 1 && b[0] != '\r' {
			return r.protoErr("payload not followed by CRLF")
		}
		return unexpectedEOF(err)
	}
	if b[0] != '\r' || b[1] != '\n' {
		return r.protoErr("payload not followed by CRLF")
	}
	r.discard(2)
	return nil
}

// alloc returns n bytes carved from the arena; payloads share chunks so that an array of
// small strings costs a few allocations rather than one per element.
func (r *Reader) alloc(n int) []byte {
	switch {
	case n == 0:
		return []byte{}
	case n > arenaMaxItem:
		return make([]byte, n)
	}
	if n > len(r.arena) {
		r.arena = make([]byte, arenaSize)
	}
	b := r.arena[:n:n]
	r.arena = r.arena[n:]
	return b
}

func (r *Reader) clone(b []byte) []byte {
	c := r.alloc(len(b))
	copy(c, b)
	return c
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ParseInt parses a RESP integer or length: a signed decimal number with no leading
// '+', no spaces and no overflow. It reports false for anything else.
func ParseInt(b []byte) (int64, bool) { return parseInt(b) }

// parseInt parses a signed decimal integer with no leading '+', spaces or overflow.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		// Check before multiplying: n*10 can wrap around uint64 and look small again.
		if n > (math.MaxInt64+1)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > math.MaxInt64+1 {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true // n == MaxInt64+1 wraps to MinInt64, which is right
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

func parseDouble(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 64 {
		return 0, false
	}
	for _, c := range b {
		// Only decimal text, exponents and the inf/nan words; no hex floats or underscores.
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' ||
			c == 'i' || c == 'n' || c == 'f' || c == 'a') {
			return 0, false
		}
	}
	switch string(b) {
	case "inf", "+inf":
		return math.Inf(1), true
	case "-inf":
		return math.Inf(-1), true
	case "nan", "-nan":
		return math.NaN(), true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && numErr.Err == strconv.ErrRange {
			return f, true // the server sent a finite number beyond float64: keep ±Inf/0
		}
		return 0, false
	}
	return f, true
}

func isBigNumber(b []byte) bool {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// clip shortens bytes quoted in an error message.
func clip(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}
