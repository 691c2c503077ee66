#!/usr/bin/env bash
# Benchmark: `llmops register --publish` and `llmops publish` against what data scientists run today,
# `mlflow.log_artifacts` from the Python client: the same ~2 GiB model folder uploaded to the same
# local MLflow 3 server (artifact proxy -> moto S3), one after the other, in one run.
#
#   benches/register.sh
#
# Prints wall time, throughput and peak RSS of each client, the CPU the MLflow server and moto burned
# meanwhile, and the time ratios. Takes 3-5 minutes plus the release build. Needs ~16 GiB free disk
# (model, two staged copies, moto's objects) and ~8 GiB free RAM.
#
# The Python client is timed twice: with multipart uploads on (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true,
# what the public reference notebooks set; on MLflow 3 an unset variable asks the server, which says the
# same with an S3 destination): files of 500 MiB or more go straight to S3 in 10 MiB parts through
# presigned URLs. And with every byte forced through the tracking server's proxy (=false). llmops sends
# files of 64 MiB or more in presigned parts too (16 MiB, 8 in flight) and the rest through the proxy,
# so the multipart run is the like-for-like comparison (goal: llmops publish at least 2x as fast, peak
# RSS at most 64 MiB).
#
# Knobs (environment):
#   BENCH_SHARD_MIB=512    size of each of the 4 safetensors shards (smaller only for a smoke test;
#                          under 500 MiB the Python client's default run no longer uses multipart)
#   BENCH_TMPDIR=DIR       where the scratch folder goes (default: $TMPDIR or /tmp)
#   BENCH_KEEP=1           keep the scratch folder (model, logs, MLflow database) for a post-mortem
#   BENCH_SKIP_BUILD=1     use the existing target/release/llmops (e.g. to re-run while src/ is mid-edit)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARD_MIB=${BENCH_SHARD_MIB:-512}
SHARDS=4
SMALL_FILES=30
PYTHON_MODEL="$REPO/tests/it/data/staged_files_model.py"
LLMOPS="${CARGO_TARGET_DIR:-$REPO/target}/release/llmops"

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------------------ scratch space and cleanup

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/llmops-bench.XXXXXX")
STACK="$WORK/stack"
cd "$WORK"  # nothing this script runs may leave a stray file in the repository
STACK_STARTED=0

# This run's servers, by the process groups scripts/stack recorded in $STACK/pids: the fallback when
# `scripts/stack stop` itself fails. A group is signalled only if its leader is still one of ours
# (the MLflow server names this run's database; moto, this run's port).
kill_own_servers() {
  local pids="$STACK/pids" name pgid mark cmd
  [[ -f $pids ]] || return 0
  for name in MLFLOW MOTO; do
    pgid=$(awk -F= -v k="${name}_PGID" '$1 == k {print $2}' "$pids")
    if [[ $name == MLFLOW ]]; then mark="$STACK/mlflow.db"
    else mark="-p $(awk -F= '$1 == "MOTO_PORT" {print $2}' "$pids") "; fi
    [[ -n $pgid ]] || continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pgid/cmdline") || continue
    [[ $cmd == *"$mark"* ]] || continue
    log "stopping ${name,,} (process group $pgid) directly"
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # The stack first: moto holds every uploaded byte (memory and unlinked temp files) until it exits.
  if [[ $STACK_STARTED == 1 ]]; then
    log "stopping the stack"
    "$REPO/scripts/stack" stop --dir "$STACK" || log "warning: scripts/stack stop failed"
    kill_own_servers  # a no-op when stop worked
  fi
  if [[ ${BENCH_KEEP:-} == 1 ]]; then
    log "kept $WORK (BENCH_KEEP=1); remove it by hand"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ preflight

command -v cargo >/dev/null || die "cargo is not on PATH"
command -v python3 >/dev/null || die "python3 is not on PATH (scripts/stack needs it)"
[[ -f $PYTHON_MODEL ]] || die "$PYTHON_MODEL is missing"
[[ -f $REPO/fixtures/tiny-model/config.json ]] || die "$REPO/fixtures/tiny-model/config.json is missing"
[[ $SHARD_MIB =~ ^[1-9][0-9]*$ ]] || die "BENCH_SHARD_MIB must be a positive whole number of MiB"
(( SHARD_MIB >= 512 )) || log "warning: BENCH_SHARD_MIB=$SHARD_MIB: a smoke test, not the 2 GiB benchmark"

# GNU time gives peak RSS (-v); bash's `time` keyword does not.
if [[ ! -x /usr/bin/time ]]; then
  log "/usr/bin/time is missing: installing Debian's \`time\` package with apt-get"
  command -v apt-get >/dev/null || die "no apt-get; install GNU time (/usr/bin/time) by hand"
  sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq time >/dev/null || die "could not install GNU time"
fi
[[ $(/usr/bin/time -v true 2>&1) == *'Maximum resident set size'* ]] || die "/usr/bin/time is not GNU time (no -v)"

# Disk: the model, two staged copies in the dev dataset (register without and with --publish), MLflow's
# per-file temp copy, and moto's objects (it spills anything over 5 MiB to unlinked files in its TMPDIR).
model_mib=$(( SHARDS * SHARD_MIB + 1 ))
uploads=4  # log_artifacts twice, llmops twice
need_mib=$(( model_mib * (3 + uploads) + 1024 ))
free_mib=$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')
if [[ $(df -P "$WORK" | awk 'NR == 2 {print $6}') != $(df -P "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $6}') ]]; then
  # moto's temp files land on another filesystem: check each side for its part.
  tmp_free=$(df -Pm "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $4}')
  (( tmp_free >= model_mib * uploads )) || die "${TMPDIR:-/tmp} has $tmp_free MiB free; moto needs ~$(( model_mib * uploads )) MiB there"
  need_mib=$(( model_mib * 3 + 1024 ))
fi
(( free_mib >= need_mib )) || die "$WORK has $free_mib MiB free; this benchmark needs ~$need_mib MiB"
avail_mib=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
(( avail_mib >= model_mib * 3 )) || log "warning: only $avail_mib MiB RAM available; moto may swap or be OOM-killed"
log "scratch: $WORK ($free_mib MiB free, ~$need_mib MiB needed; $avail_mib MiB RAM available)"

# Loopback servers: an HTTP(S)_PROXY in the caller's environment must not catch them.
export NO_PROXY="${NO_PROXY:+$NO_PROXY,}127.0.0.1,localhost" no_proxy="${no_proxy:+$no_proxy,}127.0.0.1,localhost"

# ------------------------------------------------------------------ build (before anything is timed)

if [[ ${BENCH_SKIP_BUILD:-} == 1 ]]; then
  [[ -x $LLMOPS ]] || die "BENCH_SKIP_BUILD=1 but $LLMOPS does not exist"
  log "using the existing $LLMOPS (BENCH_SKIP_BUILD=1)"
else
  log "cargo build --release --locked"
  (cd "$REPO" && cargo build --release --locked) || die "release build failed"
fi

# ------------------------------------------------------------------ the model folder

# Random bytes: incompressible, like real weights, so no layer can cheat with compression. The headers
# are not valid safetensors; registration never parses them.
MODEL="$WORK/model"
mkdir -p "$MODEL" "$WORK/dev" "$WORK/logs"
log "writing a $(( SHARDS * SHARD_MIB )) MiB model folder to $MODEL"
cp "$REPO/fixtures/tiny-model/config.json" "$MODEL/"
pids=()
for i in $(seq 1 "$SHARDS"); do
  head -c "${SHARD_MIB}M" /dev/urandom >"$MODEL/$(printf 'model-%05d-of-%05d.safetensors' "$i" "$SHARDS")" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || die "could not write a shard (disk full?)"; done
# ~30 small files, as a Hugging Face snapshot has beside the weights (tokenizer, generation config...).
small_names=(tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json
  vocab.json merges.txt added_tokens.json chat_template.json model.safetensors.index.json)
for (( i = ${#small_names[@]}; i < SMALL_FILES; i++ )); do small_names+=("tokenizer_extra_$(printf '%02d' "$i").json"); done
for name in "${small_names[@]}"; do
  # 2-8 KB of JSON-looking text.
  printf '{"bench": "%s"}\n' "$(head -c $(( 1536 + RANDOM % 4608 )) /dev/urandom | base64 -w0)" >"$MODEL/$name"
done
total_bytes=$(find "$MODEL" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')
file_count=$(find "$MODEL" -type f | wc -l)
log "model: $file_count files, $total_bytes bytes"
# Every client reads it from the page cache (just written, RAM is ample): disk reads are not measured.

# ------------------------------------------------------------------ the stack

log "scripts/stack install --mlflow 3"
"$REPO/scripts/stack" install --mlflow 3 || die "stack install failed"
STACK_STARTED=1  # from here on, stop it whatever happens (stop is idempotent)
env_file=$("$REPO/scripts/stack" start --dir "$STACK" --mlflow 3) || die "stack start failed; logs in $STACK/logs"
env_file=${env_file##*$'\n'}  # the path is the last line it prints
[[ -f $env_file ]] || die "scripts/stack start printed '$env_file', which is not a file"
set -a; . "$env_file"; set +a
: "${MLFLOW_TRACKING_URI:?the stack env has no MLFLOW_TRACKING_URI}" "${LLMOPS_STACK_PYTHON:?}"
moto_version=$("$LLMOPS_STACK_S3_PYTHON" -c 'import moto; print(moto.__version__)')
MOTO_PGID=$(awk -F= '$1 == "MOTO_PGID" {print $2}' "$STACK/pids")
MLFLOW_PGID=$(awk -F= '$1 == "MLFLOW_PGID" {print $2}' "$STACK/pids")
log "MLflow $LLMOPS_STACK_MLFLOW_VERSION at $MLFLOW_TRACKING_URI, moto $moto_version at $MOTO_URL"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# Other work on these 2 cores competes with the client and both servers.
awk -v l="${load_start%% *}" 'BEGIN {exit !(l > 1)}' \
  && log "warning: load average is $load_start before the first run; the numbers will be noisy"

# ------------------------------------------------------------------ measuring

CLK_TCK=$(getconf CLK_TCK)

# CPU ticks (user + system, with reaped children) used so far by every process of process group $1:
# how busy the MLflow server and moto were while a client ran.
group_ticks() {
  local pid stat fields ticks=0
  for pid in $(ps -e -o pid=,pgid= | awk -v g="$1" '$2 == g {print $1}'); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -ra fields <<<"${stat##*) }"  # fields after "pid (comm) "; comm may hold spaces
    ticks=$(( ticks + fields[11] + fields[12] + fields[13] + fields[14] ))
  done
  echo "$ticks"
}

# Peak RSS (VmHWM) in MiB of the largest process of group $1.
group_hwm_mib() {
  local pid kb max=0
  for pid in $(ps -e -o pid=,pgid= | awk -v g="$1" '$2 == g {print $1}'); do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    (( ${kb:-0} > max )) && max=$kb
  done
  echo $(( max / 1024 ))
}

# Let the previous run's after-effects finish before the next starts: moto keeps working after a
# client is done (freeing assembled objects) and the kernel writes back gigabytes of dirty pages from
# moto's temp files and the staged copies. Without this, whichever run comes next pays for them
# (measured: up to +50% on the run after the baseline).
settle() {
  local t0=$SECONDS before after
  sync
  while (( SECONDS - t0 < 30 )); do
    before=$(( $(group_ticks "$MOTO_PGID") + $(group_ticks "$MLFLOW_PGID") ))
    sleep 1
    after=$(( $(group_ticks "$MOTO_PGID") + $(group_ticks "$MLFLOW_PGID") ))
    (( after - before <= CLK_TCK / 20 )) && return 0  # both servers under 5% of a core
  done
  log "warning: the servers were still busy after 30 s; timing anyway"
}

declare -A WALL RSS CPU MOTO_CPU MLFLOW_CPU WHAT BYTES
ROWS=()

# timed KEY "what it did" BYTES -- command...: runs the command under GNU time, stdout to
# logs/KEY.out, stderr to logs/KEY.err; records wall s, peak RSS MiB, client and server CPU s.
timed() {
  local key=$1 what=$2 bytes=$3; shift 4
  local tfile="$WORK/logs/$key.time" moto0 mlflow0
  settle
  moto0=$(group_ticks "$MOTO_PGID"); mlflow0=$(group_ticks "$MLFLOW_PGID")
  log "timing: $what"
  if ! /usr/bin/time -v -o "$tfile" "$@" >"$WORK/logs/$key.out" 2>"$WORK/logs/$key.err"; then
    log "'$what' failed; last lines of its stderr:"
    tail -n 30 "$WORK/logs/$key.err" | sed 's/^/  | /' >&2
    die "'$what' failed (full logs: $WORK/logs/$key.*; BENCH_KEEP=1 keeps them)"
  fi
  WALL[$key]=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($NF, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$tfile")
  RSS[$key]=$(awk '/Maximum resident set size/ {printf "%.0f", $NF / 1024}' "$tfile")
  CPU[$key]=$(awk '/User time|System time/ {s += $NF} END {printf "%.1f", s}' "$tfile")
  MOTO_CPU[$key]=$(awk -v a="$moto0" -v b="$(group_ticks "$MOTO_PGID")" -v h="$CLK_TCK" 'BEGIN {printf "%.1f", (b - a) / h}')
  MLFLOW_CPU[$key]=$(awk -v a="$mlflow0" -v b="$(group_ticks "$MLFLOW_PGID")" -v h="$CLK_TCK" 'BEGIN {printf "%.1f", (b - a) / h}')
  WHAT[$key]=$what
  BYTES[$key]=$bytes
  ROWS+=("$key")
  log "  ${WALL[$key]} s, peak RSS ${RSS[$key]} MiB"
}

json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# How many files the MLflow server has handed presigned multipart URLs for so far (its access log
# has one `mpu/create` line per file uploaded that way).
mpu_creates() { grep -c 'mlflow-artifacts/mpu/create' "$STACK/logs/mlflow.log" || true; }

# What the server advertises to clients that leave MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD unset.
server_mpu=$(python3 - "$MLFLOW_TRACKING_URI" <<'EOF'
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(sys.argv[1] + "/api/3.0/mlflow/server-info", timeout=10) as r:
        print(str(json.load(r).get("multipart_uploads_enabled", "absent")).lower())
except Exception as e:
    print(f"unknown ({e})")
EOF
)

# ------------------------------------------------------------------ the runs

# Order: the two tools alternate, and each like-for-like pair runs back to back, so neither tool gets
# all the quiet moments or all the moto-is-fuller ones.

BASELINE='
import sys, mlflow
mlflow.set_tracking_uri(sys.argv[2])
with mlflow.start_run():
    mlflow.log_artifacts(sys.argv[1], "model")
'
# The caller's MLflow upload settings must not leak into either Python run.
CLEAN_ENV=(env -u MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD -u MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE
  -u MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE)

# 1. llmops register without --publish: staging (copy + sha256) into the dev dataset, runs, version;
#    no upload. It sets up run 3 and shows what staging costs inside register --publish.
timed register_only "llmops register, no --publish (stage+hash, no upload)" "$total_bytes" -- \
  "$LLMOPS" register "$MODEL" --name bench-llmops2 --dev-root "$WORK/dev" \
  --python-model "$PYTHON_MODEL" --output json
model_uri=$(json_field "$WORK/logs/register_only.out" model_uri)

# 2. The baseline as the reference notebooks run it: multipart uploads on.
mpu_before=$(mpu_creates)
timed log_artifacts "log_artifacts, PROXY_MULTIPART_UPLOAD=true" "$total_bytes" -- \
  "${CLEAN_ENV[@]}" MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true \
  "$LLMOPS_STACK_PYTHON" -c "$BASELINE" "$MODEL" "$MLFLOW_TRACKING_URI"
direct=$(( $(mpu_creates) - mpu_before ))
WHAT[log_artifacts]="log_artifacts, MULTIPART=true ($direct in parts, $(( file_count - direct )) via proxy)"

# 3. llmops publish of run 1's version: re-hashes the staged copy against the manifest, then uploads
#    it 4 files at a time, files of 64 MiB or more in presigned parts.
mpu_before=$(mpu_creates)
timed publish "llmops publish (verify hash + upload)" "$total_bytes" -- \
  "${CLEAN_ENV[@]}" "$LLMOPS" publish "$model_uri" --dev-root "$WORK/dev" --output json
uploaded=$(json_field "$WORK/logs/publish.out" uploaded_bytes)
[[ $uploaded == "$total_bytes" ]] || die "llmops publish uploaded $uploaded bytes, expected $total_bytes"
in_parts=$(json_field "$WORK/logs/publish.out" uploaded_in_parts)
WHAT[publish]="llmops publish (verify hash + upload; $in_parts in parts, $(( file_count - in_parts )) via proxy)"

# 4. The baseline on llmops' path: every byte through the proxy, one file at a time.
mpu_before=$(mpu_creates)
timed log_artifacts_proxy "log_artifacts, PROXY_MULTIPART_UPLOAD=false (all via proxy)" "$total_bytes" -- \
  "${CLEAN_ENV[@]}" MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=false \
  "$LLMOPS_STACK_PYTHON" -c "$BASELINE" "$MODEL" "$MLFLOW_TRACKING_URI"
(( $(mpu_creates) == mpu_before )) || log "warning: the forced-proxy run still used multipart uploads"

# 5. llmops register --publish: staging, hashing, upload and registration in one command.
timed register_publish "llmops register --publish (stage+hash+upload)" "$total_bytes" -- \
  "${CLEAN_ENV[@]}" "$LLMOPS" register "$MODEL" --name bench-llmops --publish --dev-root "$WORK/dev" \
  --python-model "$PYTHON_MODEL" --output json
[[ $(json_field "$WORK/logs/register_publish.out" published) == True ]] \
  || die "llmops register --publish reports published=false"

# Python's fixed start-up cost (importing mlflow), included in both log_artifacts times.
t0=$EPOCHREALTIME
"$LLMOPS_STACK_PYTHON" -c 'import mlflow' 2>/dev/null
import_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')

moto_hwm=$(group_hwm_mib "$MOTO_PGID")
mlflow_hwm=$(group_hwm_mib "$MLFLOW_PGID")
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
# llmops says so on stderr when it restarts an upload; a retried run is not a clean measurement.
retries=$(cat "$WORK/logs/publish.err" "$WORK/logs/register_publish.err" | grep -c '^note: upload of .* failed' || true)

# ------------------------------------------------------------------ report

mib=$(awk -v b="$total_bytes" 'BEGIN {printf "%.0f", b / 1048576}')

echo
echo "llmops vs mlflow.log_artifacts: $file_count files, $mib MiB ($SHARDS x $SHARD_MIB MiB shards + small files)"
echo "server: MLflow $LLMOPS_STACK_MLFLOW_VERSION (mlflow server --workers 1, artifact proxy) -> moto $moto_version"
echo "        (mock S3 in one Python process) on 127.0.0.1; server-info multipart_uploads_enabled=$server_mpu"
echo "machine: $(nproc) cores, $(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB RAM, shared by client, MLflow and moto;"
echo "         load average $load_start at start, $load_end at the end"
echo
fmt='%-62s %8s %7s %8s %7s %7s %7s\n'
# shellcheck disable=SC2059
printf "$fmt" "tool: what it did" "seconds" "MiB/s" "peak RSS" "client" "mlflow" "moto"
# shellcheck disable=SC2059
printf "$fmt" "" "" "" "MiB" "CPU s" "CPU s" "CPU s"
for key in "${ROWS[@]}"; do
  rate=$(awk -v b="${BYTES[$key]}" -v s="${WALL[$key]}" 'BEGIN {printf "%.1f", (s > 0 ? b / 1048576 / s : 0)}')
  # shellcheck disable=SC2059
  printf "$fmt" "${WHAT[$key]}" "${WALL[$key]}" "$rate" "${RSS[$key]}" "${CPU[$key]}" "${MLFLOW_CPU[$key]}" "${MOTO_CPU[$key]}"
done
echo
speedup() { awk -v a="${WALL[$1]}" -v b="${WALL[$2]}" 'BEGIN {printf "%.2f", b / a}'; }
echo "speed-ups (above 1: llmops is faster):"
echo "  llmops publish            vs log_artifacts, MULTIPART=true  = $(speedup publish log_artifacts)x   (goal: 2x)"
echo "  llmops publish            vs log_artifacts, all via proxy   = $(speedup publish log_artifacts_proxy)x"
echo "  llmops register --publish vs log_artifacts, MULTIPART=true  = $(speedup register_publish log_artifacts)x   (also stages and hashes a dev copy)"
echo "  peak RSS of llmops publish: ${RSS[publish]} MiB (goal: at most 64)"
echo
echo "notes:"
echo "  - S3 here is moto: one Python process, objects in RAM and unlinked temp files, every multipart"
echo "    completion re-assembled in memory. It and the one-worker MLflow proxy are the bottleneck (see"
echo "    their CPU columns), not the clients. Real S3 behind a real proxy gives other numbers: read the"
echo "    ratios and the paths, not the MiB/s."
echo "  - the server advertises multipart_uploads_enabled=$server_mpu. With MULTIPART=true log_artifacts sent"
echo "    $direct file(s) of 500 MiB or more straight to S3 (presigned 10 MiB parts, 2 per core at once);"
echo "    llmops sent $in_parts file(s) of 64 MiB or more that way (16 MiB parts, 8 in flight). Files sent"
echo "    through the proxy are received whole into a temp file by the server and only then copied to S3."
echo "  - log_artifacts uploads one file at a time; llmops 4 at a time. log_artifacts times include Python"
echo "    start-up (import mlflow alone: $import_s s); llmops publish includes re-hashing the $mib MiB staged copy."
echo "  - peak RSS is the client's; over the whole run moto peaked at $moto_hwm MiB, the MLflow server at $mlflow_hwm MiB."
if (( retries > 0 )); then
  echo "  - llmops retried $retries upload(s) (\"upload of ... failed\" in its stderr): its times include those."
fi
echo "  - files are read from the page cache (just written): disk read speed is in no number. Other work on"
echo "    the machine (see load average) moves single runs by 10-20%; run twice before trusting a ratio."
