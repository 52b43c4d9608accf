#!/usr/bin/env python3
"""Connection latency, mailwire vs python's imaplib/poplib/smtplib and a raw TLS socket.

Each client does: connect, TLS (implicit or STARTTLS), greeting, capabilities, logout/quit.
Runs are interleaved in rounds so server load and machine noise hit every client alike; the
report gives medians and p90 in milliseconds. Usage:

    bench/connect.py BUILD_DIR [ROUNDS] [PER_ROUND]

mailwire runs without TLS session resumption (python's clients have none) unless
MAILWIRE_BENCH_RESUME=1 is set. BENCH_PROTOCOLS="imap smtp" limits the protocols.
It starts the real-server harness itself (tests/support/servers/mwservers) in a temp dir.
"""
import imaplib, json, os, poplib, smtplib, socket, ssl, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
per_round = int(sys.argv[3]) if len(sys.argv) > 3 else 10
PROTOCOLS = os.environ.get("BENCH_PROTOCOLS", "imap pop3 smtp").split()
binary = os.path.join(build, "bench", "bench_connect")

def load_env(path):
    env = {}
    for line in open(path):
        if "=" in line and not line.startswith("#"):
            k, v = line.rstrip("\n").split("=", 1)
            env[k] = v
    return env

def ctx(cafile):
    c = ssl.create_default_context(cafile=cafile)
    return c

def py_imap(env, mode):
    host = env["HOST"]
    if mode == "implicit_tls":
        m = imaplib.IMAP4_SSL(host, int(env["IMAPS_PORT"]), ssl_context=ctx(env["CA_FILE"]))
    else:
        m = imaplib.IMAP4(host, int(env["IMAP_PORT"]))
        if mode == "starttls":
            m.starttls(ssl_context=ctx(env["CA_FILE"]))
    m.capability()
    m.logout()

def py_pop3(env, mode):
    host = env["HOST"]
    if mode == "implicit_tls":
        p = poplib.POP3_SSL(host, int(env["POP3S_PORT"]), context=ctx(env["CA_FILE"]))
    else:
        p = poplib.POP3(host, int(env["POP3_PORT"]))
        if mode == "starttls":
            p.stls(context=ctx(env["CA_FILE"]))
    p.capa()
    p.quit()

def py_smtp(env, mode):
    host = env["HOST"]
    if mode == "implicit_tls":
        s = smtplib.SMTP_SSL(host, int(env["SMTPS_PORT"]), context=ctx(env["CA_FILE"]))
    else:
        s = smtplib.SMTP(host, int(env["SUBMISSION_PORT"]))
        if mode == "starttls":
            s.ehlo()
            s.starttls(context=ctx(env["CA_FILE"]))
    s.ehlo()
    s.quit()

def raw_tls(env, proto):
    """The floor: a bare TLS socket doing the same exchange with no library at all."""
    port = int(env[{"imap": "IMAPS_PORT", "pop3": "POP3S_PORT", "smtp": "SMTPS_PORT"}[proto]])
    sock = socket.create_connection((env["HOST"], port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = ctx(env["CA_FILE"]).wrap_socket(sock, server_hostname="localhost")
    f = s.makefile("rb")
    def until(pred):
        while True:
            line = f.readline()
            if not line or pred(line):
                return
    if proto == "imap":
        f.readline()
        s.sendall(b"a CAPABILITY\r\n"); until(lambda l: l.startswith(b"a "))
        s.sendall(b"b LOGOUT\r\n"); until(lambda l: l.startswith(b"b "))
    elif proto == "pop3":
        f.readline()
        s.sendall(b"CAPA\r\n"); until(lambda l: l == b".\r\n")
        s.sendall(b"QUIT\r\n"); f.readline()
    else:
        until(lambda l: l[3:4] == b" ")
        s.sendall(b"EHLO [127.0.0.1]\r\n"); until(lambda l: l[3:4] == b" ")
        s.sendall(b"QUIT\r\n"); f.readline()
    s.close()

PY = {"imap": py_imap, "pop3": py_pop3, "smtp": py_smtp}
PORTS = {("imap", "implicit_tls"): "IMAPS_PORT", ("imap", "starttls"): "IMAP_PORT", ("imap", "none"): "IMAP_PORT",
         ("pop3", "implicit_tls"): "POP3S_PORT", ("pop3", "starttls"): "POP3_PORT", ("pop3", "none"): "POP3_PORT",
         ("smtp", "implicit_tls"): "SMTPS_PORT", ("smtp", "starttls"): "SUBMISSION_PORT", ("smtp", "none"): "SUBMISSION_PORT"}

def main():
    if not os.path.exists(binary):
        sys.exit(f"{binary} missing: configure with -DMAILWIRE_BUILD_BENCH=ON and build bench_connect")
    tmp = tempfile.mkdtemp(prefix="mw-bench-")
    harness = os.path.join(ROOT, "tests", "support", "servers", "mwservers")
    subprocess.run([harness, "start", tmp], check=True, stdout=subprocess.DEVNULL)
    try:
        env = load_env(os.path.join(tmp, "env"))
        results = {}  # (proto, mode, client) -> [ms]
        logout = {}   # (proto, mode) -> mailwire logout ms
        for r in range(rounds):
            for proto in PROTOCOLS:
                for mode in ("none", "starttls", "implicit_tls"):
                    out = subprocess.run([binary, proto, mode, env["HOST"], env[PORTS[(proto, mode)]], env["CA_FILE"],
                                          str(per_round)], check=True, capture_output=True, text=True).stdout
                    for line in out.splitlines():
                        d = json.loads(line)
                        results.setdefault((proto, mode, "mailwire"), []).append(d["total_ms"])
                        logout.setdefault((proto, mode), []).append(d["logout_ms"])
                    for _ in range(per_round):
                        t = time.perf_counter(); PY[proto](env, mode)
                        results.setdefault((proto, mode, "python"), []).append((time.perf_counter() - t) * 1e3)
                    if mode == "implicit_tls":
                        for _ in range(per_round):
                            t = time.perf_counter(); raw_tls(env, proto)
                            results.setdefault((proto, mode, "raw python TLS socket"), []).append((time.perf_counter() - t) * 1e3)
        peers = {"imap": "imaplib", "pop3": "poplib", "smtp": "smtplib"}
        print(f"connect+TLS+greeting+capabilities+logout, ms — {rounds} rounds x {per_round} runs, interleaved")
        print(f"{'protocol':8} {'mode':13} {'client':22} {'median':>8} {'p90':>8} {'n':>5}")
        for proto in PROTOCOLS:
            for mode in ("none", "starttls", "implicit_tls"):
                for client in ("mailwire", "python", "raw python TLS socket"):
                    xs = results.get((proto, mode, client))
                    if not xs:
                        continue
                    xs.sort()
                    name = peers[proto] if client == "python" else client
                    print(f"{proto:8} {mode:13} {name:22} {statistics.median(xs):8.2f} {xs[int(len(xs)*0.9)]:8.2f} {len(xs):5}")
                lo = sorted(logout[(proto, mode)])
                print(f"{'':8} {'':13} {'  mailwire logout only':22} {statistics.median(lo):8.2f} {lo[int(len(lo)*0.9)]:8.2f} {len(lo):5}")
    finally:
        subprocess.run([harness, "stop", tmp], stdout=subprocess.DEVNULL)

main()
