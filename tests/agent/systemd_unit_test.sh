#!/usr/bin/env bash
# installer/systemd/ztna-agentd.service: `systemd-analyze verify` finds nothing
# to say about it (unknown keys, keys in the wrong section, bad values), and its
# ExecStart line is one the built ztna-agentd accepts (no usage error).
# Usage: systemd_unit_test.sh UNIT_FILE AGENTD_BINARY
set -euo pipefail
unit=$1 agentd=$(readlink -f "$2")
work=$(mktemp -d /tmp/ztna-unit-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze is not installed (apt-get install systemd)" >&2; exit 1; }

# The unit as installed, with the binary where this build has it.
sed "s|/usr/sbin/ztna-agentd|$agentd|" "$unit" >"$work/ztna-agentd.service"
if ! out=$(systemd-analyze verify "$work/ztna-agentd.service" 2>&1) || [ -n "$out" ]; then
  echo "FAIL: systemd-analyze verify $unit:" >&2; echo "$out" >&2; exit 1
fi
echo "ok: systemd-analyze verify has nothing to say"

# The ExecStart line, with the managed settings pointed at a file that does not
# exist (so that nothing is started or created): the daemon must get as far as
# reading them (exit 1 and a message naming the file), not refuse its arguments
# (exit 2, usage).
exec_line=$(sed -n 's/^ExecStart=//p' "$work/ztna-agentd.service")
[ -n "$exec_line" ] || { echo "FAIL: no ExecStart= in $unit" >&2; exit 1; }
read -r -a argv <<<"$exec_line"
missing="$work/no-such-managed.json"
for i in "${!argv[@]}"; do [ "${argv[$i]}" = "--managed" ] && argv[$((i + 1))]=$missing; done
status=0
out=$("${argv[@]}" 2>&1) || status=$?
if [ "$status" -ne 1 ] || [[ $out != *"$missing"* ]]; then
  echo "FAIL: ExecStart ($exec_line) exited $status, not 1 with the missing settings file named:" >&2
  echo "$out" >&2; exit 1
fi
echo "ok: ExecStart's arguments are accepted: $out"

# And the check can fail: a key in the wrong section (as this file once had) is reported.
sed 's/^StartLimitIntervalSec=.*$//; s/^\(UMask=.*\)$/\1\nStartLimitIntervalSec=300/' "$work/ztna-agentd.service" >"$work/bad.service"
mv "$work/bad.service" "$work/ztna-agentd.service"
if out=$(systemd-analyze verify "$work/ztna-agentd.service" 2>&1) && [ -z "$out" ]; then
  echo "FAIL: systemd-analyze verify did not notice StartLimitIntervalSec in [Service]" >&2; exit 1
fi
echo "ok: a misplaced key is noticed: $out"
