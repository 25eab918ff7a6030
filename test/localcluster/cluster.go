// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package localcluster runs a real control plane on one machine: etcd,
// kube-apiserver with the aggregation layer, kube-controller-manager, a
// fleet of simulated kubelets and the metrics server, installed from the
// repository's manifests. `make run` and the end-to-end tests use it.
package localcluster

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// Config says what to run and where.
type Config struct {
	// Dir holds certificates, etcd data, kubeconfigs and logs; it is
	// emptied at start.
	Dir string
	// ToolsDir holds kube-apiserver, kube-controller-manager, kubectl and
	// etcd (see hack/build-tools.sh).
	ToolsDir string
	// MetricsServer is the metrics-server binary.
	MetricsServer string
	// Manifests is the kustomize folder installed (RBAC, Service,
	// APIServices); its Deployment is replaced by the local process.
	Manifests string
	// PortBase is the first port of the cluster's layout (see Ports).
	PortBase int
	// Nodes is how many kubelets to simulate, named NodePrefix-<i>.
	Nodes      int
	NodePrefix string
	// MetricsServerArgs are added to the metrics server's command line.
	MetricsServerArgs []string
	// KubeletTLSArgs are the metrics servers' kubelet TLS flags; nil: the
	// simulated kubelets' CA and a client certificate.
	KubeletTLSArgs []string
	// MetricsServerEnv are added to the metrics servers' environment
	// (KEY=value), e.g. GOGC.
	MetricsServerEnv []string
	// StatsInterval is the simulated kubelets' housekeeping period.
	StatsInterval time.Duration
	// StatsHistory is how long the simulated kubelets keep what they
	// reported, for a kubeletsim.Oracle (0: not kept).
	StatsHistory time.Duration
	// APIServerArgs are added to kube-apiserver's command line.
	APIServerArgs []string
	// KubeletAddressTypes replaces the metrics servers'
	// --kubelet-preferred-address-types (upstream's manifests' order).
	KubeletAddressTypes string
	// KubeletHostname is every simulated node's Hostname address, and a
	// name of its kubelet's certificate (default: the node's name).
	KubeletHostname string
	// DeferMetricsServer leaves the metrics server to StartMainMetricsServer,
	// so a benchmark can create its workload first and time the start.
	DeferMetricsServer bool
}

// AddFlags binds the flags every command that runs a cluster shares: where
// its files, tools, binary and manifests are, and its ports.
func (c *Config) AddFlags(fs *flag.FlagSet, dir string, portBase int) {
	fs.StringVar(&c.Dir, "dir", dir, "folder for certificates, data, kubeconfigs and logs (emptied at start)")
	fs.StringVar(&c.ToolsDir, "tools-dir", "", "folder with kube-apiserver, kube-controller-manager, kubectl and etcd")
	fs.StringVar(&c.MetricsServer, "metrics-server", "_output/bin/metrics-server", "metrics-server binary")
	fs.StringVar(&c.Manifests, "manifests", "manifests/base", "kustomize folder to install")
	fs.IntVar(&c.PortBase, "port-base", portBase, "first port used (see README)")
}

// Cluster is a running local cluster.
type Cluster struct {
	cfg Config

	// AdminKubeconfig is a system:masters kubeconfig.
	AdminKubeconfig string
	Admin           *rest.Config
	Client          kubernetes.Interface
	Fleet           *kubeletsim.Fleet
	// Ports is the cluster's port layout; all on 127.0.0.1.
	Ports Ports
	// MetricsServerStarted is when the metrics server process started.
	MetricsServerStarted time.Time

	pki           pki
	apiserverArgs []string
	etcd          *Process
	apiserver     *Process
	kcm           *Process
	metricsServer *Process
	stopFleet     context.CancelFunc
	fleetDone     chan struct{}
}

// Dir layout.
const (
	pkiDir  = "pki"
	logsDir = "logs"
)

// Start brings the whole cluster up; on error it stops what it started.
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	if cfg.NodePrefix == "" {
		cfg.NodePrefix = "node"
	}
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = time.Second
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	cfg.Dir = dir
	c := &Cluster{cfg: cfg, Ports: Ports{Base: cfg.PortBase}, pki: pki{hostname: cfg.KubeletHostname}}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	for _, d := range []string{pkiDir, logsDir, "etcd"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := c.pki.generate(filepath.Join(cfg.Dir, pkiDir), c.nodeNames()); err != nil {
		return nil, err
	}
	step := func(name string, f func(context.Context) error) error {
		start := time.Now()
		if err := f(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		klog.InfoS("Local cluster step done", "step", name, "duration", time.Since(start).Round(time.Millisecond))
		return nil
	}
	for _, s := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"etcd", c.startEtcd},
		{"kube-apiserver", c.startAPIServer},
		{"kube-controller-manager", c.startControllerManager},
		{"manifests", c.installManifests},
		{"kubelet simulator", c.startFleet},
	} {
		if err := step(s.name, s.f); err != nil {
			return nil, err
		}
	}
	if !cfg.DeferMetricsServer {
		if err := step("metrics-server", c.StartMainMetricsServer); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// APIServices are the names of the metrics server's APIServices.
var APIServices = []string{"v1beta1.metrics.k8s.io", "v1.metrics.k8s.io"}

// StartMainMetricsServer starts the metrics server the APIServices point
// at and waits until they are available.
func (c *Cluster) StartMainMetricsServer(ctx context.Context) error {
	if err := c.startMetricsServer(ctx); err != nil {
		return err
	}
	return c.waitAPIServicesAvailable(ctx, APIServices...)
}

// MetricsServerPID is the process ID of the main metrics server.
func (c *Cluster) MetricsServerPID() int { return c.metricsServer.cmd.Process.Pid }

// StopMainMetricsServer stops the metrics server the APIServices point
// at, so that another may take its place.
func (c *Cluster) StopMainMetricsServer() {
	c.metricsServer.Stop(10 * time.Second)
	c.metricsServer = nil
}

// StartUpstreamMetricsServer starts another metrics-server binary (e.g.
// upstream's, built from its source) in the main server's place, with the
// flags upstream's manifests give it and extraArgs, and waits until its
// APIService is available. The APIServices are set up as upstream's
// manifests set them up: v1beta1 only (upstream serves no v1), and without
// TLS verification (upstream's server signs its own certificate).
func (c *Cluster) StartUpstreamMetricsServer(ctx context.Context, binary string, extraArgs ...string) error {
	const served = "v1beta1.metrics.k8s.io"
	apiServices := c.Client.Discovery().RESTClient()
	for _, name := range APIServices {
		req := apiServices.Delete().AbsPath("/apis/apiregistration.k8s.io/v1/apiservices", name)
		if name == served {
			req = apiServices.Patch(types.MergePatchType).AbsPath("/apis/apiregistration.k8s.io/v1/apiservices", name).
				Body([]byte(`{"spec":{"insecureSkipTLSVerify":true,"caBundle":null}}`))
		}
		if err := req.Do(ctx).Error(); err != nil {
			return fmt.Errorf("APIService %s: %w", name, err)
		}
	}
	c.MetricsServerStarted = time.Now()
	p, err := c.startMetricsServerBinary(ctx, binary, "metrics-server-upstream", c.Ports.MetricsServer(), extraArgs...)
	c.metricsServer = p
	if err != nil {
		return err
	}
	return c.waitAPIServicesAvailable(ctx, served)
}

// MetricsServerConfig reaches a metrics server on port directly, as the
// cluster's admin, without verifying its serving certificate.
func (c *Cluster) MetricsServerConfig(port int) *rest.Config {
	cfg := rest.CopyConfig(c.Admin)
	cfg.Host = "https://127.0.0.1:" + strconv.Itoa(port)
	cfg.TLSClientConfig.CAData, cfg.TLSClientConfig.CAFile, cfg.TLSClientConfig.Insecure = nil, "", true
	return cfg
}

func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.cfg.Dir}, elem...)...)
}

func (c *Cluster) tool(name string) string { return filepath.Join(c.cfg.ToolsDir, name) }

func (c *Cluster) nodeNames() []string {
	names := make([]string, c.cfg.Nodes)
	for i := range names {
		names[i] = c.cfg.NodePrefix + "-" + strconv.Itoa(i)
	}
	return names
}

// APIServerURL is where kube-apiserver listens.
func (c *Cluster) APIServerURL() string {
	return "https://127.0.0.1:" + strconv.Itoa(c.Ports.APIServer())
}

// CAFile is the cluster CA bundle, for clients of kube-apiserver.
func (c *Cluster) CAFile() string { return c.path(pkiDir, "ca.crt") }

// UnknownKubeletCAFile is the CA of the bad-cert fault's certificate,
// which the metrics server does not trust unless told to.
func (c *Cluster) UnknownKubeletCAFile() string { return c.path(pkiDir, "unknown-ca.crt") }

// PKIPath is a file of the cluster's PKI, e.g. apiserver.crt, a serving
// certificate for 127.0.0.1 signed by the cluster CA.
func (c *Cluster) PKIPath(name string) string { return c.path(pkiDir, name) }

// StartProcess starts another binary beside the cluster, logging to
// LogPath(name); the caller stops it.
func (c *Cluster) StartProcess(name, binary string, args ...string) (*Process, error) {
	return startProcess(name, c.path(logsDir), binary, nil, args...)
}

// LogPath is the log file of a started component.
func (c *Cluster) LogPath(component string) string { return c.path(logsDir, component+".log") }

func (c *Cluster) startEtcd(ctx context.Context) error {
	client := "http://127.0.0.1:" + strconv.Itoa(c.Ports.EtcdClient())
	peer := "http://127.0.0.1:" + strconv.Itoa(c.Ports.EtcdPeer())
	var err error
	c.etcd, err = startProcess("etcd", c.path(logsDir), c.tool("etcd"), nil,
		"--name=local", "--data-dir="+c.path("etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=local="+peer,
		// A throw-away cluster: durability is not worth the fsync latency.
		"--unsafe-no-fsync", "--log-level=warn")
	if err != nil {
		return err
	}
	return WaitFor(ctx, "etcd health", c.etcd, time.Minute, func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, client+"/health")
	})
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	p := func(name string) string { return c.path(pkiDir, name) }
	c.apiserverArgs = []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(c.Ports.EtcdClient()),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.Ports.APIServer()),
		// Loopback cannot be reconciled into the kubernetes Endpoints.
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--tls-cert-file=" + p("apiserver.crt"), "--tls-private-key-file=" + p("apiserver.key"),
		"--client-ca-file=" + p("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p("sa.pub"), "--service-account-signing-key-file=" + p("sa.key"),
		"--authorization-mode=RBAC",
		// The aggregation layer: kube-apiserver proxies to the metrics
		// server as front-proxy-client, which the metrics server trusts
		// through the front-proxy CA it reads from the cluster.
		"--requestheader-client-ca-file=" + p("front-proxy-ca.crt"),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + p("front-proxy-client.crt"), "--proxy-client-key-file=" + p("front-proxy-client.key"),
		"--profiling=false", "--v=1",
	}
	c.apiserverArgs = append(c.apiserverArgs, c.cfg.APIServerArgs...)
	if err := c.runAPIServer(ctx); err != nil {
		return err
	}
	c.AdminKubeconfig = c.path("admin.kubeconfig")
	if err := writeKubeconfig(c.AdminKubeconfig, c.APIServerURL(), c.pki.ca.PEM, "admin", func(a *clientcmdapi.AuthInfo) {
		a.ClientCertificateData, a.ClientKeyData = c.pki.admin.CertPEM, c.pki.admin.KeyPEM
	}); err != nil {
		return err
	}
	var err error
	if c.Admin, err = clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig); err != nil {
		return err
	}
	c.Admin.QPS, c.Admin.Burst = 500, 1000
	c.Client, err = kubernetes.NewForConfig(c.Admin)
	return err
}

func (c *Cluster) runAPIServer(ctx context.Context) error {
	var err error
	c.apiserver, err = startProcess("kube-apiserver", c.path(logsDir), c.tool("kube-apiserver"), nil, c.apiserverArgs...)
	if err != nil {
		return err
	}
	tlsClient, err := c.pki.adminHTTPClient()
	if err != nil {
		return err
	}
	return WaitFor(ctx, "kube-apiserver /readyz", c.apiserver, 2*time.Minute, func(ctx context.Context) error {
		return httpOK(ctx, tlsClient, c.APIServerURL()+"/readyz")
	})
}

// RestartAPIServer stops kube-apiserver and starts it again with the same
// flags and data, waiting until it is ready.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	c.apiserver.Stop(30 * time.Second)
	return c.runAPIServer(ctx)
}

func (c *Cluster) startControllerManager(ctx context.Context) error {
	var err error
	c.kcm, err = startProcess("kube-controller-manager", c.path(logsDir), c.tool("kube-controller-manager"), nil,
		"--kubeconfig="+c.AdminKubeconfig,
		"--authentication-kubeconfig="+c.AdminKubeconfig, "--authorization-kubeconfig="+c.AdminKubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false",
		"--controllers=serviceaccount,deployment,replicaset,horizontalpodautoscaling,namespace,garbagecollector,clusterrole-aggregation",
		"--horizontal-pod-autoscaler-sync-period=5s",
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
		"--kube-api-qps=200", "--kube-api-burst=400", "--v=1")
	if err != nil {
		return err
	}
	// The serviceaccount controller creating default ServiceAccounts shows
	// the controller manager is at work; pods need them.
	return c.WaitForServiceAccount(ctx, metav1.NamespaceDefault, c.kcm)
}

// WaitForServiceAccount waits until a namespace has its default
// ServiceAccount, without which pods are refused.
func (c *Cluster) WaitForServiceAccount(ctx context.Context, namespace string, p *Process) error {
	return WaitFor(ctx, "ServiceAccount "+namespace+"/default", p, 2*time.Minute, func(ctx context.Context) error {
		_, err := c.Client.CoreV1().ServiceAccounts(namespace).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// installManifests applies the repository's kustomize manifests, with the
// Deployment left out and the Service pointing at the local process.
func (c *Cluster) installManifests(ctx context.Context) error {
	rendered, err := exec.CommandContext(ctx, c.tool("kubectl"), "kustomize", c.cfg.Manifests).Output()
	if err != nil {
		return fmt.Errorf("kubectl kustomize %s: %w", c.cfg.Manifests, stderrOf(err))
	}
	local, err := localizeManifests(rendered, c.Ports.MetricsServer())
	if err != nil {
		return err
	}
	file := c.path("manifests.yaml")
	if err := os.WriteFile(file, local, 0o644); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, c.tool("kubectl"), "--kubeconfig="+c.AdminKubeconfig,
		"apply", "--server-side", "-f", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl apply: %w: %s", err, out)
	}
	return nil
}

// localizeManifests drops the Deployment and points the Service and the
// APIServices at a metrics server on this machine.
func localizeManifests(rendered []byte, port int) ([]byte, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(rendered), 4096)
	var out bytes.Buffer
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding rendered manifests: %w", err)
		}
		if obj.Object == nil {
			continue
		}
		switch obj.GetKind() {
		case "Deployment":
			continue
		case "Service":
			_ = unstructured.SetNestedField(obj.Object, "ExternalName", "spec", "type")
			_ = unstructured.SetNestedField(obj.Object, "localhost", "spec", "externalName")
		case "APIService":
			_ = unstructured.SetNestedField(obj.Object, int64(port), "spec", "service", "port")
		}
		doc, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(doc)
	}
	return out.Bytes(), nil
}

func (c *Cluster) startFleet(ctx context.Context) error {
	c.Fleet = kubeletsim.New(kubeletsim.Config{
		Nodes: c.nodeNames(), Address: "127.0.0.1", BasePort: c.Ports.Kubelet(0), Hostname: c.cfg.KubeletHostname,
		Certificate: c.pki.kubeletCertificate, ClientCAs: c.pki.clientCAs(),
		StatsInterval: c.cfg.StatsInterval, History: c.cfg.StatsHistory, Client: c.Client, Schedule: true,
	})
	if err := c.Fleet.RegisterNodes(ctx, c.Client, nil); err != nil {
		return err
	}
	fleetCtx, cancel := context.WithCancel(context.Background())
	c.stopFleet, c.fleetDone = cancel, make(chan struct{})
	started := make(chan error, 1)
	go func() {
		defer close(c.fleetDone)
		started <- c.Fleet.Run(fleetCtx)
	}()
	// Run returns only on failure or when stopped; give it a moment to
	// fail on a busy port before carrying on.
	select {
	case err := <-started:
		return fmt.Errorf("kubelet simulator: %w", err)
	case <-time.After(time.Second):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Cluster) startMetricsServer(ctx context.Context) error {
	token, err := c.Client.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, "metrics-server",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(48 * 3600))}},
		metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("requesting a token for the metrics-server ServiceAccount: %w", err)
	}
	kubeconfig := c.path("metrics-server.kubeconfig")
	if err := writeKubeconfig(kubeconfig, c.APIServerURL(), c.pki.ca.PEM, "metrics-server", func(a *clientcmdapi.AuthInfo) {
		a.Token = token.Status.Token
	}); err != nil {
		return err
	}
	c.MetricsServerStarted = time.Now()
	// As the manifests' Deployment: the APIServices verify the server
	// with the CA it publishes.
	args := append([]string{"--serving-ca-apiservices=" + strings.Join(APIServices, ",")}, c.cfg.MetricsServerArgs...)
	if len(c.cfg.MetricsServerArgs) > 0 {
		klog.InfoS("Metrics server with added flags", "flags", c.cfg.MetricsServerArgs)
	}
	p, err := c.StartMetricsServer(ctx, "metrics-server", c.Ports.MetricsServer(), args...)
	c.metricsServer = p
	return err
}

// StartMetricsServer starts a metrics server process (as the
// metrics-server ServiceAccount) on port, with extra arguments, and waits
// until it listens.
func (c *Cluster) StartMetricsServer(ctx context.Context, name string, port int, extraArgs ...string) (*Process, error) {
	return c.startMetricsServerBinary(ctx, c.cfg.MetricsServer, name, port, extraArgs...)
}

// StartMetricsServerBinary starts another metrics-server binary (e.g.
// upstream's) as StartMetricsServer starts this one, beside the main one.
func (c *Cluster) StartMetricsServerBinary(ctx context.Context, binary, name string, port int, extraArgs ...string) (*Process, error) {
	return c.startMetricsServerBinary(ctx, binary, name, port, extraArgs...)
}

func (c *Cluster) startMetricsServerBinary(ctx context.Context, binary, name string, port int, extraArgs ...string) (*Process, error) {
	kubeconfig := c.path("metrics-server.kubeconfig")
	certDir := c.path(name)
	if err := os.MkdirAll(certDir, 0o755); err != nil {
		return nil, err
	}
	tlsArgs := c.cfg.KubeletTLSArgs
	if tlsArgs == nil {
		tlsArgs = []string{
			"--kubelet-certificate-authority=" + c.path(pkiDir, "kubelet-ca.crt"),
			"--kubelet-client-certificate=" + c.path(pkiDir, "kubelet-client.crt"),
			"--kubelet-client-key=" + c.path(pkiDir, "kubelet-client.key"),
		}
	}
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port), "--cert-dir=" + certDir,
	}, tlsArgs...)
	// Upstream's manifests' arguments.
	addressTypes := c.cfg.KubeletAddressTypes
	if addressTypes == "" {
		addressTypes = "InternalIP,ExternalIP,Hostname"
	}
	args = append(args, "--kubelet-preferred-address-types="+addressTypes,
		"--kubelet-use-node-status-port", "--metric-resolution=15s")
	args = append(args, extraArgs...)
	p, err := startProcess(name, c.path(logsDir), binary, c.cfg.MetricsServerEnv, args...)
	if err != nil {
		return nil, err
	}
	return p, WaitFor(ctx, name+" listening", p, time.Minute, func(ctx context.Context) error {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			conn.Close()
		}
		return err
	})
}

// waitAPIServicesAvailable waits until each of the named APIServices is
// Available, or the main metrics server exits.
func (c *Cluster) waitAPIServicesAvailable(ctx context.Context, names ...string) error {
	for _, name := range names {
		err := WaitFor(ctx, "APIService "+name+" Available", c.metricsServer, 2*time.Minute, func(ctx context.Context) error {
			return c.apiServiceAvailable(ctx, name)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) apiServiceAvailable(ctx context.Context, name string) error {
	var svc struct {
		Status struct {
			Conditions []metav1.Condition `json:"conditions"`
		} `json:"status"`
	}
	raw, err := c.Client.Discovery().RESTClient().Get().AbsPath("/apis/apiregistration.k8s.io/v1/apiservices", name).DoRaw(ctx)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(raw, &svc); err != nil {
		return err
	}
	for _, cond := range svc.Status.Conditions {
		if cond.Type == "Available" {
			if cond.Status == metav1.ConditionTrue {
				return nil
			}
			return fmt.Errorf("not available: %s", cond.Message)
		}
	}
	return errors.New("no Available condition yet")
}

// Stop ends every process the cluster started, the newest first.
func (c *Cluster) Stop() {
	c.metricsServer.Stop(10 * time.Second)
	if c.stopFleet != nil {
		c.stopFleet()
		<-c.fleetDone
	}
	c.kcm.Stop(10 * time.Second)
	c.apiserver.Stop(30 * time.Second)
	c.etcd.Stop(10 * time.Second)
}

// Failed reports the first core component that has exited on its own.
func (c *Cluster) Failed() error {
	for _, p := range []*Process{c.etcd, c.apiserver, c.kcm, c.metricsServer} {
		if p == nil {
			continue
		}
		if dead, err := p.exited(); dead {
			return err
		}
	}
	return nil
}

// EnsureNamespace creates a namespace and waits for its default
// ServiceAccount.
func (c *Cluster) EnsureNamespace(ctx context.Context, name string) error {
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return c.WaitForServiceAccount(ctx, name, c.kcm)
}

func writeKubeconfig(path, server string, caPEM []byte, user string, auth func(*clientcmdapi.AuthInfo)) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	a := clientcmdapi.NewAuthInfo()
	auth(a)
	cfg.AuthInfos[user] = a
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user}
	cfg.CurrentContext = "local"
	return clientcmd.WriteToFile(*cfg, path)
}

func httpOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}

func stderrOf(err error) error {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, exitErr.Stderr)
	}
	return err
}
