#!/usr/bin/env bash
# Provision a fresh machine for development, tests and CI. Idempotent: every step checks first and
# skips when its result is already there, so running it again takes about a second.
#
#   1. Node.js            .tools/node (Node.js 24, NODE_VERSION below: the official binary from the npm
#                         registry's node-linux-<arch> package), only when the system's `node` is older than 24;
#                         every later step, and every npm script (scripts/node-env.sh), then runs on it
#   2. Node packages      npm ci, only when node_modules is missing, older than package-lock.json or was
#                         installed with another Node.js major
#   3. Java               openjdk-17-jre-headless via apt-get, only when `java` is missing
#   4. Temporal CLI       .tools/bin/temporal, built with `go install` (or downloaded when Go is missing)
#   5. Test server jars   .tools/temporal-test-server/lib via Maven (Temporal's Java time-skipping server)
#   6. Test server run    .tools/temporal-test-server/run, the wrapper the TypeScript SDK spawns
#   7. Test server CDS    .tools/temporal-test-server/classes.jsa (a faster JVM start)
#   8. Chromium          Debian's `chromium` via apt-get, only when no chromium is found (CHROMIUM_PATH wins):
#                         the console's browser tests drive it with playwright-core (issue 19)
#   9. Temporal server    .tools/bin/temporal-server and .tools/bin/temporal-sql-tool (self-hosted Temporal
#                         on PostgreSQL, for `npm run up:cluster` and the cluster e2e run of `npm test`),
#                         built with `go install` only with --cluster (CI passes it); kept once built
#
# Usage: bash scripts/provision.sh [--cluster] [--quiet]   (--quiet: errors and long builds only; `npm test` uses it)
# Needs: npm with any Node.js it runs on (Node.js 24 is installed under .tools/node when the system's is older),
# and for a first run access to the npm registry, Maven Central, the Go module proxy and Debian apt (or those
# artefacts already in place). No stdin is read.
set -euo pipefail

WANT_CLUSTER=0
QUIET=0
for arg in "$@"; do
  case "$arg" in
    --cluster) WANT_CLUSTER=1 ;;
    --quiet) QUIET=1 ;;
    *) printf '[provision] unknown argument: %s (usage: provision.sh [--cluster] [--quiet])\n' "$arg" >&2; exit 64 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TEMPORAL_CLI_VERSION="v1.5.1"
# The server version inside that CLI (its go.mod requires go.temporal.io/server v1.29.1).
TEMPORAL_SERVER_VERSION="v1.29.1"
TOOLS="$ROOT/.tools"
TEST_SERVER_DIR="$TOOLS/temporal-test-server"
# Node.js LTS line of package.json's engines (also scripts/node-env.sh and the Dockerfile's NODE_VERSION).
NODE_VERSION="24.22.3"
NODE_MAJOR="${NODE_VERSION%%.*}"
NODE_DIR="$TOOLS/node"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { [ "$QUIET" = 1 ] || printf '[provision] %s\n' "$*"; }
# Said even with --quiet: a step that takes minutes.
note() { printf '[provision] %s\n' "$*"; }
die() { printf '[provision] ERROR: %s\n' "$*" >&2; exit 1; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "need root to run: $*"
  fi
}

declare -a SUMMARY=()
step() { # step <name> <function>
  local name="$1" fn="$2" start
  start="$(now)"
  log "── $name"
  "$fn"
  local took
  took="$(elapsed "$start")"
  SUMMARY+=("$(printf '%-22s %6ss' "$name" "$took")")
  log "   $name: ${took}s"
}

TOTAL_START="$(now)"

# ── 1. Node.js ─────────────────────────────────────────────────────────────────────────────────────
node_runtime() {
  local tools_node="$NODE_DIR/bin/node" system_major=0
  if [ -x "$tools_node" ] && [ "$("$tools_node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; then
    export PATH="$NODE_DIR/bin:$PATH"
    log "   node v$NODE_VERSION at .tools/node"
    return
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found; install Node.js with npm (any version npm runs on)"
  if command -v node >/dev/null 2>&1; then system_major="$(node -p 'process.versions.node.split(".")[0]')"; fi
  # The system's Node is used as it is when it is new enough, unless .tools/node is there (of another
  # version: the pin moved): the npm scripts prefer .tools/node, so it is brought to the pin.
  if [ ! -e "$NODE_DIR" ] && [ "$system_major" -ge "$NODE_MAJOR" ]; then
    log "   system node $(node --version) at $(command -v node)"
    return
  fi
  # The official build, as the npm registry's node-linux-<arch> package ships it (bin/node, headers,
  # man page); its integrity is pinned here as well as checked by npm against the registry.
  local arch integrity tmp tarball got
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) arch=x64 integrity="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==" ;;
    Linux-aarch64 | Linux-arm64) arch=arm64 integrity="sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==" ;;
    *) die "no pinned Node.js $NODE_VERSION package for $(uname -s) $(uname -m); install Node.js $NODE_MAJOR and rerun" ;;
  esac
  note "Node.js $NODE_VERSION into .tools/node (npm pack node-linux-$arch@$NODE_VERSION; system node: $(node --version 2>/dev/null || echo none))"
  tmp="$(mktemp -d)"
  npm pack "node-linux-$arch@$NODE_VERSION" --pack-destination "$tmp" --silent </dev/null >/dev/null \
    || { rm -rf "$tmp"; die "npm pack node-linux-$arch@$NODE_VERSION failed"; }
  tarball="$tmp/node-linux-$arch-$NODE_VERSION.tgz"
  got="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
  [ "$got" = "$integrity" ] || { rm -rf "$tmp"; die "node-linux-$arch@$NODE_VERSION: integrity $got, expected $integrity"; }
  mkdir "$tmp/x"
  tar -xzf "$tarball" -C "$tmp/x"
  got="$("$tmp/x/package/bin/node" --version 2>&1)" || true
  [ "$got" = "v$NODE_VERSION" ] || { rm -rf "$tmp"; die "the unpacked node says '$got', expected v$NODE_VERSION"; }
  mkdir -p "$TOOLS"
  rm -rf "$NODE_DIR"
  mv "$tmp/x/package" "$NODE_DIR"
  rm -rf "$tmp"
  export PATH="$NODE_DIR/bin:$PATH"
  [ "$(node --version)" = "v$NODE_VERSION" ] || die "node on PATH is $(command -v node), not .tools/node"
  log "   installed node $(node --version) at .tools/node"
}

# ── 2. Node packages ───────────────────────────────────────────────────────────────────────────────
node_packages() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge "$NODE_MAJOR" ] || die "Node.js >= $NODE_MAJOR required, found $(node -v) at $(command -v node)"
  # The stamp names the Node.js major too: a new major rebuilds node_modules (install scripts, native addons).
  local stamp="node_modules/.provisioned-lock.sha256" want have=""
  want="$(sha256sum package-lock.json | cut -d' ' -f1) node$major"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  if [ -d node_modules ] && [ "$want" = "$have" ]; then
    log "   node_modules matches package-lock.json"
    return
  fi
  # npm's own marker (written by every npm install/ci) newer than the lock file: installed from this lock
  # (with this Node.js major, unless the stamp says another one).
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
    && { [ -z "$have" ] || [ "${have##* }" = "node$major" ]; }; then
    log "   node_modules is newer than package-lock.json"
    echo "$want" >"$stamp"
    return
  fi
  note "npm ci"
  local npmlog
  npmlog="$(mktemp)"
  if ! npm ci --no-audit --no-fund --loglevel=error </dev/null >"$npmlog" 2>&1; then
    # npm ci insists that the lock lists every optional platform package (e.g. @swc/core-darwin-arm64);
    # registries/mirrors that lack some of those make npm leave them out of the lock, and npm ci then
    # refuses. npm install still installs exactly the locked versions for this platform.
    if grep -q 'package.json and package-lock.json or npm-shrinkwrap.json are in sync' "$npmlog"; then
      log "   npm ci refused a lock without other platforms' optional packages; npm install from the same lock"
      npm install --no-audit --no-fund --loglevel=error </dev/null
    else
      tail -n 40 "$npmlog" >&2
      rm -f "$npmlog"
      die "npm ci failed"
    fi
  else
    grep -v '^npm warn' "$npmlog" | tail -n 3 || true
  fi
  rm -f "$npmlog"
  echo "$want" >"$stamp"
}

# ── 3. Java (for the time-skipping test server) ────────────────────────────────────────────────────
java_runtime() {
  if command -v java >/dev/null 2>&1; then
    log "   $(java -version 2>&1 | head -n1)"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || die "java not found and no apt-get; install a Java 11+ runtime"
  note "apt-get install openjdk-17-jre-headless"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openjdk-17-jre-headless </dev/null
  command -v java >/dev/null 2>&1 || die "java still missing after apt-get install"
}

# ── 4. Temporal CLI (dev server) ───────────────────────────────────────────────────────────────────
temporal_cli() {
  local bin="$TOOLS/bin/temporal"
  if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    log "   $("$bin" --version) at .tools/bin/temporal"
    return
  fi
  if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then
    log "   using TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH"
    return
  fi
  if command -v temporal >/dev/null 2>&1; then
    log "   using $(command -v temporal) from PATH"
    return
  fi
  mkdir -p "$TOOLS/bin"
  if command -v go >/dev/null 2>&1; then
    local pkg="github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" logf
    logf="$(mktemp)"
    note "go install $pkg (once; several minutes on 2 cores)"
    if ! GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install "$pkg" >"$logf" 2>&1; then
      if grep -qiE 'sum\.golang\.org|verifying module|checksum database|GOSUMDB' "$logf"; then
        log "   checksum database unreachable; retrying with GOSUMDB=off"
        GOSUMDB=off GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install "$pkg" >"$logf" 2>&1 || { tail -n 30 "$logf" >&2; die "go install failed"; }
      else
        tail -n 30 "$logf" >&2
        die "go install $pkg failed"
      fi
    fi
    rm -f "$logf"
  else
    local os arch
    os="$(uname -s | tr '[:upper:]' '[:lower:]')"
    case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
    log "   go not found; downloading the release archive from temporal.download"
    curl -fsSL --max-time 300 "https://temporal.download/cli/archive/latest?platform=$os&arch=$arch" | tar -xz -C "$TOOLS/bin" temporal \
      || die "no Go to build the Temporal CLI and the download failed; install Go >= 1.24 and rerun, or set TEMPORAL_CLI_PATH"
  fi
  "$bin" --version >/dev/null || die "$bin does not run"
  log "   built $("$bin" --version)"
}

# ── 5. Temporal's Java test server (time-skipping) ─────────────────────────────────────────────────
test_server_jars() {
  if compgen -G "$TEST_SERVER_DIR/lib/temporal-test-server-*.jar" >/dev/null; then
    log "   $(ls "$TEST_SERVER_DIR/lib" | wc -l) jars in .tools/temporal-test-server/lib"
    return
  fi
  if ! command -v mvn >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "mvn not found; install Maven"
    note "apt-get install maven"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends maven </dev/null
  fi
  note "mvn dependency:copy-dependencies (scripts/test-server/pom.xml)"
  rm -rf "$TEST_SERVER_DIR/lib.partial"
  mvn -q -B -f scripts/test-server/pom.xml dependency:copy-dependencies -DoutputDirectory="$TEST_SERVER_DIR/lib.partial" </dev/null
  rm -rf "$TEST_SERVER_DIR/lib"
  mv "$TEST_SERVER_DIR/lib.partial" "$TEST_SERVER_DIR/lib"
}

# ── 6. Wrapper spawned by TestWorkflowEnvironment.createTimeSkipping ───────────────────────────────
test_server_wrapper() {
  # The SDK starts this with a port argument, waits for it to listen and SIGKILLs it at teardown:
  # it must exec java (no shell left behind). Serial GC and C1 only: a faster start on small machines.
  local run="$TEST_SERVER_DIR/run" tmp
  tmp="$(mktemp)"
  cat >"$tmp" <<'EOF'
#!/usr/bin/env bash
# Temporal's Java time-skipping test server (written by scripts/provision.sh). Usage: run <port>
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cds=()
# Class-data sharing archive made at provisioning: halves the JVM start (the SDK allows 5 s).
[ -f "$here/classes.jsa" ] && cds=(-XX:SharedArchiveFile="$here/classes.jsa" -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off)
exec java "${cds[@]}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"
EOF
  if ! cmp -s "$tmp" "$run" 2>/dev/null; then
    mkdir -p "$TEST_SERVER_DIR"
    mv "$tmp" "$run"
    log "   wrote .tools/temporal-test-server/run"
  else
    rm -f "$tmp"
    log "   .tools/temporal-test-server/run is up to date"
  fi
  chmod 755 "$run"
}

# ── 7. Class-data sharing archive for the test server (a faster, steadier JVM start) ──────────────
test_server_cds() {
  local jsa="$TEST_SERVER_DIR/classes.jsa" port pid
  if [ -f "$jsa" ]; then
    log "   .tools/temporal-test-server/classes.jsa exists"
    return
  fi
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  # Run the server once with -XX:ArchiveClassesAtExit: the JVM writes the classes it loaded when it exits.
  java -XX:ArchiveClassesAtExit="$jsa" -Xlog:cds=off -Xlog:cds+dynamic=off -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -cp "$TEST_SERVER_DIR/lib/*" io.temporal.testserver.TestServer "$port" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  sleep 1
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -f "$jsa" ]; then log "   wrote .tools/temporal-test-server/classes.jsa"; else log "   no CDS archive written (the wrapper runs without it)"; fi
}

# ── 8. Self-hosted Temporal server and its SQL schema tool (--cluster) ──────────────────────────────
temporal_server() {
  local server="$TOOLS/bin/temporal-server" sqltool="$TOOLS/bin/temporal-sql-tool" want="${TEMPORAL_SERVER_VERSION#v}"
  if [ -x "$server" ] && [ -x "$sqltool" ] && "$server" --version 2>/dev/null | grep -q " $want\$" \
    && "$sqltool" --version 2>/dev/null | grep -q " $want\$"; then
    log "   $("$server" --version), $("$sqltool" --version) in .tools/bin"
    return
  fi
  if [ "$WANT_CLUSTER" != 1 ]; then
    log "   skipped: only npm run up:cluster and the cluster e2e run need it (bash scripts/provision.sh --cluster)"
    return
  fi
  command -v go >/dev/null 2>&1 || die "the self-hosted Temporal server is built from Go modules: install Go >= 1.25 and rerun"
  # Same module set as the CLI build above: most modules and compiled packages are in the Go caches already.
  # nice: the build takes both cores for a few minutes; whatever else runs keeps going.
  local gobin logf pkgs=("go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION")
  gobin="$(mktemp -d)"
  logf="$(mktemp)"
  note "go install ${pkgs[*]} (once; a few minutes on 2 cores)"
  if ! GOBIN="$gobin" GOFLAGS=-mod=mod nice -n 10 go install "${pkgs[@]}" >"$logf" 2>&1; then
    if grep -qiE 'sum\.golang\.org|verifying module|checksum database|GOSUMDB' "$logf"; then
      log "   checksum database unreachable; retrying with GOSUMDB=off"
      GOSUMDB=off GOBIN="$gobin" GOFLAGS=-mod=mod nice -n 10 go install "${pkgs[@]}" >"$logf" 2>&1 || { tail -n 30 "$logf" >&2; die "go install failed"; }
    else
      tail -n 30 "$logf" >&2
      die "go install ${pkgs[*]} failed"
    fi
  fi
  rm -f "$logf"
  mkdir -p "$TOOLS/bin"
  # go install names the binaries after their packages (server, sql); give them their usual names.
  mv -f "$gobin/server" "$server"
  mv -f "$gobin/sql" "$sqltool"
  rm -rf "$gobin"
  "$server" --version >/dev/null || die "$server does not run"
  log "   built $("$server" --version) and $("$sqltool" --version)"
}

# ── 8. Chromium (the console's browser tests, driven by playwright-core) ────────────────────────────
chromium_browser() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then
    log "   using CHROMIUM_PATH=$CHROMIUM_PATH"
    return
  fi
  if command -v chromium >/dev/null 2>&1; then
    log "   $(chromium --version 2>/dev/null | head -n1)"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || die "chromium not found and no apt-get; install Chromium and set CHROMIUM_PATH"
  note "apt-get install chromium"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core </dev/null
  command -v chromium >/dev/null 2>&1 || die "chromium still missing after apt-get install"
}

step "node.js" node_runtime
step "node packages" node_packages
step "java" java_runtime
step "temporal cli" temporal_cli
step "test server jars" test_server_jars
step "test server wrapper" test_server_wrapper
step "test server CDS" test_server_cds
step "chromium" chromium_browser
step "temporal server" temporal_server

log "── summary"
for line in "${SUMMARY[@]}"; do log "   $line"; done
log "   provisioning total:    $(elapsed "$TOTAL_START")s"
