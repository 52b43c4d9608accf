#!/usr/bin/env python3
"""POP3 download throughput and memory: mailwire vs python's poplib and curl, same run.

    bench/pop3.py BUILD_DIR [ROUNDS] [MESSAGES]

Starts the real-server harness (tests/support/servers/mwservers) in a temp dir, writes MESSAGES
(default 2000) messages of mixed sizes (1-100 kB, dot-led lines included) into bob's maildir,
then in each round, interleaved, every client downloads all of them over implicit TLS (POP3S):

  mailwire pipelined   bench_pop3 all ... pipelined   (PIPELINING, window 64, one RETR batch)
  mailwire sequential  bench_pop3 all ... sequential  (one RETR, wait for the body, next RETR)
  poplib               poplib.POP3_SSL.retr(n) for every n (in this process)
  curl                 one curl process, pop3s://…/[1-N] (connection reused), bodies to /dev/null

Times cover the RETR phase after login (curl: the whole process, including its one TLS connect).
Then a 100 MB message is streamed to a file by mailwire and curl, and fetched by poplib, and
each client's peak resident memory (VmHWM / ru_maxrss) is reported.
"""
import json, os, random, resource, ssl, statistics, subprocess, sys, tempfile, time, poplib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
count = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
binary = os.path.join(build, "bench", "bench_pop3")
USER, PASSWORD = "bob", "bob-secret"


def load_env(path):
    env = {}
    for line in open(path):
        if "=" in line and not line.startswith("#"):
            k, v = line.rstrip("\n").split("=", 1)
            env[k] = v
    return env


def message(i, size):
    head = (f"From: alice@localhost\r\nTo: bob@localhost\r\nSubject: bench {i}\r\n"
            f"Message-ID: <bench-{i}@mailwire.test>\r\n\r\n")
    lines, n = [head, ".leading dot\r\n"], len(head)
    k = 0
    while n < size:
        line = f"{'.' if k % 9 == 0 else ''}{i} {k} the quick brown fox jumps over the lazy dog 0123456789 abcdef\r\n"
        lines.append(line)
        n += len(line)
        k += 1
    return "".join(lines).encode()


def populate(env, sizes, start=0):
    new = os.path.join(env["MAIL_ROOT"], USER, "new")
    os.makedirs(new, exist_ok=True)
    uid, gid = int(env["MAIL_UID"]), int(env["MAIL_GID"])
    total = 0
    for j, size in enumerate(sizes):
        i = start + j
        path = os.path.join(new, f"{1700000000 + i}.M{i}P1.bench")
        data = message(i, size)
        total += len(data)
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, uid, gid)
    subprocess.run(env["DOVEADM"].split() + ["force-resync", "-u", USER, "INBOX"], check=True)
    return total


def ctx(env):
    return ssl.create_default_context(cafile=env["CA_FILE"])


def run_mailwire(env, mode):
    out = subprocess.run([binary, "all", env["HOST"], env["POP3S_PORT"], env["CA_FILE"], USER, PASSWORD, mode],
                         check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    return d["seconds"], d["bytes"], d["messages"], d["cpu_seconds"]


def run_poplib(env):
    p = poplib.POP3_SSL(env["HOST"], int(env["POP3S_PORT"]), context=ctx(env))
    p.user(USER)
    p.pass_(PASSWORD)
    n = len(p.list()[1])
    t, c = time.perf_counter(), time.process_time()
    total = 0
    for i in range(1, n + 1):
        _, lines, _ = p.retr(i)
        total += sum(len(l) + 2 for l in lines)
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    p.quit()
    return dt, total, n, cpu


def curl_cmd(env, what):
    return ["curl", "-s", "--cacert", env["CA_FILE"], "--user", f"{USER}:{PASSWORD}",
            f"pop3s://{env['HOST']}:{env['POP3S_PORT']}/{what}"]


def run_curl(env, n):
    # curl's own size_download is wrong on a reused POP3 connection (the files are right), so the
    # bytes are counted once, untimed, from its output; timed runs write to /dev/null.
    t = time.perf_counter()
    p = subprocess.Popen(curl_cmd(env, f"[1-{n}]"), stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    if status != 0:
        sys.exit("curl failed")
    return dt, None, n, ru.ru_utime + ru.ru_stime


def curl_bytes(env, n):
    r = subprocess.run(curl_cmd(env, f"[1-{n}]"), stdout=subprocess.PIPE, check=True)
    return len(r.stdout)


def vm_hwm_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_polled_kb(cmd, stdout):
    """Runs cmd, polling its VmHWM (peak RSS of its own address space) until it exits. rusage's
    ru_maxrss would include this python process's memory, inherited through fork."""
    p = subprocess.Popen(cmd, stdout=stdout)
    peak = 0
    while p.poll() is None:
        peak = max(peak, vm_hwm_kb(p.pid))
        time.sleep(0.005)
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed")
    return peak


def main():
    if not os.path.exists(binary):
        sys.exit(f"{binary} missing: configure with -DMAILWIRE_BUILD_BENCH=ON and build bench_pop3")
    tmp = tempfile.mkdtemp(prefix="mw-bench-pop3-")
    harness = os.path.join(ROOT, "tests", "support", "servers", "mwservers")
    subprocess.run([harness, "start", tmp], check=True, stdout=subprocess.DEVNULL)
    try:
        env = load_env(os.path.join(tmp, "env"))
        rng = random.Random(1939)
        sizes = [int(min(100_000, max(1_000, rng.lognormvariate(9.8, 0.8)))) for _ in range(count)]
        total = populate(env, sizes)
        print(f"{count} messages, {total / 1e6:.1f} MB on disk, mean {total / count / 1e3:.1f} kB; "
              f"POP3 over implicit TLS, {rounds} rounds, interleaved")
        clients = {
            "mailwire pipelined": lambda: run_mailwire(env, "pipelined"),
            "mailwire sequential": lambda: run_mailwire(env, "sequential"),
            "poplib": lambda: run_poplib(env),
            "curl (pop3s, one process)": lambda: run_curl(env, count),
        }
        times = {k: [] for k in clients}
        cpu = {k: [] for k in clients}
        got = {}
        for _ in range(rounds):
            for name, fn in clients.items():
                dt, nbytes, n, c = fn()
                times[name].append(dt)
                cpu[name].append(c)
                got[name] = (nbytes, n)
        got["curl (pop3s, one process)"] = (curl_bytes(env, count), count)
        base = statistics.median(times["poplib"])
        base_min = min(times["poplib"])
        print(f"{'client':28} {'median s':>9} {'min s':>7} {'MB/s':>7} {'msg/s':>7} {'vs poplib':>9} {'(min)':>6} "
              f"{'client CPU s':>12} {'messages':>8} {'bytes':>11}")
        for name in clients:
            xs = times[name]
            med = statistics.median(xs)
            nbytes, n = got[name]
            print(f"{name:28} {med:9.3f} {min(xs):7.3f} {nbytes / med / 1e6:7.1f} {n / med:7.0f} {base / med:8.2f}x "
                  f"{base_min / min(xs):5.2f}x {statistics.median(cpu[name]):12.3f} {n:8} {nbytes:11}")

        # One 100 MB message, streamed to a file; peak memory of each client.
        big = 100 * 1024 * 1024
        populate(env, [big], start=count)
        n = count + 1
        out = os.path.join(tmp, "big.eml")
        o = subprocess.run([binary, "file", env["HOST"], env["POP3S_PORT"], env["CA_FILE"], USER, PASSWORD, str(n), out],
                           check=True, capture_output=True, text=True).stdout
        d = json.loads(o)
        kb = d["peak_rss_kb"]
        print(f"\n100 MB message (RETR {n}) streamed to a file; peak resident memory of the client process")
        print(f"{'client':28} {'peak RSS MB':>11} {'seconds':>8} {'MB/s':>7} {'bytes':>11}")
        print(f"{'mailwire (retr to a sink)':28} {kb / 1024:11.1f} {d['seconds']:8.2f} {d['bytes'] / d['seconds'] / 1e6:7.1f} {d['bytes']:11}")
        expected = os.path.getsize(out)
        with open(out + ".curl", "wb") as f:
            t = time.perf_counter()
            kb = peak_polled_kb(curl_cmd(env, str(n)), stdout=f)
            dt = time.perf_counter() - t
        print(f"{'curl (to a file)':28} {kb / 1024:11.1f} {dt:8.2f} {os.path.getsize(out + '.curl') / dt / 1e6:7.1f} {os.path.getsize(out + '.curl'):11}")
        same = open(out, "rb").read() == open(out + ".curl", "rb").read()
        code = ("import poplib,ssl,sys,time,resource\n"
                f"p=poplib.POP3_SSL('{env['HOST']}',{env['POP3S_PORT']},context=ssl.create_default_context(cafile='{env['CA_FILE']}'))\n"
                f"p.user('{USER}');p.pass_('{PASSWORD}');t=time.perf_counter();_,l,_=p.retr({n})\n"
                "dt=time.perf_counter()-t;open(sys.argv[1],'wb').write(b'\\r\\n'.join(l)+b'\\r\\n');p.quit()\n"
                "hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
                "print(dt, hwm)\n")
        o = subprocess.run([sys.executable, "-c", code, out + ".poplib"], check=True, capture_output=True, text=True).stdout
        dt, kb = float(o.split()[0]), int(o.split()[1])
        print(f"{'poplib (retr, then write)':28} {kb / 1024:11.1f} {dt:8.2f} {expected / dt / 1e6:7.1f} {os.path.getsize(out + '.poplib'):11}")
        same = same and open(out, "rb").read() == open(out + ".poplib", "rb").read()
        print(f"files identical across the three clients: {same}")
    finally:
        subprocess.run([harness, "stop", tmp], stdout=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", tmp])


main()
