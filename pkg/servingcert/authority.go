// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package servingcert issues the server's serving certificate from a CA
// kept in memory, rotates both before they expire, and keeps that CA in
// the caBundle of the server's APIServices, so kube-apiserver verifies the
// server instead of skipping verification (insecureSkipTLSVerify).
package servingcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// caCommonNamePrefix starts the common name of every CA this package
// makes; the rest names the process that made it, so a process recognises
// its own CAs in a bundle it shares with other replicas.
const caCommonNamePrefix = "metrics-server-ca@"

// pair is a CA or a leaf certificate with its key, in PEM.
type pair struct {
	cert    *x509.Certificate
	certPEM []byte
	keyPEM  []byte
	key     *ecdsa.PrivateKey
}

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating a key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding a key: %w", err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating a serial number: %w", err)
	}
	return n, nil
}

// newCA makes a CA owned by owner, valid from now for validity.
func newCA(owner string, now time.Time, validity time.Duration) (*pair, error) {
	return newPair(&x509.Certificate{
		Subject: pkix.Name{CommonName: caCommonNamePrefix + owner},
		// An hour of slack for clocks behind ours.
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil)
}

// issue makes a serving certificate for names and ips, signed by ca.
func (ca *pair) issue(names []string, ips []net.IP, now time.Time, validity time.Duration) (*pair, error) {
	return newPair(&x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(validity),
		DNSNames:    names,
		IPAddresses: ips,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca)
}

// newPair makes a key and a certificate from tmpl (given a serial number),
// signed by parent, or by itself when parent is nil.
func newPair(tmpl *x509.Certificate, parent *pair) (*pair, error) {
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber, err = serialNumber(); err != nil {
		return nil, err
	}
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, parentKey)
	if err != nil {
		return nil, fmt.Errorf("signing a certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &pair{cert: cert, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM: keyPEM, key: key}, nil
}

// mergeBundle returns the PEM bundle that keeps every certificate of
// current that is still valid at now and was not made by owner, then adds
// own (the owner's CAs to trust). Unparseable blocks are dropped.
func mergeBundle(current []byte, owner string, own []*x509.Certificate, now time.Time) []byte {
	var out []byte
	rest := current
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil || !now.Before(cert.NotAfter) || cert.Subject.CommonName == caCommonNamePrefix+owner {
			continue
		}
		out = append(out, pem.EncodeToMemory(block)...)
	}
	for _, c := range own {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
