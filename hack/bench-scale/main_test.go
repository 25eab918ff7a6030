// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"

	gprofile "github.com/google/pprof/profile"
)

func TestWriteRow(t *testing.T) {
	row := func(nodes, cpu string) string { return "| " + nodes + " × 30 × 2 | 15s | " + cpu + " |" }
	doc := func(rows ...string) string {
		return "# Doc\n\n<!-- bench-scale:begin -->\n" + tableHeader + "\n" + strings.Join(rows, "\n") + "\n<!-- bench-scale:end -->\n\nAfter.\n"
	}
	tests := []struct {
		name     string
		existing []string
		nodes    string
		want     []string
	}{
		{
			name:     "first row",
			existing: nil,
			nodes:    "500",
			want:     []string{row("500", "new")},
		},
		{
			name:     "rows sort by node count, not as text",
			existing: []string{row("100", "a"), row("500", "b"), row("5000", "c")},
			nodes:    "1000",
			want:     []string{row("100", "a"), row("500", "b"), row("1000", "new"), row("5000", "c")},
		},
		{
			name:     "a size measured again replaces its row in place",
			existing: []string{row("100", "a"), row("500", "b"), row("1000", "c")},
			nodes:    "500",
			want:     []string{row("100", "a"), row("500", "new"), row("1000", "c")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "performance.md")
			if err := os.WriteFile(path, []byte(doc(tt.existing...)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := writeRow(path, sectionThisServer, "| "+tt.nodes+" × 30 × 2 |", row(tt.nodes, "new")); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := doc(tt.want...); string(got) != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestWriteRowSections: the compared server's row goes to its own table
// and leaves this server's row of the same size alone.
func TestWriteRowSections(t *testing.T) {
	table := func(section, row string) string {
		return "<!-- " + section + ":begin -->\n" + tableHeader + "\n" + row + "\n<!-- " + section + ":end -->\n"
	}
	const ours, theirs = "| 500 × 30 × 2 | 15s | 19 m |", "| 500 × 30 × 2 | 15s | 64 m |"
	path := filepath.Join(t.TempDir(), "performance.md")
	before := table(sectionThisServer, ours) + "\n" + table(sectionCompared, "| 500 × 30 × 2 | 15s | old |")
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeRow(path, sectionCompared, "| 500 × 30 × 2 |", theirs); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := table(sectionThisServer, ours) + "\n" + table(sectionCompared, theirs); string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWriteRowWithoutSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "performance.md")
	if err := os.WriteFile(path, []byte("# Doc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeRow(path, sectionThisServer, "| 500 × 30 × 2 |", "| 500 × 30 × 2 | x |"); err == nil {
		t.Error("no error for a file without the bench-scale section")
	}
}

func TestBucketCounts(t *testing.T) {
	inf := math.Inf(1)
	before := bucketCounts{bounds: []float64{0.01, 0.1, 1, inf}, counts: []float64{5, 5, 5, 5}}
	after := bucketCounts{bounds: []float64{0.01, 0.1, 1, inf}, counts: []float64{95, 103, 104, 105}}
	load := after.since(before)
	tests := []struct {
		q    float64
		want float64
	}{
		{0.5, 0.01}, // 90 of 100 within 10 ms
		{0.9, 0.01}, // exactly the 90th
		{0.95, 0.1}, // 98 within 100 ms
		{0.99, 1},   // 99 within 1 s
		{1, inf},    // the last one took longer
	}
	if load.count() != 100 {
		t.Fatalf("count %v, want 100", load.count())
	}
	for _, tt := range tests {
		if got := load.quantileBound(tt.q); got != tt.want {
			t.Errorf("quantileBound(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := (bucketCounts{}).quantileBound(0.5); !math.IsNaN(got) {
		t.Errorf("empty histogram: %v, want NaN", got)
	}
}

func TestServerMetrics(t *testing.T) {
	const exposition = `# HELP apiserver_request_duration_seconds Response latency.
# TYPE apiserver_request_duration_seconds histogram
apiserver_request_duration_seconds_bucket{resource="pods",scope="namespace",verb="LIST",version="v1beta1",le="0.005"} 8
apiserver_request_duration_seconds_bucket{resource="pods",scope="namespace",verb="LIST",version="v1beta1",le="0.1"} 9
apiserver_request_duration_seconds_bucket{resource="pods",scope="namespace",verb="LIST",version="v1beta1",le="+Inf"} 10
apiserver_request_duration_seconds_sum{resource="pods",scope="namespace",verb="LIST",version="v1beta1"} 1
apiserver_request_duration_seconds_count{resource="pods",scope="namespace",verb="LIST",version="v1beta1"} 10
apiserver_request_duration_seconds_bucket{resource="pods",scope="namespace",verb="LIST",version="v1",le="0.005"} 0
apiserver_request_duration_seconds_bucket{resource="pods",scope="namespace",verb="LIST",version="v1",le="0.1"} 0
apiserver_request_duration_seconds_bucket{resource="pods",scope="namespace",verb="LIST",version="v1",le="+Inf"} 10
apiserver_request_duration_seconds_sum{resource="pods",scope="namespace",verb="LIST",version="v1"} 20
apiserver_request_duration_seconds_count{resource="pods",scope="namespace",verb="LIST",version="v1"} 10
apiserver_request_duration_seconds_bucket{resource="pods",scope="cluster",verb="LIST",version="v1beta1",le="0.005"} 100
apiserver_request_duration_seconds_bucket{resource="pods",scope="cluster",verb="LIST",version="v1beta1",le="0.1"} 100
apiserver_request_duration_seconds_bucket{resource="pods",scope="cluster",verb="LIST",version="v1beta1",le="+Inf"} 100
apiserver_request_duration_seconds_sum{resource="pods",scope="cluster",verb="LIST",version="v1beta1"} 0.1
apiserver_request_duration_seconds_count{resource="pods",scope="cluster",verb="LIST",version="v1beta1"} 100
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 4.194304e+07
# TYPE metrics_server_manager_tick_duration_seconds histogram
metrics_server_manager_tick_duration_seconds_bucket{le="1"} 2
metrics_server_manager_tick_duration_seconds_bucket{le="+Inf"} 3
metrics_server_manager_tick_duration_seconds_sum 4.5
metrics_server_manager_tick_duration_seconds_count 3
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, exposition) }))
	defer srv.Close()
	addr := metricsSource{client: srv.Client(), url: srv.URL + "/metrics"}
	if got, err := gauge(addr, "go_memstats_heap_inuse_bytes"); err != nil || got != 40<<20 {
		t.Errorf("gauge: %v, %v; want %v", got, err, 40<<20)
	}
	if got, err := tickStats(addr); err != nil || got != (histogram{sum: 4.5, count: 3}) {
		t.Errorf("tickStats: %+v, %v; want sum 4.5, count 3", got, err)
	}
	h, err := listDurations(addr, "namespace")
	want := bucketCounts{bounds: []float64{0.005, 0.1, math.Inf(1)}, counts: []float64{8, 9, 20}}
	if err != nil || !slices.Equal(h.bounds, want.bounds) || !slices.Equal(h.counts, want.counts) {
		t.Errorf("got %+v, %v; want %+v (both API versions, namespace scope only)", h, err, want)
	}
	// A reading that cannot be made is an error, never a zero.
	unreachable := metricsSource{client: http.DefaultClient, url: "http://127.0.0.1:1/metrics"} // nothing listens
	refused := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusForbidden) }))
	defer refused.Close()
	forbidden := metricsSource{client: refused.Client(), url: refused.URL + "/metrics"}
	for name, read := range map[string]func(metricsSource) error{
		"gauge":         func(a metricsSource) error { _, err := gauge(a, "go_memstats_heap_inuse_bytes"); return err },
		"tickStats":     func(a metricsSource) error { _, err := tickStats(a); return err },
		"listDurations": func(a metricsSource) error { _, err := listDurations(a, "namespace"); return err },
	} {
		for _, src := range []metricsSource{unreachable, forbidden} {
			if err := read(src); err == nil {
				t.Errorf("%s of %s: no error", name, src.url)
			}
		}
	}
	if _, err := gauge(addr, "absent"); err == nil {
		t.Error("an absent gauge: no error")
	}
}

// TestProcReadings: CPU time and memory are read from /proc, and a process
// that is gone is an error, not a zero.
func TestProcReadings(t *testing.T) {
	self := os.Getpid()
	if cpu, err := cpuSeconds(self); err != nil || cpu < 0 {
		t.Errorf("cpuSeconds: %v, %v", cpu, err)
	}
	if rss, err := rssMiB(self, "VmRSS"); err != nil || rss <= 0 {
		t.Errorf("VmRSS: %v, %v", rss, err)
	}
	if _, err := rssMiB(self, "VmNothing"); err == nil {
		t.Error("an absent field: no error")
	}
	// The parts are both there and add up to about the whole (the three
	// are read at different moments of the kernel's accounting).
	r, err := residentMiB(self)
	if err != nil || r.file <= 0 || r.anonymous <= 0 || r.file+r.anonymous > r.all*1.1 || r.file+r.anonymous < r.all*0.9 {
		t.Errorf("residentMiB: %+v, %v", r, err)
	}
	gone := 1 << 30 // above pid_max
	if _, err := cpuSeconds(gone); err == nil {
		t.Error("cpuSeconds of a gone process: no error")
	}
	if _, err := rssMiB(gone, "VmHWM"); err == nil {
		t.Error("VmHWM of a gone process: no error")
	}
	if _, err := residentMiB(gone); err == nil {
		t.Error("the resident memory of a gone process: no error")
	}
}

// TestLiveHeap: the heap is read after the server was asked to collect,
// with the profile kept; a server that refuses the profile (profiling off)
// is an error, and so is one that answers with no profile.
func TestLiveHeap(t *testing.T) {
	var profile bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&profile, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		profiling bool
		body      []byte
	}{
		{"profiling on", true, profile.Bytes()},
		{"profiling off", false, nil},
		{"not a profile", true, []byte("heap profile: 0: 0 [0: 0] @ heap/0\nnonsense\n")},
	} {
		collected := false
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/debug/pprof/heap" && tc.profiling && r.URL.Query().Get("gc") == "1":
				collected = true
				_, _ = w.Write(tc.body)
			case r.URL.Path == "/metrics" && collected:
				_, _ = io.WriteString(w, "# TYPE go_memstats_heap_alloc_bytes gauge\ngo_memstats_heap_alloc_bytes 1.048576e+07\n")
			default:
				http.NotFound(w, r)
			}
		}))
		file := filepath.Join(t.TempDir(), "heap.pb.gz")
		live, shares, err := liveHeap(metricsSource{client: srv.Client(), url: srv.URL + "/metrics"}, file)
		srv.Close()
		valid := tc.profiling && tc.body != nil && bytes.Equal(tc.body, profile.Bytes())
		if valid {
			if err != nil || live != 10<<20 || shares == nil {
				t.Errorf("%s: %v, %v, %v; want 10 MiB and shares", tc.name, live, shares, err)
			}
			if kept, err := os.ReadFile(file); err != nil || !bytes.Equal(kept, tc.body) {
				t.Errorf("%s: profile not kept in %s: %v", tc.name, file, err)
			}
		} else if err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestCategorize: an allocation belongs to the first category one of whose
// patterns is anywhere in its stack, for this server's package paths and
// upstream's; the rest is "other".
func TestCategorize(t *testing.T) {
	fn := map[string]*gprofile.Function{}
	loc := func(names ...string) []*gprofile.Location {
		var locs []*gprofile.Location
		for _, n := range names {
			if fn[n] == nil {
				fn[n] = &gprofile.Function{ID: uint64(len(fn) + 1), Name: n}
			}
			locs = append(locs, &gprofile.Location{Line: []gprofile.Line{{Function: fn[n]}}})
		}
		return locs
	}
	p := &gprofile.Profile{
		SampleType: []*gprofile.ValueType{{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}},
		Sample: []*gprofile.Sample{
			{Value: []int64{1, 100}, Location: loc("runtime.slicebytetostring", "github.com/kubemetrics/metrics-server/pkg/scraper.(*Decoder).containerRefOf", "github.com/kubemetrics/metrics-server/pkg/scraper.(*Scraper).scrapeNode")},
			{Value: []int64{1, 20}, Location: loc("bytes.growSlice", "github.com/kubemetrics/metrics-server/pkg/scraper.(*Client).Fetch")},
			{Value: []int64{1, 3}, Location: loc("sigs.k8s.io/metrics-server/pkg/storage.(*podStorage).Store")},
			{Value: []int64{1, 4}, Location: loc("github.com/kubemetrics/metrics-server/pkg/storage.(*Store).Write", "github.com/kubemetrics/metrics-server/pkg/scraper.(*Scraper).scrapeNode")},
			{Value: []int64{1, 50}, Location: loc("crypto/tls.(*Conn).readRecordOrCCS", "net/http.(*persistConn).readLoop")},
			{Value: []int64{1, 30}, Location: loc("net/http.(*http2Transport).newClientConn.http2NewFramer.func2", "net/http.(*http2ClientConn).readLoop")},
			{Value: []int64{1, 40}, Location: loc("crypto/tls.(*Conn).readRecordOrCCS", "github.com/kubemetrics/metrics-server/pkg/scraper/internal/kubelethttp.(*Transport).exchange", "github.com/kubemetrics/metrics-server/pkg/scraper.(*Client).Fetch")},
			{Value: []int64{1, 6}, Location: loc("net.newFD", "net.(*Dialer).DialContext", "github.com/kubemetrics/metrics-server/pkg/scraper.(*Client).dialKubelet.func1")},
			{Value: []int64{1, 7}, Location: loc("encoding/json.Unmarshal", "k8s.io/client-go/tools/cache.(*Reflector).watch")},
			{Value: []int64{1, 5}, Location: loc("k8s.io/apimachinery/pkg/apis/meta/v1.(*ObjectMeta).Unmarshal", "k8s.io/apimachinery/pkg/watch.(*StreamWatcher).receive")},
			{Value: []int64{1, 2}, Location: loc("github.com/kubemetrics/metrics-server/pkg/podindex.(*Trimmer).shared", "github.com/kubemetrics/metrics-server/pkg/podindex.(*Trimmer).Trim")},
			{Value: []int64{1, 9}, Location: loc("runtime.malg")},
		},
	}
	got, err := categorize(p)
	if err != nil {
		t.Fatal(err)
	}
	want := heapShares{
		"decoder (series caches)":    100,
		"scraper (answers, batches)": 20,
		"store":                      7,
		"client connections (kubelets, kube-apiserver)": 126,
		"informers (nodes, pods)":                       14,
		otherCategory:                                   9,
	}
	if !maps.Equal(got, want) {
		t.Errorf("categorize = %v, want %v", got, want)
	}
	p.SampleType = p.SampleType[:1]
	if _, err := categorize(p); err == nil {
		t.Error("a profile without inuse_space: no error")
	}
}
