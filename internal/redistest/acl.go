package redistest

import (
	"testing"

	"github.com/rcli-dev/rcli/internal/localredis"
)

// ACLServer is a server with ACL users and a password on the default user.
type ACLServer struct {
	*localredis.Server

	// DefaultPassword is the default user's password (requirepass).
	DefaultPassword string
	// AdminUser may run every command on every key and channel.
	AdminUser     string
	AdminPassword string
	// ReadUser may run only read commands, plus PING, HELLO, AUTH and CLIENT, on any key.
	ReadUser     string
	ReadPassword string
}

// StartACLServer starts a server whose default user needs the password "defaultpw",
// with the user "alice" (password "alicepw", full access: on >alicepw ~* &* +@all) and
// the user "reader" (password "readerpw": ~* +@read +ping +hello +auth +client).
// args add to or override its configuration. The server's own connections
// (Server.Dial, Server.Do) authenticate as the default user.
func StartACLServer(t testing.TB, args ...string) *ACLServer {
	t.Helper()
	a := &ACLServer{
		DefaultPassword: "defaultpw",
		AdminUser:       "alice",
		AdminPassword:   "alicepw",
		ReadUser:        "reader",
		ReadPassword:    "readerpw",
	}
	base := []string{
		"--requirepass", a.DefaultPassword,
		"--user", a.AdminUser, "on", ">" + a.AdminPassword, "~*", "&*", "+@all",
		"--user", a.ReadUser, "on", ">" + a.ReadPassword, "~*", "resetchannels", "-@all",
		"+@read", "+ping", "+hello", "+auth", "+client",
	}
	a.Server = startServer(t, localredis.Options{
		Args:     append(base, args...),
		Password: a.DefaultPassword,
	})
	return a
}
