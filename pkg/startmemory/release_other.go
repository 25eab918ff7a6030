// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package startmemory

import "errors"

var errNotLinux = errors.New("releasing the start's memory needs Linux")

// Release is only implemented on Linux, where the server runs.
func Release() (before, after Resident, err error) {
	return Resident{}, Resident{}, errNotLinux
}
