// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/server/healthz"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubemetrics/metrics-server/pkg/sample"
	"github.com/kubemetrics/metrics-server/pkg/scraper"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

var t0 = time.Unix(1_700_000_000, 0)

// write stores a point of node with one container at time at.
func write(store *storage.Store, node string, at time.Time, cpu uint64) {
	p := sample.Point{CPUTime: at.UnixNano(), MemoryTime: at.UnixNano(), CPU: cpu, Memory: 1 << 20, Fields: sample.HasCPU | sample.HasMemory}
	store.Write(node, &sample.Batch{Node: p, Containers: []sample.Container{
		{Namespace: "ns", Pod: "pod-" + node, Name: "c", StartTime: t0.Add(-time.Hour).UnixNano(), Point: p},
	}}, at)
}

// round is one call of the scrape loop's scraper.
type round struct {
	at      time.Duration // after t0
	stagger bool
}

func (r round) String() string { return fmt.Sprintf("%v stagger=%v", r.at, r.stagger) }

// steppedScraper records each round and waits for the test to let it
// finish; from round servableFrom on, it writes a point of every node, so
// they become servable one round later.
type steppedScraper struct {
	clock        *clocktesting.FakeClock
	store        *storage.Store
	nodes        []string
	servableFrom int
	rounds       chan round
	release      chan struct{}
	n            int
}

func (f *steppedScraper) Scrape(ctx context.Context, stagger bool) (scraper.Result, error) {
	f.n++
	if f.servableFrom > 0 && f.n >= f.servableFrom {
		for _, node := range f.nodes {
			write(f.store, node, f.clock.Now(), uint64(f.n)*1e9)
		}
	}
	f.rounds <- round{f.clock.Since(t0), stagger}
	<-f.release
	return scraper.Result{Nodes: len(f.nodes)}, nil
}

// TestScrapeLoop drives the loop on a fake clock: the first round at once,
// warm-up rounds 1, 2, 4, 8 … s apart without stagger until every node is
// served or the next regular round is nearer, then a staggered round every
// resolution. Each round is checked not to come a moment early, and the
// warm-up to be declared over after the right round.
func TestScrapeLoop(t *testing.T) {
	for _, tc := range []struct {
		name         string
		resolution   time.Duration
		servableFrom int // 0: never
		want         []round
		warmedUp     int // the round after which the warm-up is over
	}{
		{"warm-up until the nodes are served", 60 * time.Second, 2,
			[]round{{0, false}, {time.Second, false}, {3 * time.Second, false}, {time.Minute, true}, {2 * time.Minute, true}}, 2},
		{"warm-up until the next regular round is nearer", 30 * time.Second, 0,
			[]round{{0, false}, {time.Second, false}, {3 * time.Second, false}, {7 * time.Second, false}, {15 * time.Second, false},
				{30 * time.Second, true}, {time.Minute, true}}, 4},
		{"no warm-up when the resolution is short", 2 * time.Second, 0,
			[]round{{0, false}, {2 * time.Second, true}, {4 * time.Second, true}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(t0)
			store := storage.New(storage.Config{Resolution: tc.resolution, StaleAfter: 2 * tc.resolution, Clock: clk})
			fake := &steppedScraper{clock: clk, store: store, nodes: []string{"a", "b"}, servableFrom: tc.servableFrom,
				rounds: make(chan round), release: make(chan struct{})}
			s := &Server{scraper: fake, store: store, resolution: tc.resolution, clock: clk,
				nodes: func() ([]string, error) { return fake.nodes, nil }, warmedUp: make(chan struct{})}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.scrapeLoop(ctx); close(done) }()
			defer func() { cancel(); <-done }()

			var got []round
			for i, want := range tc.want {
				if i > 0 {
					// A moment before its time, no round may start.
					clk.SetTime(t0.Add(want.at - time.Millisecond))
					select {
					case r := <-fake.rounds:
						t.Fatalf("after %v, a round at %v; want the next at %v", got, r.at, want.at)
					case <-time.After(20 * time.Millisecond):
					}
					clk.SetTime(t0.Add(want.at))
				}
				select {
				case r := <-fake.rounds:
					got = append(got, r)
				case <-time.After(10 * time.Second):
					t.Fatalf("after %v, no round at %v", got, want.at)
				}
				// While a round runs, the loop has judged the rounds before.
				select {
				case <-s.warmedUp:
					if i <= tc.warmedUp {
						t.Errorf("warm-up over during round %d, want after round %d", i, tc.warmedUp)
					}
				default:
					if i > tc.warmedUp {
						t.Errorf("warm-up not over during round %d, want after round %d", i, tc.warmedUp)
					}
				}
				fake.release <- struct{}{}
				if i+1 < len(tc.want) && !tc.want[i+1].stagger {
					// The loop sets its warm-up timer (beside the ticker)
					// before the clock may move.
					waitFor(t, func() bool { return clk.Waiters() == 2 })
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("rounds %v\nwant   %v", got, tc.want)
			}
		})
	}
}

// waitFor polls cond, in real time, for what a goroutine does next.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("not within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHealthChecks: each probe's checks fail exactly in the states upstream's
// do.
func TestHealthChecks(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0.Add(time.Minute))
	served := storage.New(storage.Config{Resolution: 15 * time.Second, StaleAfter: time.Minute, Clock: clk})
	write(served, "a", t0.Add(45*time.Second), 0)
	write(served, "a", t0.Add(55*time.Second), 1e9)
	empty := storage.New(storage.Config{Resolution: 15 * time.Second, StaleAfter: time.Minute, Clock: clk})
	yes, no := func() bool { return true }, func() bool { return false }
	for _, tc := range []struct {
		name                    string
		store                   *storage.Store
		nodesSynced, podsSynced func() bool
		lastTick                time.Duration // before now; 0: no round yet
		// failing lists the failing checks, by probe.
		readyz, livez, healthz string
	}{
		{"serving", served, yes, yes, 10 * time.Second, "", "", ""},
		{"starting: no metrics, informers syncing, no round yet", empty, no, no, 0,
			"metric-storage-ready metric-informer-sync", "", "metadata-informer-sync"},
		{"pods not synced", served, yes, no, 10 * time.Second, "metric-informer-sync", "", "metadata-informer-sync"},
		{"nodes not synced", served, no, yes, 10 * time.Second, "metric-informer-sync", "", ""},
		{"last round 1.5 resolutions ago", served, yes, yes, 22500 * time.Millisecond, "", "", ""},
		{"last round more than 1.5 resolutions ago", served, yes, yes, 23 * time.Second, "", "metric-collection-timely", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{store: tc.store, nodesSynced: tc.nodesSynced, podsSynced: tc.podsSynced, clock: clk, resolution: 15 * time.Second}
			if tc.lastTick > 0 {
				s.lastTickStart.Store(clk.Now().Add(-tc.lastTick).UnixNano())
			}
			for _, probe := range []struct {
				name, want string
				checks     []healthz.HealthChecker
			}{
				{"readyz", tc.readyz, s.readyzChecks()},
				{"livez", tc.livez, s.livezChecks()},
				{"healthz", tc.healthz, s.healthChecks()},
			} {
				var failing []string
				for _, c := range probe.checks {
					if c.Check(httptest.NewRequest("GET", "/"+probe.name, nil)) != nil {
						failing = append(failing, c.Name())
					}
				}
				if got := strings.Join(failing, " "); got != probe.want {
					t.Errorf("%s: failing %q, want %q", probe.name, got, probe.want)
				}
			}
		})
	}
}
