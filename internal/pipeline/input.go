package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rcli-dev/rcli/internal/resp"
)

// Default limits of an Input. They match what a stock Redis server accepts.
const (
	DefaultMaxBulkLen      = 512 << 20 // proto-max-bulk-len
	DefaultMaxArgs         = 1 << 24   // arguments of one command
	DefaultMaxCommandBytes = 1 << 30   // client-query-buffer-limit
)

const (
	inputBufSize   = 64 << 10 // the read buffer's usual size
	maxHeaderLen   = 24       // "*" or "$", a sign, 20 digits, CR: longer is malformed
	shrinkAbove    = 1 << 20  // a buffer grown past this is dropped once it is empty
	utf8BOM        = "\xef\xbb\xbf"
	notCommandByte = "$:+-!,#_(=~>%|" // RESP type bytes that cannot begin an inline command
)

// InputOptions bounds what an Input accepts; a zero field takes its default. A command
// past a limit is rejected before anything of it is sent, because the server would
// close the connection on it and lose every command queued behind it.
type InputOptions struct {
	MaxBulkLen      int64 // bytes of one argument (default 512 MiB)
	MaxArgs         int64 // arguments of one command, its name included (default 16 Mi)
	MaxCommandBytes int64 // bytes of one command as read (default 1 GiB)
}

func (o InputOptions) withDefaults() InputOptions {
	if o.MaxBulkLen <= 0 {
		o.MaxBulkLen = DefaultMaxBulkLen
	}
	if o.MaxArgs <= 0 {
		o.MaxArgs = DefaultMaxArgs
	}
	if o.MaxCommandBytes <= 0 {
		o.MaxCommandBytes = DefaultMaxCommandBytes
	}
	return o
}

// InputFormat says how a command was written in the input.
type InputFormat uint8

// The input formats.
const (
	FormatInline InputFormat = iota + 1 // one line of text, split with redis-cli's quoting rules
	FormatRESP                          // an array of bulk strings, binary-safe
)

// InputCommand is one command read from the input, or one piece of input rejected.
type InputCommand struct {
	// Args holds the command's name and arguments. The slices may point into the
	// Input's buffer: they are valid until the next call to Next.
	Args [][]byte
	// Raw is the command exactly as read when that is already the RESP encoding the
	// server expects (CRLF everywhere), so that it can be forwarded without encoding
	// it again; nil otherwise. Valid until the next call to Next.
	Raw []byte
	// Line is the 1-based number of the line where the command starts, and Offset the
	// byte offset; both count from the beginning of the input.
	Line, Offset int64
	// Format says how the command was written; 0 for rejected input.
	Format InputFormat
	// Err, when set, says why this piece of input was rejected: nothing of it may be
	// sent. Args and Raw are nil.
	Err *InputError
}

// InputError describes input rejected before sending: an inline line that cannot be
// split, a malformed or truncated RESP frame, bytes that are not a command, or a command
// over a limit.
type InputError struct {
	Line, Offset int64  // where the rejected input starts
	Fault        int64  // the byte offset where the fault was found
	EndLine      int64  // the last line the rejected input covers
	Msg          string // what was wrong
}

// Error gives the line, the byte offsets and the reason.
func (e *InputError) Error() string {
	s := fmt.Sprintf("line %d (byte %d): %s", e.Line, e.Offset, e.Msg)
	if e.Fault != e.Offset {
		s += fmt.Sprintf(" at byte %d", e.Fault)
	}
	if e.EndLine > e.Line {
		s += fmt.Sprintf("; skipped lines %d-%d", e.Line, e.EndLine)
	}
	return s
}

// Input reads commands from a stream of RESP frames and inline lines, mixed freely:
// a command that begins with '*' is a RESP frame, any other is an inline line. Lines end
// with LF or CRLF, the last one may lack its newline, and blank lines are skipped.
//
// Memory stays bounded by the largest command plus a 64 KiB buffer, whatever the size
// of the input. A malformed inline line is rejected by itself. A malformed RESP frame
// (a bad length, a missing CRLF, a frame cut short by another) is rejected together with
// everything up to the next line that starts with '*' and a digit, where reading starts
// again. An Input is not safe for concurrent use.
type Input struct {
	r    io.Reader
	opts InputOptions

	buf      []byte
	pos, end int   // unconsumed input is buf[pos:end]
	off      int64 // input offset of buf[pos]
	line     int64 // line number of buf[pos]
	err      error // the read error that ended the input (io.EOF at a clean end)

	lastLF bool     // the last byte consumed was a LF
	args   [][]byte // scratch: the arguments of the last command
	offs   []int    // scratch: argument offsets and lengths, relative to the frame
}

// NewInput returns an Input reading from r.
func NewInput(r io.Reader, opts InputOptions) *Input {
	return &Input{
		r:    r,
		opts: opts.withDefaults(),
		buf:  make([]byte, inputBufSize),
		line: 1,
	}
}

// Buffered returns how many bytes of input are buffered and not yet consumed: when it
// is zero, the next call to Next reads from the underlying reader, and may block.
func (in *Input) Buffered() int { return in.avail() }

// Offset returns how many bytes of the input have been consumed.
func (in *Input) Offset() int64 { return in.off }

// Next returns the next command, or the next piece of rejected input (Err set). At the
// end of the input it returns io.EOF; an error reading the input is returned as it is.
func (in *Input) Next() (InputCommand, error) {
	for {
		if in.avail() == 0 {
			if in.pos == in.end && len(in.buf) > shrinkAbove {
				in.buf, in.pos, in.end = make([]byte, inputBufSize), 0, 0
			}
			if !in.fill() {
				return InputCommand{}, in.err
			}
		}
		if in.off == 0 && in.ensure(len(utf8BOM)) && string(in.buf[in.pos:in.pos+len(utf8BOM)]) == utf8BOM {
			in.consume(len(utf8BOM))
			continue
		}
		if in.buf[in.pos] == '*' {
			cmd, ok := in.readFrame()
			if !ok {
				continue // *0 or *-1: the server ignores it, and so do we
			}
			return cmd, nil
		}
		cmd, ok := in.readInline()
		if !ok {
			continue // a blank line
		}
		return cmd, nil
	}
}

func (in *Input) avail() int { return in.end - in.pos }

// fill reads more input into the buffer, moving or growing it as needed. It reports
// false when nothing more can be read; in.err says why.
func (in *Input) fill() bool {
	if in.err != nil {
		return false
	}
	if in.end == len(in.buf) {
		if in.pos > 0 {
			n := copy(in.buf, in.buf[in.pos:in.end])
			in.pos, in.end = 0, n
		} else {
			grown := make([]byte, 2*len(in.buf))
			copy(grown, in.buf[:in.end])
			in.buf = grown
		}
	}
	for range 100 {
		n, err := in.r.Read(in.buf[in.end:])
		in.end += n
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("pipeline: read input at byte %d: %w", in.off+int64(in.avail()), err)
			}
			in.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	in.err = fmt.Errorf("pipeline: read input: %w", io.ErrNoProgress)
	return false
}

// ensure makes at least n unconsumed bytes available, unless the input ends first.
func (in *Input) ensure(n int) bool {
	for in.avail() < n {
		if !in.fill() {
			return false
		}
	}
	return true
}

// consume drops n bytes, counting the lines they end.
func (in *Input) consume(n int) {
	if n == 0 {
		return
	}
	in.line += int64(bytes.Count(in.buf[in.pos:in.pos+n], []byte{'\n'}))
	in.lastLF = in.buf[in.pos+n-1] == '\n'
	in.pos += n
	in.off += int64(n)
}

// findLF returns the offset, relative to the unconsumed input, of the first LF at or
// after rel and within limit bytes of it, reading more input as needed. It returns -1
// with more false when the input ends first, and -1 with more true when limit bytes hold
// no LF.
func (in *Input) findLF(rel, limit int) (i int, more bool) {
	scanned := rel
	for {
		stop := min(in.avail(), rel+limit)
		if j := bytes.IndexByte(in.buf[in.pos+scanned:in.pos+stop], '\n'); j >= 0 {
			return scanned + j, true
		}
		scanned = stop
		if scanned >= rel+limit {
			return -1, true
		}
		if !in.fill() {
			return -1, false
		}
	}
}

// readInline reads one inline line. ok is false for a blank line, which is consumed.
func (in *Input) readInline() (cmd InputCommand, ok bool) {
	cmd = InputCommand{Line: in.line, Offset: in.off, Format: FormatInline}
	limit := int(min(in.opts.MaxCommandBytes, int64(^uint(0)>>2)))
	lf, more := in.findLF(0, limit)
	var n, lineLen int // bytes to consume, and bytes of the line without its newline
	switch {
	case lf >= 0:
		n, lineLen = lf+1, lf
	case more: // no LF within the limit
		return in.reject(cmd, in.off, fmt.Sprintf("line longer than %d bytes", limit), in.skipLine), true
	default: // the last line, without a newline
		n, lineLen = in.avail(), in.avail()
	}
	line := in.buf[in.pos : in.pos+lineLen]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	first := 0
	for first < len(line) && isSpace(line[first]) {
		first++
	}
	if first == len(line) {
		in.consume(n)
		return InputCommand{}, false
	}
	if c := line[first]; bytes.IndexByte([]byte(notCommandByte), c) >= 0 {
		// RESP data outside a frame: most likely a frame whose header was lost. Skip
		// it as a malformed frame, up to the next one.
		return in.badFrame(cmd, first, fmt.Sprintf("RESP data outside a frame (a line begins with %q)", c)), true
	} else if c < 0x20 || c >= 0x7f {
		fault := in.off + int64(first)
		in.consume(n)
		cmd.Format = 0
		cmd.Err = &InputError{Line: cmd.Line, Offset: cmd.Offset, Fault: fault, EndLine: cmd.Line,
			Msg: fmt.Sprintf("not a command: a command name cannot begin with %q", c)}
		return cmd, true
	}
	var err error
	if bytes.IndexByte(line, '"') < 0 && bytes.IndexByte(line, '\'') < 0 {
		cmd.Args = splitPlain(in.args[:0], line)
		in.args = cmd.Args
	} else {
		cmd.Args, err = resp.SplitArgs(string(line))
	}
	if err != nil {
		fault := in.off
		var se *resp.SplitError
		if errors.As(err, &se) {
			fault += int64(se.Pos)
		}
		in.consume(n)
		cmd.Format, cmd.Args = 0, nil
		cmd.Err = &InputError{Line: cmd.Line, Offset: cmd.Offset, Fault: fault, EndLine: cmd.Line, Msg: err.Error()}
		return cmd, true
	}
	for _, a := range cmd.Args {
		if int64(len(a)) > in.opts.MaxBulkLen {
			in.consume(n)
			cmd.Format, cmd.Args = 0, nil
			cmd.Err = &InputError{Line: cmd.Line, Offset: cmd.Offset, Fault: cmd.Offset, EndLine: cmd.Line,
				Msg: fmt.Sprintf("an argument of %d bytes exceeds the limit of %d", len(a), in.opts.MaxBulkLen)}
			return cmd, true
		}
	}
	if int64(len(cmd.Args)) > in.opts.MaxArgs {
		in.consume(n)
		cmd.Format, cmd.Args = 0, nil
		cmd.Err = &InputError{Line: cmd.Line, Offset: cmd.Offset, Fault: cmd.Offset, EndLine: cmd.Line,
			Msg: fmt.Sprintf("%d arguments exceed the limit of %d", len(cmd.Args), in.opts.MaxArgs)}
		return cmd, true
	}
	in.consume(n)
	return cmd, true
}

// splitPlain splits a line without quotes at blanks, the way SplitArgs would, without
// copying: the arguments point into line.
func splitPlain(dst [][]byte, line []byte) [][]byte {
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return dst
		}
		start := i
		for i < len(line) && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n' {
			i++
		}
		dst = append(dst, line[start:i:i])
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// skipLine consumes input up to and including the next LF, without holding it.
func (in *Input) skipLine() {
	for {
		if j := bytes.IndexByte(in.buf[in.pos:in.end], '\n'); j >= 0 {
			in.consume(j + 1)
			return
		}
		in.consume(in.avail())
		if !in.fill() {
			return
		}
	}
}

// reject builds the rejection of cmd with the fault found at byte fault, then calls skip
// to consume the rejected input; EndLine is the last line skip consumed.
func (in *Input) reject(cmd InputCommand, fault int64, msg string, skip func()) InputCommand {
	skip()
	end := in.line
	if in.lastLF {
		end--
	}
	cmd.Format, cmd.Args, cmd.Raw = 0, nil, nil
	cmd.Err = &InputError{Line: cmd.Line, Offset: cmd.Offset, Fault: fault, EndLine: max(end, cmd.Line), Msg: msg}
	return cmd
}

// readFrame reads one RESP frame. ok is false for an empty frame (*0, *-1), which is
// consumed.
func (in *Input) readFrame() (cmd InputCommand, ok bool) {
	cmd = InputCommand{Line: in.line, Offset: in.off, Format: FormatRESP}
	canonical := true
	// header parses the line at rel that starts with prefix and returns its number and
	// the offset just past it.
	header := func(rel int, prefix byte) (n int64, next int, fault string) {
		lf, more := in.findLF(rel, maxHeaderLen+1)
		switch {
		case lf < 0 && !more:
			return 0, 0, "truncated"
		case lf < 0:
			return 0, 0, fmt.Sprintf("%q header longer than %d bytes", prefix, maxHeaderLen)
		}
		text := in.buf[in.pos+rel+1 : in.pos+lf]
		if len(text) > 0 && text[len(text)-1] == '\r' {
			text = text[:len(text)-1]
		} else {
			canonical = false
		}
		n, good := resp.ParseInt(text)
		if !good {
			return 0, 0, fmt.Sprintf("bad %q length %q", prefix, clip(text))
		}
		return n, lf + 1, ""
	}
	count, rel, fault := header(0, '*')
	switch {
	case fault == "truncated":
		return in.truncated(cmd), true
	case fault != "":
		return in.badFrame(cmd, 0, fault), true
	case count == 0 || count == -1:
		in.consume(rel)
		return InputCommand{}, false
	case count < 0:
		return in.badFrame(cmd, 0, fmt.Sprintf("bad '*' length %d", count)), true
	case count > in.opts.MaxArgs:
		return in.badFrame(cmd, 0, fmt.Sprintf("%d arguments exceed the limit of %d", count, in.opts.MaxArgs)), true
	}
	offs := in.offs[:0]
	for range count {
		if !in.ensure(rel + 1) {
			return in.truncated(cmd), true
		}
		if c := in.buf[in.pos+rel]; c != '$' {
			return in.badFrame(cmd, rel, fmt.Sprintf("expected '$', got %q", c)), true
		}
		size, next, fault := header(rel, '$')
		switch {
		case fault == "truncated":
			return in.truncated(cmd), true
		case fault != "":
			return in.badFrame(cmd, rel, fault), true
		case size < 0:
			return in.badFrame(cmd, rel, fmt.Sprintf("bad '$' length %d", size)), true
		case size > in.opts.MaxBulkLen:
			return in.badFrame(cmd, rel, fmt.Sprintf("an argument of %d bytes exceeds the limit of %d", size, in.opts.MaxBulkLen)), true
		case int64(next)+size+2 > in.opts.MaxCommandBytes:
			return in.badFrame(cmd, rel, fmt.Sprintf("command longer than %d bytes", in.opts.MaxCommandBytes)), true
		}
		rel = next
		end := rel + int(size)
		if !in.ensure(end + 1) {
			return in.truncated(cmd), true
		}
		switch in.buf[in.pos+end] {
		case '\r':
			if !in.ensure(end + 2) {
				return in.truncated(cmd), true
			}
			if in.buf[in.pos+end+1] != '\n' {
				return in.badFrame(cmd, end, "argument not followed by CRLF"), true
			}
			offs = append(offs, rel, int(size))
			rel = end + 2
		case '\n':
			canonical = false
			offs = append(offs, rel, int(size))
			rel = end + 1
		default:
			return in.badFrame(cmd, end, "argument not followed by CRLF"), true
		}
	}
	in.offs = offs
	args := in.args[:0]
	for i := 0; i < len(offs); i += 2 {
		at := in.pos + offs[i]
		args = append(args, in.buf[at:at+offs[i+1]:at+offs[i+1]])
	}
	in.args = args
	cmd.Args = args
	if canonical {
		cmd.Raw = in.buf[in.pos : in.pos+rel : in.pos+rel]
	}
	in.consume(rel)
	return cmd, true
}

// truncated rejects a frame that the end of the input cut short.
func (in *Input) truncated(cmd InputCommand) InputCommand {
	fault := in.off + int64(in.avail())
	return in.reject(cmd, fault, "truncated RESP frame: the input ends inside it", func() { in.consume(in.avail()) })
}

// badFrame rejects the frame that starts the unconsumed input, whose fault was found at
// rel, and everything after its first line up to the next line that starts with '*' and
// a digit.
func (in *Input) badFrame(cmd InputCommand, rel int, msg string) InputCommand {
	fault := in.off + int64(rel)
	if !strings.HasPrefix(msg, "RESP data") {
		msg = "malformed RESP frame: " + msg
	}
	return in.reject(cmd, fault, msg, func() {
		in.skipLine() // the frame's own header line
		for {
			if in.avail() == 0 && !in.fill() {
				return
			}
			if in.buf[in.pos] == '*' {
				if !in.ensure(2) {
					in.consume(in.avail())
					return
				}
				if c := in.buf[in.pos+1]; c >= '0' && c <= '9' {
					return
				}
			}
			in.skipLine()
		}
	})
}

func clip(b []byte) []byte {
	if len(b) > 24 {
		return b[:24]
	}
	return b
}
