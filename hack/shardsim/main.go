// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Command shardsim simulates how replicas that split the scraping would
// assign nodes to each other, and how many nodes change hands when a replica
// joins or leaves, when every replica is replaced in a rollout, and when
// nodes come and go. docs/scaling.md chooses the assignment from its tables.
//
//	go run ./hack/shardsim
//
// Each node that changes hands costs its metrics until the new owner has
// two points for a rate, unless the old owner hands over its last point; a
// node scraped by two replicas at once costs a double scrape. So the fewer
// that move beyond the nodes a change must move, the better, and the more
// even the shares, the fewer replicas a fleet needs.
package main

import (
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
)

// scheme assigns each node to one of the replicas.
type scheme struct {
	name   string
	assign func(nodes, replicas []string) map[string]string
}

var schemes = []scheme{
	{"modulo (hash of the node mod the replica count)", modulo},
	{"ranges (the sorted node names cut into equal runs)", ranges},
	{"consistent-hash ring, 100 points a replica", ring(100)},
	{"rendezvous (highest hash of replica and node)", rendezvous},
}

// mix is a 64-bit hash of the strings, mixed by SplitMix64's finaliser so
// that names that differ in a character spread over the whole range.
func mix(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func modulo(nodes, replicas []string) map[string]string {
	sorted := slices.Sorted(slices.Values(replicas))
	out := make(map[string]string, len(nodes))
	for _, n := range nodes {
		out[n] = sorted[mix(n)%uint64(len(sorted))]
	}
	return out
}

func ranges(nodes, replicas []string) map[string]string {
	sortedNodes := slices.Sorted(slices.Values(nodes))
	sorted := slices.Sorted(slices.Values(replicas))
	out := make(map[string]string, len(nodes))
	for i, n := range sortedNodes {
		out[n] = sorted[i*len(sorted)/len(sortedNodes)]
	}
	return out
}

func ring(points int) func(nodes, replicas []string) map[string]string {
	return func(nodes, replicas []string) map[string]string {
		type point struct {
			at      uint64
			replica string
		}
		var circle []point
		for _, r := range replicas {
			for i := range points {
				circle = append(circle, point{mix(r, strconv.Itoa(i)), r})
			}
		}
		slices.SortFunc(circle, func(a, b point) int {
			if a.at != b.at {
				if a.at < b.at {
					return -1
				}
				return 1
			}
			return strings.Compare(a.replica, b.replica)
		})
		out := make(map[string]string, len(nodes))
		for _, n := range nodes {
			h := mix(n)
			i, _ := slices.BinarySearchFunc(circle, h, func(p point, h uint64) int {
				if p.at < h {
					return -1
				}
				if p.at > h {
					return 1
				}
				return 0
			})
			out[n] = circle[i%len(circle)].replica
		}
		return out
	}
}

func rendezvous(nodes, replicas []string) map[string]string {
	out := make(map[string]string, len(nodes))
	for _, n := range nodes {
		var best uint64
		var owner string
		for _, r := range replicas {
			if w := mix(r, n); owner == "" || w > best || (w == best && r < owner) {
				best, owner = w, r
			}
		}
		out[n] = owner
	}
	return out
}

// moved counts the nodes of both assignments whose owner differs.
func moved(before, after map[string]string) int {
	n := 0
	for node, owner := range after {
		if prev, ok := before[node]; ok && prev != owner {
			n++
		}
	}
	return n
}

// imbalance is the largest share over the mean share.
func imbalance(assignment map[string]string, replicas []string) float64 {
	count := make(map[string]int, len(replicas))
	for _, r := range assignment {
		count[r]++
	}
	most := 0
	for _, r := range replicas {
		most = max(most, count[r])
	}
	return float64(most) / (float64(len(assignment)) / float64(len(replicas)))
}

// outcome is one scheme's figures for one fleet and replica count.
type outcome struct {
	imbalance float64
	// join, leave: the share of all nodes that change hands when one
	// replica joins, or one leaves.
	join, leave float64
	// rollout: nodes that change hands over a rollout that replaces every
	// replica one at a time by one of a new name, as a Deployment does, over
	// the node count.
	rollout float64
	// rolloutStable: the same when each replica comes back under its own
	// name (a StatefulSet's), but only after the others stopped counting it.
	rolloutStable float64
	// nodeChurn: nodes that change hands, besides those added or removed,
	// when a twentieth of the nodes is replaced.
	nodeChurn float64
}

func names(prefix string, n int, rng *rand.Rand) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%06d-%05x", prefix, i, rng.Uint32()&0xfffff)
	}
	return out
}

func simulate(s scheme, nodeCount, replicaCount int, seed uint64) outcome {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	nodes := names("node", nodeCount, rng)
	replicas := names("metrics-server", replicaCount, rng)
	base := s.assign(nodes, replicas)
	var o outcome
	o.imbalance = imbalance(base, replicas)
	n := float64(nodeCount)

	joined := append(slices.Clone(replicas), names("metrics-server-new", 1, rng)...)
	o.join = float64(moved(base, s.assign(nodes, joined))) / n

	gone := rng.IntN(replicaCount)
	left := slices.Delete(slices.Clone(replicas), gone, gone+1)
	o.leave = float64(moved(base, s.assign(nodes, left))) / n

	current, assignment := slices.Clone(replicas), base
	total := 0
	for i, fresh := range names("metrics-server-rolled", replicaCount, rng) {
		// Surge: the new replica joins, then the old one leaves.
		current = append(current, fresh)
		next := s.assign(nodes, current)
		total += moved(assignment, next)
		current = slices.DeleteFunc(current, func(r string) bool { return r == replicas[i] })
		assignment = next
		next = s.assign(nodes, current)
		total += moved(assignment, next)
		assignment = next
	}
	o.rollout = float64(total) / n

	total = 0
	for i := range replicas {
		without := slices.Delete(slices.Clone(replicas), i, i+1)
		down := s.assign(nodes, without)
		total += moved(base, down) + moved(down, s.assign(nodes, replicas))
	}
	o.rolloutStable = float64(total) / n

	churned := slices.Clone(nodes)
	for i := range nodeCount / 20 {
		churned[rng.IntN(nodeCount)] = fmt.Sprintf("node-new-%06d", i)
	}
	o.nodeChurn = float64(moved(base, s.assign(churned, replicas))) / n
	return o
}

func main() {
	nodeCounts := flag.String("nodes", "15000,65000,100000", "fleet sizes, comma-separated")
	replicaCounts := flag.String("replicas", "2,4,8,16", "replica counts, comma-separated")
	seed := flag.Uint64("seed", 1, "seed of the node and replica names")
	flag.Parse()
	fleets, err1 := ints(*nodeCounts)
	rs, err2 := ints(*replicaCounts)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "Error: --nodes and --replicas take positive integers, comma-separated")
		os.Exit(2)
	}
	for _, s := range schemes {
		fmt.Printf("\n%s\n\n", s.name)
		fmt.Println("| nodes | replicas | largest share ÷ mean | one joins: nodes moved | one leaves | rollout, new names (surge 1) | rollout, stable names, each down past its lease | 5% of nodes replaced: others moved |")
		fmt.Println("|---|---|---|---|---|---|---|---|")
		for _, n := range fleets {
			for _, r := range rs {
				o := simulate(s, n, r, *seed)
				fmt.Printf("| %d | %d | %.3f | %s (ideal %s) | %s (ideal %s) | %s | %s | %s |\n",
					n, r, o.imbalance, pct(o.join), pct(1/float64(r+1)), pct(o.leave), pct(1/float64(r)), pct(o.rollout), pct(o.rolloutStable), pct(o.nodeChurn))
			}
		}
	}
}

func ints(list string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(list, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func pct(f float64) string {
	if math.Abs(f) < 0.0005 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}
