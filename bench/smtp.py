#!/usr/bin/env python3
"""SMTP submission throughput and memory: mailwire vs python smtplib vs curl, same Postfix, same run.

    bench/smtp.py BUILD_DIR [MESSAGES] [ROUNDS]

Each round sends MESSAGES small messages over one STARTTLS+AUTH connection with each client
(interleaved): mailwire's send_many (pipelined across messages), mailwire's send() in a loop (one
round trip per message), smtplib and curl; then one 100 MB message with mailwire and smtplib for
peak memory. Reports messages/s and client CPU per message (medians over rounds), the ratio to
smtplib within each round (median), and the load average. Starts the harness itself.
"""
import json, os, resource, smtplib, ssl, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
binary = os.path.join(build, "bench", "bench_smtp")

def load_env(path):
    return dict(l.rstrip("\n").split("=", 1) for l in open(path) if "=" in l and not l.startswith("#"))

def small_message(i=0):
    return ("From: alice@localhost\r\nTo: bob@localhost\r\nSubject: bench\r\n"
            "Message-ID: <bench-%d@mailwire.test>\r\n\r\n" % i + "Hello from the benchmark.\r\n" * 20).encode()

def run_mailwire(env, mode, path, n):
    out = subprocess.run([binary, mode, env["HOST"], env["SUBMISSION_PORT"], env["CA_FILE"], env["USER1"], env["PASS1"],
                          str(n), path], check=True, capture_output=True, text=True).stdout
    return json.loads(out)

SMTPLIB = r'''
import json, resource, smtplib, ssl, sys, time
host, port, ca, user, pw, n, path = sys.argv[1:8]
data = open(path, "rb").read()
s = smtplib.SMTP(host, int(port)); s.starttls(context=ssl.create_default_context(cafile=ca)); s.login(user, pw)
r0 = resource.getrusage(resource.RUSAGE_SELF); t0 = time.perf_counter()
for i in range(int(n)):
    s.sendmail("alice@localhost", ["bob@localhost"], data)
wall = time.perf_counter() - t0; r1 = resource.getrusage(resource.RUSAGE_SELF)
s.quit()
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(json.dumps({"messages": int(n), "seconds": wall, "cpu_seconds": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
                  "peak_kib": hwm}))
'''

def run_smtplib(env, path, n):
    out = subprocess.run([sys.executable, "-c", SMTPLIB, env["HOST"], env["SUBMISSION_PORT"], env["CA_FILE"], env["USER1"],
                          env["PASS1"], str(n), path], check=True, capture_output=True, text=True).stdout
    return json.loads(out)

def run_curl(env, path, n, tmp):
    cfg = os.path.join(tmp, "curl.cfg")
    with open(cfg, "w") as f:
        for i in range(n):
            if i:
                f.write("next\n")
            f.write('url = "smtp://%s:%s"\nssl-reqd\ncacert = "%s"\nuser = "%s:%s"\nmail-from = "alice@localhost"\n'
                    'mail-rcpt = "bob@localhost"\nupload-file = "%s"\nsilent\n'
                    % (env["HOST"], env["SUBMISSION_PORT"], env["CA_FILE"], env["USER1"], env["PASS1"], path))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.perf_counter()
    subprocess.run(["curl", "-K", cfg], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0; r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"messages": n, "seconds": wall, "cpu_seconds": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
            "peak_kib": r1.ru_maxrss}

def wait_queue_empty(env, limit=120):
    # Let Postfix hand everything to Dovecot before the next client runs, so no client pays
    # for another's delivery backlog.
    end = time.time() + limit
    while time.time() < end:
        out = subprocess.run(env["POSTQUEUE"].split() + ["-p"], capture_output=True, text=True).stdout
        if "Mail queue is empty" in out:
            return
        time.sleep(0.5)

def main():
    if not os.path.exists(binary):
        sys.exit(f"{binary} missing: configure with -DMAILWIRE_BUILD_BENCH=ON and build bench_smtp")
    tmp = tempfile.mkdtemp(prefix="mw-smtp-bench-")
    os.chmod(tmp, 0o755)  # the mail, dovecot and postfix users must reach the server directory
    harness = os.path.join(ROOT, "tests", "support", "servers", "mwservers")
    subprocess.run([harness, "start", os.path.join(tmp, "servers")], check=True, stdout=subprocess.DEVNULL)
    try:
        env = load_env(os.path.join(tmp, "servers", "env"))
        small = os.path.join(tmp, "small.eml")
        open(small, "wb").write(small_message())
        res = {"mailwire": [], "mailwire-serial": [], "smtplib": [], "curl": []}
        loads = [os.getloadavg()[0]]
        for r in range(rounds):
            for name, fn in (("mailwire", lambda: run_mailwire(env, "many", small, count)),
                             ("smtplib", lambda: run_smtplib(env, small, count)),
                             ("mailwire-serial", lambda: run_mailwire(env, "serial", small, count)),
                             ("curl", lambda: run_curl(env, small, count, tmp))):
                res[name].append(fn())
                wait_queue_empty(env)
            loads.append(os.getloadavg()[0])
        print(f"{count} messages of {os.path.getsize(small)} bytes over one STARTTLS+AUTH connection to Postfix, "
              f"{rounds} rounds (median)")
        print(f"{'client':16} {'msg/s':>9} {'CPU µs/msg':>11} {'× smtplib':>10}   msg/s per round")
        py = [x["messages"] / x["seconds"] for x in res["smtplib"]]
        for name, xs in res.items():
            rates = [x["messages"] / x["seconds"] for x in xs]
            rate = statistics.median(rates)
            cpu = statistics.median(x["cpu_seconds"] / x["messages"] * 1e6 for x in xs)
            ratio = statistics.median(a / b for a, b in zip(rates, py))
            print(f"{name:16} {rate:9.1f} {cpu:11.1f} {ratio:9.2f}×   " + " ".join(f"{v:.0f}" for v in rates))
        print("load average (1 min) before and after each round: " + " ".join(f"{v:.1f}" for v in loads))
        big = os.path.join(tmp, "big.eml")
        with open(big, "wb") as f:
            f.write(b"From: alice@localhost\r\nTo: bob@localhost\r\nSubject: big\r\n\r\n")
            line = (b"x" * 76 + b"\r\n")
            for _ in range(100_000_000 // len(line)):  # 100 MB, under the harness's 100 MiB SIZE limit
                f.write(line)
        mw = run_mailwire(env, "big", big, 1)
        wait_queue_empty(env)
        py = run_smtplib(env, big, 1)
        print(f"one {os.path.getsize(big) / 1e6:.0f} MB message: peak RSS mailwire {mw['peak_kib'] / 1024:.1f} MB "
              f"({mw['seconds']:.2f} s), smtplib {py['peak_kib'] / 1024:.1f} MB ({py['seconds']:.2f} s)")
    finally:
        subprocess.run([harness, "stop", os.path.join(tmp, "servers")], stdout=subprocess.DEVNULL)

main()
