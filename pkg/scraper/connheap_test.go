// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/kubemetrics/metrics-server/pkg/internal/heaptest"
	"github.com/kubemetrics/metrics-server/test/kubeletsim"
	corev1 "k8s.io/api/core/v1"
)

// kubeletsEnv, when set to a count, makes the test binary serve that many
// kubelets (httptest TLS servers offering HTTP/2 and answering in gzip when
// asked, as a kubelet does) and print their URLs, one per line, until its
// standard input closes. The connection benchmark runs them in a process of
// their own so that the heap it measures holds the client's half of each
// connection only.
const kubeletsEnv = "SCRAPER_TEST_KUBELETS"

func TestMain(m *testing.M) {
	if n := os.Getenv(kubeletsEnv); n != "" {
		serveKubelets(n)
		return
	}
	os.Exit(m.Run())
}

func serveKubelets(count string) {
	n, err := strconv.Atoi(count)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	answer := kubeletsim.UniformAnswer(30, 2, time.Unix(1_700_000_000, 0))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		kubeletsim.WriteMaybeGzipped(w, r, answer)
	})
	for range n {
		srv := httptest.NewUnstartedServer(handler)
		srv.EnableHTTP2 = true
		srv.StartTLS()
		fmt.Println(srv.URL)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startKubelets runs n kubelets in a child process and returns a node for
// each.
func startKubelets(b *testing.B, n int) []*corev1.Node {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), kubeletsEnv+"="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	nodes := make([]*corev1.Node, 0, n)
	for len(nodes) < n && lines.Scan() {
		nodes = append(nodes, kubeletAt(b, fmt.Sprintf("node-%d", len(nodes)), lines.Text()))
	}
	if len(nodes) < n {
		b.Fatalf("the kubelets' process printed %d of %d addresses: %v", len(nodes), n, lines.Err())
	}
	return nodes
}

// BenchmarkIdleConnectionLiveHeap reports what one kept kubelet connection
// holds between rounds: the client's live heap after a few rounds over
// every kubelet (enough for a Go kubelet's TLS records to grow to their
// full size, past a gzipped answer's), divided by the kubelets.
func BenchmarkIdleConnectionLiveHeap(b *testing.B) {
	const kubelets, rounds = 200, 4
	nodes := startKubelets(b, kubelets)
	heaptest.PerUnit(b, kubelets, "connection", func() any {
		client := testClient(b, 1<<20)
		var buf bytes.Buffer
		for range rounds {
			for _, node := range nodes {
				if err := client.Fetch(context.Background(), node, &buf, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		return client
	})
}
