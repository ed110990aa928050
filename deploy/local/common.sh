# Shared settings for the local loopback services (sourced, not run).
# Everything lives under the repository: downloads in .cache/, runtime state in .run/.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$ROOT/.cache"
RUN="${BLINDAR_LOCAL_RUN_DIR:-$ROOT/.run}"
KAFKA_VERSION="$(sed -n 's#.*<kafka.version>\(.*\)</kafka.version>.*#\1#p' "$ROOT/deploy/local/kafka-pom.xml")"
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
KAFKA_PORT="${BLINDAR_LOCAL_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${BLINDAR_LOCAL_KAFKA_CONTROLLER_PORT:-9093}"
REDIS_PORT="${BLINDAR_LOCAL_REDIS_PORT:-6379}"
mkdir -p "$CACHE" "$RUN"

log() { printf '[local] %s\n' "$*" >&2; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND until it succeeds or time runs out.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= deadline)); then log "$what not ready after ${limit}s"; return 1; fi
    sleep 0.2
  done
}

# alive PIDFILE: true when the pid in PIDFILE is a running process.
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
