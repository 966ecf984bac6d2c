#!/usr/bin/env bash
# The floor: the same commands over plain ssh, one connection per host, all hosts in parallel.
# usage: floor.sh PORT... (hosts are 127.0.0.1:PORT, user lab, key .lab/id_ed25519)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
key="$here/../.lab/id_ed25519"
script='df -P; df -Pi; sudo vgs --noheadings; sudo lvs --noheadings; free -b; cat /proc/loadavg;
ps -eo stat=,ppid=,pid=,comm= | awk "\$1 ~ /^Z/"; systemctl --failed --no-legend --plain 2>/dev/null;
last -n 50; sudo lastb -n 200; sudo du -sm /tmp /var/tmp; sudo find /tmp /var/tmp / -maxdepth 2 -xdev -name "core*" -type f;
(journalctl -p err --since -24h --no-pager 2>/dev/null || sudo grep -ciE "error|fail" /var/log/syslog) | wc -l;
find /var/backups -maxdepth 2 -type f -mmin -1440; timedatectl show -p NTPSynchronized --value 2>/dev/null; true'
for port in "$@"; do
    ssh -q -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
        -i "$key" -p "$port" lab@127.0.0.1 "$script" >/dev/null &
done
wait
