// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"fmt"
	"net/http"
	"time"

	"k8s.io/apiserver/pkg/server/healthz"
)

// The server's own probes, with upstream's names: ready once it has
// metrics to serve and its informers synced; alive while scrape rounds
// keep starting.

func (s *Server) readyzChecks() []healthz.HealthChecker {
	return []healthz.HealthChecker{
		healthz.NamedCheck("metric-storage-ready", func(*http.Request) error {
			if !s.store.Ready() {
				return fmt.Errorf("no metrics to serve")
			}
			return nil
		}),
		healthz.NamedCheck("metric-informer-sync", func(*http.Request) error {
			if !s.nodesSynced() || !s.podsSynced() {
				return fmt.Errorf("informers not synced")
			}
			return nil
		}),
	}
}

func (s *Server) livezChecks() []healthz.HealthChecker {
	return []healthz.HealthChecker{
		healthz.NamedCheck("metric-collection-timely", func(*http.Request) error {
			last := s.lastTickStart.Load()
			if last == 0 {
				return nil
			}
			if age := s.clock.Since(time.Unix(0, last)); age > s.resolution*3/2 {
				return fmt.Errorf("last scrape round started %v ago, more than 1.5 × the resolution %v", age.Round(time.Second), s.resolution)
			}
			return nil
		}),
	}
}

func (s *Server) healthChecks() []healthz.HealthChecker {
	return []healthz.HealthChecker{
		healthz.NamedCheck("metadata-informer-sync", func(*http.Request) error {
			if !s.podsSynced() {
				return fmt.Errorf("metadata informer not synced")
			}
			return nil
		}),
	}
}
