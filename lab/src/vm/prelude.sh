# Helpers for the test scripts of the vrrp-lab VM (lab/src/vm.rs), sourced by bash before
# the test. Only functions: no option is set. Each returns non-zero (with a message on stderr)
# when it fails, so `set -e` or `|| exit 1` stops the test there.
#
#   vm_ns NS...                      namespaces with lo up
#   vm_veth NS1 IF1 ADDR1 NS2 IF2 ADDR2
#                                    a veth pair between two namespaces (ADDR: CIDR or "")
#   vm_lan BR                        a bridge in the guest's root namespace
#   vm_join NS IF ADDR BR            NS gets IF (ADDR: CIDR or ""), a port of bridge BR
#   vm_forward NS                    IPv4 forwarding on in NS
#   vm_in NS CMD...                  CMD inside NS (ip netns exec)
#   vm_httpd NS ADDR PORT BODY       a busybox httpd in NS serving BODY at /, waited for
#   vm_wait SECS CMD...              retries CMD every 50 ms until it succeeds or SECS pass
#   vm_port_open NS ADDR PORT        whether a TCP connect from NS succeeds (1 s timeout)
#   vm_wait_port NS ADDR PORT [SECS] vm_wait for vm_port_open (default 5 s)
#   vm_http_get NS ADDR PORT [PATH]  the body of a GET from NS (HTTP/1.0, busybox nc, 5 s
#                                    timeouts for the connect and the reads)
#   vm_ipvs NS                       ipvsadm -Ln inside NS

vm_err() { echo "vm: $*" >&2; return 1; }

vm_ns() {
    local n
    for n in "$@"; do
        ip netns add "$n" || vm_err "netns add $n" || return 1
        ip -n "$n" link set lo up || return 1
    done
}

_vm_addr_up() { # NS IF ADDR
    if [ -n "$3" ]; then
        ip -n "$1" addr add "$3" dev "$2" || vm_err "addr add $3 dev $2 in $1" || return 1
    fi
    ip -n "$1" link set "$2" up
}

vm_veth() {
    [ $# -eq 6 ] || vm_err "usage: vm_veth NS1 IF1 ADDR1 NS2 IF2 ADDR2" || return 1
    ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" \
        || vm_err "veth $1/$2 - $4/$5" || return 1
    _vm_addr_up "$1" "$2" "$3" && _vm_addr_up "$4" "$5" "$6"
}

vm_lan() {
    ip link add "$1" type bridge || vm_err "bridge $1" || return 1
    ip link set "$1" up
}

_VM_PORTS=0
vm_join() {
    [ $# -eq 4 ] || vm_err "usage: vm_join NS IF ADDR BR" || return 1
    _VM_PORTS=$((_VM_PORTS + 1))
    local port="vmp$_VM_PORTS"
    ip link add "$port" type veth peer name "$2" netns "$1" || vm_err "veth $port - $1/$2" || return 1
    ip link set "$port" master "$4" up || return 1
    _vm_addr_up "$1" "$2" "$3"
}

vm_forward() {
    ip netns exec "$1" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
}

vm_in() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

vm_httpd() {
    [ $# -eq 4 ] || vm_err "usage: vm_httpd NS ADDR PORT BODY" || return 1
    local dir="/tmp/www-$1-$3"
    mkdir -p "$dir" && printf '%s\n' "$4" >"$dir/index.html" || return 1
    # Without -f, httpd returns once it listens (it goes to the background then).
    ip netns exec "$1" busybox httpd -p "$2:$3" -h "$dir" </dev/null || vm_err "httpd in $1" || return 1
    vm_wait_port "$1" "$2" "$3" 5 || vm_err "httpd on $2:$3 in $1 did not start"
}

vm_wait() {
    local secs=$1
    shift
    local end=$((SECONDS + secs))
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || vm_err "timed out after ${secs}s waiting for: $*" || return 1
        sleep 0.05
    done
}

vm_port_open() {
    ip netns exec "$1" timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null
}

vm_wait_port() {
    vm_wait "${4:-5}" vm_port_open "$1" "$2" "$3"
}

vm_http_get() {
    local r
    r=$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "${4:-/}" "$2" |
        ip netns exec "$1" busybox nc -w 5 "$2" "$3") && [ -n "$r" ] ||
        vm_err "GET http://$2:$3${4:-/} from $1 failed" || return 1
    printf '%s\n' "${r#*$'\r\n\r\n'}"
}

vm_ipvs() {
    ip netns exec "$1" ipvsadm -Ln
}
