# Sourced by the shell scripts here as their first command: `-h` or `--help` as the first argument
# prints the script's header comment (what it does, its usage and variables) and exits 0, before
# the script installs, builds or runs anything.
case "${1:-}" in
  -h | --help)
    awk 'NR == 1 { next } /^#SBATCH/ || !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"
    exit 0
    ;;
esac

# `no_arguments "VARIABLES" "$@"`, called right after sourcing this file by a script that takes no
# arguments (its environment variables configure it): any argument other than -h/--help is refused
# with exit 2, naming it, before the script does anything (it was silently ignored before).
no_arguments() {
  local vars=$1
  shift
  [ $# -eq 0 ] && return 0
  local name
  name=$(basename "$0")
  echo "$name: unexpected argument '$1': it takes no arguments, only environment variables ($vars); see \`bash scripts/$name --help\`" >&2
  exit 2
}
