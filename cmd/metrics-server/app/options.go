// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package app holds the metrics-server command: its flags, their
// validation (without side effects), and the server configuration they
// make (Options.Config), which reads the files the flags name but does not
// reach the cluster.
package app

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/kubemetrics/metrics-server/pkg/version"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"

	// Registers --logging-format=json, as upstream does.
	_ "k8s.io/component-base/logs/json/register"
	netutils "k8s.io/utils/net"

	"github.com/kubemetrics/metrics-server/pkg/api"
	"github.com/kubemetrics/metrics-server/pkg/scraper"
	"github.com/kubemetrics/metrics-server/pkg/server"
	"github.com/kubemetrics/metrics-server/pkg/servingcert"
)

// Options are the command's flags.
type Options struct {
	MetricResolution time.Duration
	Kubeconfig       string
	// MetricsBindAddress is an optional plain-HTTP listener for /metrics.
	MetricsBindAddress string
	// ServingCAAPIServices, when set, makes the server issue its serving
	// certificate from its own CA, published in these APIServices.
	ServingCAAPIServices []string
	ServingCAValidity    time.Duration
	ShowVersion          bool
	Kubelet              *KubeletClientOptions

	ServerRun      *genericoptions.ServerRunOptions
	SecureServing  *genericoptions.SecureServingOptionsWithLoopback
	Authentication *genericoptions.DelegatingAuthenticationOptions
	Authorization  *genericoptions.DelegatingAuthorizationOptions
	Audit          *genericoptions.AuditOptions
	Features       *genericoptions.FeatureOptions
	Logging        *logs.Options
}

// NewOptions returns the options with upstream metrics-server's defaults.
func NewOptions() *Options {
	o := &Options{
		MetricResolution:  60 * time.Second,
		ServingCAValidity: 30 * 24 * time.Hour,
		Kubelet:           NewKubeletClientOptions(),
		ServerRun:         genericoptions.NewServerRunOptions(),
		SecureServing:     genericoptions.NewSecureServingOptions().WithLoopback(),
		Authentication:    genericoptions.NewDelegatingAuthenticationOptions(),
		Authorization:     genericoptions.NewDelegatingAuthorizationOptions(),
		Audit:             genericoptions.NewAuditOptions(),
		Features:          genericoptions.NewFeatureOptions(),
		Logging:           logs.NewOptions(),
	}
	o.SecureServing.BindPort = 443
	return o
}

// Flags returns the flags in upstream's groups, in upstream's order.
func (o *Options) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	ms := fss.FlagSet("metrics server")
	ms.DurationVar(&o.MetricResolution, "metric-resolution", o.MetricResolution, "The resolution at which metrics-server will retain metrics, must set value at least 10s.")
	ms.BoolVar(&o.ShowVersion, "version", false, "Show version")
	ms.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "The path to the kubeconfig used to connect to the Kubernetes API server and the Kubelets (defaults to in-cluster config)")
	ms.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "The address (ip:port) to serve /metrics on over plain HTTP, without authentication or authorization, e.g. 0.0.0.0:10251. Empty (the default) serves /metrics only on the secure port, authorized like any request.")

	ms.StringSliceVar(&o.ServingCAAPIServices, "serving-ca-apiservices", o.ServingCAAPIServices, "Names of the APIServices (e.g. v1beta1.metrics.k8s.io,v1.metrics.k8s.io) whose caBundle this server keeps current with a CA it creates in memory and issues its serving certificate from, renewing both before they expire, so the APIServices need no insecureSkipTLSVerify. Needs get and update on those APIServices. Empty (the default): the serving certificate comes from --tls-cert-file or is self-signed.")
	ms.DurationVar(&o.ServingCAValidity, "serving-ca-validity", o.ServingCAValidity, "How long the CA and serving certificate made for --serving-ca-apiservices are valid; both are replaced when a third of it is left.")

	generic := fss.FlagSet("generic")
	o.ServerRun.AddUniversalFlags(generic)

	o.Kubelet.AddFlags(fss.FlagSet("kubelet client"))
	o.SecureServing.AddFlags(fss.FlagSet("apiserver secure serving"))
	o.Authentication.AddFlags(fss.FlagSet("apiserver authentication"))
	o.Authorization.AddFlags(fss.FlagSet("apiserver authorization"))
	o.Audit.AddFlags(fss.FlagSet("apiserver audit log"))
	o.Features.AddFlags(fss.FlagSet("features"))
	logsapi.AddFlags(o.Logging, fss.FlagSet("logging"))
	return fss
}

// Validate checks the flags together; every error names its flag.
func (o *Options) Validate() []error {
	errs := o.Kubelet.Validate()
	if o.MetricResolution < 10*time.Second {
		errs = append(errs, fmt.Errorf("--metric-resolution should be at least 10s, got %v", o.MetricResolution))
	}
	if float64(o.MetricResolution)*0.9 < float64(o.Kubelet.RequestTimeout) {
		errs = append(errs, fmt.Errorf("--metric-resolution (%v) × 0.9 must be at least --kubelet-request-timeout (%v), so a round of scrapes fits in one resolution", o.MetricResolution, o.Kubelet.RequestTimeout))
	}
	if len(o.ServingCAAPIServices) > 0 {
		if o.SecureServing.ServerCert.CertKey.CertFile != "" {
			errs = append(errs, errors.New("--serving-ca-apiservices issues the serving certificate; it cannot be used with --tls-cert-file"))
		}
		if o.ServingCAValidity < time.Minute {
			errs = append(errs, fmt.Errorf("--serving-ca-validity must be at least 1m, got %v", o.ServingCAValidity))
		}
	}
	if o.MetricsBindAddress != "" {
		if _, _, err := net.SplitHostPort(o.MetricsBindAddress); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-bind-address %q: %w", o.MetricsBindAddress, err))
		}
	}
	errs = append(errs, o.ServerRun.Validate()...)
	errs = append(errs, o.SecureServing.Validate()...)
	errs = append(errs, o.Authentication.Validate()...)
	errs = append(errs, o.Authorization.Validate()...)
	errs = append(errs, o.Audit.Validate()...)
	errs = append(errs, o.Features.Validate()...)
	for _, err := range logsapi.Validate(o.Logging, nil, nil) {
		errs = append(errs, fmt.Errorf("logging: %w", err))
	}
	return errs
}

// Config turns validated options into a server configuration. It reads
// the files the flags name but does not reach the cluster.
func (o *Options) Config() (*server.Config, error) {
	restConfig, err := o.restConfig()
	if err != nil {
		return nil, err
	}
	restConfig.UserAgent = userAgent()
	servingCA, err := o.servingCA(restConfig)
	if err != nil {
		return nil, err
	}
	apiserverConfig, err := o.apiserverConfig(servingCA)
	if err != nil {
		return nil, err
	}
	sel := labels.Everything()
	if o.Kubelet.NodeSelector != "" {
		if sel, err = labels.Parse(o.Kubelet.NodeSelector); err != nil {
			return nil, fmt.Errorf("--node-selector: %w", err)
		}
	}
	return &server.Config{
		Apiserver:             apiserverConfig,
		Rest:                  restConfig,
		Kubelet:               o.Kubelet.clientConfig(restConfig, o.MetricResolution),
		KubeletRequestTimeout: o.Kubelet.RequestTimeout,
		ScrapeConcurrency:     o.Kubelet.ScrapeConcurrency,
		MetricResolution:      o.MetricResolution,
		NodeSelector:          sel,
		// Two resolutions: one failed scrape never hides a node, two in a
		// row do, so a node that is gone stops being reported within
		// about as long as upstream takes to show a new one.
		StaleAfter:         2 * o.MetricResolution,
		MetricsBindAddress: o.MetricsBindAddress,
		ServingCA:          servingCA,
	}, nil
}

// servingCA makes the self-managed serving CA if --serving-ca-apiservices
// asks for it; the server issues and publishes it when it runs.
func (o *Options) servingCA(restConfig *rest.Config) (*servingcert.Controller, error) {
	if len(o.ServingCAAPIServices) == 0 {
		return nil, nil
	}
	client, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("--serving-ca-apiservices: %w", err)
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("--serving-ca-apiservices: %w", err)
	}
	c, err := servingcert.New(servingcert.Config{
		APIServices: o.ServingCAAPIServices,
		Client:      client,
		// The pod's name, and the process, in case several share a host.
		Owner:        fmt.Sprintf("%s/%d", host, os.Getpid()),
		Validity:     o.ServingCAValidity,
		PublishDelay: min(30*time.Second, o.ServingCAValidity/20),
		Resync:       min(time.Minute, o.ServingCAValidity/6),
	})
	if err != nil {
		return nil, fmt.Errorf("--serving-ca-apiservices: %w", err)
	}
	return c, nil
}

func (o *Options) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.Kubeconfig != "" {
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: o.Kubeconfig}, &clientcmd.ConfigOverrides{}).ClientConfig()
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading the Kubernetes client configuration: %w", err)
	}
	return cfg, nil
}

func (o *Options) apiserverConfig(servingCA *servingcert.Controller) (*genericapiserver.Config, error) {
	if servingCA != nil {
		o.SecureServing.ServerCert.GeneratedCert = servingCA
	} else if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating a self-signed serving certificate: %w", err)
	}
	cfg := genericapiserver.NewConfig(api.Codecs)
	if err := o.ServerRun.ApplyTo(cfg); err != nil {
		return nil, err
	}
	if err := o.SecureServing.ApplyTo(&cfg.SecureServing, &cfg.LoopbackClientConfig); err != nil {
		return nil, err
	}
	if err := o.Authentication.ApplyTo(&cfg.Authentication, cfg.SecureServing, nil); err != nil {
		return nil, err
	}
	if err := o.Authorization.ApplyTo(&cfg.Authorization); err != nil {
		return nil, err
	}
	if err := o.Audit.ApplyTo(cfg); err != nil {
		return nil, err
	}
	// Unlike upstream, the profiling flags take effect.
	cfg.EnableProfiling = o.Features.EnableProfiling
	cfg.EnableContentionProfiling = o.Features.EnableContentionProfiling
	cfg.DebugSocketPath = o.Features.DebugSocketPath
	return cfg, nil
}

func userAgent() string {
	v := version.Get()
	return fmt.Sprintf("metrics-server/%s (%s) kubernetes/%s", v.GitVersion, v.Platform, v.GitCommit)
}

// KubeletClientOptions are the flags that say how to reach kubelets.
type KubeletClientOptions struct {
	Port                  int
	UseNodeStatusPort     bool
	PreferredAddressTypes []string
	InsecureTLS           bool
	CAFile                string
	ExtraCAFile           string
	VerifyNodeNames       bool
	ClientCertFile        string
	ClientKeyFile         string
	RequestTimeout        time.Duration
	NodeSelector          string
	CompletelyInsecure    bool
	MaxResponseBytes      int64
	ScrapeConcurrency     int
	KeepConnections       bool
	NetHTTPTransport      bool
}

// NewKubeletClientOptions returns upstream's defaults.
func NewKubeletClientOptions() *KubeletClientOptions {
	return &KubeletClientOptions{
		Port: 10250,
		PreferredAddressTypes: []string{
			string(corev1.NodeHostName), string(corev1.NodeInternalDNS), string(corev1.NodeInternalIP),
			string(corev1.NodeExternalDNS), string(corev1.NodeExternalIP),
		},
		RequestTimeout:    10 * time.Second,
		MaxResponseBytes:  64 << 20,
		ScrapeConcurrency: 256,
		KeepConnections:   true,
	}
}

// AddFlags registers the kubelet client flags.
func (o *KubeletClientOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Port, "kubelet-port", o.Port, "The port to use to connect to Kubelets.")
	fs.BoolVar(&o.UseNodeStatusPort, "kubelet-use-node-status-port", o.UseNodeStatusPort, "Use the port in the node status. Takes precedence over --kubelet-port flag.")
	fs.StringSliceVar(&o.PreferredAddressTypes, "kubelet-preferred-address-types", o.PreferredAddressTypes, "The priority of node address types to use when determining which address to use to connect to a particular node")
	fs.BoolVar(&o.InsecureTLS, "kubelet-insecure-tls", o.InsecureTLS, "Do not verify CA of serving certificates presented by Kubelets.  For testing purposes only.")
	fs.StringVar(&o.CAFile, "kubelet-certificate-authority", "", "Path to the CA to use to validate the Kubelet's serving certificates.")
	fs.StringVar(&o.ExtraCAFile, "kubelet-extra-certificate-authority", "", "Path to a PEM bundle of CAs also trusted for Kubelet serving certificates, besides the cluster CA or --kubelet-certificate-authority (e.g. the CA of self-signed Kubelet certificates).")
	fs.BoolVar(&o.VerifyNodeNames, "kubelet-verify-node-names", o.VerifyNodeNames, "When connecting to a Kubelet by IP address, also accept a serving certificate issued for the node's name or its Hostname or DNS addresses, rather than for the IP only. The certificate must still be signed by a trusted CA.")
	fs.StringVar(&o.ClientCertFile, "kubelet-client-certificate", "", "Path to a client cert file for TLS.")
	fs.StringVar(&o.ClientKeyFile, "kubelet-client-key", "", "Path to a client key file for TLS.")
	fs.DurationVar(&o.RequestTimeout, "kubelet-request-timeout", o.RequestTimeout, "The length of time to wait before giving up on a single request to Kubelet. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h).")
	fs.StringVarP(&o.NodeSelector, "node-selector", "l", o.NodeSelector, "Selector (label query) to filter on, not including uninitialized ones, supports '=', '==', and '!='.(e.g. -l key1=value1,key2=value2).")
	fs.BoolVar(&o.CompletelyInsecure, "deprecated-kubelet-completely-insecure", o.CompletelyInsecure, "DEPRECATED: Do not use any encryption, authorization, or authentication when communicating with the Kubelet. This is rarely the right option, since it leaves kubelet communication completely insecure.  If you encounter auth errors, make sure you've enabled token webhook auth on the Kubelet, and if you're in a test cluster with self-signed Kubelet certificates, consider using kubelet-insecure-tls instead.")
	fs.Int64Var(&o.MaxResponseBytes, "kubelet-max-response-bytes", o.MaxResponseBytes, "The largest answer, after decompression, read from a Kubelet; a larger one fails that node's scrape. Lowered when the memory limit is too small for it: answers in flight share a quarter of the memory limit.")
	fs.IntVar(&o.ScrapeConcurrency, "kubelet-scrape-concurrency", o.ScrapeConcurrency, "How many Kubelets are scraped at once.")
	fs.BoolVar(&o.NetHTTPTransport, "kubelet-net-http-transport", o.NetHTTPTransport, "Send every Kubelet request through Go's net/http transport (HTTP/2 where the Kubelet offers it, as upstream's client does) instead of the scraper's own HTTP/1.1 transport. An escape hatch, should the own transport not get along with some Kubelet or proxy; it keeps more memory per Kubelet connection, and cannot be used with --kubelet-verify-node-names.")
	fs.BoolVar(&o.KeepConnections, "kubelet-keep-connections", o.KeepConnections, "Keep one connection per Kubelet open between scrapes. When false, connections are closed after each scrape round and the next round resumes their TLS sessions: less memory per node, one TLS key exchange per Kubelet and round.")
}

// Validate checks the kubelet flags.
func (o *KubeletClientOptions) Validate() []error {
	var errs []error
	if o.InsecureTLS && o.CAFile != "" {
		errs = append(errs, errors.New("cannot use both --kubelet-certificate-authority and --kubelet-insecure-tls"))
	}
	if (o.ClientCertFile == "") != (o.ClientKeyFile == "") {
		errs = append(errs, errors.New("need both --kubelet-client-key and --kubelet-client-certificate"))
	}
	if o.CompletelyInsecure && (o.InsecureTLS || o.CAFile != "" || o.ClientCertFile != "" || o.ClientKeyFile != "") {
		errs = append(errs, errors.New("cannot use --deprecated-kubelet-completely-insecure with --kubelet-insecure-tls, --kubelet-certificate-authority, --kubelet-client-certificate or --kubelet-client-key"))
	}
	if (o.InsecureTLS || o.CompletelyInsecure) && (o.ExtraCAFile != "" || o.VerifyNodeNames) {
		errs = append(errs, errors.New("--kubelet-extra-certificate-authority and --kubelet-verify-node-names verify Kubelet certificates; they cannot be used with --kubelet-insecure-tls or --deprecated-kubelet-completely-insecure"))
	}
	if o.NetHTTPTransport && o.VerifyNodeNames {
		errs = append(errs, errors.New("--kubelet-verify-node-names needs the scraper's own transport; it cannot be used with --kubelet-net-http-transport"))
	}
	if o.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--kubelet-request-timeout must be positive, got %v", o.RequestTimeout))
	}
	if o.MaxResponseBytes <= 0 {
		errs = append(errs, fmt.Errorf("--kubelet-max-response-bytes must be positive, got %d", o.MaxResponseBytes))
	}
	if o.ScrapeConcurrency <= 0 {
		errs = append(errs, fmt.Errorf("--kubelet-scrape-concurrency must be positive, got %d", o.ScrapeConcurrency))
	}
	if o.NodeSelector != "" {
		if _, err := labels.Parse(o.NodeSelector); err != nil {
			errs = append(errs, fmt.Errorf("--node-selector: %w", err))
		}
	}
	return errs
}

// clientConfig derives the kubelet client from the cluster client: the same
// credentials and CA, unless the flags override them.
func (o *KubeletClientOptions) clientConfig(base *rest.Config, resolution time.Duration) scraper.ClientConfig {
	cfg := scraper.ClientConfig{
		Rest:              rest.CopyConfig(base),
		ExtraCAFile:       o.ExtraCAFile,
		VerifyNodeNames:   o.VerifyNodeNames,
		Scheme:            "https",
		Port:              o.Port,
		UseNodeStatusPort: o.UseNodeStatusPort,
		MaxBodyBytes:      o.MaxResponseBytes,
		// Longer than a resolution: one connection per kubelet is kept
		// across rounds.
		IdleConnTimeout:  3 * resolution,
		CloseAfterRound:  !o.KeepConnections,
		NetHTTPTransport: o.NetHTTPTransport,
	}
	for _, t := range o.PreferredAddressTypes {
		cfg.AddressTypes = append(cfg.AddressTypes, corev1.NodeAddressType(t))
	}
	tls := &cfg.Rest.TLSClientConfig
	switch {
	case o.CompletelyInsecure:
		// Neither TLS nor credentials: they would leak to whoever answers.
		cfg.Scheme = "http"
		cfg.Rest = &rest.Config{UserAgent: base.UserAgent}
		return cfg
	case o.InsecureTLS:
		tls.Insecure = true
		tls.CAFile, tls.CAData = "", nil
	case o.CAFile != "":
		tls.CAFile, tls.CAData = o.CAFile, nil
	}
	if o.ClientCertFile != "" {
		tls.CertFile, tls.CertData = o.ClientCertFile, nil
		tls.KeyFile, tls.KeyData = o.ClientKeyFile, nil
	}
	return cfg
}
