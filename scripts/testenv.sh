#!/usr/bin/env bash
# testenv.sh builds the etcd and kube-apiserver binaries that internal/testutil/kubeenv starts
# for tests that need a real Kubernetes API server, and caches them so only the first run pays.
#
# Both come from the Go module proxy (the only network the test machines reach):
#   - etcd from go.etcd.io/etcd/server/v3, whose module root is its main package;
#   - kube-apiserver from k8s.io/kubernetes, whose go.mod replaces every staging module with
#     ./staging/...; a throwaway module points those at their published v0.Y.Z instead.
#
# Output: $MODELOPS_TESTENV_DIR, or ${XDG_CACHE_HOME:-$HOME/.cache}/modelops-testenv/<k8s-version>/.
# Idempotent: exits at once when both binaries exist and answer --version with the wanted version.
# Each binary is built to a temporary name in the output directory and renamed into place, so an
# interrupted build never leaves a half-written binary behind.
#
# Environment: K8S_VERSION (default v1.37.2), ETCD_VERSION (default v3.6.16), GO (default go).
#
# Under pipefail, never pipe a command into something that stops reading early (head, grep -q,
# grep -m): the writer dies of SIGPIPE and the whole script with it (make: Error 141). Capture
# the output first. scripts/scripts_test.go checks every script for it, and sources this one
# to run build_etcd against a fake go.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
GO=${GO:-go}
OUT=${MODELOPS_TESTENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/modelops-testenv/${K8S_VERSION}}

# The throwaway modules live outside this repository: no workspace, no vendoring, no surprise
# toolchain download, and static binaries that run on any Linux.
export GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

log() { printf '%s testenv: %s\n' "$(date +%H:%M:%S)" "$*"; }

# staging_minor turns v1.37.2 into v0.37.2, the tag the staging modules publish.
staging_version="v0.${K8S_VERSION#v1.}"

etcd_ok() {
	local v
	[ -x "$OUT/etcd" ] && v=$("$OUT/etcd" --version 2>/dev/null) &&
		grep -qx "etcd Version: ${ETCD_VERSION#v}" <<<"$v"
}
apiserver_ok() {
	local v
	[ -x "$OUT/kube-apiserver" ] && v=$("$OUT/kube-apiserver" --version 2>/dev/null) &&
		grep -qx "Kubernetes ${K8S_VERSION}" <<<"$v"
}

# timed NAME CMD... runs CMD, then prints its wall time and, when GNU time is there, peak RSS
# (of the largest single process of the build, which is what limits a small machine).
timed() {
	local name=$1 start rc=0
	shift
	start=$(date +%s)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -v -o "$work/$name.time" "$@" || rc=$?
	else
		"$@" || rc=$?
	fi
	if [ "$rc" -ne 0 ]; then
		log "$name failed after $(($(date +%s) - start))s"
		return "$rc"
	fi
	local rss=""
	if [ -f "$work/$name.time" ]; then
		rss=$(awk -F': ' '/Maximum resident set size/ {printf ", peak RSS %d MiB", $2/1024}' "$work/$name.time")
	fi
	log "$name took $(($(date +%s) - start))s${rss}"
}

# newmodule DIR IMPORT writes a module whose only file imports IMPORT under the tools build tag,
# so go mod tidy records every module that building IMPORT needs.
newmodule() {
	mkdir -p "$1"
	(cd "$1" && "$GO" mod init "modelops.testenv/$(basename "$1")" >/dev/null 2>&1)
	printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$2" >"$1/tools.go"
}

build_etcd() {
	local dir="$work/etcd" tmp="$OUT/.etcd.partial.$$"
	log "building etcd ${ETCD_VERSION}"
	newmodule "$dir" go.etcd.io/etcd/server/v3
	(
		cd "$dir"
		"$GO" mod edit -require "go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
		log "resolving etcd modules"
		"$GO" mod tidy
		log "compiling etcd"
		timed "etcd-build" "$GO" build -trimpath -ldflags "-s -w" -o "$tmp" go.etcd.io/etcd/server/v3
	)
	mv -f "$tmp" "$OUT/etcd"
	local v
	v=$("$OUT/etcd" --version)
	log "built ${v%%$'\n'*}"
}

build_apiserver() {
	local dir="$work/kube-apiserver" tmp="$OUT/.kube-apiserver.partial.$$" gomod
	log "building kube-apiserver ${K8S_VERSION} (10-16 minutes on a cold cache)"
	newmodule "$dir" k8s.io/kubernetes/cmd/kube-apiserver
	(
		cd "$dir"
		log "downloading k8s.io/kubernetes ${K8S_VERSION}"
		gomod=$("$GO" mod download -json "k8s.io/kubernetes@${K8S_VERSION}" |
			sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
		[ -f "$gomod" ] || { log "no go.mod for k8s.io/kubernetes@${K8S_VERSION}"; exit 1; }
		"$GO" mod edit -require "k8s.io/kubernetes@${K8S_VERSION}"
		# Every "k8s.io/x => ./staging/src/k8s.io/x" becomes "k8s.io/x => k8s.io/x v0.Y.Z".
		local n=0 mod
		for mod in $(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod"); do
			"$GO" mod edit -replace "${mod}=${mod}@${staging_version}"
			n=$((n + 1))
		done
		[ "$n" -gt 0 ] || { log "found no staging replaces in $gomod"; exit 1; }
		log "replaced ${n} staging modules with ${staging_version}; resolving modules"
		"$GO" mod tidy
		log "compiling kube-apiserver"
		local pkg=k8s.io/component-base/version minor=${K8S_VERSION#v1.}
		minor=${minor%%.*}
		timed "kube-apiserver-build" "$GO" build -trimpath \
			-ldflags "-s -w -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean" \
			-o "$tmp" k8s.io/kubernetes/cmd/kube-apiserver
	)
	mv -f "$tmp" "$OUT/kube-apiserver"
	"$OUT/kube-apiserver" --version
}

main() {
	if etcd_ok && apiserver_ok; then
		log "etcd ${ETCD_VERSION} and kube-apiserver ${K8S_VERSION} ready in $OUT"
		exit 0
	fi

	mkdir -p "$OUT"
	# A build killed outright (SIGKILL, power loss) leaves its partial binary: remove those whose
	# script is gone. They never had the final name, so nothing ever ran them.
	for f in "$OUT"/.*.partial.*; do
		[ -e "$f" ] || continue
		kill -0 "${f##*.}" 2>/dev/null || rm -f "$f"
	done
	work=$(mktemp -d "${TMPDIR:-/tmp}/modelops-testenv.XXXXXX")
	cleanup() { rm -rf "$work" "$OUT"/.*.partial.$$; }
	# Exit through the EXIT trap on an interrupt too, so no partial binary or module is left.
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	start=$(date +%s)
	etcd_ok || build_etcd
	apiserver_ok || build_apiserver
	etcd_ok || { log "etcd in $OUT does not answer --version ${ETCD_VERSION}"; exit 1; }
	apiserver_ok || { log "kube-apiserver in $OUT does not answer --version ${K8S_VERSION}"; exit 1; }
	log "etcd ${ETCD_VERSION} and kube-apiserver ${K8S_VERSION} ready in $OUT ($(($(date +%s) - start))s)"
}

# Sourced (by the tests), it only defines the functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
