// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package localcluster

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// pki is every certificate the cluster uses. Three authorities, as in a
// kubeadm cluster: the cluster CA (API clients, including the metrics
// server's kubelet client certificate), the front-proxy CA (the
// aggregation layer's client) and the kubelet serving CA; a fourth
// (unknown-ca.crt) signs the certificate of kubelets with the bad-cert
// fault.
type pki struct {
	// hostname is a name of every simulated kubelet's certificate besides
	// its node's (Config.KubeletHostname).
	hostname string

	ca, frontProxyCA, kubeletCA *authority

	apiserver, admin, frontProxyClient, kubeletClient leaf
	strangerCA                                        *authority
}

func (p *pki) generate(dir string, nodeNames []string) error {
	var err error
	if p.ca, err = newAuthority("local-cluster-ca"); err != nil {
		return err
	}
	if p.frontProxyCA, err = newAuthority("local-front-proxy-ca"); err != nil {
		return err
	}
	if p.kubeletCA, err = newAuthority("local-kubelet-ca"); err != nil {
		return err
	}
	if p.strangerCA, err = newAuthority("unknown-ca"); err != nil {
		return err
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	for _, l := range []struct {
		into *leaf
		by   *authority
		spec leafSpec
	}{
		{&p.apiserver, p.ca, leafSpec{commonName: "kube-apiserver", server: true,
			dnsNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
			ips:      append(loopback, net.IPv4(10, 0, 0, 1))}},
		{&p.admin, p.ca, leafSpec{commonName: "kubernetes-admin", organizations: []string{"system:masters"}}},
		{&p.frontProxyClient, p.frontProxyCA, leafSpec{commonName: "front-proxy-client"}},
		{&p.kubeletClient, p.ca, leafSpec{commonName: KubeletClientName}},
	} {
		if *l.into, err = l.by.issue(l.spec); err != nil {
			return err
		}
	}
	for name, a := range map[string]*authority{"ca": p.ca, "front-proxy-ca": p.frontProxyCA, "kubelet-ca": p.kubeletCA, "unknown-ca": p.strangerCA} {
		if err := os.WriteFile(filepath.Join(dir, name+".crt"), a.pem, 0o644); err != nil {
			return err
		}
	}
	for name, l := range map[string]leaf{"apiserver": p.apiserver, "front-proxy-client": p.frontProxyClient, "kubelet-client": p.kubeletClient} {
		if err := l.write(dir, name); err != nil {
			return err
		}
	}
	private, public, err := serviceAccountKey()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), private, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sa.pub"), public, 0o644)
}

// KubeletClientName is the user the metrics servers' kubelet client
// certificate names.
const KubeletClientName = "metrics-server-kubelet-client"

// kubeletCertificate issues a simulated kubelet's serving certificate of
// the given kind (see kubeletsim.Config.Certificate).
func (p *pki) kubeletCertificate(node string, kind kubeletsim.Fault) (tls.Certificate, error) {
	spec := leafSpec{commonName: "system:node:" + node, server: true, dnsNames: []string{node}, ips: []net.IP{net.IPv4(127, 0, 0, 1)}}
	if p.hostname != "" {
		spec.dnsNames = append(spec.dnsNames, p.hostname)
	}
	ca := p.kubeletCA
	switch kind {
	case kubeletsim.FaultBadCert:
		ca = p.strangerCA
	case kubeletsim.FaultNameOnlyCert:
		spec.ips = nil
	}
	l, err := ca.issue(spec)
	if err != nil {
		return tls.Certificate{}, err
	}
	return l.tlsCertificate()
}

// clientCAs verifies client certificates signed by the cluster CA, as a
// kubelet's --client-ca-file does.
func (p *pki) clientCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.cert)
	return pool
}

// adminHTTPClient talks to kube-apiserver as the admin.
func (p *pki) adminHTTPClient() (*http.Client, error) {
	cert, err := p.admin.tlsCertificate()
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: p.clientCAs(), Certificates: []tls.Certificate{cert},
	}}}, nil
}

// WriteKubeletCertificates writes, into dir, what a real kubelet for node
// needs: a client certificate of the cluster CA for kube-apiserver
// (system:node:<node> in system:nodes, as a kubelet's bootstrap gives it)
// as kubelet-client.{crt,key}, and a serving certificate of the kubelet
// CA for its names and 127.0.0.1 as kubelet.{crt,key}.
func (c *Cluster) WriteKubeletCertificates(dir, node string, names ...string) error {
	client, err := c.pki.ca.issue(leafSpec{commonName: "system:node:" + node, organizations: []string{"system:nodes"}})
	if err != nil {
		return err
	}
	serving, err := c.pki.kubeletCA.issue(leafSpec{commonName: "system:node:" + node, server: true,
		dnsNames: append([]string{node}, names...), ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		return err
	}
	if err := client.write(dir, "kubelet-client"); err != nil {
		return err
	}
	return serving.write(dir, "kubelet")
}
