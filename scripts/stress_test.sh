#!/usr/bin/env bash
# Runs the test suite while CPU burners load the machine, as a shared CI runner or a busy laptop would.
#   scripts/stress_test.sh [PYTHON] [PYTEST ARGS...]   e.g. scripts/stress_test.sh .venv/bin/python analytics_dagster_tests/ingest
# STRESS_BURNERS (default 6) busy-loop processes run beside pytest; they are killed when the script ends, however it
# ends (pass, failure, Ctrl-C, kill). The exit status is pytest's.
set -euo pipefail
python=${1:-python3}
shift || true
burners=${STRESS_BURNERS:-6}
pids=()

stop_burners() {
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop_burners EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$burners"); do
  "$python" -c 'while True: pass' &
  pids+=($!)
done
echo "stress: $burners CPU burners on $(nproc) cores (pids ${pids[*]}); load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
"$python" -m pytest "$@" || status=$?
echo "stress: pytest exited with $status; load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
