# Shared helpers for the CI scripts (sourced, not run).
ci_say() { printf '\n[ci %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
ci_fail() { printf '\n[ci %s] FAILED: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; exit 1; }
# apt-get install of Debian packages, without their recommends, quietly; CI runs as root.
ci_apt_install() {
  [ "$(id -u)" = 0 ] || ci_fail "installing $* needs root (CI runs as root)"
  ci_say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
