// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubemetrics/metrics-server/pkg/sample"
	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

func TestClientTarget(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeHostName, Address: "n1.local"},
				{Type: corev1.NodeInternalIP, Address: "10.0.0.7"},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10555}},
		},
	}
	annotated := node.DeepCopy()
	annotated.Annotations = map[string]string{ResourceMetricsPathAnnotation: "/proxy/metrics"}
	tests := []struct {
		name    string
		cfg     ClientConfig
		node    *corev1.Node
		want    string
		wantErr bool
	}{
		{"preferred type first", ClientConfig{Scheme: "https", Port: 10250, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeHostName}},
			node, "https://10.0.0.7:10250/metrics/resource", false},
		{"node status port", ClientConfig{Scheme: "https", Port: 10250, UseNodeStatusPort: true, AddressTypes: []corev1.NodeAddressType{corev1.NodeHostName}},
			node, "https://n1.local:10555/metrics/resource", false},
		{"path annotation", ClientConfig{Scheme: "https", Port: 10250, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}},
			annotated, "https://10.0.0.7:10250/proxy/metrics", false},
		{"no address of the types", ClientConfig{Scheme: "https", Port: 10250, AddressTypes: []corev1.NodeAddressType{corev1.NodeExternalIP}},
			node, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Rest = &rest.Config{}
			client, err := NewClient(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := client.target(tc.node)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("target() = %q, %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

type recordingSink struct {
	mu      sync.Mutex
	batches map[string]int // node → containers written
}

func (s *recordingSink) Write(node string, b *sample.Batch, _ time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches[node] = len(b.Containers)
}

// httptestCA is the certificate every httptest TLS server serves, in PEM.
var httptestCA = func() []byte {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}()

// testClient reaches the kubelets of kubeletAt over HTTPS, trusting the
// httptest servers' certificate, through the transport NewClient builds,
// and reads answers of up to maxBodyBytes.
func testClient(t testing.TB, maxBodyBytes int64) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{
		Rest:   &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: httptestCA}},
		Scheme: "https", UseNodeStatusPort: true, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP},
		MaxBodyBytes: maxBodyBytes, IdleConnTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kubeletAt is a ready node whose kubelet listens at rawURL.
func kubeletAt(t testing.TB, name, rawURL string) *corev1.Node {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: u.Hostname()}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)}},
		Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
	}}
}

// TestScrapeFaults runs one round against real TLS servers, one per
// behaviour: good ones are written, each bad one fails with its reason and
// does not disturb the others.
func TestScrapeFaults(t *testing.T) {
	good := kubeletsim.AppendResourceMetrics(nil, &kubeletsim.NodeStats{
		Time: time.Unix(1_700_000_000, 0), CPUNanos: 1e9, MemoryBytes: 1 << 20,
		Pods: []kubeletsim.PodStats{{Namespace: "ns", Name: "p", Containers: []kubeletsim.ContainerStats{
			{Name: "c", StartTime: time.Unix(1_699_999_000, 0), Time: time.Unix(1_700_000_000, 0), CPUNanos: 5e8, MemoryBytes: 1 << 10}}}},
	})
	handlers := map[string]http.HandlerFunc{
		"good": func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept") == "" || !strings.Contains(r.Header.Get("Accept"), "text/plain") {
				http.Error(w, "no text Accept header", http.StatusNotAcceptable)
				return
			}
			_, _ = w.Write(good)
		},
		"status": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) },
		"garbage": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte("<html>\n"))
		},
		"protobuf": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
			_, _ = w.Write([]byte{1, 2, 3})
		},
		"huge": func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(strings.Repeat("# padding\n", 1000))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
		"hang": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		// What a kubelet whose stats collection failed answers.
		"stats-error": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(kubeletsim.AppendResourceMetrics(nil, &kubeletsim.NodeStats{ScrapeError: true}))
		},
		"empty": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds\n"))
		},
		// Containers named, but without a usable CPU or memory sample.
		"nothing-usable": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`container_start_time_seconds{container="c",namespace="ns",pod="p"} 1.7e+09` + "\n" +
				`container_cpu_usage_seconds_total{container="c",namespace="ns",pod="p"} NaN 1700000000000` + "\n"))
		},
	}
	want := map[string]string{"status": ReasonHTTP, "garbage": ReasonDecode, "protobuf": ReasonDecode, "huge": ReasonTooLarge, "hang": ReasonTimeout,
		"stats-error": ReasonKubeletStats, "empty": ReasonEmpty, "nothing-usable": ReasonEmpty}

	var nodes []*corev1.Node
	for name, h := range handlers {
		srv := httptest.NewTLSServer(h)
		t.Cleanup(srv.Close)
		nodes = append(nodes, kubeletAt(t, name, srv.URL))
	}
	// A node whose kubelet is gone: nothing listens on its port.
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closed.Close()
	nodes = append(nodes, kubeletAt(t, "gone", closed.URL))
	want["gone"] = ReasonConnect
	// A node without an address of the preferred types.
	nodes = append(nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "unaddressed"}})
	want["unaddressed"] = ReasonAddress

	sink := &recordingSink{batches: map[string]int{}}
	s := New(Config{
		// The endless answer must be cut off as too large well within
		// the timeout the hanging kubelet waits out, on any machine.
		Client: testClient(t, 64<<10), Nodes: func() ([]*corev1.Node, error) { return nodes, nil }, Sink: sink,
		RequestTimeout: 500 * time.Millisecond, Concurrency: 3,
	})
	res, err := s.Scrape(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Nodes != len(nodes) || res.Failed != len(want) {
		t.Errorf("result %+v, want %d nodes and %d failures", res, len(nodes), len(want))
	}
	if got := sink.batches; len(got) != 1 || got["good"] != 1 {
		t.Errorf("written %v, want only good with 1 container", got)
	}
	for _, n := range nodes {
		if got := s.nodes[n.Name].lastReason; got != want[n.Name] {
			t.Errorf("%s: the round recorded reason %q, want %q", n.Name, got, want[n.Name])
		}
	}
}

// TestBackoff: a node that keeps failing is tried in rounds 1, 2, 3, then
// sits out 1, 2, 4, 8, 8 rounds between attempts; one success ends it.
func TestBackoff(t *testing.T) {
	var mu sync.Mutex
	requests, failing := 0, true
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		if failing {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("node_cpu_usage_seconds_total 1 1700000000000\nnode_memory_working_set_bytes 1 1700000000000\n"))
	}))
	defer srv.Close()
	node := kubeletAt(t, "virtual", srv.URL)
	node.Status.Conditions = nil
	s := New(Config{
		Client: testClient(t, 1<<20),
		Nodes:  func() ([]*corev1.Node, error) { return []*corev1.Node{node}, nil },
		Sink:   &recordingSink{batches: map[string]int{}}, RequestTimeout: time.Second, Concurrency: 1,
	})
	// scrape runs one round and returns how many requests it sent.
	scrape := func() (int, Result) {
		t.Helper()
		mu.Lock()
		before := requests
		mu.Unlock()
		res, err := s.Scrape(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return requests - before, res
	}
	var attempted []int
	for round := 1; round <= 25; round++ {
		if sent, _ := scrape(); sent > 0 {
			attempted = append(attempted, round)
		}
	}
	// Failures 1-3 in rounds 1-3; then skips of 1, 2, 4, 8, 8 rounds.
	want := []int{1, 2, 3, 5, 8, 13, 22}
	if fmt.Sprint(attempted) != fmt.Sprint(want) {
		t.Fatalf("attempts in rounds %v, want %v", attempted, want)
	}

	// Round 22's failure set 8 skips; the node's state changing (here to
	// ready) cancels the rest: it is tried at once, still failing.
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	if sent, _ := scrape(); sent != 1 {
		t.Errorf("a node that became ready was not tried at once")
	}

	mu.Lock()
	failing = false
	mu.Unlock()
	for range maxSkippedRounds + 1 {
		scrape()
	}
	if sent, res := scrape(); sent != 1 || res.Skipped != 0 {
		t.Errorf("after a success the node is scraped every round; %d requests, result %+v", sent, res)
	}
}

func TestNodeState(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ready := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	notReady := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}
	old, recent := metav1.NewTime(now.Add(-time.Hour)), metav1.NewTime(now.Add(-time.Minute))
	for _, tc := range []struct {
		name string
		node corev1.Node
		want string
	}{
		{"ready", corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: old}, Status: corev1.NodeStatus{Conditions: ready}}, NodeStateReady},
		{"new and ready", corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: recent}, Status: corev1.NodeStatus{Conditions: ready}}, NodeStateReady},
		{"new, kubelet not up yet", corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: recent}}, NodeStateNew},
		{"old and not ready", corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: old}, Status: corev1.NodeStatus{Conditions: notReady}}, NodeStateNotReady},
		{"being deleted", corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: old, DeletionTimestamp: &recent}, Status: corev1.NodeStatus{Conditions: ready}}, NodeStateTerminating},
		{"drained by the cluster autoscaler", corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: old},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "ToBeDeletedByClusterAutoscaler", Effect: corev1.TaintEffectNoSchedule}}}, Status: corev1.NodeStatus{Conditions: ready}}, NodeStateTerminating},
		{"disrupted by karpenter", corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: old},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "karpenter.sh/disrupted", Effect: corev1.TaintEffectNoSchedule}}}}, NodeStateTerminating},
	} {
		if got := NodeState(&tc.node, now); got != tc.want {
			t.Errorf("%s: NodeState = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestStagger: a round of 16 nodes with a 20 ms stagger spreads its starts
// over 320 ms in 8 waves of 2 nodes; each wave starts only when the clock
// reaches it, 40 ms apart.
func TestStagger(t *testing.T) {
	var mu sync.Mutex
	arrived := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		mu.Unlock()
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer srv.Close()
	arrivals := func() int {
		mu.Lock()
		defer mu.Unlock()
		return arrived
	}
	var nodes []*corev1.Node
	for i := range 16 {
		nodes = append(nodes, kubeletAt(t, "n"+strconv.Itoa(i), srv.URL))
	}
	clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
	s := New(Config{
		Client: testClient(t, 1<<20),
		Nodes:  func() ([]*corev1.Node, error) { return nodes, nil },
		Sink:   &recordingSink{batches: map[string]int{}}, RequestTimeout: 5 * time.Second, Concurrency: 16,
		StaggerPerNode: 20 * time.Millisecond, MaxStagger: time.Second, Clock: clk,
	})
	done := make(chan error, 1)
	go func() {
		_, err := s.Scrape(context.Background(), true)
		done <- err
	}()
	// until waits, in real time, for what the scrape's goroutines do.
	until := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s (%d requests arrived)", what, arrivals())
			}
			time.Sleep(time.Millisecond)
		}
	}
	for wave := range 8 {
		want := 2 * (wave + 1)
		until(fmt.Sprintf("wave %d's requests", wave), func() bool { return arrivals() >= want })
		if wave == 7 {
			break
		}
		// The next wave waits for the clock.
		until(fmt.Sprintf("wave %d waiting", wave+1), clk.HasWaiters)
		if got := arrivals(); got != want {
			t.Fatalf("before %v: %d requests, want %d", clk.Since(time.Unix(1_700_000_000, 0))+40*time.Millisecond, got, want)
		}
		clk.Step(40 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := arrivals(); got != 16 {
		t.Errorf("%d requests, want 16", got)
	}
}

// TestConnectionsBetweenRounds: by default one connection per kubelet
// serves every round; with CloseAfterRound each round opens its own, and
// every one after the first resumes the kubelet's TLS session, also when
// kubelets share an address (each has its own session ticket keys here,
// so one kubelet's session does not resume at another).
func TestConnectionsBetweenRounds(t *testing.T) {
	payload := kubeletsim.AppendResourceMetrics(nil, &kubeletsim.NodeStats{Time: time.Unix(1_700_000_000, 0), CPUNanos: 1e9, MemoryBytes: 1 << 20})
	const kubelets, rounds = 2, 3
	for _, tc := range []struct {
		name                 string
		closeAfterRound      bool
		verifyNodeNames      bool
		connections, resumed int
	}{
		{"kept", false, false, kubelets, 0},
		{"closed after each round", true, false, kubelets * rounds, kubelets * (rounds - 1)},
		{"closed after each round, node names verified", true, true, kubelets * rounds, kubelets * (rounds - 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			connections, resumed := 0, 0
			var nodes []*corev1.Node
			for i := range kubelets {
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					if r.TLS.DidResume {
						resumed++
					}
					mu.Unlock()
					_, _ = w.Write(payload)
				}))
				srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
					if state == http.StateNew {
						mu.Lock()
						connections++
						mu.Unlock()
					}
				}
				srv.StartTLS()
				defer srv.Close()
				nodes = append(nodes, kubeletAt(t, fmt.Sprintf("n%d", i), srv.URL))
			}
			client, err := NewClient(ClientConfig{
				Rest:   &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: httptestCA}},
				Scheme: "https", UseNodeStatusPort: true, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP},
				MaxBodyBytes: 1 << 20, IdleConnTimeout: time.Minute, CloseAfterRound: tc.closeAfterRound,
				VerifyNodeNames: tc.verifyNodeNames,
			})
			if err != nil {
				t.Fatal(err)
			}
			s := New(Config{Client: client, Nodes: func() ([]*corev1.Node, error) { return nodes, nil },
				Sink: &recordingSink{batches: map[string]int{}}, RequestTimeout: 5 * time.Second})
			for range rounds {
				if res, err := s.Scrape(context.Background(), false); err != nil || res.Failed != 0 {
					t.Fatalf("round: %+v, %v", res, err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if connections != tc.connections || resumed != tc.resumed {
				t.Errorf("%d connections, %d resumed; want %d and %d", connections, resumed, tc.connections, tc.resumed)
			}
		})
	}
}

// TestRoundCutOffEndsRound: a round that its deadline cuts off before
// every node was fetched still ends: with CloseAfterRound, the connection
// of the node that was fetched is closed, not kept into the next round.
func TestRoundCutOffEndsRound(t *testing.T) {
	payload := kubeletsim.AppendResourceMetrics(nil, &kubeletsim.NodeStats{Time: time.Unix(1_700_000_000, 0), CPUNanos: 1e9, MemoryBytes: 1 << 20})
	var nodes []*corev1.Node
	// open counts the connections the kubelets hold open.
	var open atomic.Int32
	for i := range 2 {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(payload) }))
		srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		nodes = append(nodes, kubeletAt(t, fmt.Sprintf("n%d", i), srv.URL))
	}
	client, err := NewClient(ClientConfig{
		Rest:   &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: httptestCA}},
		Scheme: "https", UseNodeStatusPort: true, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP},
		MaxBodyBytes: 1 << 20, IdleConnTimeout: time.Minute, CloseAfterRound: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{batches: map[string]int{}}
	// The second node's turn comes a second into the round, long after
	// its deadline.
	s := New(Config{Client: client, Nodes: func() ([]*corev1.Node, error) { return nodes, nil }, Sink: sink,
		RequestTimeout: 5 * time.Second, Concurrency: 2, StaggerPerNode: time.Second, MaxStagger: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := s.Scrape(ctx, true); err == nil {
		t.Fatal("the round was not cut off")
	}
	sink.mu.Lock()
	written := len(sink.batches)
	sink.mu.Unlock()
	if written != 1 {
		t.Errorf("%d nodes written, want 1", written)
	}
	// The kubelet sees the connection closed a moment after the round.
	for deadline := time.Now().Add(5 * time.Second); open.Load() != 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d connections open after the round, want 0", n)
	}
}
