#!/usr/bin/env python3
"""MIME parsing throughput and memory: mailwire vs GMime 3 vs python's email, same run, same file.

    bench/mime.py BUILD_DIR [SIZE_MB] [ROUNDS] [PYTHON_MB]

mailwire runs once per decoding path this CPU has (MAILWIRE_SIMD=scalar, ssse3, avx2: the vector
kernels of base64, quoted-printable and the line scan) and once with the path it picks itself;
the paths must agree on every count.

BUILD_DIR is configured with -DMAILWIRE_BUILD_BENCH=ON (targets mailwire_cli, bench_mime and, when
libgmime-3.0-dev is installed, bench_gmime). SIZE_MB (default 1024) is the mbox size in MiB,
ROUNDS (default 3) the number of interleaved rounds, PYTHON_MB (default 128) the size of the
leading slice python's email parses (it runs at ~20 MB/s, a whole GiB would take a minute per round).

The mbox is assembled in a temp dir (deleted afterwards, never committed): the messages of
../shared/corpus (skipped with a message when the folder is absent; the few files GMime cannot
construct are left out, because GMime ends an mbox at the first such message) alternating with
deterministically generated messages: multipart/alternative QP text + HTML, then 1-3 attachments:
20 KB-6 MB base64 (some CRLF) of random binary, PDF-like documents (text objects around binary
streams) or JPEG/PNG-like images, and QP text attachments of 50 KB-1 MB.

Every side reads the same file from the page cache and decodes every leaf part into a counting
sink; each side reports its own wall and CPU time and peak RSS (VmHWM of its own process; the
'time MiB' column is /usr/bin/time's maximum resident set size of the same run, as a cross-check):

  floor     bench_mime floor FILE                   memchr('\\n') over 4 MiB mmap windows, nothing else
  mailwire  mailwire parse --mbox FILE --stats --json       (also under MAILWIRE_SIMD=PATH per path;
            `bench_mime parse FILE`, the same parse_file call and sink, when the CLI is not built)
  gmime     bench_gmime mbox FILE                   GMimeParser (mbox), every GMimePart to a null stream
  python    BytesParser(policy=compat32) per message, get_payload(decode=True) on every leaf, on the
            first PYTHON_MB (mailwire and GMime are also run on that slice, for the same-input row)
"""
import json, os, random, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
ENVELOPE = b"From bench@example.com Mon Jan  1 00:00:00 2024\n"


# ---- python's email, run as a child so its rusage is its own -------------------------------------

def python_worker(path):
    from email.parser import BytesParser
    from email import policy
    parser = BytesParser(policy=policy.compat32)
    messages = parts = decoded = 0
    t0, c0 = time.monotonic(), time.process_time()

    def consume(raw):
        nonlocal messages, parts, decoded
        msg = parser.parsebytes(raw)
        messages += 1
        for part in msg.walk():
            parts += 1
            if not part.is_multipart():
                payload = part.get_payload(decode=True)
                if payload is not None:
                    decoded += len(payload)

    with open(path, "rb") as f:  # streamed: one message in memory at a time
        current, prev_blank = None, True
        for line in f:
            if line.startswith(b"From ") and prev_blank:  # envelope: not part of the message
                if current:
                    consume(b"".join(current))
                current, prev_blank = [], False
                continue
            if current is None:
                current = []
            current.append(line)
            prev_blank = line in (b"\n", b"\r\n")
        if current:
            consume(b"".join(current))
    print(json.dumps({"messages": messages, "parts": parts, "decoded_bytes": decoded,
                      "seconds": time.monotonic() - t0, "cpu_seconds": time.process_time() - c0,
                      "peak_rss_kib": peak_rss_kib()}))


def peak_rss_kib():
    """VmHWM; ru_maxrss would include the parent's image (Linux keeps it across execve)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---- the input --------------------------------------------------------------------------------

WORDS = ("the quick brown fox jumps over lazy dog mail message parser boundary header body "
         "attachment encoded quoted printable base64 réunion café naïve Übergröße straße 東京 "
         "invoice report meeting tomorrow please find attached regards thanks").split()


def text_pool(rng, size):
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 18)))
        if rng.random() < 0.05:
            line += " = 100% " + "-" * rng.randint(0, 90)
        out.append(line)
        n += len(line.encode()) + 1
    return "\n".join(out).encode()


def qp(data, crlf):
    import binascii
    enc = binascii.b2a_qp(data)  # soft breaks at 76, line ends kept as LF
    return enc.replace(b"\n", b"\r\n") if crlf else enc


class generator:
    """Deterministic messages; encoded data is sliced out of pre-encoded pools (fast, still valid)."""

    def __init__(self, seed=20241129):
        import base64
        self.rng = random.Random(seed)
        raw = self.rng.randbytes(24 << 20)
        self.raw = raw
        b64 = base64.b64encode(raw)
        lines = [b64[i:i + 76] for i in range(0, len(b64), 76)]
        self.b64_lf = b"\n".join(lines) + b"\n"
        self.b64_crlf = b"\r\n".join(lines) + b"\r\n"
        self.text = text_pool(self.rng, 4 << 20)
        self.n = 0

    def b64_slice(self, size, crlf):
        pool, width = (self.b64_crlf, 78) if crlf else (self.b64_lf, 77)
        nlines = max(1, size // 57)
        start = self.rng.randrange(0, len(pool) // width - nlines) * width
        return pool[start:start + nlines * width]

    def raw_slice(self, size):
        start = self.rng.randrange(0, len(self.raw) - size)
        return self.raw[start:start + size]

    def pdf_like(self, size):
        """Text objects around binary (compressed-looking) streams, as a PDF is."""
        r, parts, n, obj = self.rng, [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"], 0, 1
        while n < size:
            stream = self.raw_slice(r.randint(2_000, 60_000))
            chunk = (f"{obj} 0 obj\n<< /Type /Page /Contents {obj + 1} 0 R >>\nendobj\n".encode()
                     + b"BT /F1 12 Tf (" + self.text_slice(r.randint(200, 2000)) + b") Tj ET\n"
                     + f"{obj + 1} 0 obj\n<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
                     + stream + b"\nendstream\nendobj\n")
            parts.append(chunk)
            n, obj = n + len(chunk), obj + 2
        parts.append(b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
        return b"".join(parts)

    def image_like(self, size, jpeg):
        if jpeg:
            return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + self.raw_slice(size) + b"\xff\xd9"
        return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + self.raw_slice(size) + b"\x00\x00\x00\x00IEND\xaeB`\x82"

    @staticmethod
    def b64_lines(data, crlf):
        import base64
        enc, eol = base64.b64encode(data), (b"\r\n" if crlf else b"\n")
        return eol.join(enc[i:i + 76] for i in range(0, len(enc), 76)) + eol

    def text_slice(self, size):
        start = self.rng.randrange(0, len(self.text) - size)
        chunk = self.text[start:start + size]
        # whole UTF-8 sequences only
        return chunk.decode("utf-8", "ignore").encode()

    def message(self):
        r, self.n = self.rng, self.n + 1
        crlf = r.random() < 0.3
        eol = b"\r\n" if crlf else b"\n"
        subject = (b"=?UTF-8?B?" + __import__("base64").b64encode(f"Réunion n°{self.n}".encode()) + b"?="
                   if r.random() < 0.3 else f"Report {self.n}".encode())
        h = [b"From: Alice Example <alice@example.com>", b"To: bob@example.org",
             b"Subject: " + subject, b"Date: Mon, 1 Jan 2024 10:00:00 +0000",
             f"Message-ID: <gen-{self.n}@bench.mailwire>".encode(), b"MIME-Version: 1.0",
             f'Content-Type: multipart/mixed; boundary="mix-{self.n}"'.encode(), b""]
        out = [eol.join(h) + eol, b"This is a multi-part message in MIME format." + eol]
        body = self.text_slice(r.randint(500, 8000))
        out.append(eol.join([f"--mix-{self.n}".encode(),
                             f'Content-Type: multipart/alternative; boundary="alt-{self.n}"'.encode(), b"",
                             f"--alt-{self.n}".encode(), b"Content-Type: text/plain; charset=utf-8",
                             b"Content-Transfer-Encoding: quoted-printable", b""]) + eol)
        out.append(qp(body, crlf) + eol)
        html = b"<html><body><p>" + body.replace(b"\n", b"</p>\n<p>") + b"</p></body></html>"
        out.append(eol.join([f"--alt-{self.n}".encode(), b"Content-Type: text/html; charset=utf-8",
                             b"Content-Transfer-Encoding: quoted-printable", b""]) + eol)
        out.append(qp(html, crlf) + eol + f"--alt-{self.n}--".encode() + eol + eol)
        for k in range(r.randint(1, 3)):
            if r.random() < 0.8:
                size = int(20_000 * (300 ** r.random()))  # 20 KB .. 6 MB, log-uniform
                kind = r.random()
                ctype, name = (("application/octet-stream", "bin") if kind < 0.5 else
                               ("application/pdf", "pdf") if kind < 0.75 else
                               ("image/jpeg", "jpg") if kind < 0.9 else ("image/png", "png"))
                out.append(eol.join([f"--mix-{self.n}".encode(),
                                     f'Content-Type: {ctype}; name="data-{self.n}-{k}.{name}"'.encode(),
                                     b"Content-Transfer-Encoding: base64",
                                     f'Content-Disposition: attachment; filename="data-{self.n}-{k}.{name}"'.encode(),
                                     b""]) + eol)
                if name == "bin":
                    out.append(self.b64_slice(size, crlf))
                elif name == "pdf":
                    out.append(self.b64_lines(self.pdf_like(size), crlf))
                else:
                    out.append(self.b64_lines(self.image_like(size, name == "jpg"), crlf))
            else:
                size = int(50_000 * (20 ** r.random()))  # 50 KB .. 1 MB
                out.append(eol.join([f"--mix-{self.n}".encode(), b"Content-Type: text/plain; charset=utf-8",
                                     b"Content-Transfer-Encoding: quoted-printable",
                                     f'Content-Disposition: attachment; filename="notes-{self.n}-{k}.txt"'.encode(),
                                     b""]) + eol)
                out.append(qp(self.text_slice(size), crlf) + eol)
        out.append(f"--mix-{self.n}--".encode() + eol)
        return b"".join(out)


def mbox_entry(data):
    if data.startswith(b"From "):  # an envelope line of its own
        nl = data.find(b"\n")
        data = data[nl + 1:] if nl >= 0 else b""
    data = data.replace(b"\nFrom ", b"\n>From ")
    if data.startswith(b"From "):
        data = b">" + data
    if not data.endswith(b"\n"):
        data += b"\n"
    return ENVELOPE + data + b"\n"


def corpus_messages(gmime):
    if not os.path.isdir(CORPUS):
        print(f"corpus: {CORPUS} is absent; skipping it, the mbox holds generated messages only")
        return []
    files = []
    for d, _, names in os.walk(CORPUS):
        files += [os.path.join(d, n) for n in names if n != "SOURCES.md"]
    files.sort()
    bad = set()
    if gmime:
        out = subprocess.run([gmime, "check"] + files, capture_output=True, text=True, check=True).stdout
        bad = {line[4:] for line in out.splitlines() if line.startswith("BAD ")}
    msgs = [mbox_entry(open(f, "rb").read()) for f in files if f not in bad]
    print(f"corpus: {len(files)} files, {len(bad)} left out (GMime cannot construct them), "
          f"{sum(map(len, msgs)) / 1e6:.1f} MB per pass")
    return msgs


def assemble(path, size, gmime):
    corpus = corpus_messages(gmime)
    corpus_bytes = sum(map(len, corpus))
    gen = generator()
    written = generated = 0
    with open(path, "wb") as f:
        while written < size:
            # one corpus pass, then about three times as much generated mail
            for m in corpus:
                f.write(m)
                written += len(m)
            target = written + max(3 * corpus_bytes, 64 << 20)
            while written < min(target, size):
                m = mbox_entry(gen.message())
                f.write(m)
                written += len(m)
                generated += len(m)
    print(f"mbox: {written / 2**20:.0f} MiB, {generated / 2**20:.0f} MiB of it generated ({gen.n} messages)")
    return written


def leading_slice(src, dst, size):
    with open(src, "rb") as f, open(dst, "wb") as o:
        data = f.read(size)
        cut = data.rfind(b"\n\nFrom ")
        o.write(data[:cut + 2] if cut > 0 else data)


# ---- running ------------------------------------------------------------------------------------

TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def cpu_paths():
    """The decoding paths this CPU runs (MAILWIRE_SIMD values)."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        flags = []
    return ["scalar"] + [p for p in ("ssse3", "avx2") if p in flags]


def run(argv, env=None):
    tfile = None
    full = argv
    if TIME:  # GNU time's maximum RSS of the same run, next to the side's own VmHWM
        fd, tfile = tempfile.mkstemp(prefix="mw-time-")
        os.close(fd)
        full = [TIME, "-f", "%M", "-o", tfile] + argv
    t0 = time.monotonic()
    p = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    out, err = p.communicate()
    wall = time.monotonic() - t0
    # each side reports its own seconds, CPU seconds and peak RSS (VmHWM)
    if p.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({p.returncode}): {err.decode(errors='replace')}")
    d = json.loads(out)
    d["wall"] = wall
    if tfile:
        try:
            d["time_rss_kib"] = int(open(tfile).read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
        os.unlink(tfile)
    return d


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--python-worker":
        return python_worker(sys.argv[2])
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    size = int(sys.argv[2]) << 20 if len(sys.argv) > 2 else 1 << 30
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    py_size = int(sys.argv[4]) << 20 if len(sys.argv) > 4 else 128 << 20
    cli = os.path.join(build, "apps", "mailwire", "mailwire")
    floor = os.path.join(build, "bench", "bench_mime")
    gmime = os.path.join(build, "bench", "bench_gmime")
    if not os.path.exists(gmime):
        print("bench_gmime not built (libgmime-3.0-dev missing?): GMime column skipped")
        gmime = None
    tmp = tempfile.mkdtemp(prefix="mw-mime-bench-")
    try:
        box = os.path.join(tmp, "bench.mbox")
        t = time.monotonic()
        total = assemble(box, size, gmime)
        print(f"assembled in {time.monotonic() - t:.1f} s")
        sub = os.path.join(tmp, "slice.mbox")
        leading_slice(box, sub, py_size)
        sub_size = os.path.getsize(sub)

        parse = [cli, "parse", "--mbox", "FILE", "--stats", "--json"]
        if not os.path.exists(cli):
            # The same parse_file call and counting sink as the CLI's --stats, without the CLI.
            print(f"{cli} not built: mailwire rows are `bench_mime parse FILE`")
            parse = [floor, "parse", "FILE"]
        sides = {"floor (memchr)": lambda f: run([floor, "floor", f]),
                 "mailwire": lambda f: run([f if a == "FILE" else a for a in parse])}
        for path in cpu_paths():
            sides[f"mailwire {path}"] = lambda f, path=path: run([f if a == "FILE" else a for a in parse],
                                                                 {"MAILWIRE_SIMD": path})
        if gmime:
            sides["GMime 3"] = lambda f: run([gmime, "mbox", f])
        sides["python email"] = lambda f: run([sys.executable, os.path.abspath(__file__), "--python-worker", f])

        run([floor, "floor", box])  # page cache warm-up
        results = {k: [] for k in sides}
        for r in range(rounds):
            for name, fn in sides.items():
                if name != "python email":
                    results[name].append(fn(box))
        slice_results = {name: fn(sub) for name, fn in sides.items()}

        def row(name, runs, nbytes):
            best = min(runs, key=lambda d: d["seconds"])
            med = statistics.median(d["seconds"] for d in runs)
            cpu = statistics.median(d["cpu_seconds"] for d in runs)
            rss = max(d["peak_rss_kib"] for d in runs) / 1024
            trss = max(d.get("time_rss_kib", 0) for d in runs) / 1024
            extra = ""
            if "messages" in best:
                extra = f"{best['messages']:>7} {best.get('parts', 0):>8} {best['decoded_bytes'] / 1e6:>9.1f}"
            return (f"{name:<15} {nbytes / 1e6:>8.1f} {med:>8.3f} {nbytes / med / 1e6:>9.1f} "
                    f"{nbytes / best['seconds'] / 1e6:>9.1f} {nbytes / cpu / 1e6:>9.1f} {rss:>8.1f} {trss:>8.1f}  "
                    f"{extra}")

        head = (f"{'side':<15} {'MB':>8} {'median s':>8} {'MB/s med':>9} {'MB/s best':>9} {'MB/s CPU':>9} "
                f"{'peak MiB':>8} {'time MiB':>8}  {'msgs':>7} {'parts':>8} {'decodedMB':>9}")
        load = os.getloadavg()[0]
        print(f"\nwhole mbox: {total / 1e6:.1f} MB, {rounds} interleaved rounds, load average {load:.1f} "
              f"on {os.cpu_count()} CPUs (MB = 10^6 bytes; 'MB/s CPU' = bytes per user+sys second)")
        print(head)
        for name, runs in results.items():
            if runs:
                print(row(name, runs, total))
        print(f"\nleading slice: {sub_size / 1e6:.1f} MB, one run each (python's email is too slow for the "
              f"whole file; its figure is this slice)")
        print(head)
        for name, d in slice_results.items():
            print(row(name, [d], sub_size))
        mw_sides = [name for name in results if name.startswith("mailwire")]
        counts = {name: tuple(results[name][0][k] for k in ("messages", "parts", "decoded_bytes")) for name in mw_sides}
        if len(set(counts.values())) != 1:
            print(f"error: the decoding paths disagree: {counts}")
        if gmime:
            gm_med = statistics.median(d["seconds"] for d in results["GMime 3"])
            print("\n× GMime (median time ratio, same run): " +
                  ", ".join(f"{name} {gm_med / statistics.median(d['seconds'] for d in results[name]):.2f}×"
                            for name in mw_sides))
            mw, gm = results["mailwire"][0], results["GMime 3"][0]
            if mw["messages"] != gm["messages"]:
                print(f"note: message counts differ (mailwire {mw['messages']}, GMime {gm['messages']}, "
                      f"GMime stopped at byte {gm['stopped_at']} of {total})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
