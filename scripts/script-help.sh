# Sourced by the shell scripts here as their first command: `-h` or `--help` as the first argument
# prints the script's header comment (what it does, its usage and variables) and exits 0, before
# the script installs, builds or runs anything.
case "${1:-}" in
  -h | --help)
    awk 'NR == 1 { next } /^#SBATCH/ || !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"
    exit 0
    ;;
esac
