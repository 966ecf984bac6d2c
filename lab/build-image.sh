#!/usr/bin/env bash
# Build the Debian 12 lab image with debootstrap and import it into podman.
# Cached: does nothing when the image exists (pass --force to rebuild).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
image="$(python3 "$here/labctl.py" image)"   # tagged by a hash of this recipe

if [[ "${1:-}" != "--force" ]] && podman image exists "$image"; then
    echo "lab image $image exists (cached)"
    exit 0
fi

# Use the mirror this machine's apt already uses, so the build works wherever apt works.
mirror="${LAB_MIRROR:-}"
if [[ -z "$mirror" ]]; then
    mirror="$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | grep -v -e security -e nodesource -e google | head -n1 \
        | sed -E 's/^URIs:[[:space:]]*//; s/^deb (\[[^]]*\] )?//; s/[[:space:]].*$//' || true)"
fi
[[ -n "$mirror" ]] || { echo "build-image: no Debian mirror found in apt sources; set LAB_MIRROR" >&2; exit 1; }

packages=python3,openssh-server,sudo,procps,iproute2,lvm2,btrfs-progs,cron,rsyslog,systemd,systemd-sysv,dbus,util-linux,login,passwd,gzip,tar,zstd,nftables,iptables
root="$(mktemp -d /var/tmp/bjeic-lab-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "debootstrap bookworm into $root (about a minute)"
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -n 30 "$root.log" >&2; echo "build-image: debootstrap failed (log above)" >&2; exit 1; }
rm -f "$root.log"

# Lab-host settings: key-only SSH for a lab user with passwordless sudo.
chroot "$root" useradd -m -s /bin/bash -G sudo lab
echo 'lab ALL=(ALL) NOPASSWD:ALL' >"$root/etc/sudoers.d/lab"
chmod 0440 "$root/etc/sudoers.d/lab"
cat >"$root/etc/ssh/sshd_config.d/lab.conf" <<'CONF'
PasswordAuthentication no
PermitRootLogin prohibit-password
UseDNS no
# The lab key is mounted read-only here by lab/labctl.py; works with or without systemd.
AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/lab_authorized_keys
CONF
install -m 0755 "$here/lab-init.sh" "$root/usr/local/sbin/lab-init"

# A local package repository inside the image, like an air-gapped estate's internal mirror: what
# hardening installs (auditd, libpam-pwquality), an insecure service the tests plant (telnetd via
# inetd), a PAM test tool, the independent scanners (lynis, OpenSCAP with ssg-debian), dnf and
# MariaDB (labctl.py builds the dnf and mariadb variants of the image from it, for the patching
# tests and the database drill).
# Downloaded now from the build machine's mirror; lab hosts never reach any network.
repo_packages=(auditd libpam-pwquality openbsd-inetd inetutils-telnetd pamtester lynis openscap-scanner ssg-debian
               dnf dnf-plugins-core rpm mariadb-server mariadb-client)
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
chroot "$root" apt-get -o APT::Sandbox::User=root update -qq >/dev/null
mkdir -p "$root/srv/lab-repo"
chroot "$root" apt-get -o APT::Sandbox::User=root install -y -qq --download-only -o Dir::Cache::archives=/srv/lab-repo \
    "${repo_packages[@]}" >/dev/null
rm -rf "$root/srv/lab-repo/partial" "$root/srv/lab-repo/lock"
(cd "$root/srv/lab-repo" && apt-ftparchive packages . >Packages)
echo "deb [trusted=yes] file:/srv/lab-repo ./" >"$root/etc/apt/sources.list"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
chroot "$root" apt-get update -qq >/dev/null   # lists of the local repository only

tar -C "$root" -c . | podman import --change 'CMD ["/usr/local/sbin/lab-init"]' - "$image" >/dev/null
echo "lab image $image built"
