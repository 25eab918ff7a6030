//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
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
