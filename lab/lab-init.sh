#!/bin/sh
# PID 1 of a lab host that runs without systemd: syslog, cron, then sshd in the foreground.
mkdir -p /run/sshd
rsyslogd || echo "lab-init: rsyslogd did not start" >&2
cron || echo "lab-init: cron did not start" >&2
exec /usr/sbin/sshd -D -e
