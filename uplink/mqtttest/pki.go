package mqtttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throwaway certificate authority with a server and a client
// certificate, as PEM files in a t.TempDir(). The server certificate names
// DNS:localhost and IP:127.0.0.1 (Go rejects a certificate with a CN only).
type PKI struct {
	CAFile                        string // the CA certificate
	ServerCertFile, ServerKeyFile string
	ClientCertFile, ClientKeyFile string // signed by the same CA
}

// TLS is the broker side of the PKI, for [Options].TLS.
func (p PKI) TLS(requireClientCert bool) *TLSOptions {
	return &TLSOptions{CAFile: p.CAFile, CertFile: p.ServerCertFile, KeyFile: p.ServerKeyFile, RequireClientCert: requireClientCert}
}

// NewPKI generates an ECDSA P-256 CA, a server and a client certificate,
// valid from an hour ago for a day.
func NewPKI(t testing.TB) PKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: "fenghuo mqtttest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("mqtttest: CA certificate: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p := PKI{CAFile: filepath.Join(dir, "ca.crt")}
	writePEM(t, p.CAFile, "CERTIFICATE", caDER)

	leaf := func(name string, usage x509.ExtKeyUsage, server bool) (string, string) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if server {
			tmpl.DNSNames = []string{"localhost"}
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatalf("mqtttest: %s certificate: %v", name, err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		writePEM(t, cf, "CERTIFICATE", der)
		writePEM(t, kf, "PRIVATE KEY", keyDER)
		return cf, kf
	}
	p.ServerCertFile, p.ServerKeyFile = leaf("server", x509.ExtKeyUsageServerAuth, true)
	p.ClientCertFile, p.ClientKeyFile = leaf("client", x509.ExtKeyUsageClientAuth, false)
	return p
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
