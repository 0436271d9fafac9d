# shellcheck shell=bash
# Helpers shared by the fault scripts (scripts/faults-*.sh); sourced, not run.

# Stops a process of the script's own (SIGTERM) and reaps it; nothing when $1 is empty or gone.
stop() { # pid
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

# A free TCP port of 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 20 s for 127.0.0.1:port to accept connections; fails at once if pid exits.
wait_port() { # port, pid
  for _ in $(seq 1 400); do
    kill -0 "$2" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# The directory of the workspace's release binaries.
release_dir() {
  cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"] + "/release")'
}
