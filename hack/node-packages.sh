#!/usr/bin/env bash
# Copyright 2026 The kubemetrics Authors.
# SPDX-License-Identifier: Apache-2.0
# Installs what the real node of the real-node suite runs on, from Debian's
# packages, unless it is there: containerd, runc, and the CNI plugins (the
# loopback one). Needs root.
set -euo pipefail

if command -v containerd >/dev/null && command -v runc >/dev/null && command -v ctr >/dev/null &&
  [[ -x /usr/lib/cni/loopback ]]; then
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "the real-node suite needs root, and containerd, runc and containernetworking-plugins installed" >&2
  exit 1
fi
echo ">> installing containerd, runc and containernetworking-plugins (Debian's packages)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends containerd runc containernetworking-plugins >/dev/null
