// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"net"
	"testing"
)

// TestAcceptNotifier checks that the serving CA waits for the first Accept,
// not for the listener's creation (which precedes serving).
func TestAcceptNotifier(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &acceptNotifier{Listener: inner, accepting: make(chan struct{})}
	defer l.Close()
	select {
	case <-l.accepting:
		t.Fatal("accepting closed before Accept")
	default:
	}
	for range 2 { // a second Accept must not close the channel again
		dialed, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer dialed.Close()
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	select {
	case <-l.accepting:
	default:
		t.Fatal("accepting still open after Accept")
	}
}
