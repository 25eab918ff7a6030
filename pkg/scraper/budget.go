// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"context"
	"errors"
	"fmt"
	"math"

	"golang.org/x/sync/semaphore"
)

// AnswerBudget bounds the memory held by kubelet answers in flight, so that
// many kubelets answering at the size limit at once cannot take the process
// past its memory limit, whatever --kubelet-scrape-concurrency allows.
//
// Each request holds a Lease on it for as long as its answer buffer is in
// use (reading and decoding). The lease's first reservation, the buffer it
// starts with, waits for room: a waiter holds nothing, so waits cannot
// deadlock. Growing the buffer past it only takes what is free, and the
// node fails (ReasonBudget) when nothing is: an honest kubelet answers
// about the same size each round and its buffer starts at that size, so it
// waits rather than fails, while an answer that keeps growing gives way.
type AnswerBudget struct {
	sem       *semaphore.Weighted
	maxAnswer int64
}

// budgetShareOfMemoryLimit is the part of the Go memory limit that answers
// in flight may hold; the rest is for the store, the informers' caches and
// the API's answers.
const budgetShareOfMemoryLimit = 4

// NewAnswerBudget returns the budget for a process whose Go memory limit
// is memoryLimit (math.MaxInt64: none). With a limit, answers in flight
// may hold a quarter of it; without one, every request may hold an answer
// of maxAnswer, as if there were no budget.
func NewAnswerBudget(memoryLimit int64, concurrency int, maxAnswer int64) *AnswerBudget {
	size := memoryLimit / budgetShareOfMemoryLimit
	if memoryLimit == math.MaxInt64 || memoryLimit <= 0 {
		size = growthAllowance * (maxAnswer + 1) * int64(max(concurrency, 1))
	}
	return &AnswerBudget{sem: semaphore.NewWeighted(size), maxAnswer: min(maxAnswer, size/growthAllowance-1)}
}

// growthAllowance: a buffer grown by doubling has allocated up to three
// times the limit by the time it holds an answer at the limit (the smaller
// buffers before the last add up to twice it), and all of it counts until
// the lease ends: the smaller buffers are garbage the collector has not
// taken yet. One answer at the limit therefore always fits.
const growthAllowance = 3

// MaxAnswer is the largest answer the budget lets one request read: the
// configured limit, or less when the budget is too small for it.
func (b *AnswerBudget) MaxAnswer() int64 { return b.maxAnswer }

// leaseLimit is the most one lease may hold: an answer of maxAnswer bytes
// and the one byte more that tells it is too large, grown by doubling.
func (b *AnswerBudget) leaseLimit() int64 { return growthAllowance * (b.maxAnswer + 1) }

// Lease is one request's share of the budget. Not safe for concurrent use.
type Lease struct {
	budget   *AnswerBudget
	reserved int64
}

// Lease starts a request's share, holding nothing yet.
func (b *AnswerBudget) Lease() *Lease { return &Lease{budget: b} }

// ErrBudget is the error of a lease that could not grow: other answers in
// flight hold the budget.
var ErrBudget = errors.New("the memory budget for kubelet answers in flight is taken by other answers")

// Wait reserves n bytes, waiting for room until ctx ends. It is the
// lease's first reservation.
func (l *Lease) Wait(ctx context.Context, n int64) error {
	if l == nil || n <= l.reserved {
		return nil
	}
	n = min(n, l.budget.leaseLimit())
	if err := l.budget.sem.Acquire(ctx, n-l.reserved); err != nil {
		return fmt.Errorf("waiting for the answer budget: %w", err)
	}
	l.reserved = n
	return nil
}

// Grow adds n bytes to the lease if the budget has them free now.
func (l *Lease) Grow(n int64) error {
	if l == nil {
		return nil
	}
	if l.reserved+n > l.budget.leaseLimit() || !l.budget.sem.TryAcquire(n) {
		return ErrBudget
	}
	l.reserved += n
	return nil
}

// Release returns everything the lease holds.
func (l *Lease) Release() {
	if l == nil || l.reserved == 0 {
		return
	}
	l.budget.sem.Release(l.reserved)
	l.reserved = 0
}
