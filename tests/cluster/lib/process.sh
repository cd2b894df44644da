# Processes the cluster scripts start: each one's PID in DIR/pids/NAME.pid, its output in
# DIR/logs/NAME.log. Only those PIDs are ever signalled. Sourced by up, down and the scenarios.

# start_process DIR NAME COMMAND...: starts COMMAND in its own session.
start_process() {
  local dir="$1" name="$2"; shift 2
  mkdir -p "$dir/pids" "$dir/logs"
  # Without job control bash's background child is no group leader, so setsid execs in place
  # and $! is COMMAND's own PID.
  setsid "$@" >>"$dir/logs/$name.log" 2>&1 </dev/null &
  echo "$! $(_start_time $!)" >"$dir/pids/$name.pid"
}

# _start_time PID: the process's start time in clock ticks since boot (field 22 of stat), which
# tells a recycled PID from ours.
_start_time() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# process_pid DIR NAME: prints the PID when that process still runs the program it started.
process_pid() {
  local file="$1/pids/$2.pid" pid started
  [ -f "$file" ] || return 1
  read -r pid started <"$file" || return 1
  [ -n "$pid" ] && [ "$(_start_time "$pid")" = "$started" ] || return 1
  echo "$pid"
}

# _running PID: exists and is no zombie (a process whose starter exited is reaped by PID 1,
# which may take its time).
_running() { [ -d "/proc/$1" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }

# stop_process DIR NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 20); waits
# until the process is gone.
stop_process() {
  local dir="$1" name="$2" grace="${3:-20}" pid
  pid="$(process_pid "$dir" "$name")" || { rm -f "$dir/pids/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while _running "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  if _running "$pid"; then
    echo "cluster: $name (pid $pid) ignored SIGTERM for ${grace}s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    while _running "$pid"; do sleep 0.05; done
  fi
  rm -f "$dir/pids/$name.pid"
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND (every 0.1 s) until it succeeds; fails
# with WHAT after SECONDS.
wait_until() {
  local limit="$1" what="$2"; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "cluster: timed out after ${limit}s waiting for $what" >&2
      return 1
    fi
    sleep 0.1
  done
}
