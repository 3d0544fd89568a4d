#!/usr/bin/env bash
# record.sh — record aibnet's sample captures of an AIB build path in network namespaces.
#
#   sudo bash captures/lab/record.sh SCENARIO OUTDIR   record one scenario into OUTDIR (< 2 min)
#   sudo bash captures/lab/record.sh all               re-record every scenario into captures/
#   bash captures/lab/record.sh list                   list the scenarios
#
# What it builds (see captures/README.md): one namespace per role on one L2 segment — a
# bridge in its own "fabric" namespace that also plays Azure's host: it applies the
# scenario's NSG model (nftables on the bridged traffic, br_netfilter) and keeps the flow
# table (conntrack) the flow logs are derived from. Real servers (OpenSSH, dnsmasq, a TLS
# WinRM listener, an HTTP/HTTPS mirror) and real clients (ssh through the proxy's SSH
# bastion, a WinRM client through the proxy's HTTP CONNECT proxy, TCP health probes, curl)
# exchange traffic that tcpdump records on the proxy's NIC, the build VM's NIC (and the
# ACI's) and the whole segment.
#
# Safety: the lab's addresses (10.1.0.0/16, 168.63.129.16, the mirrors' 20.x/52.x) exist
# only inside namespaces this script creates; no interface of the lab is ever in the root
# namespace and no namespace has a default route, so nothing can leave. Every loop is
# bounded by a deadline and every client by `timeout`; the EXIT trap kills what it started
# and deletes the namespaces.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CAPTURES=$(dirname "$HERE")
P=aibl                       # namespace prefix: aibl-seg, aibl-proxy, ...
PY=$(command -v /usr/bin/python3 python3 2>/dev/null | head -n1 || true)
SSHD=/usr/sbin/sshd
LOCK=/run/aibnet-lab.lock
LAB=""                       # per-scenario run directory (keys, configs, logs)
PIDS=()                      # background processes this script started

log() { printf '%s [lab] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

# --------------------------------------------------------------------------------------
# Packages

ensure_packages() {
	local need=() c pkg
	for c in ip:iproute2 nft:nftables "$SSHD":openssh-server ssh:openssh-client ssh-keygen:openssh-client \
		openssl:openssl dnsmasq:dnsmasq-base tcpdump:tcpdump conntrack:conntrack curl:curl \
		nc:netcat-openbsd ethtool:ethtool "$PY":python3 flock:util-linux; do
		pkg=${c##*:}; c=${c%:*}
		command -v "$c" >/dev/null 2>&1 || need+=("$pkg")
	done
	if ((${#need[@]})); then
		log "installing: ${need[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
		PY=$(command -v /usr/bin/python3 python3 2>/dev/null | head -n1 || true)
	fi
}

# --------------------------------------------------------------------------------------
# Teardown: kill what we started, then anything left inside our namespaces, delete them.

teardown() {
	local ns pid flags=$-
	set +e
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P-"); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	PIDS=()
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
	if [[ -n $LAB && -d $LAB && -z ${AIBNET_LAB_KEEP:-} ]]; then rm -rf "$LAB"; fi
	LAB=""
	[[ $flags == *e* ]] && set -e
	return 0
}

bg() { # bg LOGFILE CMD... — start a background process, remember its pid
	local out=$1; shift
	"$@" >>"$out" 2>&1 &
	PIDS+=($!)
}

stop_pids() { # stop_pids SIGNAL PID... — signal and reap
	local sig=$1 pid; shift
	for pid in "$@"; do kill "-$sig" "$pid" 2>/dev/null || true; done
	for pid in "$@"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

# --------------------------------------------------------------------------------------
# Topology

lab_up() {
	local before r ns ip mac
	before=$(ip -o link show | wc -l)
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done

	ip netns add "$P-seg"
	nsx seg sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$P-seg" link set lo up
	ip -n "$P-seg" link add br0 type bridge stp_state 0 mcast_snooping 0
	ip -n "$P-seg" link set br0 up
	[[ -e /proc/sys/net/bridge || -n $(nsx seg ls /proc/sys/net/bridge 2>/dev/null) ]] ||
		die "br_netfilter is not available (the fabric applies the NSG model to bridged traffic): modprobe br_netfilter"
	nsx seg sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=0 \
		net.bridge.bridge-nf-call-arptables=0
	# The fabric's flow table: counters on; short timeouts so closed flows are reaped soon.
	nsx seg sysctl -qw net.netfilter.nf_conntrack_acct=1 \
		net.netfilter.nf_conntrack_tcp_timeout_time_wait=2 net.netfilter.nf_conntrack_tcp_timeout_close=2 \
		net.netfilter.nf_conntrack_tcp_timeout_syn_sent=8 net.netfilter.nf_conntrack_udp_timeout=5 \
		net.netfilter.nf_conntrack_udp_timeout_stream=5

	for r in $SC_NAMESPACES; do
		ns=$P-$r
		ip netns add "$ns"
		nsx "$r" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		# Exponential SYN backoff (1, 2, 4, 8 s) as on the kernels Azure images run; kernels
		# since 6.? start with linear 1-s retries by default.
		if [[ -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts ]]; then
			nsx "$r" sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
		fi
		ip -n "$ns" link set lo up
		# The veth pair is created inside the fabric namespace with its peer placed directly
		# in the role's namespace: no lab interface ever exists in the root namespace.
		ip -n "$P-seg" link add "v-$r" type veth peer name eth0 netns "$ns"
		ip -n "$P-seg" link set "v-$r" master br0 up
		mac=$(var "MAC_${r^^}")
		ip -n "$ns" link set eth0 address "$mac"
		# A switched segment without flooding: each MAC is pinned to its port, so no frame
		# is ever copied to a port it is not addressed to (and NSG drops are logged once).
		nsx seg bridge fdb replace "$mac" dev "v-$r" master static
		nsx seg bridge link set dev "v-$r" learning off flood off mcast_flood off
		# Software checksums and no segmentation offloads: the captures show wire-sized,
		# correctly checksummed frames as an Azure NIC would carry them.
		nsx seg ethtool -K "v-$r" tx off tso off gso off gro off >/dev/null 2>&1 || true
		nsx "$r" ethtool -K eth0 tx off tso off gso off gro off >/dev/null 2>&1 || true
		ip -n "$ns" link set eth0 up
	done

	addr() { ip -n "$P-$1" addr add "$2" dev eth0; }
	route() { ip -n "$P-$1" route add "$2" dev eth0; }
	for r in $SC_NAMESPACES; do
		case $r in
		proxy) addr proxy "$IP_PROXY/24"; route proxy "$VNET"; route proxy "$AZURE_LB/32" ;;
		plnat) addr plnat "$IP_PLNAT/24"; route plnat "$VNET" ;;
		buildvm)
			addr buildvm "$IP_BUILDVM/24"; route buildvm "$VNET"
			for ip in $MIRROR_IPS; do route buildvm "$ip/32"; done
			;;
		aci) addr aci "$IP_ACI/24"; route aci "$VNET" ;;
		dns) addr dns "$IP_DNS/24"; route dns "$VNET" ;;
		probe) addr probe "$IP_PROBE/32"; route probe "$VNET" ;;
		mirror)
			for ip in $MIRROR_IPS; do addr mirror "$ip/32"; done
			route mirror "$VNET"
			;;
		esac
	done
	# Permanent neighbour entries instead of ARP: as in Azure, where the host answers ARP
	# and VMs never see each other's broadcasts, the captures carry no ARP at all.
	local other oip
	for r in $SC_NAMESPACES; do
		for other in $SC_NAMESPACES; do
			[[ $other == "$r" ]] && continue
			if [[ $other == mirror ]]; then oip=$MIRROR_IPS; else oip=$(var "IP_${other^^}"); fi
			for ip in $oip; do
				ip -n "$P-$r" neigh replace "$ip" lladdr "$(var "MAC_${other^^}")" dev eth0 nud permanent
			done
		done
	done
	if [[ $SC_OS == windows ]]; then
		# A Windows build VM: TTL 128, no TCP timestamps, ephemeral ports from 49152, as
		# Windows defaults.
		nsx buildvm sysctl -qw net.ipv4.ip_default_ttl=128 net.ipv4.tcp_timestamps=0 \
			net.ipv4.ip_local_port_range="49152 65535"
	fi

	# The NSG model of this scenario, enforced on the bridged traffic.
	"$PY" "$HERE/scenarios.py" nft "$SC_NAME" >"$LAB/fabric.nft"
	nsx seg nft -f "$LAB/fabric.nft"

	# Safety net: nothing of the lab may have appeared in the root namespace.
	[[ $(ip -o link show | wc -l) == "$before" ]] || die "an interface appeared in the root namespace"
	local rootaddrs
	rootaddrs=$(ip -o addr show)
	[[ $rootaddrs != *" 10.1."[012]"."* && $rootaddrs != *" $AZURE_LB/"* ]] || die "a lab address is in the root namespace"
}

var() { printf '%s' "${!1}"; }

# --------------------------------------------------------------------------------------
# Keys, certificates, configs

make_secrets() {
	ssh-keygen -q -t ed25519 -N '' -C aib-packer -f "$LAB/client_key"
	ssh-keygen -q -t ed25519 -N '' -C proxy -f "$LAB/hostkey_proxy"
	ssh-keygen -q -t ed25519 -N '' -C buildvm -f "$LAB/hostkey_build"
	cp "$LAB/client_key.pub" "$LAB/authorized_keys"
	local o=(-loglevel error)
	openssl req "${o[@]}" -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=aibnet lab CA" -keyout "$LAB/ca.key" -out "$LAB/ca.pem" 2>/dev/null ||
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
			-subj "/CN=aibnet lab CA" -keyout "$LAB/ca.key" -out "$LAB/ca.pem" 2>/dev/null
	printf 'subjectAltName=DNS:azure.archive.ubuntu.com,DNS:download.windowsupdate.com,DNS:azkms.core.windows.net\n' >"$LAB/san.ext"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=azure.archive.ubuntu.com" \
		-keyout "$LAB/mirror.key" -out "$LAB/mirror.csr" 2>/dev/null
	openssl x509 -req -in "$LAB/mirror.csr" -CA "$LAB/ca.pem" -CAkey "$LAB/ca.key" -CAcreateserial \
		-days 30 -extfile "$LAB/san.ext" -out "$LAB/mirror.pem" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=aib-build-vm" -keyout "$LAB/winrm.key" -out "$LAB/winrm.pem" 2>/dev/null
	cp "$HERE/customize.sh" "$HERE/labnet.py" "$LAB/"
	chmod 755 "$LAB"
	printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$IP_DNS" >"$LAB/resolv.conf"

	sshd_conf() { # name port listen-ip hostkey extra...
		local name=$1 port=$2 ip=$3 key=$4; shift 4
		{
			printf 'Port %s\nListenAddress %s\nHostKey %s\nPidFile none\n' "$port" "$ip" "$key"
			printf 'AuthorizedKeysFile %s\nPermitRootLogin prohibit-password\nStrictModes no\n' "$LAB/authorized_keys"
			printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nUseDNS no\n'
			printf 'PrintMotd no\nPermitTTY no\nX11Forwarding no\nAllowAgentForwarding no\n'
			printf 'MaxStartups 200:30:400\nMaxSessions 50\nLogLevel INFO\n'
			printf '%s\n' "$@"
		} >"$LAB/sshd_$name.conf"
	}
	sshd_conf proxy 60001 "$IP_PROXY" "$LAB/hostkey_proxy" "AllowTcpForwarding yes" "PermitOpen $IP_BUILDVM:22" "ForceCommand /bin/false"
	sshd_conf build 22 "$IP_BUILDVM" "$LAB/hostkey_build" "AllowTcpForwarding no"

	# The build client (Packer's role): SSH to the build VM through the proxy's bastion, or
	# directly from the ACI in the isolated topology.
	cat >"$LAB/ssh_config" <<-EOF
		Host proxy
		  HostName $IP_PROXY
		  Port 60001
		Host build
		  HostName $IP_BUILDVM
		  ProxyCommand ssh -F $LAB/ssh_config -W %h:%p proxy
		Host build-direct
		  HostName $IP_BUILDVM
		Host *
		  User root
		  IdentityFile $LAB/client_key
		  IdentitiesOnly yes
		  StrictHostKeyChecking no
		  UserKnownHostsFile /dev/null
		  GlobalKnownHostsFile /dev/null
		  LogLevel ERROR
		  BatchMode yes
		  ConnectTimeout 10
		  ServerAliveInterval 2
		  ServerAliveCountMax 3
		  # a short offer, like Packer's Go SSH client (and smaller captures)
		  KexAlgorithms curve25519-sha256
		  HostKeyAlgorithms ssh-ed25519
		  PubkeyAcceptedAlgorithms ssh-ed25519
		  Ciphers chacha20-poly1305@openssh.com,aes128-gcm@openssh.com
	EOF
}

# Run a command in the build VM's namespace with the VNet's DNS server as its resolver
# (a bind mount inside the private mount namespace `ip netns exec` creates).
in_buildvm() {
	ip netns exec "$P-buildvm" /bin/sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$LAB/resolv.conf" "$@"
}

# --------------------------------------------------------------------------------------
# Servers

start_servers() {
	local faults=" $SC_FAULTS " life=$((SC_DURATION + 60)) addrs=() n
	mkdir -p /run/sshd
	# Authoritative local records: A answers, and NOERROR/NODATA (not REFUSED) for AAAA.
	for n in $DNS_RECORDS; do addrs+=("--local=/${n%%=*}/" "--host-record=${n%%=*},${n#*=}"); done
	bg "$LAB/dnsmasq.log" nsx dns dnsmasq -k -C /dev/null --no-resolv --no-hosts --no-poll \
		--bind-interfaces --listen-address="$IP_DNS" --pid-file= --log-queries --log-facility=- "${addrs[@]}"
	local m=($MIRROR_IPS)
	bg "$LAB/mirror.log" nsx mirror "$PY" "$LAB/labnet.py" mirror --lifetime "$life" \
		--http "${m[0]}:80" --http "${m[1]}:80" --https "${m[0]}:443" --https "${m[1]}:443" \
		--kms "${m[2]}:1688" --cert "$LAB/mirror.pem" --key "$LAB/mirror.key"

	if [[ $SC_OS == linux ]]; then
		[[ $faults == *" sshd_down "* ]] || bg "$LAB/sshd-build.log" in_buildvm "$SSHD" -D -e -f "$LAB/sshd_build.conf"
		if [[ $SC_TOPOLOGY == proxy && $faults != *" proxy_listener_down "* ]]; then
			bg "$LAB/sshd-proxy.log" nsx proxy "$SSHD" -D -e -f "$LAB/sshd_proxy.conf"
		fi
	else
		bg "$LAB/winrm.log" in_buildvm "$PY" "$LAB/labnet.py" winrm-server --listen "$IP_BUILDVM:5986" \
			--cert "$LAB/winrm.pem" --key "$LAB/winrm.key" --customize "$LAB/customize.sh" --lifetime "$life"
		bg "$LAB/connect-proxy.log" nsx proxy "$PY" "$LAB/labnet.py" connect-proxy --listen "$IP_PROXY:60000" \
			--allow "$IP_BUILDVM:5986" --dial-timeout 10 --idle 30 --lifetime "$life"
	fi
	if [[ $faults == *" guestfw_winrm_drop "* ]]; then
		# Windows Firewall on the build VM drops WinRM-HTTPS (the NSG allows it).
		nsx buildvm nft -f - <<-'EOF'
			table inet guestfw {
			  chain input { type filter hook input priority 0; tcp dport 5986 drop; }
			}
		EOF
	fi
	wait_listening
}

wait_listening() { # wait (bounded) until every server accepts connections
	local want=("dns:$IP_DNS:53") w ns ipp i up
	[[ $SC_OS == windows ]] && want+=("buildvm:$IP_BUILDVM:5986" "proxy:$IP_PROXY:60000")
	[[ $SC_OS == linux && " $SC_FAULTS " != *" sshd_down "* ]] && want+=("buildvm:$IP_BUILDVM:22")
	[[ $SC_OS == linux && $SC_TOPOLOGY == proxy && " $SC_FAULTS " != *" proxy_listener_down "* ]] && want+=("proxy:$IP_PROXY:60001")
	want+=("mirror:${MIRROR_IPS%% *}:443")
	for w in "${want[@]}"; do
		ns=${w%%:*}; ipp=${w#*:}
		up=""
		for i in $(seq 50); do
			if [[ $ipp == *:53 ]]; then
				[[ $(nsx "$ns" ss -Hlun) == *" $ipp "* ]] && up=1 && break
			else
				[[ $(nsx "$ns" ss -Hltn) == *" $ipp "* ]] && up=1 && break
			fi
			sleep 0.1
		done
		[[ -n $up ]] || die "server $w did not start (see $LAB)"
	done
}

# --------------------------------------------------------------------------------------
# Recorders: tcpdump on the NICs and the bridge, the fabric's conntrack events and NFLOG.

REC_PIDS=()
CT_PID=""
start_recorders() {
	local out=$1 snap=() p
	((SC_SNAPLEN > 0)) && snap=(-s "$SC_SNAPLEN")
	rec() { # ns iface file — a VM's capture is not promiscuous, the segment's is
		local promisc=(-p)
		[[ $1 == seg ]] && promisc=()
		nsx "$1" tcpdump -i "$2" "${promisc[@]}" -n -U -Z root --immediate-mode "${snap[@]}" -w "$3" 2>>"$LAB/tcpdump.log" &
		REC_PIDS+=($!); PIDS+=($!)
	}
	for p in $SC_CAPTURES; do
		case $p in
		segment) rec seg br0 "$out/segment.pcap" ;;
		*) rec "$p" eth0 "$out/$p.pcap" ;;
		esac
	done
	nsx seg tcpdump -i nflog:1 -n -U -Z root --immediate-mode -w "$out/lab/nsg-drops.nflog" 2>>"$LAB/tcpdump.log" &
	REC_PIDS+=($!); PIDS+=($!)
	nsx seg conntrack -E -o timestamp,extended,id -b 8388608 >"$LAB/conntrack.log" 2>"$LAB/conntrack.err" &
	CT_PID=$!; PIDS+=($!)
	for _ in $(seq 50); do
		local up
		up=$(grep -c "listening on" "$LAB/tcpdump.log" 2>/dev/null || true)
		((${up:-0} >= ${#REC_PIDS[@]})) && break
		sleep 0.1
	done
	sleep 0.5
}

stop_recorders() {
	stop_pids TERM "${REC_PIDS[@]}"
	REC_PIDS=()
	FLUSH_T=$(now)
	nsx seg conntrack -F >/dev/null 2>&1 || true
	sleep 0.5
	stop_pids TERM "$CT_PID"
}

# --------------------------------------------------------------------------------------
# Traffic

CLIENT_LOG=""
note() { printf '%s %s\n' "$(now)" "$*" >>"$CLIENT_LOG"; }

probe_loop() { # probe_loop DEADLINE PORT — TCP health probe from 168.63.129.16 every 5 s
	local deadline=$1 port=$2 rc next
	next=$(date +%s)
	while ((next < deadline)); do
		if nsx probe timeout 4 nc -z -w 3 "$IP_PROXY" "$port" >/dev/null 2>&1; then rc=0; else rc=$?; fi
		note "probe $port rc=$rc"
		next=$((next + 5))
		while (($(date +%s) < next)); do sleep 0.2; done
	done
}

LINUX_STEPS=(
	"uname -a; sleep 1"
	"sh @LAB@/customize.sh update"
	"sh @LAB@/customize.sh install"
	"echo cleanup; sleep 1"
)

ssh_session() { # ssh_session NS HOSTALIAS COMMAND [TIMEOUT]
	local ns=$1 host=$2 cmd=$3 to=${4:-15} rc
	if nsx "$ns" timeout -k 2 "$to" ssh -F "$LAB/ssh_config" "$host" "$cmd" >>"$LAB/client.out" 2>&1; then rc=0; else rc=$?; fi
	note "ssh $host rc=$rc"
	return $rc
}

linux_client() { # linux_client DEADLINE NS HOST [MAX_SESSIONS] [STEP_OFFSET]
	local deadline=$1 ns=$2 host=$3 max=${4:-1000} i=${5:-0} n=0 step
	while (($(date +%s) < deadline && n < max)); do
		step=${LINUX_STEPS[i % ${#LINUX_STEPS[@]}]//@LAB@/$LAB}
		if ssh_session "$ns" "$host" "$step"; then sleep 2.5; else sleep 3; fi
		i=$((i + 1)); n=$((n + 1))
	done
}

long_client() { # many short sessions, a customization step now and then
	local deadline=$1 max=$2 n=0 cmd
	while (($(date +%s) < deadline && n < max)); do
		case $((n % 25)) in
		5) cmd="sh $LAB/customize.sh update" ;;
		17) cmd="sh $LAB/customize.sh install" ;;
		*) cmd="uname -a" ;;
		esac
		ssh_session plnat build "$cmd" || sleep 2
		sleep 0.4
		n=$((n + 1))
	done
}

WIN_STEPS=("hostname" "powershell -File customize.ps1 (customize)" "ipconfig /all" "systeminfo")

windows_client() { # windows_client DEADLINE
	local deadline=$1 i=0 rc
	while (($(date +%s) < deadline)); do
		if nsx plnat timeout -k 2 20 "$PY" "$LAB/labnet.py" winrm-client --proxy "$IP_PROXY:60000" \
			--target "$IP_BUILDVM:5986" --command "${WIN_STEPS[i % ${#WIN_STEPS[@]}]}" \
			--dial-timeout 10 --timeout 15 >>"$LAB/client.out" 2>&1; then rc=0; else rc=$?; fi
		note "winrm rc=$rc"
		sleep 3.5
		i=$((i + 1))
	done
}

interrupted_client() { # two good sessions, then a long step cut off by the guest firewall
	local deadline=$1 t
	ssh_session plnat build "uname -a; sleep 1" || true
	sleep 0.5
	ssh_session plnat build "sh $LAB/customize.sh update" || true
	sleep 0.5
	ssh_session plnat build 'for i in $(seq 1 30); do echo "build step $i"; sleep 1; done' 40 &
	local long=$!
	sleep 6
	note "guest firewall: dropping tcp/22 both ways on the build VM"
	nsx buildvm nft -f - <<-'EOF'
		table inet guestfw {
		  chain input { type filter hook input priority 0; tcp dport 22 drop; }
		  chain output { type filter hook output priority 0; tcp sport 22 drop; }
		}
	EOF
	wait "$long" || true
	t=$(date +%s)
	((t < deadline)) && sleep $((deadline - t))
}

run_traffic() {
	local deadline=$(($(date +%s) + SC_DURATION)) pids=() port
	[[ $SC_OS == windows ]] && port=60000 || port=60001
	if [[ $SC_TOPOLOGY == proxy ]]; then
		probe_loop "$deadline" "$port" & pids+=($!)
		sleep 1 # the load balancer forwards once the first probe succeeded
	fi
	case "$SC_CLIENT:$SC_OS:$SC_TOPOLOGY:$SC_NAME" in
	none:*) ;;
	*:*:*:session-interrupted) interrupted_client "$deadline" & pids+=($!) ;;
	*:*:*:healthy-linux-long)
		for i in 0 1; do long_client "$deadline" "${AIBNET_LONG_SESSIONS:-60}" & pids+=($!); sleep 0.5; done
		;;
	*:linux:proxy:*) linux_client "$deadline" plnat build & pids+=($!) ;;
	*:linux:isolated:*) linux_client "$deadline" aci build-direct & pids+=($!) ;;
	*:windows:proxy:*) windows_client "$deadline" & pids+=($!) ;;
	*) die "no client for $SC_CLIENT:$SC_OS:$SC_TOPOLOGY" ;;
	esac
	PIDS+=("${pids[@]}")
	wait "${pids[@]}" || true
	sleep 3 # let closing handshakes and the flow table settle
}

# --------------------------------------------------------------------------------------

record_one() { # record_one SCENARIO OUTDIR
	local sc=$1 out=$2 t0 t1
	local env
	env=$("$PY" "$HERE/scenarios.py" shell "$sc") || die "scenarios.py shell $sc failed"
	eval "$env"
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	rm -rf "$out"/*.pcap "$out/flowlogs" "$out/lab" "$out/expected.json"
	mkdir -p "$out/lab"
	LAB=$(mktemp -d /tmp/aibnet-lab.XXXXXX)
	CLIENT_LOG=$out/lab/client.log
	: >"$CLIENT_LOG"
	log "$sc: building the lab ($SC_OS, $SC_TOPOLOGY, ${SC_DURATION}s of traffic)"
	make_secrets
	lab_up
	start_servers
	start_recorders "$out"
	t0=$(now)
	log "$sc: recording"
	run_traffic
	t1=$(now)
	stop_recorders
	cp "$LAB/fabric.nft" "$out/lab/fabric.nft"
	cp "$LAB/conntrack.log" "$out/lab/conntrack-events.txt"
	teardown
	write_recording "$sc" "$out" "$t0" "$t1"
	"$PY" "$HERE/flowlogs.py" "$sc" "$out" || die "$sc: flow logs disagree with the NSG model"
	gzip -9n "$out/lab/conntrack-events.txt"
	"$PY" "$HERE/scenarios.py" expected "$sc" "$out"
	check_outputs "$out"
	log "$sc: done: $(find "$out" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f KB", s / 1024}') in $out"
}

check_outputs() { # every capture is an Ethernet pcap; every flow log is {"records":[...]}
	local out=$1 p f
	for p in $SC_CAPTURES; do
		f=$out/$p.pcap
		[[ -s $f ]] || die "$SC_NAME: $f is missing"
		[[ $(od -An -tx1 -j20 -N4 "$f" | tr -d ' ') == 01000000 ]] || die "$SC_NAME: $f is not an Ethernet pcap"
	done
	[[ -n $(find "$out/flowlogs" -name PT1H.json) ]] || die "$SC_NAME: no flow logs written"
	find "$out/flowlogs" -name PT1H.json -exec "$PY" -c '
import json, sys
for f in sys.argv[1:]:
    d = json.load(open(f))
    assert list(d) == ["records"] and d["records"], f
' {} + || die "$SC_NAME: a flow log is not valid"
}

write_recording() { # sc out t0 t1 — what the lab's clients saw, for expected.json
	"$PY" - "$@" "$FLUSH_T" <<-'EOF'
		import json, sys, os, subprocess
		sc, out, t0, t1, flush = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
		def ver(cmd):
		    try:
		        p = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
		        return (p.stdout or p.stderr).strip().splitlines()[0]
		    except Exception:
		        return None
		rec = {
		    "start": t0, "end": t1, "conntrack_flushed": flush,
		    "kernel": os.uname().release,
		    "tools": {"openssh": ver(["ssh", "-V"]), "tcpdump": ver(["tcpdump", "--version"]),
		              "conntrack": ver(["conntrack", "--version"]), "nft": ver(["nft", "--version"])},
		}
		json.dump(rec, open(os.path.join(out, "lab", "recording.json"), "w"), indent=2)
	EOF
}

main() {
	case ${1:-} in
	list) "$PY" "$HERE/scenarios.py" list; return ;;
	"" | -h | --help) sed -n '2,8p' "$0"; return ;;
	esac
	((EUID == 0)) || die "run as root (network namespaces, tcpdump, nftables)"
	ensure_packages
	exec 9>"$LOCK"
	flock -n 9 || die "another lab run holds $LOCK"
	trap teardown EXIT
	trap 'exit 130' INT TERM
	if [[ $1 == all ]]; then
		local sc
		for sc in $("$PY" "$HERE/scenarios.py" list); do
			record_one "$sc" "$CAPTURES/$sc"
		done
	else
		[[ -n ${2:-} ]] || die "usage: record.sh SCENARIO OUTDIR | all | list"
		"$PY" "$HERE/scenarios.py" list | grep -x "$1" >/dev/null || die "unknown scenario $1 (record.sh list)"
		record_one "$1" "$2"
	fi
}

main "$@"
