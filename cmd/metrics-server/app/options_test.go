// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"math"
	"os"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
)

// TestValidate: every combination of flags that cannot work is refused
// with an error naming the flags.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string // "" for valid
	}{
		{nil, ""},
		{[]string{"--kubelet-verify-node-names", "--kubelet-extra-certificate-authority=/ca.pem"}, ""},
		{[]string{"--kubelet-verify-node-names", "--kubelet-insecure-tls"}, "--kubelet-verify-node-names"},
		{[]string{"--kubelet-net-http-transport"}, ""},
		{[]string{"--kubelet-net-http-transport", "--kubelet-verify-node-names"}, "--kubelet-net-http-transport"},
		{[]string{"--kubelet-extra-certificate-authority=/ca.pem", "--deprecated-kubelet-completely-insecure"}, "--kubelet-extra-certificate-authority"},
		{[]string{"--serving-ca-apiservices=v1beta1.metrics.k8s.io"}, ""},
		{[]string{"--serving-ca-apiservices=v1beta1.metrics.k8s.io", "--tls-cert-file=/c", "--tls-private-key-file=/k"}, "--tls-cert-file"},
		{[]string{"--serving-ca-apiservices=v1beta1.metrics.k8s.io", "--serving-ca-validity=30s"}, "--serving-ca-validity"},
		{[]string{"--metric-resolution=5s"}, "--metric-resolution"},
		{[]string{"--logging-format=json"}, ""},
		{[]string{"--logging-format=xml"}, "Unsupported log format"},
		// Upstream passes unknown address types through; they match nothing.
		{[]string{"--kubelet-preferred-address-types=LegacyHostIP,InternalIP"}, ""},
	} {
		o := parseArgs(t, tc.args)
		var msgs []string
		for _, err := range o.Validate() {
			msgs = append(msgs, err.Error())
		}
		got := strings.Join(msgs, "; ")
		switch {
		case tc.wantErr == "" && got != "":
			t.Errorf("%v: unexpected errors: %s", tc.args, got)
		case tc.wantErr != "" && !strings.Contains(got, tc.wantErr):
			t.Errorf("%v: errors %q, want one naming %s", tc.args, got, tc.wantErr)
		}
	}
}

// parseArgs parses a command line into options, as the command does.
func parseArgs(t *testing.T, args []string) *Options {
	t.Helper()
	o := NewOptions()
	fs := pflag.NewFlagSet("metrics-server", pflag.ContinueOnError)
	for _, f := range o.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return o
}

// TestKubeletClientConfig: the kubelet client takes the cluster client's
// credentials and CA, and each flag overrides its part only.
func TestKubeletClientConfig(t *testing.T) {
	base := &rest.Config{
		Host: "https://apiserver:6443", UserAgent: "metrics-server/test", BearerToken: "token",
		TLSClientConfig: rest.TLSClientConfig{CAData: []byte("cluster CA"), CertData: []byte("cert"), KeyData: []byte("key")},
	}
	clusterTLS := base.TLSClientConfig
	for _, tc := range []struct {
		name   string
		args   []string
		scheme string
		tls    rest.TLSClientConfig
		token  string
	}{
		{"defaults: the cluster's CA and credentials", nil, "https", clusterTLS, "token"},
		{"insecure TLS removes the CA", []string{"--kubelet-insecure-tls"}, "https",
			rest.TLSClientConfig{Insecure: true, CertData: []byte("cert"), KeyData: []byte("key")}, "token"},
		{"a CA file replaces the cluster's CA", []string{"--kubelet-certificate-authority=/kubelet-ca.pem"}, "https",
			rest.TLSClientConfig{CAFile: "/kubelet-ca.pem", CertData: []byte("cert"), KeyData: []byte("key")}, "token"},
		{"a client certificate replaces the cluster's, the token stays", []string{"--kubelet-client-certificate=/c.pem", "--kubelet-client-key=/k.pem"}, "https",
			rest.TLSClientConfig{CAData: []byte("cluster CA"), CertFile: "/c.pem", KeyFile: "/k.pem"}, "token"},
		{"completely insecure: plain HTTP, no credentials", []string{"--deprecated-kubelet-completely-insecure"}, "http",
			rest.TLSClientConfig{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := parseArgs(t, tc.args)
			if errs := o.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			cfg := o.Kubelet.clientConfig(base, time.Minute)
			if cfg.Scheme != tc.scheme {
				t.Errorf("scheme %s, want %s", cfg.Scheme, tc.scheme)
			}
			if !reflect.DeepEqual(cfg.Rest.TLSClientConfig, tc.tls) {
				t.Errorf("TLS %+v\nwant %+v", cfg.Rest.TLSClientConfig, tc.tls)
			}
			if cfg.Rest.BearerToken != tc.token || cfg.Rest.UserAgent != base.UserAgent {
				t.Errorf("token %q, user agent %q; want %q, %q", cfg.Rest.BearerToken, cfg.Rest.UserAgent, tc.token, base.UserAgent)
			}
			if cfg.Port != 10250 || cfg.IdleConnTimeout != 3*time.Minute || len(cfg.AddressTypes) != 5 || cfg.AddressTypes[0] != "Hostname" {
				t.Errorf("port %d, idle timeout %v, address types %v", cfg.Port, cfg.IdleConnTimeout, cfg.AddressTypes)
			}
			if !reflect.DeepEqual(base.TLSClientConfig, clusterTLS) || base.BearerToken != "token" {
				t.Error("the cluster client's configuration was changed")
			}
		})
	}
	o := parseArgs(t, []string{"--kubelet-extra-certificate-authority=/extra.pem", "--kubelet-verify-node-names"})
	if cfg := o.Kubelet.clientConfig(base, time.Minute); cfg.ExtraCAFile != "/extra.pem" || !cfg.VerifyNodeNames {
		t.Errorf("extra CA %q, verify node names %v", cfg.ExtraCAFile, cfg.VerifyNodeNames)
	}
}

// TestSetMemoryLimit: the runtime's soft limit is 90% of the container's
// limit; GOMEMLIMIT, when set, wins; no limit leaves none.
func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const gib = 1 << 30
	tests := []struct {
		name       string
		goMemLimit string
		limitOf    memlimit.Provider
		want       int64
	}{
		{"container limit", "", memlimit.Limit(gib), gib * 9 / 10},
		{"no container limit", "", func() (uint64, error) { return 0, memlimit.ErrNoLimit }, math.MaxInt64},
		{"GOMEMLIMIT set", "512MiB", memlimit.Limit(gib), 512 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.goMemLimit)
			if tc.goMemLimit != "" {
				debug.SetMemoryLimit(512 << 20) // as the runtime does at start from the variable
			}
			if got := setMemoryLimit(tc.limitOf); got != tc.want {
				t.Errorf("setMemoryLimit = %d, want %d", got, tc.want)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("runtime limit = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestSetGCPercent: the collector's pace is 50 unless GOGC says otherwise.
func TestSetGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "") // registered for restoring; unset below
	os.Unsetenv("GOGC")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("without GOGC: pace %d, want 50", got)
	}
	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200) // as the runtime does at start from the variable
	setGCPercent()
	if got := debug.SetGCPercent(200); got != 200 {
		t.Errorf("with GOGC=200: pace %d, want 200", got)
	}
}
