#!/usr/bin/env python3
"""IMAP fetch benchmark: mailwire (fully parsed) vs the raw byte-count lower bound vs python imaplib,
and a 200 MB message fetched to a file with peak memory. Usage:

    bench/imap.py BUILD_DIR [ROUNDS] [MESSAGES] [BIG_MB]

BUILD_DIR must hold bench/bench_imap (configure with -DMAILWIRE_BUILD_BENCH=ON). The script starts
its own servers (tests/support/servers/mwservers) in a temp dir, writes MESSAGES (20000) maildir
files into alice's INBOX as MAIL_UID:MAIL_GID, runs `doveadm force-resync`, warms Dovecot's cache
with one untimed fetch, then runs ROUNDS (7) rounds, each: one bench_imap process doing the parsed
fetch and the raw read over one TLS connection (order alternating), then imaplib. The big message
(BIG_MB, 200) goes to bob's INBOX and is fetched by bench_imap, imaplib and curl (if installed),
each in its own process so peak RSS is its own.
"""
import imaplib, json, os, random, resource, shutil, ssl, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
count = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
big_mb = int(sys.argv[4]) if len(sys.argv) > 4 else 200
binary = os.path.join(build, "bench", "bench_imap")
ITEMS = "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)"


def load_env(path):
    env = {}
    for line in open(path):
        if "=" in line and not line.startswith("#"):
            k, v = line.rstrip("\n").split("=", 1)
            env[k] = v
    return env


NAMES = ["Alice Example", "Bob Builder", "Carol Singer", "Dave O'Neil", "Eve", "Frank Müller", "Grace Hopper",
         "Heinz Lüdenscheid", "Ivan Petrov", "Judy Garland", "Doe, John", "Zoë Åström"]
WORDS = ["meeting", "report", "quarterly", "lunch", "invoice", "release", "review", "update", "draft",
         "budget", "travel", "schedule", "Grüße", "résumé", "build", "failure", "success", "notes"]


def enc_name(name):
    if all(ord(ch) < 128 for ch in name):
        return f'"{name}"' if "," in name or "'" in name else name
    import base64
    return "=?utf-8?b?" + base64.b64encode(name.encode()).decode() + "?="


def enc_subject(words):
    s = " ".join(words)
    if all(ord(ch) < 128 for ch in s):
        return s
    import base64
    return "=?utf-8?b?" + base64.b64encode(s.encode()).decode() + "?="


def make_message(i, rnd):
    frm = rnd.choice(NAMES)
    tos = rnd.sample(NAMES, rnd.randint(1, 3))
    addr = lambda n: f"{enc_name(n)} <{n.split()[0].lower().strip(',')}{rnd.randint(1, 99)}@example.org>"
    subject = enc_subject(rnd.sample(WORDS, rnd.randint(2, 6)))
    hdr = [f"From: {addr(frm)}", "To: " + ", ".join(addr(t) for t in tos)]
    if rnd.random() < 0.3:
        hdr.append("Cc: " + addr(rnd.choice(NAMES)))
    hdr += [f"Subject: {subject}", f"Date: Thu, {1 + i % 28:02d} Feb 2024 {i % 24:02d}:{i % 60:02d}:00 +0100",
            f"Message-ID: <{i}.{rnd.randint(0, 1 << 30)}@bench.mailwire>"]
    if rnd.random() < 0.4:
        hdr.append(f"In-Reply-To: <{max(0, i - 1)}.1@bench.mailwire>")
    hdr.append("MIME-Version: 1.0")
    text = " ".join(rnd.choice(WORDS) for _ in range(40)) + "\r\n"
    kind = rnd.random()
    if kind < 0.5:
        hdr.append("Content-Type: text/plain; charset=utf-8")
        body = text
    elif kind < 0.85:
        hdr.append('Content-Type: multipart/alternative; boundary="alt"')
        body = ("--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text +
                "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>" + text + "</p>\r\n--alt--\r\n")
    else:
        hdr.append('Content-Type: multipart/mixed; boundary="mix"')
        body = ("--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text +
                "--mix\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n"
                "Content-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\r\n--mix--\r\n")
    return ("\r\n".join(hdr) + "\r\n\r\n" + body).encode()


def populate(env, user, messages, flags="S"):
    cur = os.path.join(env["MAIL_ROOT"], user, "cur")
    os.makedirs(cur, exist_ok=True)
    uid, gid = int(env["MAIL_UID"]), int(env["MAIL_GID"])
    base = int(time.time())
    for i, data in enumerate(messages):
        path = os.path.join(cur, f"{base}.M{i}P{os.getpid()}.bench,S={len(data)}:2,{flags if i % 3 else ''}")
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, uid, gid)
    for d in (os.path.join(env["MAIL_ROOT"], user), cur):
        os.chown(d, uid, gid)
    subprocess.run(env["DOVEADM"].split() + ["force-resync", "-u", user, "INBOX"], check=True)


def imaplib_fetch(env):
    ctx = ssl.create_default_context(cafile=env["CA_FILE"])
    m = imaplib.IMAP4_SSL(env["HOST"], int(env["IMAPS_PORT"]), ssl_context=ctx)
    m.login(env["USER1"], env["PASS1"])
    m.select("INBOX", readonly=True)
    t0, c0 = time.perf_counter(), time.process_time()
    typ, data = m.uid("FETCH", "1:*", ITEMS)
    t, c = time.perf_counter() - t0, time.process_time() - c0
    assert typ == "OK", typ
    m.logout()
    return t, c


BIG_IMAPLIB = r"""
import imaplib, resource, ssl, sys, time
host, port, ca, user, pw, path = sys.argv[1:7]
m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ssl.create_default_context(cafile=ca))
m.login(user, pw)
typ, d = m.select("INBOX", readonly=True)
uid = m.uid("SEARCH", "ALL")[1][0].split()[-1]
t0 = time.perf_counter()
typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
with open(path, "wb") as f:
    f.write(data[0][1])
print(time.perf_counter() - t0, len(data[0][1]), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def child_peak(cmd):
    """Runs cmd; returns (stdout, peak RSS KiB of that child alone) via a wrapper process."""
    wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
               "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr);"
               "print('PEAK', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", wrapper] + cmd, capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    return "\n".join(lines[:-1]), int(lines[-1].split()[1])


def main():
    tmp = tempfile.mkdtemp(prefix="mw-bench-imap-")
    servers = os.path.join(ROOT, "tests", "support", "servers", "mwservers")
    subprocess.run([servers, "start", tmp], check=True, stdout=subprocess.DEVNULL)
    try:
        env = load_env(os.path.join(tmp, "env"))
        rnd = random.Random(42)
        t0 = time.time()
        populate(env, env["USER1"], (make_message(i, rnd) for i in range(count)))
        print(f"populated {count} messages in {time.time() - t0:.1f}s", file=sys.stderr)
        imaplib_fetch(env)  # warm Dovecot's cache (envelope/bodystructure are computed once)
        res = {"parsed": [], "raw": [], "imaplib": []}
        cpu = {"parsed": [], "raw": [], "imaplib": []}
        size = messages = 0
        for r in range(rounds):
            # One round per process; passing r alternates which of parsed/raw goes first.
            out = subprocess.run([binary, os.path.join(tmp, "env"), "fetch", "1", str(r)], capture_output=True, text=True,
                                 check=True).stdout
            for line in out.splitlines():
                j = json.loads(line)
                res[j["kind"]].append(j["seconds"])
                cpu[j["kind"]].append(j["cpu"])
                size = j.get("bytes", size)
                messages = j.get("messages", messages)
            t, c = imaplib_fetch(env)
            res["imaplib"].append(t)
            cpu["imaplib"].append(c)
        raw_med = statistics.median(res["raw"])
        print(f"UID FETCH 1:* {ITEMS}: {messages} messages, {size / 1e6:.1f} MB response, implicit TLS, "
              f"{rounds} rounds interleaved")
        raw_cpu = statistics.median(cpu["raw"])
        print(f"{'client':40} {'median s':>9} {'min s':>8} {'vs raw':>7} {'client CPU s':>13} {'vs raw':>7}")
        for k, label in (("raw", "raw read, bytes counted (lower bound)"), ("parsed", "mailwire, fully parsed"),
                         ("imaplib", "python imaplib (no parsing)")):
            med, mc = statistics.median(res[k]), statistics.median(cpu[k])
            print(f"{label:40} {med:9.3f} {min(res[k]):8.3f} {med / raw_med:6.2f}x {mc:13.3f} {mc / raw_cpu:6.2f}x")

        if big_mb > 0:
            line = b"x" * 76 + b"\r\n"
            big = os.path.join(tmp, "big.eml")
            with open(big, "wb") as f:
                f.write(b"From: a@localhost\r\nTo: bob@localhost\r\nSubject: big\r\n\r\n")
                for _ in range(big_mb * 1024 * 1024 // len(line)):
                    f.write(line)
            data = open(big, "rb").read()
            populate(env, env["USER2"], [data])
            del data
            expected = os.path.getsize(big)
            out_path = os.path.join(tmp, "out.eml")
            print(f"\n{expected / 1e6:.0f} MB message fetched to a file (BODY.PEEK[]), implicit TLS")
            print(f"{'client':24} {'seconds':>8} {'peak RSS MiB':>13}")
            out, peak = child_peak([binary, os.path.join(tmp, "env"), "big", env["USER2"], env["PASS2"], "INBOX", out_path])
            j = json.loads(out.strip().splitlines()[-1])
            assert j["bytes"] == expected and os.path.getsize(out_path) == expected, (j, expected)
            assert open(out_path, "rb").read(64) == open(big, "rb").read(64)
            print(f"{'mailwire':24} {j['seconds']:8.2f} {peak / 1024:13.1f}")
            os.remove(out_path)
            out, peak = child_peak([sys.executable, "-c", BIG_IMAPLIB, env["HOST"], env["IMAPS_PORT"], env["CA_FILE"],
                                    env["USER2"], env["PASS2"], out_path])
            secs = float(out.split()[0])
            print(f"{'python imaplib':24} {secs:8.2f} {peak / 1024:13.1f}")
            if shutil.which("curl"):
                os.remove(out_path)
                t0 = time.perf_counter()
                _, peak = child_peak(["curl", "-s", "--cacert", env["CA_FILE"], "-u", f"{env['USER2']}:{env['PASS2']}",
                                      f"imaps://{env['HOST']}:{env['IMAPS_PORT']}/INBOX;UID=1", "-o", out_path])
                print(f"{'curl':24} {time.perf_counter() - t0:8.2f} {peak / 1024:13.1f}")
    finally:
        subprocess.run([servers, "stop", tmp], stdout=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
