// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package startmemory gives back the memory that only the server's start
// used, once the start is over.
//
// Most of a small cluster's resident memory is not the heap but the
// server's own executable: the package initialisers of k8s.io/apiserver,
// client-go and their dependencies (scheme registrations, feature gates,
// CEL and admission plugins the server never enables, flag parsing) touch
// code and read-only data all over the binary, and the kernel maps each
// touched page with its neighbours. Those pages stay resident, and counted
// in the container's working set, although the running server never reads
// most of them again.
//
// The executable's read-only mappings are private and never written, so
// their pages can be dropped at any time: a later read maps them again from
// the page cache (or reads them from the file), as after the kernel
// reclaimed them under memory pressure. Release marks them cold, so the
// page cache may reclaim them first, then unmaps them; what the server still
// uses comes back on its next read, and the resident memory settles at what
// the running server uses. The heap's start-up garbage is returned with them.
package startmemory

// Resident is a process's resident memory by kind, in bytes.
type Resident struct {
	// File is the resident memory backed by files: here, the executable.
	File uint64
	// Anonymous is the heap, the goroutine stacks and the runtime's own.
	Anonymous uint64
}
