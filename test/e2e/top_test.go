// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// table parses kubectl's column output into rows of fields, header first.
func table(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

func millis(m int64) string { return strconv.FormatInt(m, 10) + "m" }
func mebis(b int64) string  { return strconv.FormatInt(b>>20, 10) + "Mi" }

func TestKubectlTopNodes(t *testing.T) {
	ctx := context.Background()
	eventually(t, time.Minute, func() error {
		_, nodes, err := expectedUsage(ctx)
		if err != nil {
			return err
		}
		out, err := kubectl(t, "top", "nodes")
		if err != nil {
			return err
		}
		rows := table(out)
		if got := strings.Join(rows[0], " "); got != "NAME CPU(cores) CPU(%) MEMORY(bytes) MEMORY(%)" {
			return fmt.Errorf("header %q", got)
		}
		seen := map[string]bool{}
		for _, r := range rows[1:] {
			want, ok := nodes[r[0]]
			if !ok {
				return fmt.Errorf("unexpected node %q", r[0])
			}
			if r[1] != millis(want.millicores) || r[3] != mebis(want.bytes) {
				return fmt.Errorf("node %s: got %s %s, want %s %s", r[0], r[1], r[3], millis(want.millicores), mebis(want.bytes))
			}
			seen[r[0]] = true
		}
		if len(seen) != nodeCount {
			return fmt.Errorf("%d nodes shown, want %d:\n%s", len(seen), nodeCount, out)
		}
		return nil
	})
}

func TestKubectlTopPods(t *testing.T) {
	ctx := context.Background()
	pods, _, err := expectedUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("containers", func(t *testing.T) {
		out, err := kubectl(t, "top", "pods", "-n", namespace, "--containers")
		if err != nil {
			t.Fatal(err)
		}
		rows := table(out)[1:]
		if len(rows) != workloadPods+1 {
			t.Fatalf("%d container rows, want %d:\n%s", len(rows), workloadPods+1, out)
		}
		for _, r := range rows {
			want, ok := pods[namespace+"/"+r[0]][r[1]]
			if !ok {
				t.Errorf("unexpected container %s/%s", r[0], r[1])
				continue
			}
			if r[2] != millis(want.millicores) || r[3] != mebis(want.bytes) {
				t.Errorf("%s/%s: got %s %s, want %s %s", r[0], r[1], r[2], r[3], millis(want.millicores), mebis(want.bytes))
			}
		}
	})
	t.Run("all namespaces", func(t *testing.T) {
		out, err := kubectl(t, "top", "pods", "-A")
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, r := range table(out)[1:] {
			want, ok := pods[r[0]+"/"+r[1]]
			if !ok {
				t.Errorf("unexpected pod %s/%s", r[0], r[1])
				continue
			}
			var sum usage
			for _, c := range want {
				sum.millicores += c.millicores
				sum.bytes += c.bytes
			}
			if r[2] != millis(sum.millicores) || r[3] != mebis(sum.bytes) {
				t.Errorf("%s/%s: got %s %s, want %s %s", r[0], r[1], r[2], r[3], millis(sum.millicores), mebis(sum.bytes))
			}
			if r[0] == namespace {
				found++
			}
		}
		if found != workloadPods {
			t.Errorf("%d pods of %s shown, want %d:\n%s", found, namespace, workloadPods, out)
		}
	})
	for _, by := range []string{"cpu", "memory"} {
		t.Run("sort by "+by, func(t *testing.T) {
			out, err := kubectl(t, "top", "pods", "-n", namespace, "--sort-by="+by)
			if err != nil {
				t.Fatal(err)
			}
			col := map[string]int{"cpu": 1, "memory": 2}[by]
			var values []int
			for _, r := range table(out)[1:] {
				v, err := strconv.Atoi(strings.TrimRight(r[col], "mMi"))
				if err != nil {
					t.Fatal(err)
				}
				values = append(values, v)
			}
			if !sort.IsSorted(sort.Reverse(sort.IntSlice(values))) {
				t.Errorf("not sorted by %s, descending:\n%s", by, out)
			}
		})
	}
	t.Run("one pod", func(t *testing.T) {
		out, err := kubectl(t, "top", "pod", "two", "-n", namespace, "--containers")
		if err != nil {
			t.Fatal(err)
		}
		want := "POD NAME CPU(cores) MEMORY(bytes)\ntwo app 300m 64Mi\ntwo sidecar 20m 8Mi"
		var got []string
		for _, r := range table(out) {
			got = append(got, strings.Join(r, " "))
		}
		if strings.Join(got, "\n") != want {
			t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
		}
	})
}

// TestSwap turns on swap reporting on the node of pod "two": the simulator
// reports a quarter of each container's working set and an eighth of the
// node's as swap, and kubectl top --show-swap shows them.
func TestSwap(t *testing.T) {
	ctx := context.Background()
	p, err := cluster.Client.CoreV1().Pods(namespace).Get(ctx, "two", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node := p.Spec.NodeName
	setSwap := func(value string) {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, kubeletsim.SwapAnnotation, value)
		if _, err := cluster.Client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setSwap(`"true"`)
	t.Cleanup(func() { setSwap("null") })

	column := func(rows [][]string, name string) int {
		for i, h := range rows[0] {
			if h == name {
				return i
			}
		}
		t.Fatalf("no %s column in %v", name, rows[0])
		return 0
	}
	eventually(t, 4*resolution, func() error {
		out, err := kubectl(t, "top", "pod", "two", "-n", namespace, "--containers", "--show-swap")
		if err != nil {
			return err
		}
		rows := table(out)
		swap := column(rows, "SWAP(bytes)")
		got := map[string]string{}
		for _, r := range rows[1:] {
			got[r[1]] = r[swap]
		}
		if got["app"] != "16Mi" || got["sidecar"] != "2Mi" {
			return fmt.Errorf("swap %v, want app 16Mi and sidecar 2Mi:\n%s", got, out)
		}
		_, nodes, err := expectedUsage(ctx)
		if err != nil {
			return err
		}
		out, err = kubectl(t, "top", "node", node, "--show-swap")
		if err != nil {
			return err
		}
		rows = table(out)
		if want := mebis(nodes[node].bytes / 8); rows[1][column(rows, "SWAP(bytes)")] != want {
			return fmt.Errorf("node swap, want %s:\n%s", want, out)
		}
		return nil
	})
	// Nodes without swap series show none.
	out, err := kubectl(t, "get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/node-0")
	if err != nil {
		t.Fatal(err)
	}
	if node != "node-0" && strings.Contains(out, "swap") {
		t.Errorf("node-0 reports swap without swap series: %s", out)
	}
}

// TestKubectlTopBothEncodings runs `kubectl top nodes` and `kubectl top pods
// -A --containers` with the pinned kubectl and the oldest one that builds
// with the project's Go (kubectl-oldest, hack/tools/kubectl-oldest), each
// asking for protobuf (their default) and for JSON
// (--use-protocol-buffers=false), and checks every row against the
// simulated usage.
func TestKubectlTopBothEncodings(t *testing.T) {
	ctx := context.Background()
	for _, binary := range []string{"kubectl", "kubectl-oldest"} {
		for _, protobuf := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s protobuf=%v", binary, protobuf), func(t *testing.T) {
				bin := filepath.Join(toolsDir, binary)
				run := func(args ...string) (string, error) {
					args = append(args, "--use-protocol-buffers="+strconv.FormatBool(protobuf))
					return e2eutil.KubectlBinary(bin, cluster.AdminKubeconfig, args...)
				}
				if binary != "kubectl" {
					out, err := e2eutil.KubectlBinary(bin, cluster.AdminKubeconfig, "version", "--client", "--output=yaml")
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%s", strings.TrimSpace(out))
				}
				eventually(t, time.Minute, func() error {
					pods, nodes, err := expectedUsage(ctx)
					if err != nil {
						return err
					}
					out, err := run("top", "nodes")
					if err != nil {
						return err
					}
					rows := table(out)[1:]
					if len(rows) != nodeCount {
						return fmt.Errorf("%d nodes shown, want %d:\n%s", len(rows), nodeCount, out)
					}
					for _, r := range rows {
						want, ok := nodes[r[0]]
						if !ok || r[1] != millis(want.millicores) || r[3] != mebis(want.bytes) {
							return fmt.Errorf("node %s: got %s %s, want %s %s", r[0], r[1], r[3], millis(want.millicores), mebis(want.bytes))
						}
					}
					if out, err = run("top", "pods", "-A", "--containers"); err != nil {
						return err
					}
					workload := 0
					for _, r := range table(out)[1:] {
						want, ok := pods[r[0]+"/"+r[1]][r[2]]
						if !ok || r[3] != millis(want.millicores) || r[4] != mebis(want.bytes) {
							return fmt.Errorf("container %s/%s/%s: got %s %s, want %s %s", r[0], r[1], r[2], r[3], r[4], millis(want.millicores), mebis(want.bytes))
						}
						if r[0] == namespace {
							workload++
						}
					}
					if workload != workloadPods+1 {
						return fmt.Errorf("%d containers of %s shown, want %d:\n%s", workload, namespace, workloadPods+1, out)
					}
					return nil
				})
			})
		}
	}
}
