#!/bin/sh
# customize.sh — a build step as AIB's customizers run it on the build VM: resolve the
# package mirrors through the VNet's DNS server and download from them (what `apt-get
# update`, `apt-get install` or Windows Update and KMS activation would do). record.sh
# copies it into the lab's run directory next to ca.pem and labnet.py; the build VM's sshd
# (Linux) or WinRM listener (Windows) runs it inside the build VM's namespace.
# Every call is bounded: curl --connect-timeout/--max-time, kms-client --timeout.
here=$(dirname "$0")
rc=0
fetch() {
	curl -sS --cacert "$here/ca.pem" --connect-timeout 4 --max-time 10 -o /dev/null \
		-w "%{http_code} %{size_download} $1\n" "$1" || { echo "FAILED $1"; rc=1; }
}
case "$1" in
update)
	fetch http://azure.archive.ubuntu.com/ubuntu/dists/jammy/InRelease
	fetch http://azure.archive.ubuntu.com/ubuntu/dists/jammy/main/binary-amd64/Packages.gz
	;;
install)
	fetch https://azure.archive.ubuntu.com/ubuntu/pool/main/h/hello/hello_2.10-2ubuntu4_amd64.deb
	;;
windows)
	fetch https://download.windowsupdate.com/c/msdownload/update/software/secu/2026/11/windows10.0-kb5050001-x64.cab
	python3 "$here/labnet.py" kms-client azkms.core.windows.net 1688 --timeout 5 || rc=1
	;;
*)
	echo "usage: customize.sh update|install|windows" >&2
	exit 2
	;;
esac
# like a customizer script: a failed download fails the build step
exit $rc
