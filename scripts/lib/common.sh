# Helpers shared by the scripts in scripts/ (sourced, not run). Needs WAIT_TIMEOUT set.

# usage: the script's header comment (line 2 up to the first line that is not a comment).
usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
  exit 2
}

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# State letter of a pid from /proc/PID/status, empty if the process is gone.
proc_state() {
  local line
  line="$(grep -m1 '^State:' "/proc/$1/status" 2>/dev/null || true)"
  line="${line#State:}"
  line="${line#"${line%%[![:space:]]*}"}"
  echo "${line:0:1}"
}

# Running and not a zombie (daemons reparented to PID 1 are reaped late).
alive() {
  local state
  state="$(proc_state "$1")"
  [[ -n "$state" && "$state" != Z ]]
}

# Waits until every pid given is gone or a zombie; SIGKILL for those left after WAIT_TIMEOUT.
wait_gone() {
  local deadline=$((SECONDS + WAIT_TIMEOUT)) pid left
  while :; do
    left=()
    for pid in "$@"; do
      if alive "$pid"; then left+=("$pid"); fi
    done
    ((${#left[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      kill -KILL "${left[@]}" 2>/dev/null || true
      deadline=$((SECONDS + WAIT_TIMEOUT))
    fi
    sleep 0.01
  done
}
