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
	"github.com/kubemetrics/metrics-server/test/testca"
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

	ca, frontProxyCA, kubeletCA *testca.Authority

	apiserver, admin, frontProxyClient, kubeletClient testca.Leaf
	strangerCA                                        *testca.Authority
}

func (p *pki) generate(dir string, nodeNames []string) error {
	var err error
	if p.ca, err = testca.New("local-cluster-ca"); err != nil {
		return err
	}
	if p.frontProxyCA, err = testca.New("local-front-proxy-ca"); err != nil {
		return err
	}
	if p.kubeletCA, err = testca.New("local-kubelet-ca"); err != nil {
		return err
	}
	if p.strangerCA, err = testca.New("unknown-ca"); err != nil {
		return err
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	for _, l := range []struct {
		into *testca.Leaf
		by   *testca.Authority
		spec testca.Spec
	}{
		{&p.apiserver, p.ca, testca.Spec{CommonName: "kube-apiserver", Server: true,
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
			IPs:      append(loopback, net.IPv4(10, 0, 0, 1))}},
		{&p.admin, p.ca, testca.Spec{CommonName: "kubernetes-admin", Organizations: []string{"system:masters"}}},
		{&p.frontProxyClient, p.frontProxyCA, testca.Spec{CommonName: "front-proxy-client"}},
		{&p.kubeletClient, p.ca, testca.Spec{CommonName: KubeletClientName}},
	} {
		if *l.into, err = l.by.Issue(l.spec); err != nil {
			return err
		}
	}
	for name, a := range map[string]*testca.Authority{"ca": p.ca, "front-proxy-ca": p.frontProxyCA, "kubelet-ca": p.kubeletCA, "unknown-ca": p.strangerCA} {
		if err := os.WriteFile(filepath.Join(dir, name+".crt"), a.PEM, 0o644); err != nil {
			return err
		}
	}
	for name, l := range map[string]testca.Leaf{"apiserver": p.apiserver, "front-proxy-client": p.frontProxyClient, "kubelet-client": p.kubeletClient} {
		if err := l.Write(dir, name); err != nil {
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
	spec := testca.Spec{CommonName: "system:node:" + node, Server: true, DNSNames: []string{node}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}
	if p.hostname != "" {
		spec.DNSNames = append(spec.DNSNames, p.hostname)
	}
	ca := p.kubeletCA
	switch kind {
	case kubeletsim.FaultBadCert:
		ca = p.strangerCA
	case kubeletsim.FaultNameOnlyCert:
		spec.IPs = nil
	}
	l, err := ca.Issue(spec)
	if err != nil {
		return tls.Certificate{}, err
	}
	return l.TLSCertificate()
}

// clientCAs verifies client certificates signed by the cluster CA, as a
// kubelet's --client-ca-file does.
func (p *pki) clientCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.Cert)
	return pool
}

// adminHTTPClient talks to kube-apiserver as the admin.
func (p *pki) adminHTTPClient() (*http.Client, error) {
	cert, err := p.admin.TLSCertificate()
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
	client, err := c.pki.ca.Issue(testca.Spec{CommonName: "system:node:" + node, Organizations: []string{"system:nodes"}})
	if err != nil {
		return err
	}
	serving, err := c.pki.kubeletCA.Issue(testca.Spec{CommonName: "system:node:" + node, Server: true,
		DNSNames: append([]string{node}, names...), IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		return err
	}
	if err := client.Write(dir, "kubelet-client"); err != nil {
		return err
	}
	return serving.Write(dir, "kubelet")
}
