#!/bin/busybox sh
# /init of the vrrp-lab test VM (lab/src/vm.rs). Runs under busybox's shell as PID 1.
# Console (ttyS0, a file on the host): this script's messages and the test's stderr.
# Second UART (ttyS1, the host's pipe): the start marker, the test's stdout, the exit marker.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns /run/keepalived
# The kernel's module requests (IPVS schedulers, veth, netem on demand) from now on.
echo /usr/sbin/modprobe >/proc/sys/kernel/modprobe
hostname vm
stty -F /dev/ttyS1 raw -echo || echo "vm init: stty ttyS1 failed"
modprobe -a $(cat /etc/vm/boot-modules) || echo "vm init: modprobe failed"
ip link set lo up || echo "vm init: lo failed"
echo "vm init: test starts at uptime $(cut -d' ' -f1 /proc/uptime) s"
echo "@@VRRP-VM-START@@" >/dev/ttyS1
cd /root
bash /etc/vm/main.sh </dev/null >/dev/ttyS1 2>/dev/ttyS0
st=$?
echo "vm init: test exited $st at uptime $(cut -d' ' -f1 /proc/uptime) s"
# Nothing else may hold ttyS1: the last close and stty's TCSADRAIN wait until the marker is out.
kill -9 -1 2>/dev/null
sleep 0.05
printf '\n@@VRRP-VM-EXIT %d@@\n' "$st" >/dev/ttyS1
stty -F /dev/ttyS1 raw -echo
poweroff -f
