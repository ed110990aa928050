#!/usr/bin/env bash
# Starts a single-node KRaft Kafka broker on loopback unless one already answers.
set -euo pipefail
source "$(dirname "$0")/common.sh"
pidfile="$RUN/kafka.pid"
if port_open "$KAFKA_PORT"; then log "kafka already answering on 127.0.0.1:$KAFKA_PORT"; exit 0; fi
"$ROOT/deploy/local/kafka-fetch.sh"
dir="$RUN/kafka"
mkdir -p "$dir"
sed -e "s#@DATA@#$dir/data#" -e "s#@PORT@#$KAFKA_PORT#g" \
    -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
    "$ROOT/deploy/local/kafka.properties" > "$dir/server.properties"
cp "$ROOT/deploy/local/kafka-log4j2.yaml" "$dir/log4j2.yaml"
cp_arg="$KAFKA_LIBS/*"
if [[ ! -f "$dir/data/meta.properties" ]]; then
  cluster_id="$(java -cp "$cp_arg" kafka.tools.StorageTool random-uuid)"
  java -cp "$cp_arg" kafka.tools.StorageTool format --cluster-id="$cluster_id" \
    -c "$dir/server.properties" >"$dir/format.log" 2>&1
fi
# Every partition keeps several files open: give the broker room (tests create many topics).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (log: .run/kafka/server.log)"
setsid nohup java -Xms256m -Xmx${BLINDAR_LOCAL_KAFKA_HEAP:-1g} -XX:+UseG1GC \
  -Dlog4j2.configurationFile="$dir/log4j2.yaml" -Dkafka.logs.dir="$dir" \
  -cp "$cp_arg" kafka.Kafka "$dir/server.properties" >"$dir/server.log" 2>&1 </dev/null &
echo $! >"$pidfile"
wait_for 90 "kafka" port_open "$KAFKA_PORT" || { tail -20 "$dir/server.log" >&2; exit 1; }
