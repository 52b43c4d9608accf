"""Cyrus IMAP (IMAP, POP3, LMTP) and Exim for mwservers: the interop servers of issue #13.

Debian's cyrus-* and exim4-* packages conflict with the installed dovecot/postfix packages, so
they are never installed: `apt-get download` + `dpkg -x` unpack them into a package directory
(MWSERVERS_PKG_DIR, default: `servers-pkgs` in the build tree as CMake passes it, else
~/.cache/mailwire/servers-pkgs), once, and the binaries run from there. Only shared libraries that
conflict with nothing (libical3 for Cyrus, libidn12 for Exim) are installed with apt-get
(scripts/install-deps.sh installs them too), plus Exim's compiled-in system user Debian-exim.

Cyrus delivers nothing by itself; Exim delivers to Cyrus over LMTP, so mail sent through Exim is
read back over Cyrus IMAP/POP3, as mail sent through Postfix is read back from Dovecot.

When the packages cannot be had (no network, not root) start() returns CYRUS=no / EXIM=no with
the reason in INTEROP_REASON, and the interop tests skip with that reason. When the packages are
there but a server does not come up, that is a harness failure (Failure), never a skip.
"""

import fcntl
import glob
import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import time

# Packages to unpack (not install): the versions come from the machine's apt sources.
PKGS = ["cyrus-common", "cyrus-imapd", "cyrus-pop3d", "sasl2-bin", "exim4-base", "exim4-daemon-light"]
# Shared libraries they need beyond what mailwire's own dependencies pull in; no conflicts.
# (ldd of master, imapd, pop3d, lmtpd, ctl_cyrusdb, saslpasswd2, exim4 and libcyrus*, mapped with
# dpkg -S; the ones a minimal Debian 12 has anyway are left out).
LIBS = ["libical3", "libidn12", "libjansson4", "libpq5", "libwrap0", "libxapian30", "libxml2", "libsqlite3-0",
        "libldap-2.5-0", "libkrb5-3", "libicu72", "libdb5.3", "libsasl2-2", "libsasl2-modules", "libsasl2-modules-db",
        "libnsl2", "libpcre3", "libpcre2-8-0", "libgnutls30", "libgnutls-dane0", "libunbound8", "libevent-2.1-7"]
PORT_KEYS = ["CYRUS_IMAP_PORT", "CYRUS_IMAPS_PORT", "CYRUS_POP3_PORT", "CYRUS_POP3S_PORT", "CYRUS_LMTP_PORT",
             "EXIM_SMTP_PORT", "EXIM_SUBMISSION_PORT", "EXIM_SMTPS_PORT"]
EXIM_USER = "Debian-exim"  # compiled into Debian's exim4 binary; checked before the config is read
CYRUS_ADMIN = "cyrus"
HERE = os.path.dirname(os.path.realpath(__file__))


class Unavailable(Exception):
    """The interop servers cannot be had on this machine (a skip, with this reason)."""


def _traversable(path):
    """Whether every directory above `path` lets other users through: Cyrus runs as `mail` and
    executes its binaries from the package directory."""
    p = os.path.abspath(path)
    while p and p != "/":
        if os.path.exists(p) and not os.stat(p).st_mode & 0o001:
            return False
        p = os.path.dirname(p)
    return True


def pkg_dir():
    d = os.environ.get("MWSERVERS_PKG_DIR")
    if d and _traversable(d):
        return os.path.abspath(d)
    # A build tree below /root (0700) is out of the mail user's reach: a shared cache instead.
    if os.geteuid() == 0:
        return "/var/cache/mailwire/servers-pkgs"
    return os.path.join(os.path.expanduser("~"), ".cache", "mailwire", "servers-pkgs")


def _installed(pkg):
    res = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    return "install ok installed" in res.stdout


def _apt(args, cwd=None, timeout=60):
    """apt-get with short network timeouts: without network the harness must give up (and the
    interop tests skip) well within the fixture's CTest timeout."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    opts = ["-o", "Acquire::Retries=1", "-o", "Acquire::http::Timeout=15", "-o", "Acquire::https::Timeout=15"]
    try:
        res = subprocess.run(["apt-get", "-q"] + opts + args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"apt-get {' '.join(args)}: no answer within {timeout} s"
    return res.returncode, res.stdout


def ensure_packages(log):
    """Unpacks the servers into pkg_dir()/root (once; later runs reuse it) and installs their
    libraries. Returns the root directory. Raises Unavailable with a reason a human can act on."""
    if os.geteuid() != 0:
        raise Unavailable("Cyrus and Exim need root (like Postfix): run the harness as root")
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        raise Unavailable("apt-get/dpkg not found: Cyrus and Exim are unpacked from Debian packages")
    top = pkg_dir()
    root = f"{top}/root"
    os.makedirs(top, exist_ok=True)
    # Parallel harness starts share the package directory: one unpacks, the others wait.
    with open(f"{top}/.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = f"{top}/.unpacked"
        if not os.path.exists(stamp):
            debs = f"{top}/debs"
            shutil.rmtree(debs, ignore_errors=True)
            shutil.rmtree(root, ignore_errors=True)
            os.makedirs(debs)
            log("interop: downloading " + " ".join(PKGS))
            rc, out = _apt(["download"] + PKGS, cwd=debs)
            if rc == 124:
                raise Unavailable(out)  # no network answer: do not spend another minute on update
            if rc != 0:
                # Package lists may be missing on a fresh machine; one update, then retry.
                _apt(["update", "-qq"])
                rc, out = _apt(["download"] + PKGS, cwd=debs)
            if rc != 0:
                raise Unavailable("`apt-get download " + " ".join(PKGS) + "` failed (no network or no apt "
                                  "sources?):\n" + out.strip()[-600:])
            for deb in sorted(glob.glob(f"{debs}/*.deb")):
                res = subprocess.run(["dpkg-deb", "-x", deb, root], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
                if res.returncode != 0:
                    raise Unavailable(f"dpkg-deb -x {deb} failed: {res.stdout.strip()}")
            with open(stamp, "w") as f:
                f.write("\n".join(sorted(os.path.basename(x) for x in glob.glob(f"{debs}/*.deb"))) + "\n")
        missing = [p for p in LIBS if not _installed(p)]
        if missing:
            log("interop: installing " + " ".join(missing))
            rc, out = _apt(["install", "-y", "-qq", "--no-install-recommends"] + missing)
            if rc != 0:
                _apt(["update", "-qq"])
                rc, out = _apt(["install", "-y", "-qq", "--no-install-recommends"] + missing)
            if rc != 0:
                raise Unavailable(f"`apt-get install {' '.join(missing)}` failed:\n{out.strip()[-600:]}")
        try:
            pwd.getpwnam(EXIM_USER)
        except KeyError:
            # What exim4-base's postinst does; Exim refuses to start without this user.
            if shutil.which("adduser"):
                cmd = ["adduser", "--system", "--group", "--quiet", "--allow-bad-names", "--no-create-home",
                       "--home", "/nonexistent", EXIM_USER]
            else:
                cmd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                       "--shell", "/usr/sbin/nologin", EXIM_USER]
            res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if res.returncode != 0:
                raise Unavailable(f"cannot create the {EXIM_USER} user: {res.stdout.strip()}")
    return root


def versions(root):
    """Package versions, from the unpacked .deb file names (what docs/interop.md lists)."""
    out = {}
    for deb in glob.glob(f"{pkg_dir()}/debs/*.deb"):
        name, ver = os.path.basename(deb).split("_")[:2]
        out[name] = ver.replace("%3a", ":")
    return out


def render(template, dest, **values):
    with open(os.path.join(HERE, template), encoding="utf-8") as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace(f"@{k}@", str(v))
    with open(dest, "w", encoding="utf-8") as f:
        f.write(text)


def _lib_env(root):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = f"{root}/usr/lib/x86_64-linux-gnu" + (
        ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def _copy_key_pair(tls_dir, dest, owner_uid, owner_gid):
    """The servers read their key after dropping privileges: a private copy they own."""
    os.makedirs(dest, exist_ok=True)
    for name in ("good.pem", "good.key", "ca.pem"):
        shutil.copyfile(f"{tls_dir}/{name}", f"{dest}/{name}")
        os.chown(f"{dest}/{name}", owner_uid, owner_gid)
        os.chmod(f"{dest}/{name}", 0o600 if name.endswith(".key") else 0o644)


def start_cyrus(root, base, ports, tls_dir, users, log_dir, logf):
    """Starts Cyrus master with IMAP, IMAPS, POP3, POP3S and LMTP on 127.0.0.1; returns its pid."""
    c = f"{base}/cyrus"
    bindir = f"{root}/usr/lib/cyrus/bin"
    mail = pwd.getpwnam("mail")
    for sub in ("conf", "spool", "sieve", "run", "tls"):
        os.makedirs(f"{c}/{sub}", exist_ok=True)
    _copy_key_pair(tls_dir, f"{c}/tls", mail.pw_uid, mail.pw_gid)
    conf = f"{c}/imapd.conf"
    admin_pw = os.urandom(12).hex()
    with open(conf, "w") as f:
        f.write(f"""# Written by tests/support/servers/mwservers (interop.py).
configdirectory: {c}/conf
partition-default: {c}/spool
sievedir: {c}/sieve
# Debian's binaries would run as `cyrus`, a user this machine need not have.
cyrus_user: mail
admins: {CYRUS_ADMIN}
servername: localhost
# "/" as hierarchy separator and INBOX folders at the top, like Dovecot here.
unixhierarchysep: yes
altnamespace: yes
# Plaintext login before STARTTLS is allowed (for negative tests), as on Dovecot here.
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {c}/sasldb2
sasl_mech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
tls_server_cert: {c}/tls/good.pem
tls_server_key: {c}/tls/good.key
tls_client_ca_file: {c}/tls/ca.pem
syslog_prefix: mwcyrus
lmtp_downcase_rcpt: yes
# Exim's LMTP delivery says alice@localhost; the default domain strips to alice.
defaultdomain: localhost
""")
    with open(f"{c}/cyrus.conf", "w") as f:
        cmd = lambda prog, args="": f'"{bindir}/{prog} {args}-C {conf}"'  # noqa: E731
        f.write(f"""START {{
  recover cmd={cmd('ctl_cyrusdb', '-r ')}
}}
SERVICES {{
  imap  cmd={cmd('imapd')} listen="127.0.0.1:{ports['CYRUS_IMAP_PORT']}" prefork=0
  imaps cmd={cmd('imapd', '-s ')} listen="127.0.0.1:{ports['CYRUS_IMAPS_PORT']}" prefork=0
  pop3  cmd={cmd('pop3d')} listen="127.0.0.1:{ports['CYRUS_POP3_PORT']}" prefork=0
  pop3s cmd={cmd('pop3d', '-s ')} listen="127.0.0.1:{ports['CYRUS_POP3S_PORT']}" prefork=0
  lmtp  cmd={cmd('lmtpd', '-a ')} listen="127.0.0.1:{ports['CYRUS_LMTP_PORT']}" prefork=0
}}
EVENTS {{
}}
""")
    # Users: SASL's own database (sasldb), so that every mechanism incl. SCRAM works.
    env = _lib_env(root)
    for name, pw in list(users) + [(CYRUS_ADMIN, admin_pw)]:
        res = subprocess.run([f"{root}/usr/sbin/saslpasswd2", "-p", "-c", "-f", f"{c}/sasldb2", "-u", "localhost",
                              name], input=pw.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"saslpasswd2 {name}: {res.stdout.decode(errors='replace').strip()}")
    for dirpath, dirnames, filenames in os.walk(c):
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), mail.pw_uid, mail.pw_gid)
    os.chown(c, mail.pw_uid, mail.pw_gid)
    # Foreground master in its own session: stop() finds every child by session id. Cyrus logs
    # only to syslog, which this machine need not have: start-up problems show as missing listeners.
    proc = subprocess.Popen([f"{bindir}/master", "-C", conf, "-M", f"{c}/cyrus.conf", "-p", f"{c}/run/master.pid"],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=env, start_new_session=True)
    return proc.pid, admin_pw


def create_cyrus_mailboxes(port, admin_pw, users, deadline):
    """Cyrus has no mailbox until an admin creates it (`user/<name>`; autocreate is off)."""
    last = None
    while time.monotonic() < deadline:
        try:
            i = imaplib.IMAP4("127.0.0.1", int(port), timeout=5)
            break
        except OSError as e:
            last = e
            time.sleep(0.1)
    else:
        raise RuntimeError(f"Cyrus IMAP on port {port} does not answer: {last}")
    try:
        i.login(CYRUS_ADMIN, admin_pw)
        for name, _ in users:
            typ, data = i.create(f"user/{name}")
            if typ != "OK":
                raise RuntimeError(f"Cyrus CREATE user/{name}: {data}")
            # The admin may delete in every mailbox (tests clean up by marker, never by count).
            i.setacl(f"user/{name}", CYRUS_ADMIN, "lrswipkxtecda")
    finally:
        try:
            i.logout()
        except Exception:
            pass


def start_exim(root, base, ports, tls_dir, users, lmtp_port):
    """Starts an Exim daemon with SMTP (25-like), submission (587-like) and smtps (465-like)
    listeners on 127.0.0.1, delivering to Cyrus's LMTP port. Returns (pid file, log dir)."""
    e = f"{base}/exim"
    ex = pwd.getpwnam(EXIM_USER)
    for sub in ("spool", "log", "tls"):
        os.makedirs(f"{e}/{sub}", exist_ok=True)
    _copy_key_pair(tls_dir, f"{e}/tls", ex.pw_uid, ex.pw_gid)
    with open(f"{e}/passwd", "w", encoding="utf-8") as f:
        for name, pw in users:
            f.write(f"{name}: {pw}\n")
    smtp, sub, smtps = ports["EXIM_SMTP_PORT"], ports["EXIM_SUBMISSION_PORT"], ports["EXIM_SMTPS_PORT"]
    exim = f"{root}/usr/sbin/exim4"
    render("exim.conf.in", f"{e}/exim.conf", EXIM_DIR=e, EXIM_BIN=exim, SMTP=smtp, SUB=sub, SMTPS=smtps,
           LMTP_PORT=lmtp_port)
    for dirpath, dirnames, filenames in os.walk(e):
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), ex.pw_uid, ex.pw_gid)
    os.chmod(f"{e}/passwd", 0o600)
    # Exim insists that its configuration belongs to root (its compiled-in CONFIGURE_OWNER).
    os.chown(f"{e}/exim.conf", 0, 0)
    os.chmod(f"{e}/exim.conf", 0o644)
    res = subprocess.run([exim, "-C", f"{e}/exim.conf", "-bV"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    if res.returncode != 0:
        raise RuntimeError(f"exim -bV: {res.stdout.strip()[-800:]}")
    # -bd daemonizes (a new session); -q1m retries deferred deliveries within a test's patience.
    res = subprocess.run([exim, "-C", f"{e}/exim.conf", "-bd", "-q1m"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"exim -bd: {res.stdout.strip()[-800:]}")
    return f"{e}/exim.pid", f"{e}/log"


def listeners(env):
    """(label, host, port, implicit TLS?, expected greeting prefix, needs TLS 1.3?) like mwservers'."""
    out = []
    if env.get("CYRUS") == "yes":
        out += [("cyrus-imap", "127.0.0.1", env["CYRUS_IMAP_PORT"], False, b"* OK", False),
                ("cyrus-imaps", "127.0.0.1", env["CYRUS_IMAPS_PORT"], True, b"* OK", False),
                ("cyrus-pop3", "127.0.0.1", env["CYRUS_POP3_PORT"], False, b"+OK", False),
                ("cyrus-pop3s", "127.0.0.1", env["CYRUS_POP3S_PORT"], True, b"+OK", False),
                ("cyrus-lmtp", "127.0.0.1", env["CYRUS_LMTP_PORT"], False, b"220 ", False)]
    if env.get("EXIM") == "yes":
        out += [("exim-smtp", "127.0.0.1", env["EXIM_SMTP_PORT"], False, b"220 ", False),
                ("exim-submission", "127.0.0.1", env["EXIM_SUBMISSION_PORT"], False, b"220 ", False),
                ("exim-smtps", "127.0.0.1", env["EXIM_SMTPS_PORT"], True, b"220 ", False)]
    return out


def is_server_cmd(cmd):
    return cmd.endswith(b"/exim4") or cmd.endswith(b"/cyrus/bin/master")
