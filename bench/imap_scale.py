#!/usr/bin/env python3
"""IMAP at scale with the `mailwire` command line: `imap fetch --envelope` of a big mailbox as the
table, --json and --jsonl (time and peak RSS each), and `imap fetch --body -o DIR` of a smaller one.
Usage:

    bench/imap_scale.py BUILD_DIR [ENVELOPES] [BODIES] [ROUNDS] [SERVERS_ENV]

BUILD_DIR holds apps/mailwire/mailwire. ENVELOPES (200000) and BODIES (20000) are the sizes of the
two mailboxes; ROUNDS (3) runs of each variant, interleaved (table, json, jsonl, table, …); the
median time and the largest peak RSS are reported. SERVERS_ENV is the env file of a running
tests/support/servers/mwservers instance; without it the script starts its own in a temp dir and
stops it at the end.

Filling is fast: the messages are written as Maildir files straight into bob's folders
`scale-N` (MAIL_ROOT/bob/.scale-N/cur, owned by MAIL_UID:MAIL_GID), then `doveadm force-resync`
and one untimed fetch build Dovecot's index and cache. A folder that already holds N messages is
reused. Each variant runs under `/usr/bin/time -v` (peak RSS = "Maximum resident set size") with
stdout to a file in a temp dir (its size is reported; the --json output is parsed once and the
--jsonl output checked line by line, so what is timed is also checked).
"""
import importlib.util, json, os, shutil, statistics, subprocess, sys, tempfile, time, random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
envelopes = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
bodies = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
servers_env = sys.argv[5] if len(sys.argv) > 5 else None
cli = os.path.join(build, "apps", "mailwire", "mailwire")

# The message generator of bench/imap.py (varied headers, RFC 2047 names, multiparts).
_spec = importlib.util.spec_from_file_location("bench_imap_py", os.path.join(ROOT, "bench", "imap.py"))
_imap = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_imap)


def fill(env, user, folder, count):
    """Maildir files for `count` messages in user's `folder`, unless it holds that many already."""
    base = os.path.join(env["MAIL_ROOT"], user, "." + folder)
    cur = os.path.join(base, "cur")
    if os.path.isdir(cur) and len(os.listdir(cur)) == count:
        return 0.0
    shutil.rmtree(base, ignore_errors=True)
    t0 = time.perf_counter()
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(base, d))
    open(os.path.join(base, "maildirfolder"), "w").close()
    uid, gid = int(env["MAIL_UID"]), int(env["MAIL_GID"])
    rnd = random.Random(count)
    stamp = int(time.time())
    for i in range(count):
        data = _imap.make_message(i, rnd)
        name = f"{stamp}.M{i}P{os.getpid()}.scale,S={len(data)}:2,{'S' if i % 3 else ''}"
        fd = os.open(os.path.join(cur, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.close(fd)
    for p in (os.path.join(env["MAIL_ROOT"], user), base, cur, os.path.join(base, "new"), os.path.join(base, "tmp"),
              os.path.join(base, "maildirfolder")):
        os.chown(p, uid, gid)
    subprocess.run(env["DOVEADM"].split() + ["force-resync", "-u", user, folder], check=True)
    return time.perf_counter() - t0


def timed(args, env_vars, out_path):
    """Runs the CLI under /usr/bin/time -v, stdout to out_path; returns (seconds, peak KiB)."""
    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-v", cli] + args, stdout=out, stderr=subprocess.PIPE, env=env_vars)
        seconds = time.perf_counter() - t0
    err = r.stderr.decode(errors="replace")
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(args)}\n{err[-2000:]}")
    peak = next(int(l.split(":")[1]) for l in err.splitlines() if "Maximum resident set size" in l)
    return seconds, peak


def check_output(kind, path, count):
    if kind == "json":
        with open(path, "rb") as f:
            doc = json.load(f)
        assert doc["ok"] is True and len(doc["messages"]) == count, (doc.get("ok"), len(doc.get("messages", [])))
    elif kind == "jsonl":
        n = 0
        last = None
        with open(path, "rb") as f:
            for line in f:
                last = json.loads(line)
                n += 1
        assert n == count + 1 and last.get("ok") is True, (n, last)
    else:
        with open(path, "rb") as f:
            rows = sum(1 for _ in f)
        assert rows == count + 1, rows


def main():
    if not os.path.exists(cli):
        sys.exit(f"{cli} not found: build the mailwire_cli target first")
    own = None
    if servers_env is None:
        own = tempfile.mkdtemp(prefix="mw-scale-")
        subprocess.run([os.path.join(ROOT, "tests/support/servers/mwservers"), "start", own], check=True,
                       stdout=subprocess.DEVNULL)
        env_file = os.path.join(own, "env")
    else:
        env_file = servers_env
    env = _imap.load_env(env_file)
    work = tempfile.mkdtemp(prefix="mw-scale-out-")
    try:
        user, password = env["USER2"], env["PASS2"]
        big, small = f"scale-{envelopes}", f"scale-{bodies}"
        for folder, n in ((big, envelopes), (small, bodies)):
            s = fill(env, user, folder, n)
            if s:
                print(f"filled {folder}: {n} messages in {s:.1f} s (Maildir files + doveadm force-resync)")
        env_vars = dict(os.environ, MW_PW=password, COLUMNS="100")
        conn = ["--host", env["HOST"], "--port", env["IMAPS_PORT"], "--security", "tls", "--cafile", env["CA_FILE"],
                "--user", user, "--password-env", "MW_PW", "--timeout", "600", "--command-timeout", "0"]
        # Untimed warm-up: Dovecot builds its index and cache of ENVELOPE/INTERNALDATE/size here.
        for folder in (big, small):
            t0 = time.perf_counter()
            timed(["imap", "fetch", folder, "--envelope"] + conn, env_vars, os.path.join(work, "warm"))
            print(f"warm-up fetch of {folder}: {time.perf_counter() - t0:.1f} s")

        variants = [("table", []), ("json", ["--json"]), ("jsonl", ["--jsonl"])]
        results = {k: [] for k, _ in variants}
        sizes = {}
        for r in range(rounds):
            for kind, extra in (variants if r % 2 == 0 else variants[::-1]):
                path = os.path.join(work, f"out.{kind}")
                results[kind].append(timed(["imap", "fetch", big, "--envelope"] + extra + conn, env_vars, path))
                sizes[kind] = os.path.getsize(path)
                if r == 0:
                    check_output(kind, path, envelopes)
        print(f"\n`mailwire imap fetch {big} --envelope` over TLS, {envelopes} messages, {rounds} rounds interleaved")
        print(f"{'output':8} {'median s':>9} {'min s':>7} {'peak RSS MB':>12} {'stdout MB':>10} {'vs table':>9}")
        table_median = statistics.median(s for s, _ in results["table"])
        for kind, _ in variants:
            ts = [s for s, _ in results[kind]]
            peak = max(p for _, p in results[kind])
            print(f"{kind:8} {statistics.median(ts):9.2f} {min(ts):7.2f} {peak / 1024:12.1f} "
                  f"{sizes[kind] / 1e6:10.1f} {statistics.median(ts) / table_median:8.2f}x")

        body_runs = []
        for r in range(rounds):
            d = os.path.join(work, f"bodies-{r}")
            s, peak = timed(["imap", "fetch", small, "--body", "-o", d, "--jsonl", "--progress", "never"] + conn,
                            env_vars, os.path.join(work, "out.bodies"))
            files = len(os.listdir(d))
            assert files == bodies, files
            check_output("jsonl", os.path.join(work, "out.bodies"), bodies)
            body_runs.append((s, peak))
            shutil.rmtree(d)
        ts = [s for s, _ in body_runs]
        print(f"\n`mailwire imap fetch {small} --body -o DIR --jsonl`, {bodies} messages, {rounds} rounds")
        print(f"median {statistics.median(ts):.2f} s, min {min(ts):.2f} s, "
              f"peak RSS {max(p for _, p in body_runs) / 1024:.1f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if own:
            subprocess.run([os.path.join(ROOT, "tests/support/servers/mwservers"), "stop", own],
                           stdout=subprocess.DEVNULL)
            shutil.rmtree(own, ignore_errors=True)


if __name__ == "__main__":
    main()
