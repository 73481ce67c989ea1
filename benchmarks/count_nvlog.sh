#!/bin/bash
# Instructions per mirrored write of the NVLog benchmark's set-up, for the code in DIR (default: this
# checkout): a load-independent speed figure (valgrind's instruction count does not depend on what
# else runs on the machine). Runs benchmarks/count_nvlog.py with 1 and with 20,000 writes under
# cachegrind; per write = (I refs at 20,000 - I refs at 1) / 20,000. Takes ~75 s.
#     bash benchmarks/count_nvlog.sh [DIR]
DIR=$(cd "${1:-$(dirname "$0")/..}" && pwd)
PY=$(python -c 'import sys; print(sys.executable)')  # the interpreter itself, not a shim script
get() {
    (cd "$DIR/benchmarks" && OPENBLAS_NUM_THREADS=1 PYTHONPATH="$DIR" valgrind --tool=cachegrind --cache-sim=no \
        --cachegrind-out-file=/dev/null "$PY" count_nvlog.py "$1" 2>&1 | grep "I *refs" | tr -d ',' | awk '{print $NF}')
}
a=$(get 1)
b=$(get 20000)
python -c "print(f'instructions per write: {($b - $a) / 20000:,.0f}  ($DIR)')"
