# Shared helpers for the CI scripts (sourced, not run).
ci_say() { printf '\n[ci %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
ci_fail() { printf '\n[ci %s] FAILED: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; exit 1; }
