#!/usr/bin/env bash
# Builds (once) the Kubernetes tools the tests use, from their Go modules,
# pinned, into ~/.cache/session-scheduler/k8s/bin:
#   kube-apiserver  k8s.io/kubernetes (through tests/infra/k8s/tools/go.mod)
#   kwok            sigs.k8s.io/kwok: fake nodes and the pod lifecycle
#   helm            helm.sh/helm/v3: lint and template the chart in helm/
# etcd is Debian's etcd-server (scripts/setup.sh installs it).
#
# Idempotent: a tool whose binary and stamp (version and build inputs) are
# present is skipped, so a second run takes well under a second. Go's module
# and build caches live under ~/.cache/session-scheduler/go and are shared by
# the three builds. Prints the bin folder last.
#
# The first build takes minutes (kube-apiserver is the largest part); on a
# machine without Go 1.24 or newer the pinned Go toolchain is fetched first,
# as a module from the Go module proxy.
set -euo pipefail
SCHED_CACHE=${SCHED_CACHE:-$HOME/.cache/session-scheduler}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_MODULE=$ROOT/tests/infra/k8s/tools

# Kubernetes release of kube-apiserver: must match the require line of
# tests/infra/k8s/tools/go.mod (its staging modules are at v0.34.4).
K8S_VERSION=v1.34.4
KWOK_VERSION=v0.7.0
HELM_VERSION=v3.19.0
# The Kubernetes version helm assumes when it renders without a cluster
# (.Capabilities.KubeVersion, deprecation checks of `helm lint`): that of
# the client-go helm was built with (v0.34 in helm v3.19.0's go.mod), as
# helm's own Makefile sets it.
HELM_K8S_MINOR=34
# Go used when the machine has none new enough (the modules need 1.24).
GO_FALLBACK=go1.26.8
GO_FALLBACK_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7

BIN=$SCHED_CACHE/k8s/bin
mkdir -p "$BIN"

log() { echo "k8s-tools: $*" >&2; }

# --- which Go ---------------------------------------------------------------

go_minor() {  # "go1.26.8" -> 26 (0 when not a go1.x version)
  local v=${1#go1.}
  v=${v%%.*}
  [[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}

# The Go module proxy serves whole toolchains as the module
# golang.org/toolchain (this is how `go` itself switches toolchains); fetch
# and unpack it without needing any Go.
fetch_go() {
  local dir=$SCHED_CACHE/go/toolchain/$GO_FALLBACK
  if [[ ! -x $dir/bin/go ]]; then
    local proxy=${GOPROXY:-https://proxy.golang.org}
    proxy=${proxy%%,*}
    local url=$proxy/golang.org/toolchain/@v/v0.0.1-$GO_FALLBACK.linux-amd64.zip
    local tmp=$SCHED_CACHE/go/toolchain/.download
    log "no Go 1.24+ found; fetching $GO_FALLBACK from $url"
    rm -rf "$tmp" "$dir"
    mkdir -p "$tmp"
    curl -sSfL -o "$tmp/go.zip" "$url"
    echo "$GO_FALLBACK_SHA256  $tmp/go.zip" | sha256sum -c --quiet -
    python3 - "$tmp/go.zip" "$tmp/x" <<'EOF'
import os, sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
# Module zips keep no file modes: make the commands (bin/, pkg/tool/) runnable.
for d, _, files in os.walk(sys.argv[2]):
    rel = os.path.relpath(d, sys.argv[2]).split(os.sep)[2:]  # below golang.org/toolchain@v/
    if rel[:1] == ["bin"] or rel[:2] == ["pkg", "tool"]:
        for f in files:
            os.chmod(os.path.join(d, f), 0o755)
EOF
    mv "$tmp"/x/golang.org/toolchain@*/ "$dir"
    rm -rf "$tmp"
  fi
  echo "$dir/bin/go"
}

GO=""
for candidate in "$(command -v go || true)" /usr/local/go/bin/go; do
  if [[ -n $candidate && -x $candidate ]]; then
    v=$(GOTOOLCHAIN=local "$candidate" env GOVERSION 2>/dev/null || true)
    if (($(go_minor "$v") >= 24)); then
      GO=$candidate
      break
    fi
  fi
done

# --- the builds -------------------------------------------------------------

# Shared caches; -modcacherw keeps the module cache deletable with rm -rf.
export GOPATH=$SCHED_CACHE/go
export GOMODCACHE=$SCHED_CACHE/go/mod
export GOCACHE=$SCHED_CACHE/go/build
export GOFLAGS="-modcacherw -buildvcs=false"
export GOTOOLCHAIN=local

stamp_of() { echo "$BIN/.$1.stamp"; }
is_current() {  # NAME WANT: the binary is there and was built from WANT
  [[ -x $BIN/$1 && -f $(stamp_of "$1") && $(cat "$(stamp_of "$1")") == "$2" ]]
}

# Go's output without its hundreds of "go: downloading" lines.
quiet_go() {
  "$GO" "$@" 2>&1 | { grep -v '^go: downloading' || true; } >&2
}

built=()
build_tool() {  # NAME WANT COMMAND...: runs COMMAND (which writes $out), then installs it
  local name=$1 want=$2
  shift 2
  if is_current "$name" "$want"; then return; fi
  if [[ -z $GO ]]; then GO=$(fetch_go); fi
  log "building $name ($want) with $("$GO" env GOVERSION); the first build takes minutes"
  local start=$SECONDS
  out=$BIN/.$name.partial
  rm -f "$out"
  "$@"
  mv -f "$out" "$BIN/$name"
  echo "$want" >"$(stamp_of "$name")"
  log "built $name in $((SECONDS - start))s"
  built+=("$name")
}

# kube-apiserver: built inside a copy of the wrapper module, so that
# -mod=mod (go.mod lists only the kubernetes module; Go adds the indirect
# requirements while it builds) never edits the checkout.
apiserver_build() {
  local src=$SCHED_CACHE/k8s/src/tools
  rm -rf "$src"
  mkdir -p "$src"
  cp "$TOOLS_MODULE"/go.mod "$TOOLS_MODULE"/go.sum "$TOOLS_MODULE"/tools.go "$src/"
  local minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  local x=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  (cd "$src" && quiet_go build -mod=mod -ldflags "-s -w$x" -o "$out" k8s.io/kubernetes/cmd/kube-apiserver)
}

# kwok and helm install straight from their modules; GOBIN is a private
# folder so that a half-written binary never replaces a good one.
go_install() {  # PACKAGE@VERSION [go flags...]
  local pkg=$1 gobin=$BIN/.gobin
  shift
  rm -rf "$gobin"
  GOBIN=$gobin quiet_go install "$@" "$pkg"
  mv "$gobin/$(basename "${pkg%@*}")" "$out"
  rm -rf "$gobin"
}

T0=$SECONDS
module_hash=$(cat "$TOOLS_MODULE"/go.mod "$TOOLS_MODULE"/go.sum | sha256sum | cut -c1-16)
build_tool kube-apiserver "$K8S_VERSION module-$module_hash" apiserver_build
build_tool kwok "$KWOK_VERSION" go_install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" -ldflags "-s -w"
build_tool helm "$HELM_VERSION k8s-1.$HELM_K8S_MINOR" go_install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" -ldflags "-s -w \
 -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR \
 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR"

if ((${#built[@]})); then
  log "built ${built[*]} in $((SECONDS - T0))s total"
else
  log "kube-apiserver $K8S_VERSION, kwok $KWOK_VERSION, helm $HELM_VERSION present"
fi
echo "$BIN"
