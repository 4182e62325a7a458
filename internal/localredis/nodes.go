package localredis

import "strings"

// parseInfoField returns the value of field in an INFO or CLUSTER INFO reply, and
// whether it was there.
func parseInfoField(text, field string) (string, bool) {
	for line := range strings.Lines(text) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		if ok && k == field {
			return v, true
		}
	}
	return "", false
}
