// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"math"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubemetrics/metrics-server/pkg/sample"
	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// The differential test holds the fast decoder to expfmt's TextParser, the
// reference implementation of the format:
//   - every input expfmt accepts, the decoder accepts, and it reads the same
//     values from it (exact decimal conversion may differ from a float64
//     round trip by one unit in the last place);
//   - decoding the same input with a cold and a warm block cache gives the
//     same batch.
// The decoder checks comment lines less strictly than expfmt (a second HELP
// line, say, is ignored), so it may accept inputs that expfmt rejects; sample
// lines it checks as strictly.

const diffNow = int64(1_700_000_000_000_000_000)

type wantContainer struct {
	point sample.Point
	start int64
}

type expectation struct {
	node       sample.Point
	containers map[[3]string]*wantContainer
	skipped    int
	kubeletErr bool
}

// expectFromExpfmt computes what the decoder must return from expfmt's view
// of the input. ok is false when expfmt rejects the input or reads a consumed
// family as a histogram or summary, which no kubelet sends.
func expectFromExpfmt(in []byte) (exp expectation, ok bool) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(in))
	if err != nil {
		return exp, false
	}
	exp.containers = map[[3]string]*wantContainer{}
	for name, mf := range mfs {
		fam := familyOf([]byte(name))
		if fam == famOther {
			continue
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
		default:
			return exp, false
		}
		for _, m := range mf.GetMetric() {
			applyExpected(&exp, fam, m)
		}
	}
	return exp, true
}

func applyExpected(exp *expectation, fam family, m *dto.Metric) {
	var f float64
	switch {
	case m.Counter != nil:
		f = m.Counter.GetValue()
	case m.Gauge != nil:
		f = m.Gauge.GetValue()
	default:
		f = m.Untyped.GetValue()
	}
	scale := 1.0
	if fam == famNodeCPU || fam == famContainerCPU || fam == famContainerStart {
		scale = 1e9
	}
	scaled := f * scale
	usable := scaled >= 0 && scaled < math.MaxUint64
	v := uint64(math.Round(scaled))
	if fam == famScrapeError {
		exp.kubeletErr = exp.kubeletErr || (usable && v > 0)
		return
	}
	at := diffNow
	if m.TimestampMs != nil {
		ms := m.GetTimestampMs()
		if ms <= 0 || ms > math.MaxInt64/int64(1e6) {
			usable = false
		}
		at = ms * 1e6
	}
	if !usable {
		exp.skipped++
		return
	}
	var p *sample.Point
	var wc *wantContainer
	switch fam {
	case famNodeCPU, famNodeMemory, famNodeSwap:
		p = &exp.node
	default:
		var key [3]string
		var n int
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "namespace":
				key[0] = l.GetValue()
				n |= 1
			case "pod":
				key[1] = l.GetValue()
				n |= 2
			case "container":
				key[2] = l.GetValue()
				n |= 4
			}
		}
		if n != 7 {
			exp.skipped++
			return
		}
		if fam == famContainerStart && v > math.MaxInt64 {
			exp.skipped++
			return
		}
		if wc = exp.containers[key]; wc == nil {
			wc = &wantContainer{}
			exp.containers[key] = wc
		}
		p = &wc.point
	}
	switch fam {
	case famNodeCPU, famContainerCPU:
		p.CPU, p.CPUTime = v, at
		p.Fields |= sample.HasCPU
	case famNodeMemory, famContainerMemory:
		p.Memory, p.MemoryTime = v, at
		p.Fields |= sample.HasMemory
	case famNodeSwap, famContainerSwap:
		p.Swap = v
		p.Fields |= sample.HasSwap
	case famContainerStart:
		wc.start = int64(v)
	}
}

// close enough: exact decimal conversion against float64 arithmetic.
func valuesAgree(got, want uint64) bool {
	diff := float64(got) - float64(want)
	return math.Abs(diff) <= 1+float64(want)*0x1p-50
}

func pointsAgree(got, want sample.Point) bool {
	return got.Fields == want.Fields && got.CPUTime == want.CPUTime && got.MemoryTime == want.MemoryTime &&
		valuesAgree(got.CPU, want.CPU) && valuesAgree(got.Memory, want.Memory) && valuesAgree(got.Swap, want.Swap)
}

func checkAgainstExpfmt(t *testing.T, in []byte) {
	t.Helper()
	cold := NewDecoder()
	var got, again sample.Batch
	err := cold.Decode(in, diffNow, &got)
	errAgain := cold.Decode(in, diffNow, &again)
	if (err == nil) != (errAgain == nil) {
		t.Fatalf("cold decode error %v, warm decode error %v", err, errAgain)
	}
	if err == nil && !batchesEqual(&got, &again) {
		t.Fatalf("warm decode differs from cold decode:\n%+v\n%+v", got, again)
	}
	exp, ok := expectFromExpfmt(in)
	if !ok {
		return
	}
	if err != nil {
		t.Fatalf("expfmt accepts the input but the decoder fails: %v", err)
	}
	if !pointsAgree(got.Node, exp.node) {
		t.Errorf("node = %+v, expfmt reads %+v", got.Node, exp.node)
	}
	if got.Skipped != exp.skipped || got.KubeletError != exp.kubeletErr {
		t.Errorf("skipped %d, kubelet error %v; expfmt gives %d, %v", got.Skipped, got.KubeletError, exp.skipped, exp.kubeletErr)
	}
	if len(got.Containers) != len(exp.containers) {
		t.Fatalf("%d containers, expfmt reads %d", len(got.Containers), len(exp.containers))
	}
	for _, c := range got.Containers {
		w := exp.containers[[3]string{c.Namespace, c.Pod, c.Name}]
		if w == nil {
			t.Fatalf("container %q/%q/%q is not in expfmt's reading", c.Namespace, c.Pod, c.Name)
		}
		if !pointsAgree(c.Point, w.point) || !valuesAgree(uint64(c.StartTime), uint64(w.start)) {
			t.Errorf("container %q/%q/%q = %+v start %d, expfmt reads %+v start %d", c.Namespace, c.Pod, c.Name, c.Point, c.StartTime, w.point, w.start)
		}
	}
}

func batchesEqual(a, b *sample.Batch) bool {
	if a.Node != b.Node || a.Skipped != b.Skipped || a.KubeletError != b.KubeletError || len(a.Containers) != len(b.Containers) {
		return false
	}
	for i := range a.Containers {
		if a.Containers[i] != b.Containers[i] {
			return false
		}
	}
	return true
}

func diffSeeds() [][]byte {
	at := time.Unix(1795367948, 123e6)
	seeds := [][]byte{
		kubeletsim.AppendResourceMetrics(nil, testNode(3, 2, at)),
		kubeletsim.AppendResourceMetrics(nil, &kubeletsim.NodeStats{Time: at, CPUNanos: 1, MemoryBytes: 2, WithSwap: true, ScrapeError: true,
			Pods: []kubeletsim.PodStats{{Namespace: "n", Name: "p", Containers: []kubeletsim.ContainerStats{{Name: "c", Time: at, CPUNanos: 3, MemoryBytes: 4, SwapBytes: 5}}}}}),
		[]byte("node_cpu_usage_seconds_total 1e400\n"),
		[]byte("node_cpu_usage_seconds_total 18446744073.709551615 5\n"),
		[]byte("container_start_time_seconds{container=\"a\",namespace=\"n\",pod=\"p\"} 9.3e9\n"),
		[]byte("{container_cpu_usage_seconds_total,container=\"a\",namespace=\"n\",pod=\"p\"} 1\n"),
		[]byte("{container=\"a\",namespace=\"n\",pod=\"p\",\"container_cpu_usage_seconds_total\"} 1 +5\n"),
		[]byte("container_cpu_usage_seconds_total{container=\"a\",namespace=\"n\",pod=\"p\"}1\n"),
		[]byte("node_memory_working_set_bytes{} .5e1 5\nnode_memory_working_set_bytes 7 6\n"),
		[]byte("resource_scrape_error 0.5\n# TYPE x summary\nx{quantile=\"0.5\"} 1\n"),
	}
	for _, tc := range []string{
		`container_cpu_usage_seconds_total{container="a\"b",namespace="n",pod="p"} 1 5`,
		`container_memory_working_set_bytes{container="a",namespace="n",pod="p"} 1.253376e+07 5`,
		"\t node_cpu_usage_seconds_total\t1\t5",
		"node_cpu_usage_seconds_total NaN",
		"node_cpu_usage_seconds_total -Inf 0",
		// A value glued to a label block after a blank (found by FuzzDecode).
		"A {}0",
		"node_cpu_usage_seconds_total {}1 5",
		`container_cpu_usage_seconds_total {container="a b",namespace="n",pod="p"}1 5`,
		// Quoted names hold any byte; the name must be UTF-8 (found by
		// FuzzDecode in a 30-minute run).
		"{\"0\u00c0\"}0",
		"{\"a\xff\"}1",
		"\"m\u00e9trique\"{\"l\u00e9\"=\"v\",\"\xfe\"=\"w\"} 1",
		"\"caf\u00e9\"{\"l\u00e9\"=\"v\"} 1",
		"container_cpu_usage_seconds_total{\"container\"=\"a\",\"namespace\"=\"n\",\"pod\"=\"p\",\"z\u00e9\"=\"\"} 2 5",
	} {
		seeds = append(seeds, []byte(tc+"\n"))
	}
	return seeds
}

func TestDecodeAgreesWithExpfmt(t *testing.T) {
	for _, in := range diffSeeds() {
		checkAgainstExpfmt(t, in)
	}
}

// FuzzDecode runs the differential check on inputs the fuzzer finds:
// go test -fuzz=FuzzDecode ./pkg/scraper/
func FuzzDecode(f *testing.F) {
	for _, in := range diffSeeds() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkAgainstExpfmt(t, in)
	})
}

// BenchmarkDecodeExpfmt is the baseline BenchmarkDecode is compared with:
// expfmt's TextParser on the same payload.
func BenchmarkDecodeExpfmt(b *testing.B) {
	payload := kubeletsim.AppendResourceMetrics(nil, testNode(110, 2, time.Unix(1795367948, 0)))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		parser := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := parser.TextToMetricFamilies(bytes.NewReader(payload)); err != nil {
			b.Fatal(err)
		}
	}
}
