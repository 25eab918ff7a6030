// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOnlyTheChangedReplicasNodesMove: under the schemes that hash, a
// replica that joins takes nodes only from the others, and one that leaves
// gives away only its own; nodes that come and go move no other node.
func TestOnlyTheChangedReplicasNodesMove(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	nodes := names("node", 5000, rng)
	replicas := names("replica", 5, rng)
	for _, s := range []scheme{{"ring", ring(100)}, {"rendezvous", rendezvous}} {
		t.Run(s.name, func(t *testing.T) {
			base := s.assign(nodes, replicas)
			joined := s.assign(nodes, append(slices.Clone(replicas), "newcomer"))
			for n, owner := range joined {
				if owner != base[n] && owner != "newcomer" {
					t.Fatalf("node %s moved from %s to %s when a replica joined", n, base[n], owner)
				}
			}
			left := s.assign(nodes, replicas[1:])
			for n, owner := range left {
				if owner != base[n] && base[n] != replicas[0] {
					t.Fatalf("node %s moved from %s to %s when %s left", n, base[n], owner, replicas[0])
				}
			}
			churned := append(slices.Clone(nodes[100:]), "node-new-1", "node-new-2")
			if m := moved(base, s.assign(churned, replicas)); m != 0 {
				t.Errorf("%d nodes moved when nodes came and went", m)
			}
		})
	}
}

// TestShares: what the tables say of each scheme, within the scatter of one
// seed.
func TestShares(t *testing.T) {
	const nodes, replicas = 20000, 4
	tests := []struct {
		s                         scheme
		maxImbalance              float64
		joinAtMost, leaveAtMost   float64
		joinAtLeast, leaveAtLeast float64
		nodeChurnAtLeast          float64
	}{
		{s: scheme{"rendezvous", rendezvous}, maxImbalance: 1.05, joinAtLeast: 0.18, joinAtMost: 0.22, leaveAtLeast: 0.23, leaveAtMost: 0.27},
		{s: scheme{"ring", ring(100)}, maxImbalance: 1.15, joinAtLeast: 0.14, joinAtMost: 0.26, leaveAtLeast: 0.18, leaveAtMost: 0.32},
		// Modulo moves most nodes when the count changes.
		{s: scheme{"modulo", modulo}, maxImbalance: 1.05, joinAtLeast: 0.75, joinAtMost: 0.85, leaveAtLeast: 0.70, leaveAtMost: 0.80},
		// Ranges are even, but every change shifts their bounds.
		{s: scheme{"ranges", ranges}, maxImbalance: 1.0001, joinAtLeast: 0.45, joinAtMost: 0.55, leaveAtLeast: 0.25, leaveAtMost: 0.55, nodeChurnAtLeast: 0.02},
	}
	for _, tt := range tests {
		t.Run(tt.s.name, func(t *testing.T) {
			o := simulate(tt.s, nodes, replicas, 1)
			if o.imbalance > tt.maxImbalance {
				t.Errorf("largest share %.3f× the mean, want at most %.3f×", o.imbalance, tt.maxImbalance)
			}
			if o.join < tt.joinAtLeast || o.join > tt.joinAtMost {
				t.Errorf("a join moved %.3f of the nodes, want %.2f–%.2f", o.join, tt.joinAtLeast, tt.joinAtMost)
			}
			if o.leave < tt.leaveAtLeast || o.leave > tt.leaveAtMost {
				t.Errorf("a leave moved %.3f of the nodes, want %.2f–%.2f", o.leave, tt.leaveAtLeast, tt.leaveAtMost)
			}
			if o.nodeChurn < tt.nodeChurnAtLeast || (tt.nodeChurnAtLeast == 0 && o.nodeChurn != 0) {
				t.Errorf("node churn moved %.3f of the other nodes, want at least %.2f (0 if 0)", o.nodeChurn, tt.nodeChurnAtLeast)
			}
		})
	}
}
