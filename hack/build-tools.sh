#!/usr/bin/env bash
# Builds the pinned control plane (kube-apiserver, kube-controller-manager,
# kubectl, etcd) and helm from Go modules into a cache folder, once per
# version.
# Prints the folder holding the binaries on its last line of stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${root}/hack/tools"
k8s_version="$(go -C "${tools}" list -m -f '{{.Version}}' k8s.io/kubernetes)"
etcd_version="$(go -C "${tools}" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
helm_version="$(go -C "${tools}/helm" list -m -f '{{.Version}}' helm.sh/helm/v3)"
cache="${METRICS_SERVER_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/metrics-server-tools}/${k8s_version}-etcd${etcd_version}"
binaries=(kube-apiserver kube-controller-manager kubectl etcd helm)

missing=()
for b in "${binaries[@]}"; do
  [[ -x "${cache}/${b}" ]] || missing+=("${b}")
done
# helm has its own module and version: rebuilt when that changes.
if [[ -x "${cache}/helm" && "$(cat "${cache}/helm.version" 2>/dev/null)" != "${helm_version}" ]]; then
  missing+=(helm)
fi
if ((${#missing[@]} == 0)); then
  echo "${cache}"
  exit 0
fi

echo ">> building ${missing[*]} (Kubernetes ${k8s_version}, etcd ${etcd_version}, helm ${helm_version}) into ${cache}" >&2
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
      flags="-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version}" ;;
    *) pkg="k8s.io/kubernetes/cmd/${b}" ;;
  esac
  echo ">> go build ${pkg} ($((SECONDS - start))s elapsed)" >&2
  (cd "${module}" && go build -trimpath -ldflags "${flags}" -o "${cache}/${b}.tmp" "${pkg}")
  mv "${cache}/${b}.tmp" "${cache}/${b}"
  [[ "${b}" != helm ]] || echo "${helm_version}" > "${cache}/helm.version"
done
echo ">> tools built in $((SECONDS - start))s" >&2
echo "${cache}"
