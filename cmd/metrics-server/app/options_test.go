package app

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
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
