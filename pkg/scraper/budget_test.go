// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

func TestNewAnswerBudget(t *testing.T) {
	tests := []struct {
		name          string
		memoryLimit   int64
		concurrency   int
		maxAnswer     int64
		wantMaxAnswer int64
	}{
		{"no memory limit: unchanged", math.MaxInt64, 256, 64 << 20, 64 << 20},
		{"the chart's limit keeps the default answer limit", 1843 << 20, 256, 64 << 20, 64 << 20},
		{"a small limit lowers it", 240 << 20, 256, 64 << 20, 20<<20 - 1},
		{"a lower flag stays", 256 << 20, 256, 1 << 20, 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewAnswerBudget(tc.memoryLimit, tc.concurrency, tc.maxAnswer)
			if got := b.MaxAnswer(); got != tc.wantMaxAnswer {
				t.Errorf("MaxAnswer() = %d, want %d", got, tc.wantMaxAnswer)
			}
			// One answer at the limit always fits the budget.
			l := b.Lease()
			if err := l.Wait(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			if err := l.Grow(b.leaseLimit() - 1); err != nil {
				t.Errorf("one answer at the limit does not fit: %v", err)
			}
			l.Release()
		})
	}
}

func TestLease(t *testing.T) {
	b := NewAnswerBudget(4*(3*11), 1, 1000) // 33 bytes: answers of up to 10, all of it a lease
	a, c := b.Lease(), b.Lease()
	if err := a.Wait(context.Background(), 30); err != nil {
		t.Fatal(err)
	}
	if err := a.Grow(3); err != nil {
		t.Fatalf("growing within the budget: %v", err)
	}
	if err := a.Grow(1); !errors.Is(err, ErrBudget) {
		t.Fatalf("growing past an answer's share: %v, want ErrBudget", err)
	}
	if err := c.Grow(20); !errors.Is(err, ErrBudget) {
		t.Fatalf("growing past the budget: %v, want ErrBudget", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Wait(ctx, 20); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting on a full budget: %v, want the deadline", err)
	}
	done := make(chan error)
	go func() { done <- c.Wait(context.Background(), 20) }()
	a.Release()
	if err := <-done; err != nil {
		t.Fatalf("waiting until another lease is released: %v", err)
	}
	c.Release()
	var none *Lease
	if err := errors.Join(none.Wait(context.Background(), 1<<40), none.Grow(1<<40)); err != nil {
		t.Errorf("a nil lease bounds nothing: %v", err)
	}
}

func TestReadAnswer(t *testing.T) {
	const limit = 3000
	tests := []struct {
		name    string
		size    int
		lease   bool
		wantErr error
	}{
		{"empty", 0, true, nil},
		{"below the limit", 2000, true, nil},
		{"at the limit", limit, true, nil},
		{"one byte over", limit + 1, true, errTooLarge},
		{"far over", 10 * limit, false, errTooLarge},
		{"over the lease", limit, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Repeat([]byte{'x'}, tc.size)
			var lease *Lease
			if tc.lease {
				lease = NewAnswerBudget(math.MaxInt64, 1, limit).Lease()
				defer lease.Release()
			}
			var buf bytes.Buffer
			err := readAnswer(&buf, io.MultiReader(bytes.NewReader(in[:tc.size/3]), bytes.NewReader(in[tc.size/3:])), limit, lease)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("readAnswer: %v, want %v", err, tc.wantErr)
			}
			if err == nil && !bytes.Equal(buf.Bytes(), in) {
				t.Errorf("read %d bytes, want %d", buf.Len(), len(in))
			}
			if buf.Cap() > limit+1 {
				t.Errorf("the buffer grew to %d, past the limit", buf.Cap())
			}
			if lease != nil && lease.reserved > lease.budget.leaseLimit() {
				t.Errorf("the lease holds %d bytes, more than a lease may", lease.reserved)
			}
		})
	}
	// A lease that cannot grow stops the read.
	b := NewAnswerBudget(4*3*(limit+1), 1, limit)
	hog := b.Lease()
	if err := hog.Wait(context.Background(), 3*limit-1000); err != nil {
		t.Fatal(err)
	}
	lease := b.Lease()
	var buf bytes.Buffer
	if err := readAnswer(&buf, bytes.NewReader(make([]byte, limit)), limit, lease); !errors.Is(err, ErrBudget) {
		t.Errorf("reading with the budget taken: %v, want ErrBudget", err)
	}
}

// goMemory is the memory the Go runtime holds from the system, what the Go
// memory limit bounds.
func goMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// answerOfSize is a valid kubelet answer of exactly size bytes: a node,
// pods, then comment lines.
func answerOfSize(size int) []byte {
	b := bytes.NewBuffer(kubeletsim.UniformAnswer(200, 2, time.Unix(1_700_000_000, 0)))
	line := "# " + strings.Repeat("p", 1021) + "\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	b.WriteString("#" + strings.Repeat("p", size-b.Len()-2) + "\n")
	return b.Bytes()
}

// TestAnswersAtTheLimitFitTheMemoryLimit: 30 kubelets answering at the
// size limit at once, beside an ordinary one, do not take the process's Go
// memory past its container's limit (the Go memory limit is 90% of it, as
// cmd/metrics-server sets it); the ordinary node is served once it has
// been scraped, and the large answers get through a few at a time.
func TestAnswersAtTheLimitFitTheMemoryLimit(t *testing.T) {
	const containerLimit = 160 << 20
	const memoryLimit = containerLimit / 10 * 9
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(memoryLimit))
	budget := NewAnswerBudget(memoryLimit, 256, 64<<20)
	huge := answerOfSize(int(budget.MaxAnswer()))
	ordinary := kubeletsim.UniformAnswer(30, 2, time.Unix(1_700_000_000, 0))

	var nodes []*corev1.Node
	serve := func(name string, answer []byte) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(answer) }))
		t.Cleanup(srv.Close)
		nodes = append(nodes, kubeletAt(t, name, srv.URL))
	}
	for i := range 30 {
		serve(fmt.Sprintf("huge-%02d", i), huge)
	}
	serve("ordinary", ordinary)
	client, err := NewClient(ClientConfig{
		Rest: &rest.Config{}, Scheme: "http", UseNodeStatusPort: true, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP},
		MaxBodyBytes: budget.MaxAnswer(), CloseAfterRound: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{batches: map[string]int{}}
	s := New(Config{Client: client, Nodes: func() ([]*corev1.Node, error) { return nodes, nil }, Sink: sink,
		RequestTimeout: time.Minute, Concurrency: 256, Budget: budget})

	runtime.GC()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			peak = max(peak, goMemory())
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	served := map[string]int{}
	for round := range 3 {
		sink.batches = map[string]int{}
		if _, err := s.Scrape(context.Background(), false); err != nil {
			t.Fatal(err)
		}
		for name := range sink.batches {
			served[name]++
		}
		for _, n := range nodes {
			if r := s.nodes[n.Name].lastReason; r != "" && r != ReasonBudget {
				t.Errorf("round %d: %s failed with %q, want success or %q", round, n.Name, r, ReasonBudget)
			}
		}
		if _, ok := sink.batches["ordinary"]; round > 0 && !ok && served["ordinary"] > 0 {
			t.Errorf("round %d: the ordinary node, served before, failed", round)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("peak Go memory %d MiB (container limit %d MiB); served per node over 3 rounds: %v", peak>>20, containerLimit>>20, served)
	if peak > containerLimit {
		t.Errorf("peak Go memory %d MiB, past the container's %d MiB limit", peak>>20, containerLimit>>20)
	}
	if served["ordinary"] == 0 || len(served) < 2 {
		t.Errorf("served %v: want the ordinary node and some of the huge ones", served)
	}
}
