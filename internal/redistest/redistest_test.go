//go:build unix

package redistest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/resp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ctx returns a context that bounds one step of a test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// do runs one command on a fresh raw connection to addr.
func do(t *testing.T, addr string, args ...string) (resp.Value, error) {
	t.Helper()
	c, err := localredis.Dial(ctx(t), addr, nil)
	require.NoError(t, err)
	defer c.Close()
	return c.Do(args...)
}

// processGone reports whether no process has the given pid.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestStartServer(t *testing.T) {
	s := StartServer(t, "--maxmemory", "10mb")
	v, err := do(t, s.Addr, "PING")
	require.NoError(t, err)
	assert.Equal(t, "PONG", v.Text())

	v, err = do(t, s.Addr, "CONFIG", "GET", "maxmemory")
	require.NoError(t, err)
	require.Len(t, v.Elems, 2)
	assert.Equal(t, "10485760", v.Elems[1].Text(), "extra args reach the server")

	v, err = do(t, s.Addr, "CONFIG", "GET", "appendonly")
	require.NoError(t, err)
	require.Len(t, v.Elems, 2)
	assert.Equal(t, "no", v.Elems[1].Text())
}

func TestStartUnixServer(t *testing.T) {
	s := StartUnixServer(t)
	require.NotEmpty(t, s.Socket)
	v, err := do(t, s.Socket, "PING")
	require.NoError(t, err)
	assert.Equal(t, "PONG", v.Text())
}

// tlsPing handshakes with conf and sends PING, returning the first reply line.
func tlsPing(addr string, conf *tls.Config) (string, error) {
	conn, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		return "", fmt.Errorf("handshake: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// pool loads a PEM CA file.
func pool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	require.NoError(t, err)
	p := x509.NewCertPool()
	require.True(t, p.AppendCertsFromPEM(pem))
	return p
}

func TestStartTLSServer(t *testing.T) {
	s := StartTLSServer(t)
	for _, f := range []string{s.CAFile, s.CertFile, s.KeyFile, s.ServerCertFile, s.ServerKeyFile, s.OtherCAFile, s.OtherCertFile, s.OtherKeyFile} {
		assert.FileExists(t, f)
	}

	t.Run("client certificate accepted", func(t *testing.T) {
		conf := s.ClientTLS()
		conf.ServerName = "127.0.0.1"
		reply, err := tlsPing(s.Addr, conf)
		require.NoError(t, err)
		assert.Equal(t, "+PONG", reply)

		conf = s.ClientTLS()
		conf.ServerName = "localhost"
		reply, err = tlsPing(s.Addr, conf)
		require.NoError(t, err, "the certificate names localhost too")
		assert.Equal(t, "+PONG", reply)
	})

	t.Run("files work like ClientTLS", func(t *testing.T) {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		require.NoError(t, err)
		conf := &tls.Config{RootCAs: pool(t, s.CAFile), Certificates: []tls.Certificate{cert}, ServerName: "127.0.0.1"}
		reply, err := tlsPing(s.Addr, conf)
		require.NoError(t, err)
		assert.Equal(t, "+PONG", reply)
	})

	t.Run("unknown CA rejected by the client", func(t *testing.T) {
		conf := s.ClientTLS()
		conf.RootCAs = pool(t, s.OtherCAFile)
		conf.ServerName = "127.0.0.1"
		_, err := tlsPing(s.Addr, conf)
		require.Error(t, err)
		assert.ErrorContains(t, err, "handshake")
		var unknown x509.UnknownAuthorityError
		var verr *tls.CertificateVerificationError
		assert.True(t, errors.As(err, &unknown) || errors.As(err, &verr), "got %v", err)
	})

	t.Run("client without certificate rejected", func(t *testing.T) {
		conf := s.ClientTLS()
		conf.Certificates = nil
		conf.ServerName = "127.0.0.1"
		_, err := tlsPing(s.Addr, conf)
		assert.Error(t, err)
	})

	t.Run("client certificate from unknown CA rejected", func(t *testing.T) {
		cert, err := tls.LoadX509KeyPair(s.OtherCertFile, s.OtherKeyFile)
		require.NoError(t, err)
		conf := s.ClientTLS()
		conf.Certificates = []tls.Certificate{cert}
		conf.ServerName = "127.0.0.1"
		_, err = tlsPing(s.Addr, conf)
		assert.Error(t, err)
	})

	t.Run("plain TCP gets no reply", func(t *testing.T) {
		_, err := do(t, s.Addr, "PING")
		assert.Error(t, err)
	})
}

func TestStartTLSServerOptionalClientCert(t *testing.T) {
	s := StartTLSServer(t, "--tls-auth-clients", "optional")
	conf := s.ClientTLS()
	conf.Certificates = nil
	conf.ServerName = "127.0.0.1"
	reply, err := tlsPing(s.Addr, conf)
	require.NoError(t, err)
	assert.Equal(t, "+PONG", reply)
}

func TestStartACLServer(t *testing.T) {
	s := StartACLServer(t)
	c, err := localredis.Dial(ctx(t), s.Addr, nil)
	require.NoError(t, err)
	defer c.Close()

	_, err = c.Do("GET", "k")
	var se *resp.ServerError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "NOAUTH", se.Code)

	_, err = c.Do("AUTH", "reader", "wrong")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "WRONGPASS", se.Code)

	_, err = c.Do("AUTH", s.AdminUser, s.AdminPassword)
	require.NoError(t, err)
	_, err = c.Do("SET", "k", "v")
	require.NoError(t, err)

	_, err = c.Do("AUTH", s.ReadUser, s.ReadPassword)
	require.NoError(t, err)
	v, err := c.Do("GET", "k")
	require.NoError(t, err)
	assert.Equal(t, "v", v.Text())
	_, err = c.Do("SET", "k", "w")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "NOPERM", se.Code)
	_, err = c.Do("PING")
	assert.NoError(t, err)

	_, err = c.Do("AUTH", s.DefaultPassword)
	require.NoError(t, err)
	v, err = c.Do("ACL", "WHOAMI")
	require.NoError(t, err)
	assert.Equal(t, "default", v.Text())

	v, err = s.Do(ctx(t), "DBSIZE")
	require.NoError(t, err, "the server's own connections authenticate")
	assert.EqualValues(t, 1, v.Int)
}

func TestStartCluster(t *testing.T) {
	began := time.Now()
	c := StartCluster(t, 3, 1)
	t.Logf("3 masters, 3 replicas up in %v", time.Since(began))
	require.Len(t, c.Nodes, 6)

	for _, s := range c.Nodes {
		v, err := do(t, s.Addr, "CLUSTER", "INFO")
		require.NoError(t, err)
		info := v.Text()
		assert.Contains(t, info, "cluster_state:ok", s.Addr)
		assert.Contains(t, info, "cluster_slots_assigned:16384", s.Addr)
		assert.Contains(t, info, "cluster_slots_ok:16384", s.Addr)
		assert.Contains(t, info, "cluster_known_nodes:6", s.Addr)
		assert.Contains(t, info, "cluster_size:3", s.Addr)
	}
	for i, r := range c.Replicas() {
		v, err := do(t, r.Addr, "INFO", "replication")
		require.NoError(t, err)
		assert.Contains(t, v.Text(), "role:slave", r.Addr)
		assert.Contains(t, v.Text(), "master_link_status:up", r.Addr)
		assert.Contains(t, v.Text(), fmt.Sprintf("master_port:%d", c.Masters()[i].Port), r.Addr)
	}

	v, err := do(t, c.Masters()[0].Addr, "SET", "{a}k", "v") // slot 15495
	var se *resp.ServerError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "MOVED", se.Code)
	assert.Equal(t, "MOVED 15495 "+c.Masters()[2].Addr, string(v.Str))

	pids := make([]int, len(c.Nodes))
	for i, s := range c.Nodes {
		pids[i] = s.PID
	}
	require.NoError(t, c.Stop())
	for i, pid := range pids {
		assert.True(t, processGone(pid), "node %d (pid %d) still runs", i, pid)
	}
}

func TestStartClusterMain(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped in -short mode")
	}
	RequireRedis(t)
	c, stop, err := StartClusterMain(1, 1)
	require.NoError(t, err)
	dir := c.Nodes[0].Dir
	pids := []int{c.Nodes[0].PID, c.Nodes[1].PID}
	v, err := do(t, c.Nodes[0].Addr, "SET", "k", "v")
	require.NoError(t, err)
	assert.Equal(t, "OK", v.Text())

	stop()
	for _, pid := range pids {
		assert.True(t, processGone(pid), "pid %d still runs", pid)
	}
	assert.NoDirExists(t, dir)
}

// recorder is a testing.TB that records Skip and Fatal instead of stopping the test.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestRequireRedis(t *testing.T) {
	t.Setenv(localredis.EnvBinary, "/nonexistent/redis-server")

	t.Setenv(EnvRequireRedis, "")
	assert.False(t, RedisAvailable())
	r := &recorder{TB: t}
	RequireRedis(r)
	assert.Contains(t, r.skipped, "redis-server not found")
	assert.Empty(t, r.fatal)

	t.Setenv(EnvRequireRedis, "1")
	r = &recorder{TB: t}
	RequireRedis(r)
	assert.Contains(t, r.fatal, "RCLI_REQUIRE_REDIS=1")
	assert.Empty(t, r.skipped)
}

// tlsDo runs one command on a fresh TLS connection to addr.
func tlsDo(t *testing.T, c *TLSCluster, addr string, args ...string) (resp.Value, error) {
	t.Helper()
	conn, err := localredis.Dial(ctx(t), addr, c.ClientTLS())
	require.NoError(t, err)
	defer conn.Close()
	return conn.Do(args...)
}

// movedKey returns a key whose slot the first master does not serve, and its owner.
func movedKey(t *testing.T, c *TLSCluster) (string, *localredis.Server) {
	t.Helper()
	const key = "{a}k" // slot 15495
	owner, err := c.SlotOwner(ctx(t), 15495)
	require.NoError(t, err)
	require.NotSame(t, c.Masters()[0], owner)
	return key, owner
}

// assertAnnounces checks that every node's CLUSTER NODES, asked over TLS, gives each
// node's TLS address and bus port.
func assertAnnounces(t *testing.T, c *TLSCluster) {
	t.Helper()
	for _, s := range c.Nodes {
		view, err := c.View(ctx(t), s)
		require.NoError(t, err)
		require.Len(t, view, len(c.Nodes))
		for _, n := range view {
			node := c.NodeByID(n.ID)
			require.NotNil(t, node, n.ID)
			assert.Equal(t, node.Addr, n.Addr, "as %s sees it", s.Addr)
			assert.Equal(t, node.BusPort, n.BusPort, "as %s sees it", s.Addr)
		}
	}
}

func TestStartTLSCluster(t *testing.T) {
	began := time.Now()
	c := StartTLSCluster(t, 2, 1)
	t.Logf("2 masters, 2 replicas up over TLS in %v", time.Since(began))
	require.Len(t, c.Nodes, 4)
	for _, f := range []string{c.CAFile, c.CertFile, c.KeyFile} {
		assert.FileExists(t, f)
	}

	for _, s := range c.Nodes {
		assert.Zero(t, s.PlainPort)
		_, err := do(t, s.Addr, "PING")
		assert.Error(t, err, "%s: plain TCP gets no reply", s.Addr)
		v, err := tlsDo(t, c, s.Addr, "CONFIG", "GET", "tls-*")
		require.NoError(t, err)
		conf := map[string]string{}
		for i := 0; i+1 < len(v.Elems); i += 2 {
			conf[v.Elems[i].Text()] = v.Elems[i+1].Text()
		}
		assert.Equal(t, "yes", conf["tls-cluster"], s.Addr)
		assert.Equal(t, "yes", conf["tls-replication"], s.Addr)
		v, err = tlsDo(t, c, s.Addr, "CLUSTER", "INFO")
		require.NoError(t, err)
		assert.Contains(t, v.Text(), "cluster_state:ok", s.Addr)
	}
	for i, r := range c.Replicas() {
		v, err := tlsDo(t, c, r.Addr, "INFO", "replication")
		require.NoError(t, err)
		assert.Contains(t, v.Text(), "master_link_status:up", r.Addr)
		assert.Contains(t, v.Text(), fmt.Sprintf("master_port:%d", c.Masters()[i].Port), r.Addr)
	}
	assertAnnounces(t, c)
	key, owner := movedKey(t, c)
	v, err := tlsDo(t, c, c.Masters()[0].Addr, "SET", key, "v")
	require.Error(t, err)
	assert.Equal(t, "MOVED 15495 "+owner.Addr, v.Text(), "redirects name the TLS port")

	// A node added later uses TLS too, and MIGRATE works over TLS.
	began = time.Now()
	added, err := c.AddNode(ctx(t))
	require.NoError(t, err)
	t.Logf("node added in %v", time.Since(began))
	_, err = do(t, added.Addr, "PING")
	assert.Error(t, err, "the added node accepts only TLS")
	_, err = tlsDo(t, c, owner.Addr, "SET", key, "v")
	require.NoError(t, err)
	require.NoError(t, c.MoveSlot(ctx(t), 15495, added))
	v, err = tlsDo(t, c, added.Addr, "GET", key)
	require.NoError(t, err)
	assert.Equal(t, "v", v.Text())
	assertAnnounces(t, c)
}

func TestStartTLSClusterWithPlain(t *testing.T) {
	began := time.Now()
	c := StartTLSClusterWithPlain(t, 2, 1)
	t.Logf("2 masters, 2 replicas up over TLS, with plain ports, in %v", time.Since(began))
	require.Len(t, c.Nodes, 4)
	for _, s := range c.Nodes {
		require.NotZero(t, s.PlainPort, s.Addr)
		assert.NotEqual(t, s.Port, s.PlainPort)
		assert.Equal(t, fmt.Sprintf("127.0.0.1:%d", s.PlainPort), s.PlainAddr)
		v, err := do(t, s.PlainAddr, "PING")
		require.NoError(t, err, "plain TCP works on the plain port")
		assert.Equal(t, "PONG", v.Text())
	}
	for i, r := range c.Replicas() {
		v, err := tlsDo(t, c, r.Addr, "INFO", "replication")
		require.NoError(t, err)
		assert.Contains(t, v.Text(), "master_link_status:up", r.Addr)
		assert.Contains(t, v.Text(), fmt.Sprintf("master_port:%d", c.Masters()[i].Port), "replication uses the TLS port")
	}
	assertAnnounces(t, c)

	key, owner := movedKey(t, c)
	v, err := tlsDo(t, c, c.Masters()[0].Addr, "SET", key, "v")
	require.Error(t, err)
	assert.Equal(t, "MOVED 15495 "+owner.Addr, v.Text(), "TLS clients are sent to TLS ports")
	v, err = do(t, c.Masters()[0].PlainAddr, "SET", key, "v")
	require.Error(t, err)
	assert.Equal(t, "MOVED 15495 "+owner.PlainAddr, v.Text(), "plain clients are sent to plain ports")
	v, err = do(t, c.Masters()[0].PlainAddr, "CLUSTER", "NODES")
	require.NoError(t, err)
	for _, s := range c.Nodes {
		assert.Contains(t, v.Text(), " "+s.PlainAddr+"@", "plain clients see plain ports")
		assert.NotContains(t, v.Text(), " "+s.Addr+"@")
	}

	// CLIENT LIST's laddr tells which port each client came in on.
	v, err = tlsDo(t, c, owner.Addr, "CLIENT", "INFO")
	require.NoError(t, err)
	assert.Contains(t, v.Text(), "laddr="+owner.Addr+" ")
	v, err = do(t, owner.PlainAddr, "CLIENT", "INFO")
	require.NoError(t, err)
	assert.Contains(t, v.Text(), "laddr="+owner.PlainAddr+" ")
}
