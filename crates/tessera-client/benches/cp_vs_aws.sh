#!/usr/bin/env bash
# `tessera cp` vs `aws s3 cp`: one file (1 GiB by default) uploaded to and downloaded from a
# `tessera serve --memory` on this machine, MiB/s side by side. Figures, not pass/fail.
#
# Usage: crates/tessera-client/benches/cp_vs_aws.sh [SIZE_MIB]
#   TESSERA_BIN  the tessera binary (default: target/release/tessera; build it with
#                `cargo build --release -p tessera` — release builds only for figures)
#   AWS_CLI      the aws CLI (default: target/interop-venv/bin/aws, set up by `cargo xtask interop`)
#   BENCH_DIALECT  the dialect tessera cp speaks (default aws, as the aws CLI does)
# Both tools run with their defaults (aws: 8 MiB parts, 10 requests at once; tessera: part
# size auto = 8 MiB, 8 at once) against the same server, one after the other.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
size_mib="${1:-1024}"
tessera="${TESSERA_BIN:-$root/target/release/tessera}"
aws="${AWS_CLI:-$root/target/interop-venv/bin/aws}"
dialect="${BENCH_DIALECT:-aws}"
[ -x "$tessera" ] || { echo "no tessera binary at $tessera (cargo build --release -p tessera)" >&2; exit 2; }
[ -x "$aws" ] || { echo "no aws CLI at $aws (cargo xtask interop sets it up)" >&2; exit 2; }

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
export TESSERA_ACCESS_KEY=BENCHACCESSKEY TESSERA_SECRET_KEY=bench-secret-key
export AWS_ACCESS_KEY_ID=$TESSERA_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$TESSERA_SECRET_KEY AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
: > "$AWS_CONFIG_FILE"; : > "$AWS_SHARED_CREDENTIALS_FILE"

TESSERA_LOG=warn "$tessera" serve --memory --listen "127.0.0.1:$port" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('$endpoint/_tessera/health')" 2>/dev/null; then break; fi
    sleep 0.1
done

echo "creating a ${size_mib} MiB file..." >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/src.bin"
bytes=$(stat -c %s "$work/src.bin")

tcp() { "$tessera" "$@" --dialect "$dialect" --endpoint "$endpoint" > /dev/null 2>&1 < /dev/null; }
awscp() { "$aws" --endpoint-url "$endpoint" --only-show-errors s3 "$@" > /dev/null; }

# seconds TOOL ARGS...: wall time of one command, in seconds with milliseconds.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}
rate() { python3 -c "print(f'{$bytes / 1048576 / $1:.1f}')"; }

tcp mb s3://bench
t_up=$(seconds tcp cp "$work/src.bin" s3://bench/tessera.bin)
a_up=$(seconds awscp cp "$work/src.bin" s3://bench/aws.bin)
t_down=$(seconds tcp cp s3://bench/tessera.bin "$work/tessera.down")
a_down=$(seconds awscp cp s3://bench/aws.bin "$work/aws.down")
cmp -s "$work/src.bin" "$work/tessera.down" || { echo "tessera download differs" >&2; exit 1; }
cmp -s "$work/src.bin" "$work/aws.down" || { echo "aws download differs" >&2; exit 1; }

printf '%-22s %12s %12s\n' "cp of ${size_mib} MiB" "tessera cp" "aws s3 cp"
printf '%-22s %12s %12s\n' "upload MiB/s" "$(rate "$t_up")" "$(rate "$a_up")"
printf '%-22s %12s %12s\n' "download MiB/s" "$(rate "$t_down")" "$(rate "$a_down")"
printf '%-22s %12s %12s\n' "upload seconds" "$t_up" "$a_up"
printf '%-22s %12s %12s\n' "download seconds" "$t_down" "$a_down"
