#!/usr/bin/env python3
"""Parallel submission: `mailwire send DIR --connections N` vs one connection vs a python smtplib loop,
and the floor: how many messages per second this Postfix accepts at best. Same Postfix, same run.

    bench/smtp_parallel.py BUILD_DIR [MESSAGES] [ROUNDS] [CONNECTIONS]     e.g. build 1000 3 1,2,4,8

Starts its own harness (tests/support/servers/mwservers) in a temporary directory, writes MESSAGES
small .eml files (642 bytes, each its own Message-ID), then:

1. The floor: Postfix's own load generator, smtp-source (no TLS, no AUTH, port-25 service,
   one transaction per round trip on each of S sessions, `-d`: sessions kept open), for S in 1 4 8 16 — once with delivery
   to Dovecot running alongside (what every client here competes with), once with the LMTP
   transport deferred (`defer_transports = lmtp`, set with postconf on this private instance only):
   accepting alone.
2. ROUNDS rounds, interleaved: the mailwire CLI (`send DIR --connections N --json`, STARTTLS +
   AUTH on the submission port, the whole process timed: start, connect, login, every message)
   for each N, and smtplib (one STARTTLS + AUTH connection, `sendmail` per file; its send loop
   timed, login excluded). The queue is drained between runs so no client pays for another's
   backlog, and bob's INBOX is emptied (Dovecot's LMTP re-reads a Maildir's new/ on each delivery:
   a growing mailbox makes every delivery dearer).

Prints messages/s per client (median over rounds, and each round), and the ratio to smtplib.
"""
import json, os, resource, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
conns = [int(x) for x in (sys.argv[4] if len(sys.argv) > 4 else "1,2,4,8").split(",")]
cli = os.path.join(build, "apps", "mailwire", "mailwire")
SMTP_SOURCE = "/usr/sbin/smtp-source"
client_cpu = []  # CPU seconds per message of the last client run

def load_env(path):
    return dict(l.rstrip("\n").split("=", 1) for l in open(path) if "=" in l and not l.startswith("#"))

def message(i):
    return ("From: alice@localhost\r\nTo: bob@localhost\r\nSubject: bench\r\n"
            "Message-ID: <bench-%06d@mailwire.test>\r\n\r\n" % i + "Hello from the benchmark.\r\n" * 20).encode()

def wait_queue_empty(env, limit=300):
    end = time.time() + limit
    while time.time() < end:
        out = subprocess.run(env["POSTQUEUE"].split() + ["-p"], capture_output=True, text=True).stdout
        if "Mail queue is empty" in out:
            break
        time.sleep(0.3)
    # Empty bob's INBOX again: Dovecot's LMTP re-reads the Maildir's new/ on every delivery, so a
    # growing mailbox would make each run's deliveries dearer than the last (this private harness
    # only; the CPU figures include delivering what was accepted).
    subprocess.run(env["DOVEADM"].split() + ["expunge", "-u", "bob", "mailbox", "INBOX", "all"], capture_output=True)

TICK = os.sysconf("SC_CLK_TCK")

def server_cpu(state):
    """CPU seconds used so far by the harness's servers: every process under the daemons' pids
    (utime+stime+cutime+cstime: a reaped child's time is in its parent's cutime)."""
    roots = set(json.load(open(state))["pids"])
    parent, cpu = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(pid)] = int(f[1])
        cpu[int(pid)] = sum(int(x) for x in f[11:15]) / TICK
    def ours(p):
        while p > 1:
            if p in roots:
                return True
            p = parent.get(p, 0)
        return False
    return sum(c for p, c in cpu.items() if ours(p))

def run_cli(env, d, n):
    args = [cli, "send", "--host", env["HOST"], "--port", env["SUBMISSION_PORT"], "--security", "starttls",
            "--cafile", env["CA_FILE"], "--user", env["USER1"], "--password-env", "MW_BENCH_PW", "--json",
            "--progress", "never", "--connections", str(n), d]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, MW_BENCH_PW=env["PASS1"]))
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu.append((r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / count)
    doc = json.loads(p.stdout)
    if p.returncode != 0 or doc.get("sent") != count:
        sys.exit(f"mailwire --connections {n} failed (exit {p.returncode}): {p.stdout[-500:]} {p.stderr[-500:]}")
    return count / wall

SMTPLIB = r'''
import os, smtplib, ssl, sys, time
host, port, ca, user, pw, d = sys.argv[1:7]
files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".eml"))
s = smtplib.SMTP(host, int(port)); s.starttls(context=ssl.create_default_context(cafile=ca)); s.login(user, pw)
t0 = time.perf_counter(); c0 = time.process_time()
for f in files:
    with open(f, "rb") as fh:
        s.sendmail("alice@localhost", ["bob@localhost"], fh.read())
print(len(files) / (time.perf_counter() - t0), (time.process_time() - c0) / len(files))
s.quit()
'''

def run_smtplib(env, d):
    out = subprocess.run([sys.executable, "-c", SMTPLIB, env["HOST"], env["SUBMISSION_PORT"], env["CA_FILE"],
                          env["USER1"], env["PASS1"], d], check=True, capture_output=True, text=True).stdout
    rate, cpu = out.split()
    client_cpu.append(float(cpu))
    return float(rate)

def run_source(env, sessions, n):
    t0 = time.perf_counter()
    subprocess.run([SMTP_SOURCE, "-d", "-s", str(sessions), "-m", str(n), "-l", "600", "-f", "alice@localhost", "-t",
                    "bob@localhost", f"{env['HOST']}:{env['SMTP_PORT']}"], check=True, capture_output=True)
    return n / (time.perf_counter() - t0)

def postconf(env, setting):
    d = env["POSTFIX_DIR"]
    subprocess.run(["postconf", "-c", d, "-e", setting], check=True)
    subprocess.run(["postfix", "-c", d, "reload"], check=True, capture_output=True)
    time.sleep(1)

def main():
    if not os.path.exists(cli):
        sys.exit(f"{cli} missing: build the mailwire_cli target")
    tmp = tempfile.mkdtemp(prefix="mw-smtp-par-")
    os.chmod(tmp, 0o755)  # the mail, dovecot and postfix users must reach the server directory
    harness = os.path.join(ROOT, "tests", "support", "servers", "mwservers")
    subprocess.run([harness, "start", os.path.join(tmp, "servers")], check=True, stdout=subprocess.DEVNULL)
    try:
        env = load_env(os.path.join(tmp, "servers", "env"))
        d = os.path.join(tmp, "msgs")
        os.mkdir(d)
        for i in range(count):
            with open(os.path.join(d, "m%06d.eml" % i), "wb") as f:
                f.write(message(i))
        size = len(message(0))
        loads = [os.getloadavg()[0]]

        if os.path.exists(SMTP_SOURCE):
            print(f"floor: smtp-source, {count} messages of ~600 bytes, port 25 service (no TLS, no AUTH)")
            for deferred in (False, True):
                if deferred:
                    postconf(env, "defer_transports = lmtp")
                for s in (1, 4, 8, 16):
                    rate = run_source(env, s, count)
                    print(f"  {'accept only (LMTP deferred)' if deferred else 'with delivery to Dovecot':28} "
                          f"-s {s:<3} {rate:7.1f} msg/s")
                    if not deferred:
                        wait_queue_empty(env)
                if deferred:
                    postconf(env, "defer_transports =")
                    subprocess.run(env["POSTQUEUE"].split() + ["-f"], capture_output=True)
                    wait_queue_empty(env)
            loads.append(os.getloadavg()[0])

        state = os.path.join(tmp, "servers", "state.json")
        res = {f"mailwire --connections {n}": [] for n in conns}
        res["smtplib"] = []
        cpu = {name: ([], []) for name in res}  # (client, servers) CPU seconds per message
        def timed(name, fn):
            s0 = server_cpu(state)
            res[name].append(fn())
            wait_queue_empty(env)  # the servers' share includes delivering what was accepted
            cpu[name][0].append(client_cpu[-1])
            cpu[name][1].append((server_cpu(state) - s0) / count)
        for r in range(rounds):
            for n in conns:
                timed(f"mailwire --connections {n}", lambda: run_cli(env, d, n))
            timed("smtplib", lambda: run_smtplib(env, d))
            loads.append(os.getloadavg()[0])
        print(f"\n{count} messages of {size} bytes, STARTTLS+AUTH submission to Postfix (delivering to Dovecot), "
              f"{rounds} rounds (median)")
        print(f"{'client':26} {'msg/s':>8} {'x smtplib':>10} {'client CPU':>11} {'server CPU':>11}   msg/s per round")
        py = res["smtplib"]
        for name, rates in res.items():
            ratio = statistics.median(a / b for a, b in zip(rates, py))
            cc, sc = (statistics.median(x) * 1e6 for x in cpu[name])
            print(f"{name:26} {statistics.median(rates):8.1f} {ratio:9.2f}x {cc:8.0f} us {sc:8.0f} us   " +
                  " ".join(f"{v:.0f}" for v in rates))
        print("client CPU: the mailwire process (start, TLS, login, every message) or smtplib's send loop; "
              "server CPU: Postfix + Dovecot (accepting and delivering), per message")
        print("load average (1 min) at the start and after each phase/round: " + " ".join(f"{v:.1f}" for v in loads))
    finally:
        subprocess.run([harness, "stop", os.path.join(tmp, "servers")], stdout=subprocess.DEVNULL)

main()
