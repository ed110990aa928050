#!/usr/bin/env bash
# Fetches the pinned Apache Kafka broker and its runtime dependencies from Maven
# Central into .cache/kafka-<version>/libs (git-ignored). Idempotent.
set -euo pipefail
source "$(dirname "$0")/common.sh"
if [[ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then exit 0; fi
log "fetching Apache Kafka $KAFKA_VERSION from Maven Central"
tmp="$KAFKA_LIBS.partial"
rm -rf "$tmp"
if ! mvn -q -B -f "$ROOT/deploy/local/kafka-pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp" >"$CACHE/kafka-fetch.log" 2>&1; then
  cat "$CACHE/kafka-fetch.log" >&2
  exit 1
fi
mv "$tmp" "$KAFKA_LIBS"
