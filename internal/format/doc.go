// Package format turns RESP replies into the text redis-cli prints: the standard
// (TTY) format, raw, CSV, JSON and quoted JSON.
//
// It owns pure functions from a resp.Value to bytes (Append, Write, AppendPush,
// WritePush), redis-cli's string quoting (AppendRepr) and the list of commands whose
// replies redis-cli always prints raw (AlwaysRaw, Options.ForCommand). It knows
// nothing of terminals, environment variables, connections or flags: the caller
// decides the Mode, the separators and whether to colour, and passes them in Options.
// Colour escapes come from github.com/fatih/color with colour forced on per value;
// the package never reads or writes color.NoColor.
//
// # Compatibility with redis-cli 7.0.15
//
// Without colour, every mode prints exactly the bytes redis-cli 7.0.15 prints after a
// one-shot command (the golden files under testdata/format are captured from it),
// except where redis-cli fails or is wrong. There rcli deliberately differs:
//
//   - A RESP3 big number, on which redis-cli exits with "Unknown reply type: 13",
//     prints as "(big number) 1234" in standard mode, as its bare digits in raw and
//     CSV, and as a JSON string ("1234") in JSON, so that no digit is lost to a float.
//
//   - A RESP3 attribute, which redis-cli cannot parse at all, is ignored: the value
//     it annotates prints as usual. With Options.Verbose it is shown, in standard
//     mode as an "(attribute)" block on the lines before the value (see below), and
//     in JSON and quoted JSON by wrapping the value as
//     {"attributes":{...},"value":...}. Raw and CSV never show attributes: they are
//     for scripts, which expect the value alone.
//
//   - A RESP3 blob error and the double nan, which redis-cli cannot parse, print like
//     any other error or double.
//
//   - JSON and quoted JSON are always valid JSON, one document per line. An error
//     reply, which redis-cli prints as error:"msg", is {"error":"msg"}, nested ones
//     included. A double is the server's text when that is a JSON number, otherwise
//     the same value as a JSON number (".5" becomes 0.5), and inf, -inf and nan,
//     which JSON has no numbers for, are the strings "inf", "-inf" and "nan". A map
//     key that is not a string becomes a string holding the key's own compact JSON
//     text: "1", "true", "null", as redis-cli prints them, and "[1,\"a\"]", which
//     redis-cli leaves unescaped.
//
//   - In JSON, a byte that is not part of valid UTF-8 is written as the escape
//     \u00XX of its value (lower-case hex, as redis-cli writes control bytes), so the
//     document stays valid UTF-8; redis-cli copies such bytes raw. Valid UTF-8 is
//     copied as it is. The escape reads back as the code point U+00XX, not the byte:
//     use quoted JSON for binary data.
//
//   - Quoted JSON puts the text of redis-cli's quoting (AppendRepr, without its outer
//     quotes) inside a correctly escaped JSON string: every backslash is doubled, as
//     redis-cli does, and an embedded double quote becomes \\\" where redis-cli
//     writes \\" and breaks the document. Decoded, the string is the quoted text.
//
//   - Error messages and invalidated keys are printed whole; redis-cli treats them as
//     C strings and would stop at a NUL byte, which servers do not send.
//
// A verbose attribute block in standard mode is the attributes formatted as a map
// after the tag "(attribute) ", its later lines indented by the tag's width; the
// value follows on the next line, at the indentation of the element it belongs to:
//
//	(attribute) 1# "key-popularity" =>
//	               1) "key:123"
//	               2) (integer) 90
//	"the value"
//
// Raw mode keeps redis-cli's quirks, which scripts may rely on: an error is followed
// by its own newline and then the reply separator (two newlines by default), a nil
// is an empty line, and booleans print as (true) and (false).
//
// Colour, in standard mode only: errors red, bulk strings green, numbers cyan,
// booleans yellow, type tags such as (integer) and (nil), element numbers and "=>"
// faint, the (attribute) tag magenta. Stripped of its escapes, coloured output is
// byte for byte the plain output.
package format
