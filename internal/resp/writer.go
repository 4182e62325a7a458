package resp

import (
	"bytes"
	"io"
	"strconv"
)

// Writer buffers RESP output for an io.Writer. Commands are appended to an internal
// buffer that is reused after each Flush, so encoding allocates nothing in steady state.
// Nothing reaches the underlying writer before Flush, which lets callers know exactly
// which commands were written.
//
// After a write error every later Flush returns the same error and drops what was
// buffered since. A Writer is not safe for concurrent use.
type Writer struct {
	w   io.Writer
	buf []byte
	err error
}

// NewWriter returns a Writer that flushes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, buf: make([]byte, 0, 4096)}
}

// WriteCommand appends one command, encoded as an array of bulk strings.
func (w *Writer) WriteCommand(args ...[]byte) {
	w.buf = AppendCommand(w.buf, args...)
}

// WriteArgs appends one command given as strings.
func (w *Writer) WriteArgs(args ...string) {
	w.buf = AppendArgs(w.buf, args...)
}

// WriteValue appends any value, as a server would send it.
func (w *Writer) WriteValue(v Value) {
	w.buf = AppendValue(w.buf, v)
}

// WriteRaw appends bytes as they are.
func (w *Writer) WriteRaw(b []byte) {
	w.buf = append(w.buf, b...)
}

// Buffered returns how many bytes wait for Flush.
func (w *Writer) Buffered() int { return len(w.buf) }

// Flush writes the buffered bytes. On error, how many of them reached the peer is
// unknown.
func (w *Writer) Flush() error {
	if w.err != nil {
		w.buf = w.buf[:0]
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
	}
	return err
}

// Discard drops the buffered bytes without writing them.
func (w *Writer) Discard() { w.buf = w.buf[:0] }

// AppendCommand appends a command encoded as an array of bulk strings to dst.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = appendHeader(dst, '*', int64(len(args)))
	for _, a := range args {
		dst = appendHeader(dst, '$', int64(len(a)))
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// AppendArgs appends a command given as strings to dst.
func AppendArgs(dst []byte, args ...string) []byte {
	dst = appendHeader(dst, '*', int64(len(args)))
	for _, a := range args {
		dst = appendHeader(dst, '$', int64(len(a)))
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// AppendValue appends v in RESP3 encoding to dst. Attributes are written before the
// value; a simple string or error whose text cannot sit on one line is written in its
// blob form, so what a Reader reads back equals v up to that choice. An error too long
// for a line under DefaultMaxLineLen is written as a blob error, which a Reader with
// default limits accepts.
func AppendValue(dst []byte, v Value) []byte {
	if len(v.Attrs) > 0 {
		dst = appendHeader(dst, '|', int64(len(v.Attrs)/2))
		for _, a := range v.Attrs {
			dst = AppendValue(dst, a)
		}
	}
	switch v.Kind {
	case SimpleString:
		if oneLine(v.Str) {
			return appendLine(dst, '+', v.Str)
		}
		return appendBlob(dst, '$', v.Str)
	case Error:
		if oneLine(v.Str) && len(v.Str) < DefaultMaxLineLen { // the '-' counts too
			return appendLine(dst, '-', v.Str)
		}
		return appendBlob(dst, '!', v.Str)
	case Integer:
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, v.Int, 10)
		return append(dst, '\r', '\n')
	case BulkString:
		return appendBlob(dst, '$', v.Str)
	case Null:
		return append(dst, '_', '\r', '\n')
	case Double:
		text := v.Str
		if len(text) == 0 {
			text = []byte(formatDouble(v.Float))
		}
		return appendLine(dst, ',', text)
	case Boolean:
		if v.Bool() {
			return append(dst, '#', 't', '\r', '\n')
		}
		return append(dst, '#', 'f', '\r', '\n')
	case BigNumber:
		return appendLine(dst, '(', v.Str)
	case Verbatim:
		format := v.Format
		if len(format) != 3 {
			format = "txt"
		}
		dst = appendHeader(dst, '=', int64(len(v.Str)+4))
		dst = append(dst, format...)
		dst = append(dst, ':')
		dst = append(dst, v.Str...)
		return append(dst, '\r', '\n')
	case Array, Set, Push, Map:
		dst = appendHeader(dst, aggregatePrefix(v.Kind), int64(v.Len()))
		for _, e := range v.Elems {
			dst = AppendValue(dst, e)
		}
		return dst
	}
	return append(dst, '_', '\r', '\n')
}

func oneLine(b []byte) bool {
	return bytes.IndexByte(b, '\r') < 0 && bytes.IndexByte(b, '\n') < 0
}

func appendHeader(dst []byte, prefix byte, n int64) []byte {
	dst = append(dst, prefix)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

func appendLine(dst []byte, prefix byte, b []byte) []byte {
	dst = append(dst, prefix)
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

func appendBlob(dst []byte, prefix byte, b []byte) []byte {
	dst = appendHeader(dst, prefix, int64(len(b)))
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

func aggregatePrefix(k Kind) byte {
	switch k {
	case Set:
		return '~'
	case Push:
		return '>'
	case Map:
		return '%'
	}
	return '*'
}
