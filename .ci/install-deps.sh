#!/usr/bin/env bash
# Installs the Debian packages and the few system folders the end-to-end tests
# and the test lab (test/lab/) need. Debian 12, as root. Safe to run again.
# It starts no daemon: every test starts its own libvirtd/sshd through the lab.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: run as root (apt-get and useradd need it)" >&2
  exit 1
fi

PACKAGES=(
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients   # libvirtd, virtlogd, virsh
  libvirt-daemon-driver-lxc                                    # LXC lab nodes (lxc:///)
  qemu-system-x86 qemu-utils                                   # TCG guests; qemu-img checks a provisioned VM's overlay
  genisoimage                                                  # the node writes cloud-init NoCloud seed ISOs (vm.provision)
  cloud-init                                                   # `cloud-init schema` checks the seed's user-data in tests
  openssh-server openssh-client                                # sshd per lab node, ssh client
  tmux                                                         # drives the TUI in e2e tests
  cpio gzip kmod busybox-static                                # guest initramfs
  util-linux mount procps iproute2                             # unshare, nsenter, mount, ps, ss
  python3                                                      # a foreign XML-RPC peer in tests
  python3-prometheus-client                                    # a stock Prometheus text-format parser for /metrics
  openssl                                                      # TLS test certificates
  ca-certificates
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# The lab downloads Debian's cloud kernel with apt-get download: it needs package lists.
lists_ok() { apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; }

if [ "${#missing[@]}" -gt 0 ] || ! lists_ok; then
  echo "install-deps: installing: ${missing[*]:-(package lists only)}"
  # Keep package scripts from starting system-wide daemons (libvirtd, sshd):
  # the lab runs its own private ones and a system libvirtd would only be in the way.
  policy_made=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_made=1
  fi
  trap '[ "$policy_made" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
else
  echo "install-deps: all packages present"
fi

# libvirtd's QEMU driver will not initialise without this user, even when the
# lab's qemu.conf runs guests as root.
if ! getent passwd libvirt-qemu >/dev/null; then
  useradd -r -M -s /usr/sbin/nologin libvirt-qemu
fi

# Mount points the lab bind-mounts each node's private folders over.
mkdir -p /var/run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /etc/libvirt
# sshd refuses to start without its privilege-separation folder.
mkdir -p /run/sshd
chmod 755 /run/sshd

echo "install-deps: done"
