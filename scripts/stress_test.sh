#!/usr/bin/env bash
# Runs tests while CPU burners load the machine, as on a shared CI runner or a busy laptop.
#   scripts/stress_test.sh [PYTHON] [PYTEST ARGS...]   e.g. scripts/stress_test.sh .venv/bin/python analytics_dagster_tests/ingest
# STRESS_BURNERS (default 6) busy-loop processes run beside pytest. However the script ends (pass, failure, Ctrl-C,
# kill), the burners are stopped, and so is pytest if it is still running. The exit status is pytest's.
set -euo pipefail
python=${1:-python3}
shift || true
burners=${STRESS_BURNERS:-6}
pids=()
tests=""

stop() {
  if [ -n "$tests" ]; then kill "$tests" 2>/dev/null || true; fi
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$burners"); do
  "$python" -c 'while True: pass' &
  pids+=($!)
done
echo "stress: $burners CPU burners on $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# pytest runs in the background so that a signal to this script is handled at once, not after the tests end.
"$python" -m pytest "$@" &
tests=$!
status=0
wait "$tests" || status=$?
tests=""
echo "stress: pytest exited with $status; load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
