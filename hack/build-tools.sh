#!/usr/bin/env bash
# Copyright 2026 The kubemetrics Authors.
# SPDX-License-Identifier: Apache-2.0
# Builds the pinned control plane (kube-apiserver, kube-controller-manager,
# kubectl, etcd), the kubelet of the real-node suite, helm, KWOK, promtool,
# kube-state-metrics, the VPA recommender and the oldest kubectl that builds
# with the project's Go (kubectl-oldest) from Go modules into a cache
# folder, once per version. Beside them: KWOK's stages, Metric and
# ClusterResourceUsage configurations from its module as kwok.yaml, the way
# kwokctl configures it for metrics-server; the VPA's CRDs from its module as
# vpa-crds.yaml; and the Prometheus Operator's ServiceMonitor and
# PrometheusRule CRDs from its module.
#
#   hack/build-tools.sh            the pinned tools (hack/tools)
#   hack/build-tools.sh previous   kube-apiserver, kube-controller-manager and
#                                  kubectl of the older minor in
#                                  hack/tools/previous, with the pinned etcd
#
# Prints the folder holding the binaries on its last line of stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${root}/hack/tools"
base="${METRICS_SERVER_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/metrics-server-tools}"
etcd_version="$(go -C "${tools}" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"

if [[ "${1:-}" == previous ]]; then
  pinned="$("${BASH_SOURCE[0]}" | tail -n 1)" # for etcd
  tools="${tools}/previous"
  k8s_version="$(go -C "${tools}" list -m -f '{{.Version}}' k8s.io/kubernetes)"
  cache="${base}/${k8s_version}-etcd${etcd_version}"
  binaries=(kube-apiserver kube-controller-manager kubectl)
  declare -A own_version=()
else
  k8s_version="$(go -C "${tools}" list -m -f '{{.Version}}' k8s.io/kubernetes)"
  cache="${base}/${k8s_version}-etcd${etcd_version}"
  binaries=(kube-apiserver kube-controller-manager kubectl kubelet etcd helm kwok promtool kube-state-metrics vpa-recommender kubectl-oldest)
  # helm, kwok, promtool, kube-state-metrics, the VPA recommender and the
  # oldest kubectl have their own modules and versions: rebuilt when those
  # change.
  declare -A own_version=(
    [helm]="$(go -C "${tools}/helm" list -m -f '{{.Version}}' helm.sh/helm/v3)"
    [kwok]="$(go -C "${tools}/kwok" list -m -f '{{.Version}}' sigs.k8s.io/kwok)"
    [promtool]="$(go -C "${tools}/prometheus" list -m -f '{{.Version}}' github.com/prometheus/prometheus)"
    [kube-state-metrics]="$(go -C "${tools}/kube-state-metrics" list -m -f '{{.Version}}' k8s.io/kube-state-metrics/v2)"
    [vpa-recommender]="$(go -C "${tools}/vpa" list -m -f '{{.Version}}' k8s.io/autoscaler/vertical-pod-autoscaler)"
    [kubectl-oldest]="$(go -C "${tools}/kubectl-oldest" list -m -f '{{.Version}}' k8s.io/kubectl)"
  )
fi

missing=()
for b in "${binaries[@]}"; do
  if [[ ! -x "${cache}/${b}" ]] ||
    [[ -n "${own_version[${b}]:-}" && "$(cat "${cache}/${b}.version" 2>/dev/null)" != "${own_version[${b}]}" ]]; then
    missing+=("${b}")
  fi
done

if ((${#missing[@]} > 0)); then
  echo ">> building ${missing[*]} (Kubernetes ${k8s_version}, etcd ${etcd_version}${own_version[helm]:+, helm ${own_version[helm]}}${own_version[kwok]:+, kwok ${own_version[kwok]}}) into ${cache}" >&2
  echo ">> a cold build takes 10-15 minutes on 2 cores; later runs reuse the binaries" >&2
  mkdir -p "${cache}"
  minor="${k8s_version#v1.}"; minor="${minor%%.*}"
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${k8s_version} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"
  start=${SECONDS}
  for b in "${missing[@]}"; do
    module="${tools}" flags="${ldflags}"
    case "${b}" in
      etcd) pkg=go.etcd.io/etcd/server/v3 ;;
      helm) pkg=helm.sh/helm/v3/cmd/helm module="${tools}/helm"
        flags="-s -w -X helm.sh/helm/v3/internal/version.version=${own_version[helm]}" ;;
      kwok) pkg=sigs.k8s.io/kwok/cmd/kwok module="${tools}/kwok" flags="-s -w" ;;
      promtool) pkg=github.com/prometheus/prometheus/cmd/promtool module="${tools}/prometheus" flags="-s -w" ;;
      kube-state-metrics) pkg=k8s.io/kube-state-metrics/v2 module="${tools}/kube-state-metrics" flags="-s -w" ;;
      vpa-recommender) pkg=k8s.io/autoscaler/vertical-pod-autoscaler/pkg/recommender module="${tools}/vpa" flags="-s -w" ;;
      kubectl-oldest)
        # k8s.io/kubectl v0.X.Y is kubectl v1.X.Y.
        old="${own_version[kubectl-oldest]/#v0./v1.}" old_minor="${old#v1.}"
        pkg=. module="${tools}/kubectl-oldest"
        flags="-s -w -X k8s.io/component-base/version.gitVersion=${old} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${old_minor%%.*} -X k8s.io/component-base/version.gitTreeState=clean" ;;
      *) pkg="k8s.io/kubernetes/cmd/${b}" ;;
    esac
    echo ">> go build ${pkg} ($((SECONDS - start))s elapsed)" >&2
    (cd "${module}" && go build -trimpath -ldflags "${flags}" -o "${cache}/${b}.tmp" "${pkg}")
    if [[ "${b}" == kwok ]]; then
      src="$(go -C "${module}" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
      for f in stage/node/fast/node-initialize.yaml stage/node/heartbeat/node-heartbeat.yaml \
        stage/pod/fast/pod-ready.yaml stage/pod/fast/pod-complete.yaml stage/pod/fast/pod-delete.yaml \
        metrics/resource/metrics-resource.yaml metrics/usage/usage-from-annotation.yaml; do
        printf -- '---\n'; cat "${src}/kustomize/${f}"; printf '\n'
      done > "${cache}/kwok.yaml"
    fi
    if [[ "${b}" == vpa-recommender ]]; then
      src="$(go -C "${module}" list -m -f '{{.Dir}}' k8s.io/autoscaler/vertical-pod-autoscaler)"
      cp "${src}/deploy/vpa-v1-crd-gen.yaml" "${cache}/vpa-crds.yaml"
    fi
    mv "${cache}/${b}.tmp" "${cache}/${b}"
    [[ -z "${own_version[${b}]:-}" ]] || echo "${own_version[${b}]}" > "${cache}/${b}.version"
  done
  echo ">> tools built in $((SECONDS - start))s" >&2
fi
if [[ -z "${pinned:-}" ]]; then
  operator="github.com/prometheus-operator/prometheus-operator"
  operator_version="$(go -C "${tools}/prometheus-operator" list -m -f '{{.Version}}' "${operator}")"
  crds="${cache}/prometheus-operator-crds.yaml"
  if [[ "$(cat "${crds}.version" 2>/dev/null)" != "${operator_version}" ]]; then
    go -C "${tools}/prometheus-operator" mod download "${operator}"
    src="$(go -C "${tools}/prometheus-operator" list -m -f '{{.Dir}}' "${operator}")"
    for f in servicemonitors prometheusrules; do
      printf -- '---\n'; cat "${src}/example/prometheus-operator-crd/monitoring.coreos.com_${f}.yaml"
    done > "${crds}.tmp"
    mv "${crds}.tmp" "${crds}"
    echo "${operator_version}" > "${crds}.version"
  fi
fi
if [[ -n "${pinned:-}" ]]; then
  ln -sfn "${pinned}/etcd" "${cache}/etcd"
fi
echo "${cache}"
