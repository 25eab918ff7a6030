#!/usr/bin/env bash
# Copyright 2026 The kubemetrics Authors.
# SPDX-License-Identifier: Apache-2.0
# Fails when a Go or shell source file the repository tracks (or is about
# to) lacks the licence header near its top: every file is under the
# Apache License 2.0 (LICENSE).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=0
while IFS= read -r f; do
  [[ -f "$f" ]] || continue
  if ! head -c 400 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0'; then
    echo "no licence header: $f" >&2
    missing=1
  fi
done < <(git ls-files --cached --others --exclude-standard -- '*.go' '*.sh' .ci/run)
exit "$missing"
