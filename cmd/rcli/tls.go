package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// config builds the TLS configuration the --tls flags describe, or nil when TLS is
// off. Without --cacert and --cacertdir the system's roots are trusted.
//
// --tls-ciphers takes a colon-separated list of TLS 1.2 cipher suites by their IANA
// names (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or OpenSSL names
// (ECDHE-RSA-AES128-GCM-SHA256); OpenSSL's keywords (HIGH, !aNULL, ...) are not
// understood. --tls-ciphersuites names TLS 1.3 suites; Go's TLS stack always offers all
// of its TLS 1.3 suites, so the list is checked but cannot narrow them, and a warning
// says so.
func (t tlsOptions) config() (*tls.Config, []string, error) {
	if !t.enabled {
		return nil, nil, nil
	}
	var warnings []string
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.sni,
		InsecureSkipVerify: t.insecure, //nolint:gosec // asked for with --insecure, which warns
	}
	if t.caCert != "" || t.caCertDir != "" {
		roots := x509.NewCertPool()
		if t.caCert != "" {
			pem, err := os.ReadFile(t.caCert)
			if err != nil {
				return nil, nil, fmt.Errorf("load CA certificate file: %w", err)
			}
			if !roots.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("load CA certificate file %s: no PEM certificate in it", t.caCert)
			}
		}
		if t.caCertDir != "" {
			entries, err := os.ReadDir(t.caCertDir)
			if err != nil {
				return nil, nil, fmt.Errorf("load CA certificate directory: %w", err)
			}
			for _, e := range entries {
				if e.IsDir() {
					continue
				}
				// OpenSSL's directories hold hashed links next to other files; take
				// every file that holds PEM certificates.
				if pem, err := os.ReadFile(filepath.Join(t.caCertDir, e.Name())); err == nil {
					roots.AppendCertsFromPEM(pem)
				}
			}
		}
		cfg.RootCAs = roots
	}
	switch {
	case t.cert != "" && t.key != "":
		pair, err := tls.LoadX509KeyPair(t.cert, t.key)
		if err != nil {
			return nil, nil, fmt.Errorf("load client certificate %s and key %s: %w", t.cert, t.key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case t.cert != "":
		return nil, nil, errors.New("--cert needs --key with the certificate's private key")
	case t.key != "":
		return nil, nil, errors.New("--key needs --cert with the matching certificate")
	}
	if t.ciphers != "" {
		suites, err := parseCiphers(t.ciphers)
		if err != nil {
			return nil, nil, err
		}
		cfg.CipherSuites = suites
	}
	if t.cipherSuites != "" {
		for _, name := range strings.Split(t.cipherSuites, ":") {
			switch name {
			case "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256":
			default:
				return nil, nil, fmt.Errorf("--tls-ciphersuites: unknown TLS 1.3 cipher suite '%s'", name)
			}
		}
		warnings = append(warnings, "Warning: --tls-ciphersuites cannot narrow the TLS 1.3 cipher suites: rcli always offers TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256.")
	}
	return cfg, warnings, nil
}

// parseCiphers maps a colon-separated --tls-ciphers list to cipher suite IDs.
func parseCiphers(list string) ([]uint16, error) {
	byName := make(map[string]uint16)
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		byName[s.Name] = s.ID
		byName[openSSLName(s.Name)] = s.ID
	}
	var ids []uint16
	for _, name := range strings.Split(list, ":") {
		id, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("--tls-ciphers: unknown cipher '%s' (use names such as ECDHE-RSA-AES128-GCM-SHA256 or TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", name)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// openSSLName converts an IANA TLS 1.2 cipher suite name to OpenSSL's spelling:
// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 becomes ECDHE-RSA-AES128-GCM-SHA256 and
// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 becomes ECDHE-ECDSA-CHACHA20-POLY1305.
func openSSLName(iana string) string {
	kx, enc, ok := strings.Cut(strings.TrimPrefix(iana, "TLS_"), "_WITH_")
	if !ok {
		return iana
	}
	enc = strings.NewReplacer(
		"AES_128_CBC", "AES128", "AES_256_CBC", "AES256", "AES_128", "AES128", "AES_256", "AES256",
		"3DES_EDE_CBC", "DES-CBC3", "RC4_128", "RC4", "CHACHA20_POLY1305_SHA256", "CHACHA20_POLY1305",
	).Replace(enc)
	name := kx + "_" + enc
	if kx == "RSA" {
		name = enc // OpenSSL leaves out plain RSA key exchange: AES128-GCM-SHA256
	}
	return strings.ReplaceAll(name, "_", "-")
}
