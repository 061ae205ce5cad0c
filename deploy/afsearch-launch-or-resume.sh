#!/usr/bin/env bash
# afsearch-launch-or-resume SPACE.yaml --study NAME [any other `afsearch launch` option]
#
# Start study NAME, or continue it with --resume when the database already holds it. Installed
# in the image as /usr/local/bin/afsearch-launch-or-resume; it is the entrypoint of
# deploy/rayjob.yaml, which may run more than once (RayJob retries, a resubmitted RayJob).
#
# Why ask the database first rather than `launch || launch --resume`: `afsearch launch` refuses
# a study name that exists and `--resume` refuses one that does not, but both also fail for
# other reasons (Ray unreachable, a crash halfway through). `launch || launch --resume` would
# then resume straight after any failed fresh start, and `launch --resume || launch` would
# start a new study after any failed resume. Asking `afsearch studies --json` decides once,
# on the fact that matters, and the chosen command's own error is the one that gets reported.
#
# Why a script in the image rather than a snippet in the RayJob: KubeRay pastes the
# entrypoint into its submitter's `bash -c "... ray job submit -- ENTRYPOINT ; ..."`, so `||`,
# `;` or `$VAR` in the entrypoint would run in the submitter pod, not in the Ray job.
set -euo pipefail

prog=afsearch-launch-or-resume
usage="usage: $prog SPACE.yaml --study NAME [afsearch launch options, without --resume]"

study=""
db_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --study) study="${args[i + 1]:-}" ;;
        --study=*) study="${args[i]#--study=}" ;;
        --db) db_args=(--db "${args[i + 1]:-}") ;;
        --db=*) db_args=("${args[i]}") ;;
        --resume | --no-resume)
            echo "$prog: do not pass ${args[i]}; this command decides it" >&2
            exit 2
            ;;
        -h | --help)
            echo "$usage"
            exit 0
            ;;
    esac
done
if [[ -z "$study" ]]; then
    echo "$usage" >&2
    exit 2
fi

# 0: the study exists, 3: it does not. If the database cannot be listed (no SQLite file yet,
# or unreachable), start the study: a fresh launch reports an unreachable database itself.
found=3
if listing="$(afsearch studies --json "${db_args[@]}")"; then
    found=0
    printf '%s' "$listing" | python3 -c '
import json, sys
names = {s["name"] for s in json.load(sys.stdin)}
sys.exit(0 if sys.argv[1] in names else 3)
' "$study" || found=$?
fi

case "$found" in
    0)
        echo "$prog: study '$study' is in the database; resuming it" >&2
        exec afsearch launch "$@" --resume
        ;;
    3)
        echo "$prog: starting study '$study'" >&2
        exec afsearch launch "$@"
        ;;
    *)
        echo "$prog: could not read the output of 'afsearch studies --json'" >&2
        exit 1
        ;;
esac
