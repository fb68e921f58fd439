#!/usr/bin/env bash
# `npm run fuzz:api`: generated input against the whole system on this machine, for every role (issue 18).
#
# 1. Starts the system as `npm start` does (embedded PostgreSQL, Temporal dev server, SMTP capture, worker, API,
#    demo data) in a temp dir, on free ports, so it runs beside a developer's own `npm start`.
# 2. Takes the demo keys it prints and adds keys for the roles the demo has none of (brp, privacy-officer).
# 3. Runs schemathesis (from PyPI, into a virtualenv) over the API's OpenAPI document (/openapi.json) per key, and
#    without one, checking `not_a_server_error`: a pass with generated values everywhere, then a pass with the
#    demo's identifiers in the path (`ean`, `gln`: a connection and a party that exist), so that generated input
#    also reaches the code behind the lookups instead of a 404.
# 4. Counts the API's answers from its own request log (every HTTP call, whatever schemathesis makes of it): calls
#    and 5xx per role, and lists each 5xx with its route and the error the API logged.
#
# Exit 0 when no call answered 5xx, 1 otherwise. Not part of `npm test`: it needs Python and PyPI.
#
# Environment:
#   FUZZ_MAX_EXAMPLES   test cases per operation, phase and role (default 20)
#   FUZZ_PHASES         schemathesis phases (default examples,coverage,fuzzing)
#   FUZZ_SEED           schemathesis seed (default 18), for a repeatable run
#   FUZZ_ROLES          roles to run, comma-separated (default: all, and "none" for no key)
#   FUZZ_VENV           virtualenv for schemathesis (default ~/.cache/gerede-twijfel/fuzz-venv)
#   FUZZ_SCHEMATHESIS   pip requirement (default schemathesis==4.32.5)
#   FUZZ_ST_ARGS        more schemathesis arguments (e.g. "--include-path-regex ^/allocation")
#   FUZZ_KEEP=1         keep the temp dir (system log, schemathesis reports) and print its path
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The Node LTS the project runs on (.tools/node), as every npm script.
. scripts/node-env.sh
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-20}"
PHASES="${FUZZ_PHASES:-examples,coverage,fuzzing}"
SEED="${FUZZ_SEED:-18}"
VENV="${FUZZ_VENV:-$HOME/.cache/gerede-twijfel/fuzz-venv}"
REQUIREMENT="${FUZZ_SCHEMATHESIS:-schemathesis==4.32.5}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gt-fuzz-XXXXXX")"
LOG="$WORK/system.log"
SYSTEM_PID=""
say() { printf '[fuzz:api] %s\n' "$*"; }

stop_system() {
  if [[ -n "$SYSTEM_PID" ]] && kill -0 "$SYSTEM_PID" 2>/dev/null; then
    kill -TERM "$SYSTEM_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$SYSTEM_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$SYSTEM_PID" 2>/dev/null || true
  fi
  SYSTEM_PID=""
}
cleanup() {
  stop_system
  if [[ "${FUZZ_KEEP:-0}" == "1" ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- schemathesis -------------------------------------------------------------------------------
PYTHON="$(command -v python3.11 || command -v python3 || true)"
[[ -n "$PYTHON" ]] || { say "python3 is required (3.10 or later)"; exit 2; }
if [[ ! -x "$VENV/bin/st" ]] || ! "$VENV/bin/pip" show -q "${REQUIREMENT%%[=<>]*}" >/dev/null 2>&1; then
  say "installing $REQUIREMENT into $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q "$REQUIREMENT"
fi
say "$("$VENV/bin/st" --version)"

# ---- the system ---------------------------------------------------------------------------------
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
say "starting the system in $WORK (log: system.log)"
: >"$LOG"
# LOG_LEVEL info: the API logs every answer ("request completed", with its status); those lines are the count.
NODE_ENV=development SEED_DEMO=true LOG_LEVEL=info DATA_DIR="$WORK/data" HOST=127.0.0.1 PORT="$(free_port)" \
  EMBEDDED_PG_PORT="$(free_port)" TEMPORAL_DEV_PORT="$(free_port)" TEMPORAL_DEV_UI_PORT="$(free_port)" \
  SMTP_CAPTURE_PORT="$(free_port)" DATABASE_URL='' TEMPORAL_ADDRESS='' SMTP_URL='' \
  node --import tsx scripts/start.ts >"$LOG" 2>&1 &
SYSTEM_PID=$!
for _ in $(seq 1 360); do
  grep -q 'is running' "$LOG" && break
  kill -0 "$SYSTEM_PID" 2>/dev/null || { tail -20 "$LOG"; say "the system did not start"; exit 2; }
  sleep 0.5
done
grep -q 'is running' "$LOG" || { tail -20 "$LOG"; say "the system did not start within 3 minutes"; exit 2; }
API="$(sed -n 's/^  API  *\(http[^ ]*\)$/\1/p' "$LOG" | head -1)"
DATABASE_URL="$(sed -n 's/^  Database  *\(postgres[^ ]*\)$/\1/p' "$LOG" | head -1)"
say "API $API"

# Role → key: the demo's (the first of each role) plus brp and privacy-officer made here.
declare -A KEYS=()
while read -r role key; do
  [[ -n "${KEYS[$role]:-}" ]] || KEYS[$role]="$key"
done < <(sed -n 's/^  \([a-z0-9-]*\)  *\(gt_[A-Za-z0-9_-]*\)  .*$/\1 \2/p' "$LOG")
[[ -n "${KEYS[admin]:-}" ]] || { say "no demo keys in the system's output (was the database empty?)"; exit 2; }
party_gln() { # the GLN of the first party with role $1 (and name matching $2)
  curl -sf -H "authorization: Bearer ${KEYS[admin]}" "$API/parties?limit=500" |
    "$PYTHON" -c 'import json,sys; r,n=sys.argv[1],sys.argv[2]; print(next(p["gln"] for p in json.load(sys.stdin)["items"] if r in p["roles"] and n in p["name"]))' "$1" "$2"
}
make_key() { # role, party GLN → key
  DATABASE_URL="$DATABASE_URL" node --import tsx scripts/api-keys.ts create --role "$1" --party "$2" --label "fuzz $1" |
    grep -o 'gt_[A-Za-z0-9_-]*' | head -1
}
KEYS[brp]="$(make_key brp "$(party_gln balance_responsible_party '')")"
KEYS[privacy-officer]="$(make_key privacy-officer "$(party_gln grid_operator Liander)")"

# The second pass's identifiers: Liander's connection supplied by Groene Stroom to the demo grid user, and Groene
# Stroom itself (the demo supplier key's party): most roles see both.
DEMO_EAN="$(curl -sf -H "authorization: Bearer ${KEYS[admin]}" "$API/connections?limit=500" |
  "$PYTHON" -c 'import json,sys; print(next(c["ean"] for c in json.load(sys.stdin)["items"] if c["gridArea"] == "Liander-Gelderland"))')"
DEMO_GLN="$(party_gln supplier Groene)"
cat >"$WORK/demo-ids.toml" <<TOML
[parameters]
"path.ean" = "$DEMO_EAN"
"path.gln" = "$DEMO_GLN"
TOML

ROLES="${FUZZ_ROLES:-admin,case-handler,supplier,p4-client,compliance,grid-user,brp,privacy-officer,none}"
total_calls=0
total_5xx=0
started=$(date +%s)
summary=""
for role in ${ROLES//,/ }; do
  header=()
  if [[ "$role" != "none" ]]; then
    [[ -n "${KEYS[$role]:-}" ]] || { say "no key for role $role"; exit 2; }
    header=(-H "Authorization: Bearer ${KEYS[$role]}")
  fi
  for pass in generated demo-ids; do
    config=()
    [[ "$pass" == "demo-ids" ]] && config=(--config-file "$WORK/demo-ids.toml")
    from=$(($(wc -l <"$LOG") + 1))
    t0=$(date +%s)
    say "role $role, $pass: schemathesis (max examples $MAX_EXAMPLES, phases $PHASES, seed $SEED)"
    "$VENV/bin/st" "${config[@]}" run "$API/openapi.json" "${header[@]}" --checks not_a_server_error \
      --phases "$PHASES" --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 2 --request-timeout 30 \
      --suppress-health-check all --report junit,vcr --report-dir "$WORK/reports/$role-$pass" \
      --output-truncate true ${FUZZ_ST_ARGS:-} >"$WORK/st-$role-$pass.txt" 2>&1 || true
    grep -E '^(Test cases:|  [0-9]+ generated)' "$WORK/st-$role-$pass.txt" | sed 's/^/    /' || true
    # The API's own record of this pass's calls (lines appended since it started).
    read -r calls fives < <(tail -n "+$from" "$LOG" | "$PYTHON" -c '
import json, sys
calls = fives = 0
for line in sys.stdin:
    if "request completed" not in line: continue
    try: e = json.loads(line)
    except ValueError: continue
    calls += 1
    if e.get("res", {}).get("statusCode", 0) >= 500: fives += 1
print(calls, fives)')
    secs=$(($(date +%s) - t0))
    summary+="$(printf '  %-16s %-9s %7d calls  %4d 5xx  %5d s' "$role" "$pass" "$calls" "$fives" "$secs")"$'\n'
    total_calls=$((total_calls + calls))
    total_5xx=$((total_5xx + fives))
  done
done

say "answers by role (from the API's request log):"
printf '%s' "$summary"
say "total: $total_calls calls, $total_5xx answered 5xx, $(($(date +%s) - started)) s"
if ((total_5xx > 0)); then
  say "the 5xx answers and what the API logged for them:"
  "$PYTHON" - "$LOG" <<'PY'
import json, sys
reqs, errors = {}, {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try: e = json.loads(line)
    except ValueError: continue
    rid = e.get("reqId")
    if e.get("msg") == "incoming request" and rid: reqs[rid] = e.get("req", {})
    if e.get("level", 0) >= 50 and rid: errors[rid] = (e.get("err") or {}).get("message", e.get("msg"))
    if e.get("msg") == "request completed" and e.get("res", {}).get("statusCode", 0) >= 500:
        r = reqs.get(rid, {})
        print(f'  {e["res"]["statusCode"]} {r.get("method")} {str(r.get("url"))[:160]}: {str(errors.get(rid))[:300]}')
PY
  exit 1
fi
