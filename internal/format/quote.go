package format

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendRepr appends s to dst quoted as redis-cli quotes strings (sds's sdscatrepr):
// between double quotes, with \" \\ \n \r \t \a \b escaped, other printable ASCII
// as is, and every other byte, including all bytes from 0x80 up, as \xNN in
// lower-case hex. The result is printable ASCII.
func AppendRepr(dst, s []byte) []byte {
	dst = append(dst, '"')
	dst = appendReprBody(dst, s)
	return append(dst, '"')
}

// appendReprBody appends the text of AppendRepr without the surrounding quotes.
func appendReprBody(dst, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '\\', '"':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\a':
			dst = append(dst, '\\', 'a')
		case '\b':
			dst = append(dst, '\\', 'b')
		default:
			if c >= 0x20 && c < 0x7f {
				dst = append(dst, c)
			} else {
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
		}
	}
	return dst
}

// appendJSONString appends s as a JSON string the way redis-cli's escapeJsonString
// does, except that a byte that is not part of valid UTF-8 is escaped as \u00XX
// instead of copied raw, so the output is always valid JSON in valid UTF-8.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = appendUnicodeEscape(dst, c)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		dst = appendJSONByte(dst, c)
		i++
	}
	return append(dst, '"')
}

// appendQuotedJSONString appends s as a JSON string whose content is the text of
// AppendRepr(s) without its outer quotes: what redis-cli's --quoted-json prints,
// except that an embedded double quote is escaped correctly.
func appendQuotedJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	for _, c := range s {
		switch c {
		case '\\', '"':
			// sdscatrepr writes \\ or \", and JSON escapes both of those bytes again.
			dst = append(dst, '\\', '\\', '\\', c)
		case '\n':
			dst = append(dst, '\\', '\\', 'n')
		case '\r':
			dst = append(dst, '\\', '\\', 'r')
		case '\t':
			dst = append(dst, '\\', '\\', 't')
		case '\a':
			dst = append(dst, '\\', '\\', 'a')
		case '\b':
			dst = append(dst, '\\', '\\', 'b')
		default:
			if c >= 0x20 && c < 0x7f {
				dst = append(dst, c)
			} else {
				dst = append(dst, '\\', '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
		}
	}
	return append(dst, '"')
}

// appendJSONByte appends one ASCII byte of a JSON string, escaped as redis-cli does.
func appendJSONByte(dst []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\f':
		return append(dst, '\\', 'f')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	}
	if c <= 0x1f {
		return appendUnicodeEscape(dst, c)
	}
	return append(dst, c)
}

func appendUnicodeEscape(dst []byte, c byte) []byte {
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}
