package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rcli-dev/rcli/internal/localredis"
)

// TLSServer is a server that accepts only TLS, with certificates made for the test.
type TLSServer struct {
	*localredis.Server
	PKI
}

// PKI is the set of certificates made for one test's TLS servers. All file names are
// absolute paths in a temporary directory.
type PKI struct {
	// CAFile is the PEM certificate of the CA that signed the server and client
	// certificates.
	CAFile string
	// CertFile and KeyFile are a client certificate signed by CAFile's CA, and its key.
	CertFile string
	KeyFile  string
	// ServerCertFile and ServerKeyFile are the server's certificate (for IP 127.0.0.1
	// and DNS name localhost) and key. The certificate is good for client
	// authentication too, so cluster nodes and replicas present it to each other.
	ServerCertFile string
	ServerKeyFile  string
	// OtherCAFile is an unrelated CA, for "unknown authority" tests.
	OtherCAFile string
	// OtherCertFile and OtherKeyFile are a client certificate signed by the unrelated CA,
	// which the server must refuse, and its key.
	OtherCertFile string
	OtherKeyFile  string

	roots      *x509.CertPool
	clientCert tls.Certificate
}

// ClientTLS returns a new client configuration that trusts CAFile's CA and presents
// the client certificate. ServerName is empty: dialers that fill it from the address
// (tls.Dialer does) verify 127.0.0.1; set it to "localhost" to dial by name.
func (p *PKI) ClientTLS() *tls.Config {
	return &tls.Config{
		RootCAs:      p.roots,
		Certificates: []tls.Certificate{p.clientCert},
		MinVersion:   tls.VersionTLS12,
	}
}

// StartTLSServer starts a server that listens only for TLS (--tls-port P --port 0)
// and requires clients to present a certificate signed by CAFile's CA
// (--tls-auth-clients yes). Pass "--tls-auth-clients", "optional" in args to make the
// client certificate optional: later arguments override earlier ones. The
// certificates are ECDSA P-256, generated for this test.
func StartTLSServer(t testing.TB, args ...string) *TLSServer {
	t.Helper()
	RequireRedis(t)
	pki, err := writeTestPKI(shortTempDir(t))
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s := &TLSServer{PKI: *pki}
	s.Server = startServer(t, localredis.Options{
		Args:      append(pki.serverArgs(), args...),
		TLSPort:   true,
		TLSConfig: pki.ClientTLS(),
	})
	return s
}

// serverArgs returns the configuration that makes a server use the PKI's server
// certificate and require client certificates signed by its CA.
func (p *PKI) serverArgs() []string {
	return []string{
		"--tls-cert-file", p.ServerCertFile,
		"--tls-key-file", p.ServerKeyFile,
		"--tls-ca-cert-file", p.CAFile,
		"--tls-auth-clients", "yes",
	}
}

// authority is a CA that issues test certificates.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

// newAuthority makes a self-signed CA.
func newAuthority(name string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", name, err)
	}
	tmpl, err := certTemplate(name)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return &authority{cert: cert, key: key, der: der}, nil
}

// issue signs a leaf certificate for tmpl with a new key.
func (a *authority) issue(tmpl *x509.Certificate) (der []byte, key *ecdsa.PrivateKey, err error) {
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", tmpl.Subject.CommonName, err)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err = x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign %s: %w", tmpl.Subject.CommonName, err)
	}
	return der, key, nil
}

// certTemplate returns a template valid from an hour ago for a day.
func certTemplate(commonName string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"rcli tests"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
	}, nil
}

// writeTestPKI makes the CAs and certificates of a PKI and writes them to dir.
func writeTestPKI(dir string) (*PKI, error) {
	ca, err := newAuthority("rcli test CA")
	if err != nil {
		return nil, fmt.Errorf("test certificates: %w", err)
	}
	other, err := newAuthority("rcli unrelated CA")
	if err != nil {
		return nil, fmt.Errorf("test certificates: %w", err)
	}

	serverTmpl, err := certTemplate("localhost")
	if err != nil {
		return nil, fmt.Errorf("test certificates: %w", err)
	}
	serverTmpl.DNSNames = []string{"localhost"}
	serverTmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	// Client auth too, so the server can present it for replication or cluster links.
	serverTmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	serverDER, serverKey, err := ca.issue(serverTmpl)
	if err != nil {
		return nil, fmt.Errorf("test certificates: %w", err)
	}

	clientTmpl, err := certTemplate("rcli test client")
	if err != nil {
		return nil, fmt.Errorf("test certificates: %w", err)
	}
	clientTmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	clientDER, clientKey, err := ca.issue(clientTmpl)
	if err != nil {
		return nil, fmt.Errorf("test certificates: %w", err)
	}

	otherTmpl, err := certTemplate("rcli unrelated client")
	if err != nil {
		return nil, fmt.Errorf("test certificates: %w", err)
	}
	otherTmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	otherDER, otherKey, err := other.issue(otherTmpl)
	if err != nil {
		return nil, fmt.Errorf("test certificates: %w", err)
	}

	s := &PKI{
		CAFile:         filepath.Join(dir, "ca.crt"),
		CertFile:       filepath.Join(dir, "client.crt"),
		KeyFile:        filepath.Join(dir, "client.key"),
		ServerCertFile: filepath.Join(dir, "server.crt"),
		ServerKeyFile:  filepath.Join(dir, "server.key"),
		OtherCAFile:    filepath.Join(dir, "other-ca.crt"),
		OtherCertFile:  filepath.Join(dir, "other-client.crt"),
		OtherKeyFile:   filepath.Join(dir, "other-client.key"),
	}
	files := []struct {
		path string
		der  []byte
		key  *ecdsa.PrivateKey
	}{
		{path: s.CAFile, der: ca.der},
		{path: s.OtherCAFile, der: other.der},
		{path: s.ServerCertFile, der: serverDER},
		{path: s.ServerKeyFile, key: serverKey},
		{path: s.CertFile, der: clientDER},
		{path: s.KeyFile, key: clientKey},
		{path: s.OtherCertFile, der: otherDER},
		{path: s.OtherKeyFile, key: otherKey},
	}
	for _, f := range files {
		block := &pem.Block{Type: "CERTIFICATE", Bytes: f.der}
		if f.key != nil {
			der, err := x509.MarshalPKCS8PrivateKey(f.key)
			if err != nil {
				return nil, fmt.Errorf("test certificates: encode key %s: %w", f.path, err)
			}
			block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
		}
		if err := os.WriteFile(f.path, pem.EncodeToMemory(block), 0o600); err != nil {
			return nil, fmt.Errorf("test certificates: %w", err)
		}
	}

	s.roots = x509.NewCertPool()
	s.roots.AddCert(ca.cert)
	s.clientCert = tls.Certificate{
		Certificate: [][]byte{clientDER},
		PrivateKey:  clientKey,
	}
	return s, nil
}
