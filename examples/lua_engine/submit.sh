#!/bin/sh
# submit.sh PROJECT VIEW START END — a stand-in for a job runner's submit
# command. This runner owns the views whose names end in _fresh: it queues
# them (a line in data/jobs.log of the repo, the working directory) and
# prints the job's id; for any other view it prints "not mine" and exits 3.
case "$2" in
*_fresh)
    mkdir -p data
    n=$(($(cat data/jobs.log 2>/dev/null | wc -l) + 1))
    printf 'job-%d %s %s [%s, %s]\n' "$n" "$1" "$2" "$3" "$4" >>data/jobs.log
    echo "job-$n"
    ;;
*)
    echo "not mine"
    exit 3
    ;;
esac
