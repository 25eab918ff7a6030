// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package realnode runs one real Kubernetes node on this machine, for the
// real-node end-to-end suite and `make run REAL_NODES=1`: containerd and
// runc from Debian's packages, the kubelet built from the pinned module,
// and images imported into containerd rather than pulled. The kubelet
// registers with a local cluster's kube-apiserver and authenticates and
// authorizes its callers through it (webhook), as in a real cluster.
//
// It needs root and changes the host while it runs: cgroups under
// kubepods, mounts under its folder, and the sysctls the kubelet sets
// (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops). Stop undoes
// all of them.
package realnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"

	"github.com/kubemetrics/metrics-server/test/localcluster"
)

// Config says where and how the node runs.
type Config struct {
	// Dir holds containerd's root, state and socket, the kubelet's root,
	// certificates and configuration; it is emptied at start.
	Dir string
	// Repo is the repository's root, where the images' binaries are built.
	Repo string
	// Kubelet is the kubelet binary.
	Kubelet string
	// Cluster is the cluster the node joins.
	Cluster *localcluster.Cluster
	// Name is the node's name; the kubelet reports it as its Hostname
	// address, so it must resolve to loopback ("localhost"), which is how
	// the metrics server and kube-apiserver reach it.
	Name string
	// Port is the kubelet's port, Port+1 its health port.
	Port int
}

// Node is a running real node.
type Node struct {
	cfg        Config
	containerd *localcluster.Process
	kubelet    *localcluster.Process
	// sysctls are the values the kubelet changes, as they were before.
	sysctls map[string]string
	// created are the host's folders the kubelet and containerd create
	// whatever they are configured with, which were not there before.
	created []string
}

// hostFolders are where the kubelet and containerd write whatever their
// configuration (device plugin sockets, pod log links, network
// namespaces).
var hostFolders = []string{"/var/lib/kubelet", "/var/log/pods", "/var/log/containers", "/var/run/netns"}

// The sysctls the kubelet sets at start.
var kubeletSysctls = []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"}

// Start brings containerd and the kubelet up, imports the images and waits
// until the node is registered; on error it undoes what it did.
func Start(ctx context.Context, cfg Config) (_ *Node, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("a real node needs root (containerd, runc and the kubelet's cgroups)")
	}
	for _, bin := range []string{"containerd", "runc", "ctr"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s is not installed (Debian's containerd and runc packages): %w", bin, err)
		}
	}
	// Absolute: the kubeconfig's certificate paths are read relative to it.
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	if err := os.RemoveAll(cfg.Dir); err != nil {
		return nil, err
	}
	for _, d := range []string{"containerd", "cni", "kubelet", "pki", "manifests", "images", "pod-logs"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	n := &Node{cfg: cfg, sysctls: map[string]string{}}
	defer func() {
		if err != nil {
			n.Stop()
		}
	}()
	for _, d := range hostFolders {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			n.created = append(n.created, d)
		}
	}
	for _, k := range kubeletSysctls {
		v, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			return nil, err
		}
		n.sysctls[k] = strings.TrimSpace(string(v))
	}
	if err := n.startContainerd(ctx); err != nil {
		return nil, err
	}
	if err := n.importImages(ctx); err != nil {
		return nil, err
	}
	if err := n.startKubelet(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Node) path(elem ...string) string {
	return filepath.Join(append([]string{n.cfg.Dir}, elem...)...)
}

// socket is containerd's socket.
func (n *Node) socket() string { return n.path("containerd", "containerd.sock") }

// containerdConfig: the CRI plugin with runc under cgroupfs, the overlayfs
// snapshotter, root, state and socket in the node's folder, and
// restrict_oom_score_adj (root here may lack CAP_SYS_RESOURCE, and runc
// then fails to lower a pause container's oom_score_adj). The CNI
// configuration is loopback only: pods use the host's network.
const containerdConfig = `version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[4]q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[5]q
`

const loopbackCNI = `{"cniVersion": "0.4.0", "name": "loopback-only", "plugins": [{"type": "loopback"}]}
`

func (n *Node) startContainerd(ctx context.Context) error {
	config := n.path("containerd", "config.toml")
	body := fmt.Sprintf(containerdConfig, n.path("containerd", "root"), n.path("containerd", "state"), n.socket(), PauseImage, n.path("cni"))
	if err := os.WriteFile(config, []byte(body), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(n.path("cni", "10-loopback.conflist"), []byte(loopbackCNI), 0o644); err != nil {
		return err
	}
	var err error
	if n.containerd, err = n.cfg.Cluster.StartProcess("containerd", "containerd", "--config", config); err != nil {
		return err
	}
	return localcluster.WaitFor(ctx, "containerd to answer", n.containerd, 30*time.Second, func(ctx context.Context) error {
		_, err := n.ctr(ctx, "version")
		return err
	})
}

// ctr runs containerd's client on the node's socket, in the kubelet's
// namespace.
func (n *Node) ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", n.socket(), "--namespace", "k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (n *Node) importImages(ctx context.Context) error {
	for ref, pkg := range images {
		archive, err := buildImage(ctx, n.cfg.Repo, n.path("images"), ref, pkg)
		if err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		if _, err := n.ctr(ctx, "images", "import", archive); err != nil {
			return err
		}
	}
	return nil
}

// kubeletConfig is the KubeletConfiguration: on loopback, webhook
// authentication and authorization against kube-apiserver (anonymous
// requests refused; its answers cached for seconds rather than minutes, so
// that a change of RBAC shows within a test), clients verified with the
// cluster CA, cgroupfs on
// cgroups v1 (which this kind of machine has), no swap check, and eviction
// thresholds low enough that a busy build machine does not evict the
// suite's pods.
const kubeletConfig = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %[1]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[2]d
tlsCertFile: %[3]q
tlsPrivateKeyFile: %[4]q
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %[5]q
authorization:
  mode: Webhook
  webhook:
    cacheAuthorizedTTL: 2s
    cacheUnauthorizedTTL: 2s
containerRuntimeEndpoint: unix://%[6]s
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
staticPodPath: %[7]q
podLogsDirectory: %[8]q
evictionHard:
  memory.available: 1Mi
  nodefs.available: 1%%
  imagefs.available: 1%%
  nodefs.inodesFree: 1%%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`

func (n *Node) startKubelet(ctx context.Context) error {
	c := n.cfg.Cluster
	// The kubelet's credentials are a node's: the system:node role, as
	// kubeadm binds it where the Node authorizer is not used.
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-server-e2e:nodes"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:node"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "system:nodes"}},
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	pki := n.path("pki")
	if err := c.WriteKubeletCertificates(pki, n.cfg.Name); err != nil {
		return err
	}
	kubeconfig := n.path("kubelet.kubeconfig")
	caPEM, err := os.ReadFile(c.CAFile())
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: c.APIServerURL(), CertificateAuthorityData: caPEM}
	cfg.AuthInfos["kubelet"] = &clientcmdapi.AuthInfo{ClientCertificate: filepath.Join(pki, "kubelet-client.crt"), ClientKey: filepath.Join(pki, "kubelet-client.key")}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "kubelet"}
	cfg.CurrentContext = "local"
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		return err
	}
	config := n.path("kubelet-config.yaml")
	body := fmt.Sprintf(kubeletConfig, n.cfg.Port, n.cfg.Port+1, filepath.Join(pki, "kubelet.crt"), filepath.Join(pki, "kubelet.key"),
		c.CAFile(), n.socket(), n.path("manifests"), n.path("pod-logs"))
	if err := os.WriteFile(config, []byte(body), 0o644); err != nil {
		return err
	}
	n.kubelet, err = c.StartProcess("kubelet", n.cfg.Kubelet, "--config="+config, "--kubeconfig="+kubeconfig,
		"--hostname-override="+n.cfg.Name, "--root-dir="+n.path("kubelet"), "--cert-dir="+pki, "--v=2")
	if err != nil {
		return err
	}
	return localcluster.WaitFor(ctx, "the node to register", n.kubelet, 2*time.Minute, func(ctx context.Context) error {
		_, err := c.Client.CoreV1().Nodes().Get(ctx, n.cfg.Name, metav1.GetOptions{})
		return err
	})
}

// Stop removes the node's pods, stops the kubelet and containerd, and
// undoes what they changed on the host: mounts under the node's folder,
// the kubepods cgroups and the kubelet's sysctls.
func (n *Node) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := n.cfg.Cluster.Client
	if n.kubelet != nil {
		_ = os.RemoveAll(n.path("manifests"))
		pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + n.cfg.Name})
		if err == nil {
			for _, p := range pods.Items {
				_ = client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
			}
		}
		_ = localcluster.WaitFor(ctx, "the node's containers to stop", nil, time.Minute, func(ctx context.Context) error {
			tasks, err := n.ctr(ctx, "tasks", "ls", "-q")
			if err != nil || strings.TrimSpace(tasks) == "" {
				return nil
			}
			return errors.New("tasks left: " + strings.Join(strings.Fields(tasks), " "))
		})
		n.kubelet.Stop(30 * time.Second)
	}
	if n.containerd != nil {
		if tasks, err := n.ctr(ctx, "tasks", "ls", "-q"); err == nil {
			for _, id := range strings.Fields(tasks) {
				_, _ = n.ctr(ctx, "tasks", "kill", "--signal", "SIGKILL", id)
			}
		}
		n.containerd.Stop(30 * time.Second)
	}
	// Shims outlive containerd; theirs is the node's state folder.
	_ = exec.Command("pkill", "-KILL", "-f", "containerd-shim-runc-v2 -namespace k8s.io -id .* -address "+n.socket()).Run()
	unmountUnder(n.cfg.Dir)
	removeCgroups("kubepods")
	for _, d := range n.created {
		unmountUnder(d)
		_ = os.RemoveAll(d)
	}
	for k, v := range n.sysctls {
		if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
			klog.ErrorS(err, "Restoring a sysctl", "sysctl", k, "value", v)
		}
	}
}

// unmountUnder unmounts every mount below dir, deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		if err := exec.Command("umount", "-l", p).Run(); err != nil {
			klog.ErrorS(err, "Unmounting", "path", p)
		}
	}
}

// removeCgroups removes the cgroup named top, and everything below it, in
// every controller's hierarchy; a cgroup goes once its children have.
func removeCgroups(top string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + top)
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) })
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	}
}

// kubeletURL is where the kubelet serves.
func (n *Node) kubeletURL() string { return "https://127.0.0.1:" + strconv.Itoa(n.cfg.Port) }
