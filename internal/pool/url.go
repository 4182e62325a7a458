package pool

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParseURL parses a connection URL into Options (pool limits and timeouts left zero):
//
//	redis://[[user:]password@]host[:port][/db]
//	rediss://...                        TLS; ServerName is the host
//	unix://[[user:]password@]/path/to/socket[?db=N]
//
// As in redis-cli, user information without a colon is a password, and an empty user
// ("redis://:pw@host") authenticates the default user. User, password and query values
// are %-decoded; an IPv6 host goes in brackets; the port defaults to 6379. The scheme
// is case-insensitive, and valkey:// and valkeys:// are accepted as synonyms. The
// query may set db, protocol (2 or 3) and client_name; anything else is an error.
//
// Ambiguous input is rejected rather than guessed at: an unencoded '@' in the user
// information, an empty host or port, a path that is not a database number. Error
// messages never contain the password.
func ParseURL(s string) (Options, error) {
	var o Options
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !isScheme(scheme) {
		// Quote nothing: the text may hold a password.
		return o, errors.New("pool: invalid URL: want redis://host:port, rediss://host:port or unix:///path")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return o, errors.New("pool: invalid URL: it contains white space")
	}
	switch strings.ToLower(scheme) {
	case "redis", "valkey":
	case "rediss", "valkeys":
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	case "unix":
		o.Network = "unix"
	default:
		return o, fmt.Errorf("pool: invalid URL scheme %q: want redis://, rediss:// or unix://", scheme)
	}

	// As in redis-cli, the user information ends at the '@', so a password may hold
	// '/', '?' or ':' as they are; a second '@' is ambiguous.
	if at := strings.IndexByte(rest, '@'); at >= 0 {
		if strings.Count(rest, "@") > 1 {
			return o, errors.New("pool: invalid URL: more than one '@'; write '@' in a user name, password or option as %40")
		}
		if err := parseUserInfo(rest[:at], &o); err != nil {
			return o, err
		}
		rest = rest[at+1:]
	}
	if strings.ContainsRune(rest, '#') {
		return o, errors.New("pool: invalid URL: fragments (#) are not allowed")
	}
	rest, query, _ := strings.Cut(rest, "?")
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}

	if o.Network == "unix" {
		if authority != "" {
			return o, fmt.Errorf("pool: invalid unix URL: want unix:///absolute/path, got host %q", authority)
		}
		if len(path) < 2 {
			return o, errors.New("pool: invalid unix URL: missing socket path")
		}
		o.Addr = path
		return o, parseQuery(query, &o, false)
	}

	host, port, err := splitHostPort(authority)
	if err != nil {
		return o, err
	}
	o.Addr = net.JoinHostPort(host, port)
	if o.TLS != nil {
		o.TLS.ServerName = host
	}

	dbInPath := false
	switch path {
	case "", "/":
	default:
		db, err := parseDB(path[1:])
		if err != nil {
			return o, fmt.Errorf("pool: invalid URL path %q: want /<db number>", path)
		}
		o.DB = db
		dbInPath = true
	}
	return o, parseQuery(query, &o, dbInPath)
}

func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func parseUserInfo(info string, o *Options) error {
	user, pass, hasColon := strings.Cut(info, ":")
	if !hasColon {
		// redis-cli: "redis://secret@host" means the password.
		user, pass = "", info
	}
	var err error
	if o.Username, err = percentDecode(user); err != nil {
		return fmt.Errorf("pool: invalid URL user name: %w", err)
	}
	if o.Password, err = percentDecode(pass); err != nil {
		// Never quote the password, not even its broken escape.
		return errors.New("pool: invalid URL password: bad %-escape")
	}
	return nil
}

func splitHostPort(authority string) (host, port string, err error) {
	if authority == "" {
		return "", "", errors.New("pool: invalid URL: missing host")
	}
	if authority[0] == '[' {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return "", "", fmt.Errorf("pool: invalid URL host %q: missing ']'", authority)
		}
		host, err = percentDecode(authority[1:end])
		if err != nil || host == "" || !strings.Contains(host, ":") {
			return "", "", fmt.Errorf("pool: invalid URL host %q: want an IPv6 address in brackets", authority)
		}
		switch after := authority[end+1:]; {
		case after == "":
			return host, "6379", nil
		case after[0] == ':':
			port = after[1:]
		default:
			return "", "", fmt.Errorf("pool: invalid URL host %q: unexpected text after ']'", authority)
		}
	} else {
		var hasPort bool
		host, port, hasPort = strings.Cut(authority, ":")
		if strings.Contains(port, ":") {
			return "", "", fmt.Errorf("pool: invalid URL host %q: put an IPv6 address in brackets, as [::1]:6379", authority)
		}
		if host == "" {
			return "", "", errors.New("pool: invalid URL: missing host")
		}
		if strings.ContainsAny(host, "%[]") {
			return "", "", fmt.Errorf("pool: invalid URL host %q", host)
		}
		if !hasPort {
			return host, "6379", nil
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' {
		return "", "", fmt.Errorf("pool: invalid URL port %q: want 1 to 65535", port)
	}
	return host, strconv.Itoa(n), nil
}

func parseDB(s string) (int, error) {
	if s == "" || len(s) > 10 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a database number")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 1<<31-1 {
		return 0, errors.New("not a database number")
	}
	return n, nil
}

// parseQuery applies the URL's query options: db, protocol and client_name.
func parseQuery(query string, o *Options, dbInPath bool) error {
	if query == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if seen[k] {
			return fmt.Errorf("pool: invalid URL: option %q given twice", k)
		}
		seen[k] = true
		v, err := percentDecode(v)
		if err != nil {
			return fmt.Errorf("pool: invalid URL option %q: %w", k, err)
		}
		switch k {
		case "db":
			if dbInPath {
				return errors.New("pool: invalid URL: database given both in the path and as ?db=")
			}
			if o.DB, err = parseDB(v); err != nil {
				return fmt.Errorf("pool: invalid URL option db=%q: want a database number", v)
			}
		case "protocol":
			switch v {
			case "2":
				o.Protocol = 2
			case "3":
				o.Protocol = 3
			default:
				return fmt.Errorf("pool: invalid URL option protocol=%q: want 2 or 3", v)
			}
		case "client_name":
			o.ClientName = v
		default:
			return fmt.Errorf("pool: invalid URL: unknown option %q (known: db, protocol, client_name)", k)
		}
	}
	return nil
}

// percentDecode decodes %XX escapes; '+' stays '+'.
func percentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return "", errors.New("bad %-escape")
		}
		b.WriteByte(byte(unhex(s[i+1])<<4 | unhex(s[i+2])))
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
