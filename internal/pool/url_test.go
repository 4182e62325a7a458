package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseURL(t *testing.T) {
	type want struct {
		network, addr, user, pass, serverName, name string
		db, proto                                   int
		tls                                         bool
	}
	ok := []struct {
		name string
		url  string
		want want
	}{
		{"host only", "redis://localhost", want{addr: "localhost:6379"}},
		{"host and port", "redis://10.0.0.1:6380", want{addr: "10.0.0.1:6380"}},
		{"db in path", "redis://h:1/3", want{addr: "h:1", db: 3}},
		{"trailing slash", "redis://h/", want{addr: "h:6379"}},
		{"password only", "redis://:pw@h", want{addr: "h:6379", pass: "pw"}},
		{"user and password", "redis://alice:pw@h:7000/2", want{addr: "h:7000", user: "alice", pass: "pw", db: 2}},
		{"userinfo without colon is the password", "redis://pw@h", want{addr: "h:6379", pass: "pw"}},
		{"user with empty password", "redis://alice:@h", want{addr: "h:6379", user: "alice"}},
		{"percent-decoded", "redis://al%40ce:p%3Aw%2F%25@h", want{addr: "h:6379", user: "al@ce", pass: "p:w/%"}},
		{"raw slash and colon in password", "redis://u:a/b:c?d@h", want{addr: "h:6379", user: "u", pass: "a/b:c?d"}},
		{"plus stays plus", "redis://:a+b@h", want{addr: "h:6379", pass: "a+b"}},
		{"IPv6", "redis://[::1]:6380/1", want{addr: "[::1]:6380", db: 1}},
		{"IPv6 default port", "redis://[fe80::1]", want{addr: "[fe80::1]:6379"}},
		{"IPv6 zone", "redis://[fe80::1%25eth0]:1", want{addr: "[fe80::1%eth0]:1"}},
		{"rediss", "rediss://u:p@cache.example.com:6380", want{addr: "cache.example.com:6380", user: "u", pass: "p", tls: true, serverName: "cache.example.com"}},
		{"rediss IPv6", "rediss://[::1]:6380", want{addr: "[::1]:6380", tls: true, serverName: "::1"}},
		{"uppercase scheme", "REDIS://h:1", want{addr: "h:1"}},
		{"valkey", "valkey://h", want{addr: "h:6379"}},
		{"valkeys", "valkeys://h", want{addr: "h:6379", tls: true, serverName: "h"}},
		{"unix", "unix:///tmp/redis.sock", want{network: "unix", addr: "/tmp/redis.sock"}},
		{"unix with db", "unix:///tmp/redis.sock?db=4", want{network: "unix", addr: "/tmp/redis.sock", db: 4}},
		{"unix with auth", "unix://u:p@/var/run/r.sock", want{network: "unix", addr: "/var/run/r.sock", user: "u", pass: "p"}},
		{"query options", "redis://h?protocol=3&client_name=my%20app&db=5", want{addr: "h:6379", proto: 3, name: "my app", db: 5}},
		{"leading zeros in db", "redis://h/007", want{addr: "h:6379", db: 7}},
		{"port 65535", "redis://h:65535", want{addr: "h:65535"}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseURL(tt.url)
			require.NoError(t, err)
			w := tt.want
			assert.Equal(t, w.network, o.Network)
			assert.Equal(t, w.addr, o.Addr)
			assert.Equal(t, w.user, o.Username)
			assert.Equal(t, w.pass, o.Password)
			assert.Equal(t, w.db, o.DB)
			assert.Equal(t, w.proto, o.Protocol)
			assert.Equal(t, w.name, o.ClientName)
			if w.tls {
				require.NotNil(t, o.TLS)
				assert.Equal(t, w.serverName, o.TLS.ServerName)
				assert.False(t, o.TLS.InsecureSkipVerify)
			} else {
				assert.Nil(t, o.TLS)
			}
		})
	}

	const secret = "Hunter2-S3cret"
	bad := []struct {
		name    string
		url     string
		wantErr string
	}{
		{"bad scheme", "http://h:1", `invalid URL scheme "http"`},
		{"bad scheme with password", "https://u:" + secret + "@h", `invalid URL scheme "https"`},
		{"no scheme", "localhost:6379", "invalid URL"},
		{"no scheme with password", "u:" + secret + "@h:1", "invalid URL"},
		{"empty", "", "invalid URL"},
		{"empty host", "redis://", "missing host"},
		{"empty host with password", "redis://:" + secret + "@", "missing host"},
		{"port only", "redis://:6379", "missing host"},
		{"empty port", "redis://h:", `port ""`},
		{"non-numeric port", "redis://u:" + secret + "@h:abc", `port "abc"`},
		{"port 0", "redis://h:0", `port "0"`},
		{"port too big", "redis://h:65536", `port "65536"`},
		{"signed port", "redis://h:+1", `port "+1"`},
		{"unbracketed IPv6", "redis://::1:6379", "brackets"},
		{"unclosed bracket", "redis://[::1:6379", "missing ']'"},
		{"junk after bracket", "redis://[::1]x", "after ']'"},
		{"db not a number", "redis://:" + secret + "@h/abc", `path "/abc"`},
		{"negative db", "redis://h/-1", `path "/-1"`},
		{"nested path", "redis://h/1/2", `path "/1/2"`},
		{"db both in path and query", "redis://h/1?db=2", "both"},
		{"unknown option", "redis://:" + secret + "@h?timeout=3", `unknown option "timeout"`},
		{"repeated option", "redis://h?db=1&db=2", "twice"},
		{"bad protocol", "redis://h?protocol=4", "protocol"},
		{"two @", "redis://u:" + secret + "@x@h", "more than one '@'"},
		{"bad escape in password", "redis://u:" + secret + "%zz@h", "bad %-escape"},
		{"truncated escape in password", "redis://:" + secret + "%4@h", "bad %-escape"},
		{"bad escape in user", "redis://%g:" + secret + "@h", "user name"},
		{"trailing space", "redis://:" + secret + "@h ", "white space"},
		{"space in host", "redis://h st", "white space"},
		{"fragment", "redis://:" + secret + "@h#frag", "fragments"},
		{"unix without path", "unix://", "missing socket path"},
		{"unix relative", "unix://relative/path.sock", "absolute"},
		{"unix bad db", "unix:///s.sock?db=x", "db"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseURL(tt.url)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), secret, "the password leaked into the error")
			assert.NotContains(t, err.Error(), "Hunter2", "part of the password leaked into the error")
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"redis://u:p@h:1/2", "rediss://[::1]:6380", "unix:///s?db=1", "redis://:p%41@h", "http://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const marker = "PASSWORD"
		o, err := ParseURL("redis://user:" + marker + "@" + s)
		if err != nil {
			assert.NotContains(t, err.Error(), marker)
			return
		}
		assert.NotEmpty(t, o.Addr)
		_, _ = ParseURL(s) // must not panic
	})
}
