#!/bin/bash
# One KRaft node, broker and controller. Configured by environment:
#   KAFKA_ADVERTISED_LISTENERS  what clients are told (default PLAINTEXT://<pod's FQDN>:9092; give the
#                               Service DNS name, e.g. PLAINTEXT://siem-kafka.ns.svc.cluster.local:9092)
#   KAFKA_LISTENERS             what it binds (default PLAINTEXT://:9092,CONTROLLER://:9093)
#   KAFKA_NODE_ID               default 1
#   KAFKA_CLUSTER_ID            used when the storage is formatted (default: a random one)
#   KAFKA_HEAP_OPTS             default -Xmx512m
#   KAFKA_CFG_<NAME>            any other broker property: KAFKA_CFG_NUM_PARTITIONS=3 → num.partitions=3
# The storage in /var/lib/kafka/data is formatted once, on the first start.
set -euo pipefail

home=/var/lib/kafka
data="$home/data"
config="$home/server.properties"
node_id="${KAFKA_NODE_ID:-1}"
listeners="${KAFKA_LISTENERS:-PLAINTEXT://:9092,CONTROLLER://:9093}"
advertised="${KAFKA_ADVERTISED_LISTENERS:-PLAINTEXT://$(hostname -f 2>/dev/null || echo "${HOSTNAME:-localhost}"):9092}"
controller_port="${listeners##*CONTROLLER://*:}"
controller_port="${controller_port%%,*}"
classpath="/opt/kafka/libs/*"
mkdir -p "$data" "$home/tmp"

{
  echo "process.roles=broker,controller"
  echo "node.id=$node_id"
  echo "controller.quorum.voters=$node_id@localhost:$controller_port"
  echo "listeners=$listeners"
  echo "advertised.listeners=$advertised"
  echo "controller.listener.names=CONTROLLER"
  echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  echo "inter.broker.listener.name=PLAINTEXT"
  echo "log.dirs=$data"
  echo "offsets.topic.replication.factor=1"
  echo "transaction.state.log.replication.factor=1"
  echo "transaction.state.log.min.isr=1"
  echo "share.coordinator.state.topic.replication.factor=1"
  echo "share.coordinator.state.topic.min.isr=1"
  echo "group.initial.rebalance.delay.ms=0"
  # KAFKA_CFG_FOO_BAR=x → foo.bar=x (later lines win over the defaults above).
  while IFS='=' read -r name value; do
    key="${name#KAFKA_CFG_}"
    key="${key,,}"
    echo "${key//_/.}=$value"
  done < <(env | grep '^KAFKA_CFG_' || true)
} >"$config"

# zstd's and snappy's native libraries are unpacked into java.io.tmpdir: keep it on the volume.
java_opts=(-Djava.io.tmpdir="$home/tmp" -XX:-UsePerfData -Djava.awt.headless=true
  -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties)

if [ ! -f "$data/meta.properties" ]; then
  cluster_id="${KAFKA_CLUSTER_ID:-$(java "${java_opts[@]}" -cp "$classpath" kafka.tools.StorageTool random-uuid)}"
  java "${java_opts[@]}" -cp "$classpath" kafka.tools.StorageTool format --cluster-id="$cluster_id" -c "$config"
fi

# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
  "${java_opts[@]}" -cp "$classpath" kafka.Kafka "$config"
