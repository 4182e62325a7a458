package resp

import "fmt"

// SplitError reports a line that cannot be split into arguments.
type SplitError struct {
	Pos int    // byte offset in the line where the fault was found
	Msg string // what was wrong
}

// Error describes the fault and its position.
func (e *SplitError) Error() string {
	return fmt.Sprintf("invalid argument(s): %s at byte %d", e.Msg, e.Pos)
}

// SplitArgs splits a line into arguments with redis-cli's quoting rules:
//   - arguments are separated by spaces, tabs, CR or LF;
//   - inside double quotes, \n \r \t \b \a \\ \" and \xHH (two hex digits) are escapes,
//     and a backslash before any other byte stands for that byte;
//   - inside single quotes only \' is an escape;
//   - a closing quote must be followed by a space or the end of the line;
//   - a quote may open in the middle of an argument: a"b c" is the one argument "ab c".
//
// Bytes outside escapes are taken as they are, so any binary value can be typed; unlike
// redis-cli, which stops at a NUL byte, SplitArgs keeps NUL as an ordinary byte. An
// unbalanced quote, or a closing quote followed by something else, is a *SplitError.
func SplitArgs(line string) ([][]byte, error) {
	var args [][]byte
	// Every argument is carved from one buffer: unquoting never makes text longer, so
	// it never grows and the arguments never overlap.
	buf := make([]byte, 0, len(line))
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return args, nil
		}
		cur := buf[len(buf):]
		inDouble, inSingle := false, false
		start := i
	token:
		for ; ; i++ {
			switch {
			case inDouble:
				if i == len(line) {
					return nil, &SplitError{Pos: start, Msg: "unbalanced double quote"}
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cur = append(cur, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					cur = append(cur, unescape(line[i]))
				case c == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, &SplitError{Pos: i, Msg: "closing quote must be followed by a space"}
					}
					i++
					break token
				default:
					cur = append(cur, c)
				}
			case inSingle:
				if i == len(line) {
					return nil, &SplitError{Pos: start, Msg: "unbalanced single quote"}
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cur = append(cur, '\'')
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, &SplitError{Pos: i, Msg: "closing quote must be followed by a space"}
					}
					i++
					break token
				default:
					cur = append(cur, c)
				}
			default:
				if i == len(line) {
					break token
				}
				switch c := line[i]; c {
				case ' ', '\n', '\r', '\t':
					break token
				case '"':
					inDouble, start = true, i
				case '\'':
					inSingle, start = true, i
				default:
					cur = append(cur, c)
				}
			}
		}
		args = append(args, cur[:len(cur):len(cur)])
		buf = buf[:len(buf)+len(cur)]
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
