#!/bin/sh
# Each point of scenarios/ransomware_scale.yaml in its own process under /usr/bin/time -v (wall, CPU,
# peak RSS per run), with the load average before and after; figures in benchmarks/ransomware_recovery.md.
#   sh benchmarks/ransomware_scale_time.sh OUTDIR
out=${1:-results/ransomware_scale_time}
mkdir -p "$out"
for variant in split_backup periodic_backup; do
  for files in 100 1000 10000; do
    log="$out/${variant}_${files}.log"
    uptime > "$log"
    nice /usr/bin/time -v python -m sim run scenarios/ransomware_scale.yaml --base-point --no-progress \
      --set params.variant=$variant --set params.files=$files --out "$out/${variant}_${files}" >> "$log" 2>&1
    uptime >> "$log"
  done
done
