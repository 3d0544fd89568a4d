#!/usr/bin/env python3
"""Servers and clients of the aibnet capture lab (Python 3 standard library only).

Every subcommand runs inside one of the lab's network namespaces (record.sh starts it
with `ip netns exec`), binds or connects only to lab addresses given on the command line,
and is bounded in time: servers by their --lifetime, clients by their own timeouts (and
record.sh wraps each in `timeout`).

  connect-proxy  the proxy VM's :60000 for Windows builds: an HTTP CONNECT proxy (the
                 Packer error `proxyconnect tcp: dial tcp <PE>:60000` shows Go's HTTP proxy
                 client talking to it), one downstream TCP connection per CONNECT
  winrm-server   the build VM's WinRM-over-HTTPS listener on :5986 (POST /wsman, SOAP)
  winrm-client   a Packer-like WinRM client: CONNECT through the proxy (or direct), TLS,
                 then Create shell / Command / Receive / Signal / Delete on one connection
  mirror         package mirror: HTTP :80, HTTPS :443 and a KMS-like listener on :1688
  kms-client     one KMS activation-like exchange on :1688
"""

import argparse
import base64
import hashlib
import http.server
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import uuid


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def lifetime_watchdog(seconds):
    """Exit the whole process after `seconds`: no server outlives its scenario."""

    def die():
        time.sleep(seconds)
        os._exit(0)

    threading.Thread(target=die, daemon=True).start()


# ---------------------------------------------------------------------------------------
# HTTP CONNECT proxy (proxy VM :60000)


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def read_head(sock, limit=16384):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return None, buf
        buf += chunk
        if len(buf) > limit:
            return None, buf
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


class ConnectHandler(socketserver.BaseRequestHandler):
    def handle(self):
        cfg = self.server.cfg
        client = self.request
        client.settimeout(cfg.idle)
        try:
            head, rest = read_head(client)
        except OSError:
            return
        if head is None:  # a health probe: connect, then close
            return
        line = head.split("\r\n", 1)[0].split()
        if len(line) < 2 or line[0] != "CONNECT" or line[1] not in cfg.allow:
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = hostport(line[1])
        try:
            upstream = socket.create_connection((host, port), timeout=cfg.dial_timeout)
        except OSError as e:
            log("connect-proxy: dial", line[1], "failed:", e)
            client.sendall(b"HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\n\r\n")
            return
        upstream.settimeout(cfg.idle)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            upstream.sendall(rest)
        t = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
        t.start()
        pipe(client, upstream)
        t.join(cfg.idle)
        upstream.close()


class ThreadingTCP(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def cmd_connect_proxy(a):
    lifetime_watchdog(a.lifetime)
    srv = ThreadingTCP(hostport(a.listen), ConnectHandler)
    srv.cfg = a
    log("connect-proxy listening on", a.listen, "allow", a.allow)
    srv.serve_forever()


# ---------------------------------------------------------------------------------------
# WinRM over HTTPS (build VM :5986)

SOAP_NS = (
    'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"'
)
ACT = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
ACT_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACT_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"


def envelope(action, body, relates=None, shell=None):
    hdr = f"<a:Action>{action}</a:Action><a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
    if relates:
        hdr += f"<a:RelatesTo>{relates}</a:RelatesTo>"
    if shell:
        hdr += f'<w:SelectorSet><w:Selector Name="ShellId">{shell}</w:Selector></w:SelectorSet>'
    return f"<s:Envelope {SOAP_NS}><s:Header>{hdr}</s:Header><s:Body>{body}</s:Body></s:Envelope>"


def between(text, start, end):
    i = text.find(start)
    if i < 0:
        return ""
    i += len(start)
    j = text.find(end, i)
    return text[i:j] if j >= 0 else ""


class WinRMHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        if self.path.lower() != "/wsman":
            self.reply(404, "")
            return
        action = between(body, "<a:Action", "</a:Action>").split(">", 1)[-1]
        msgid = between(body, "<a:MessageID>", "</a:MessageID>")
        st = self.server.state
        if action == ACT_CREATE:
            shell = str(uuid.uuid4()).upper()
            out = envelope(
                "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
                f"<rsp:Shell><rsp:ShellId>{shell}</rsp:ShellId></rsp:Shell>",
                msgid,
            )
        elif action == ACT + "Command":
            shell = between(body, 'Name="ShellId">', "<")
            cmd = between(body, "<rsp:Command>", "</rsp:Command>")
            cid = str(uuid.uuid4()).upper()
            st[cid] = self.run(cmd)
            out = envelope(
                ACT + "CommandResponse",
                f"<rsp:CommandResponse><rsp:CommandId>{cid}</rsp:CommandId></rsp:CommandResponse>",
                msgid,
                shell,
            )
        elif action == ACT + "Receive":
            cid = between(body, 'CommandId="', '"')
            data, code = st.pop(cid, (b"", 0))
            b64 = base64.b64encode(data).decode()
            out = envelope(
                ACT + "ReceiveResponse",
                f'<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="{cid}">{b64}</rsp:Stream>'
                f'<rsp:Stream Name="stdout" CommandId="{cid}" End="true"></rsp:Stream>'
                f'<rsp:CommandState CommandId="{cid}" State="{ACT}CommandState/Done">'
                f"<rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>",
                msgid,
            )
        elif action == ACT + "Signal":
            out = envelope(ACT + "SignalResponse", "<rsp:SignalResponse/>", msgid)
        elif action == ACT_DELETE:
            out = envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", "", msgid)
        else:
            self.reply(500, envelope("http://schemas.xmlsoap.org/ws/2004/08/addressing/fault", "", msgid))
            return
        self.reply(200, out)

    def run(self, cmd):
        """Run a build step. `customize` runs the lab's Windows customization script
        (downloads and KMS activation from the build VM); anything else is echoed."""
        script = self.server.customize
        if "customize" in cmd and script:
            try:
                p = subprocess.run(["/bin/sh", script, "windows"], capture_output=True, timeout=25)
                return p.stdout + p.stderr, p.returncode
            except subprocess.TimeoutExpired:
                return b"customize: timed out\r\n", 1
        return (cmd + "\r\n").encode(), 0

    def reply(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class TLSThreadingHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, handler, ctx):
        super().__init__(addr, handler)
        self.ctx = ctx

    def get_request(self):
        sock, addr = super().get_request()
        sock.settimeout(30)
        return self.ctx.wrap_socket(sock, server_side=True), addr

    def handle_error(self, request, client_address):
        pass  # a probe or a client that gave up mid-handshake


def tls_server_ctx(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def cmd_winrm_server(a):
    lifetime_watchdog(a.lifetime)
    srv = TLSThreadingHTTPServer(hostport(a.listen), WinRMHandler, tls_server_ctx(a.cert, a.key))
    srv.state = {}
    srv.customize = a.customize
    log("winrm-server listening on", a.listen)
    srv.serve_forever()


def http_exchange(sock, host, body):
    req = (
        "POST /wsman HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "User-Agent: Go-http-client/1.1\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Authorization: Basic cGFja2VyOlBhY2tlcl9sYWJfcGFzc3dvcmQ=\r\n"
        "Content-Type: application/soap+xml;charset=UTF-8\r\n"
        "Accept-Encoding: gzip\r\n\r\n"
    ).encode() + body.encode()
    sock.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by server")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("short body")
        rest += chunk
    return status, rest[:length].decode("utf-8", "replace")


def cmd_winrm_client(a):
    host, port = hostport(a.target)
    url_host = f"{host}:{port}"
    t0 = time.time()
    try:
        if a.proxy:
            sock = socket.create_connection(hostport(a.proxy), timeout=a.dial_timeout)
            sock.settimeout(a.timeout)
            sock.sendall(
                f"CONNECT {url_host} HTTP/1.1\r\nHost: {url_host}\r\n"
                "User-Agent: Go-http-client/1.1\r\n\r\n".encode()
            )
            head, _ = read_head(sock)
            if head is None or " 200 " not in head.split("\r\n", 1)[0] + " ":
                raise ConnectionError(f"proxyconnect: {head.splitlines()[0] if head else 'closed'}")
        else:
            sock = socket.create_connection((host, port), timeout=a.dial_timeout)
            sock.settimeout(a.timeout)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # Packer's winrm_insecure: AIB uses a self-signed cert
        tls = ctx.wrap_socket(sock)
        to = f"https://{url_host}/wsman"
        hdr = f"<a:To>{to}</a:To><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>"

        def post(action, body, shell=None):
            env = envelope(action, body, shell=shell).replace("<s:Header>", "<s:Header>" + hdr, 1)
            status, resp = http_exchange(tls, url_host, env)
            if status != 200:
                raise ConnectionError(f"http {status}")
            return resp

        r = post(ACT_CREATE, "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>"
                 "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>")
        shell = between(r, "<rsp:ShellId>", "</rsp:ShellId>")
        r = post(ACT + "Command", f"<rsp:CommandLine><rsp:Command>{a.command}</rsp:Command></rsp:CommandLine>", shell)
        cid = between(r, "<rsp:CommandId>", "</rsp:CommandId>")
        r = post(ACT + "Receive", f'<rsp:Receive><rsp:DesiredStream CommandId="{cid}">stdout stderr</rsp:DesiredStream></rsp:Receive>', shell)
        out = base64.b64decode(between(r, 'Name="stdout" CommandId="' + cid + '">', "</rsp:Stream>") or b"")
        code = between(r, "<rsp:ExitCode>", "</rsp:ExitCode>")
        post(ACT + "Signal", f'<rsp:Signal CommandId="{cid}"><rsp:Code>{ACT}signal/terminate</rsp:Code></rsp:Signal>', shell)
        post(ACT_DELETE, "", shell)
        tls.close()
        sys.stdout.write(out.decode("utf-8", "replace"))
        log(f"winrm-client: ok exit={code} {time.time() - t0:.1f}s")
        return 0 if code in ("", "0") else 1
    except (OSError, ConnectionError, ssl.SSLError) as e:
        log(f"winrm-client: {type(e).__name__}: {e} after {time.time() - t0:.1f}s")
        return 2


# ---------------------------------------------------------------------------------------
# Package mirror (HTTP, HTTPS) and a KMS-like listener


def mirror_blob(path, size):
    """Deterministic pseudo-random content for `path` (stands in for a .deb or an index)."""
    out = b""
    seed = path.encode()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return out[:size]


MIRROR_SIZES = {".deb": 16_000, "InRelease": 3_100, ".gz": 7_000, ".cab": 20_000}


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        size = next((v for k, v in MIRROR_SIZES.items() if self.path.endswith(k)), 0)
        if not size:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = mirror_blob(self.path, size)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_HEAD = do_GET


class KMSHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(10)
        try:
            req = self.request.recv(4096)
            if req:
                self.request.sendall(b"\x05\x00\x0c\x03" + mirror_blob("kms", 152))
                self.request.recv(4096)
        except OSError:
            pass


def cmd_mirror(a):
    lifetime_watchdog(a.lifetime)
    threads = []
    for addr in a.http:
        srv = http.server.ThreadingHTTPServer(hostport(addr), MirrorHandler)
        srv.daemon_threads = True
        threads.append(srv)
    ctx = tls_server_ctx(a.cert, a.key)
    for addr in a.https:
        threads.append(TLSThreadingHTTPServer(hostport(addr), MirrorHandler, ctx))
    for addr in a.kms:
        threads.append(ThreadingTCP(hostport(addr), KMSHandler))
    for srv in threads:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    log("mirror listening on", a.http + a.https + a.kms)
    while True:
        time.sleep(3600)


def cmd_kms_client(a):
    try:
        host = socket.gethostbyname(a.host)
        with socket.create_connection((host, a.port), timeout=a.timeout) as s:
            s.settimeout(a.timeout)
            s.sendall(b"\x05\x00\x0b\x03" + mirror_blob("kms-request", 236))
            s.recv(4096)
        print(f"kms: activated against {a.host}:{a.port}")
        return 0
    except OSError as e:
        print(f"kms: {a.host}:{a.port}: {e}")
        return 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("connect-proxy")
    s.add_argument("--listen", required=True)
    s.add_argument("--allow", action="append", default=[])
    s.add_argument("--dial-timeout", type=float, default=20)
    s.add_argument("--idle", type=float, default=60)
    s.add_argument("--lifetime", type=float, default=300)

    s = sub.add_parser("winrm-server")
    s.add_argument("--listen", required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--customize")
    s.add_argument("--lifetime", type=float, default=300)

    s = sub.add_parser("winrm-client")
    s.add_argument("--target", required=True)
    s.add_argument("--proxy")
    s.add_argument("--command", default="hostname")
    s.add_argument("--dial-timeout", type=float, default=10)
    s.add_argument("--timeout", type=float, default=30)

    s = sub.add_parser("mirror")
    s.add_argument("--http", action="append", default=[])
    s.add_argument("--https", action="append", default=[])
    s.add_argument("--kms", action="append", default=[])
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--lifetime", type=float, default=300)

    s = sub.add_parser("kms-client")
    s.add_argument("host")
    s.add_argument("port", type=int, nargs="?", default=1688)
    s.add_argument("--timeout", type=float, default=5)

    a = p.parse_args()
    fn = {
        "connect-proxy": cmd_connect_proxy,
        "winrm-server": cmd_winrm_server,
        "winrm-client": cmd_winrm_client,
        "mirror": cmd_mirror,
        "kms-client": cmd_kms_client,
    }[a.cmd]
    sys.exit(fn(a) or 0)


if __name__ == "__main__":
    main()
