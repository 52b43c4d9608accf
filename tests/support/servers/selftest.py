#!/usr/bin/env python3
"""Smoke test of a running mwservers harness, with Python's own mail clients.

    selftest.py [ENV_FILE]      (default: $MAILWIRE_SERVERS_ENV)

Starts nothing itself: run `mwservers start DIR` first and pass DIR/env. Checks the facts the
integration tests rely on (see README.md) and exits non-zero if any is false. Standard library
only, plus the `openssl` command for the one check Python's ssl module cannot do (counting every
verification error a certificate produces).
"""

import base64
import hashlib
import hmac
import imaplib
import os
import poplib
import re
import secrets
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import traceback

TIMEOUT = 10
results = []
for _cmd in ("SETMETADATA", "GETMETADATA", "ENABLE", "COMPRESS"):
    imaplib.Commands.setdefault(_cmd, ("AUTH", "SELECTED"))


def load_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    # "User 0" is the harness's selftest user: mail is delivered only to it, so the checks never
    # change what integration tests running at the same time see in alice's, bob's, carol's boxes.
    env["USER0"], env["PASS0"], env["ADDR0"] = env["SELFTEST_USER"], env["SELFTEST_PASS"], env["SELFTEST_ADDR"]
    return env


def check(name):
    """Decorator: calling the function runs one check and records PASS/FAIL with the reason;
    `name` is formatted with the call's arguments."""
    def wrap(fn):
        def inner(*a, **kw):
            label = name.format(*a, **kw) if a or kw else name
            # Checks rerun on the interop servers (Cyrus, Exim) say so in their label.
            server = next((x["_LABEL"] for x in list(a) + list(kw.values()) if isinstance(x, dict) and "_LABEL" in x), "")
            label = f"[{server}] {label}" if server else label
            t0 = time.monotonic()
            try:
                fn(*a, **kw)
                results.append((label, None))
                print(f"PASS {label} ({time.monotonic() - t0:.2f}s)", flush=True)
            except Exception as e:  # noqa: BLE001 - a smoke test reports every failure and goes on
                msg = f"{type(e).__name__}: {e}"
                if os.environ.get("SELFTEST_TRACE"):
                    msg += "\n" + traceback.format_exc()
                results.append((label, msg))
                print(f"FAIL {label}: {msg}", flush=True)
        return inner
    return wrap


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


# --- SASL ----------------------------------------------------------------------------------

class Scram:
    """RFC 5802 client (no channel binding). Feed server challenges, get responses."""

    def __init__(self, hash_name, user, password):
        self.h = hash_name
        self.user = user.replace("=", "=3D").replace(",", "=2C")
        self.password = password.encode("utf-8")  # test passwords are already SASLprep-stable
        self.nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        self.step = 0
        self.server_signature = None

    def _hmac(self, key, msg):
        return hmac.new(key, msg, self.h).digest()

    def respond(self, challenge: bytes) -> bytes:
        self.step += 1
        if self.step == 1:
            self.first_bare = f"n={self.user},r={self.nonce}"
            return ("n,," + self.first_bare).encode()
        if self.step == 2:
            server_first = challenge.decode()
            attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
            expect(attrs["r"].startswith(self.nonce), "server nonce does not extend ours")
            salted = hashlib.pbkdf2_hmac(self.h, self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
            client_key = self._hmac(salted, b"Client Key")
            stored_key = hashlib.new(self.h, client_key).digest()
            without_proof = f"c=biws,r={attrs['r']}"
            auth_message = f"{self.first_bare},{server_first},{without_proof}".encode()
            signature = self._hmac(stored_key, auth_message)
            proof = bytes(a ^ b for a, b in zip(client_key, signature))
            self.server_signature = self._hmac(self._hmac(salted, b"Server Key"), auth_message)
            return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
        # step 3: server-final-message
        got = challenge.decode()
        expect(got == "v=" + base64.b64encode(self.server_signature).decode(), f"bad server signature {got!r}")
        return b""


def sasl_responder(mech, user, password):
    """Returns f(challenge bytes) -> response bytes for one mechanism; the first call gets b""."""
    mech = mech.upper()
    if mech == "PLAIN":
        return lambda ch: b"\0" + user.encode() + b"\0" + password.encode()
    if mech == "LOGIN":
        # The prompts are "Username:" and "Password:".
        return lambda ch: (password if ch.lower().startswith(b"pass") else user).encode() if ch else b""
    if mech == "CRAM-MD5":
        return lambda ch: (user + " " + hmac.new(password.encode(), ch, "md5").hexdigest()).encode() if ch else b""
    if mech.startswith("SCRAM-"):
        s = Scram({"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}[mech], user, password)
        return s.respond
    if mech == "EXTERNAL":
        return lambda ch: b""
    raise ValueError(mech)


# --- TLS contexts -----------------------------------------------------------------------------

def ctx_verify(env, client_cert=False):
    ctx = ssl.create_default_context(cafile=env["CA_FILE"])
    if client_cert:
        ctx.load_cert_chain(env["CLIENT_CERT"], env["CLIENT_KEY"])
    return ctx


# --- checks: TLS ---------------------------------------------------------------------------

TLS_EXPECT = {  # host key -> openssl verify error numbers expected (exactly these, once each)
    "HOST": [],
    "EXPIRED_HOST": [10],      # X509_V_ERR_CERT_HAS_EXPIRED
    "WRONGNAME_HOST": [64],    # X509_V_ERR_IP_ADDRESS_MISMATCH
    "SELFSIGNED_HOST": [18],   # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    "TLS13_HOST": [],
}


def s_client(host, port, args, stdin=b""):
    res = subprocess.run(["openssl", "s_client", "-connect", f"{host}:{port}", *args],
                         input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
    return res.returncode, res.stdout.decode(errors="replace")


@check("tls: {1}:{0} verify errors")
def tls_verify_errors(port_key, host_key, env):
    host, port = env[host_key], env[port_key]
    starttls = {"IMAP_PORT": ["-starttls", "imap"], "POP3_PORT": ["-starttls", "pop3"],
                "SMTP_PORT": ["-starttls", "smtp"], "SUBMISSION_PORT": ["-starttls", "smtp"]}.get(port_key, [])
    _, out = s_client(host, port, ["-CAfile", env["CA_FILE"], "-verify_ip", host, *starttls])
    errors = [int(n) for n in re.findall(r"verify error:num=(\d+)", out)]
    expect(sorted(errors) == TLS_EXPECT[host_key], f"expected verify errors {TLS_EXPECT[host_key]}, got {errors}")
    expect("Verify return code" in out, "no handshake happened:\n" + out[-400:])


@check("tls: python verifies {1}:{0} as expected")
def tls_python(port_key, host_key, env):
    host, port = env[host_key], int(env[port_key])
    ok_expected = not TLS_EXPECT[host_key]
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT) as raw:
            with ctx_verify(env).wrap_socket(raw, server_hostname=host) as s:
                version = s.version()
                s.recv(100)
        expect(ok_expected, "handshake succeeded against a bad certificate")
        if host_key == "TLS13_HOST":
            expect(version == "TLSv1.3", f"negotiated {version}")
    except ssl.SSLCertVerificationError as e:
        expect(not ok_expected, f"good certificate refused: {e}")
        expect(e.verify_code == TLS_EXPECT[host_key][0], f"verify code {e.verify_code}, not {TLS_EXPECT[host_key]}")


@check("tls: {0} on TLS13_HOST refuses TLS 1.2 and accepts TLS 1.3; HOST accepts TLS 1.2")
def tls13_only(port_key, env):
    port = int(env[port_key])
    ctx12 = ctx_verify(env)
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with socket.create_connection((env["TLS13_HOST"], port), timeout=TIMEOUT) as raw:
            with ctx12.wrap_socket(raw, server_hostname=env["TLS13_HOST"]) as s:
                s.recv(100)
        raise AssertionError("TLS 1.2 handshake succeeded on the TLS 1.3-only host")
    except (ssl.SSLError, ConnectionError):
        pass
    with socket.create_connection((env["HOST"], port), timeout=TIMEOUT) as raw:
        with ctx12.wrap_socket(raw, server_hostname=env["HOST"]) as s:
            expect(s.version() == "TLSv1.2", f"negotiated {s.version()}")


# --- checks: IMAP ----------------------------------------------------------------------------

def imap_connect(env, mode, host_key="HOST", client_cert=False):
    host = env[host_key]
    if mode == "implicit":
        return imaplib.IMAP4_SSL(host, int(env["IMAPS_PORT"]), ssl_context=ctx_verify(env, client_cert=client_cert),
                                 timeout=TIMEOUT)
    c = imaplib.IMAP4(host, int(env["IMAP_PORT"]), timeout=TIMEOUT)
    if mode == "starttls":
        c.starttls(ssl_context=ctx_verify(env, client_cert=client_cert))
    return c


@check("imap: {1} login as {2} with {3}")
def imap_auth(env, mode, user_no, mech):
    user, password = env[f"USER{user_no}"], env[f"PASS{user_no}"]
    c = imap_connect(env, mode, client_cert=(mech == "EXTERNAL"))
    try:
        caps = c.capabilities
        expect(f"AUTH={mech}" in caps, f"AUTH={mech} not offered: {caps}")
        responder = sasl_responder(mech, user, password)
        if mech in ("PLAIN", "EXTERNAL"):
            first = responder(b"")
            typ, _ = c.authenticate(mech, lambda ch: first)
        else:
            state = {"first": True}

            def cb(ch):
                if state["first"] and not ch:
                    state["first"] = False
                    return responder(b"")
                state["first"] = False
                return responder(ch)
            typ, _ = c.authenticate(mech, cb)
        expect(typ == "OK", f"AUTHENTICATE {mech}: {typ}")
        typ, data = c.select("INBOX")
        expect(typ == "OK", f"SELECT: {data}")
    finally:
        c.logout()


@check("imap: wrong password is refused with NO on {0}")
def imap_bad_password(mode, env):
    c = imap_connect(env, mode)
    try:
        c.login(env["USER1"], "wrong-" + env["PASS1"])
        raise AssertionError("login with a wrong password succeeded")
    except imaplib.IMAP4.error as e:
        expect("AUTHENTICATIONFAILED" in str(e) or "failed" in str(e).lower(), str(e))
    finally:
        c.logout()


@check("imap: plaintext port offers STARTTLS, not LOGINDISABLED; implicit port does not offer STARTTLS")
def imap_starttls_caps(env):
    c = imap_connect(env, "plain")
    try:
        expect("STARTTLS" in c.capabilities, f"no STARTTLS: {c.capabilities}")
        expect("LOGINDISABLED" not in c.capabilities, "LOGINDISABLED on the plain port")
    finally:
        c.logout()
    c = imap_connect(env, "implicit")
    try:
        expect("STARTTLS" not in c.capabilities, f"STARTTLS on the TLS port: {c.capabilities}")
    finally:
        c.logout()


@check("imap: extensions (CONDSTORE QRESYNC COMPRESS QUOTA METADATA SPECIAL-USE ...)")
def imap_extensions(env):
    c = imap_connect(env, "implicit")
    try:
        c.login(env["USER0"], env["PASS0"])
        typ, data = c.capability()
        caps = set(data[0].decode().upper().split())
        wanted = ["IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "ENABLE", "NAMESPACE", "CONDSTORE", "QRESYNC",
                  "COMPRESS=DEFLATE", "QUOTA", "METADATA", "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS",
                  "LITERAL+", "ESEARCH", "SORT", "THREAD=REFERENCES", "UNSELECT", "BINARY", "CATENATE",
                  "ID", "CHILDREN", "SASL-IR"]
        missing = [w for w in wanted if w not in caps]
        expect(not missing, f"missing capabilities {missing}")
        typ, data = c.list()
        listing = b"\n".join(data).decode()
        for flag, name in (("\\Drafts", "Drafts"), ("\\Sent", "Sent"), ("\\Trash", "Trash"), ("\\Junk", "Junk")):
            expect(re.search(re.escape(flag) + r"\b.*\b" + name, listing), f"{name} lacks {flag}:\n{listing}")
        typ, data = c.getquotaroot("INBOX")
        expect(typ == "OK" and b"STORAGE" in b" ".join(x for x in data[1] if isinstance(x, bytes)),
               f"GETQUOTAROOT: {data}")
        key = "/private/comment"
        value = "mwservers " + secrets.token_hex(4)
        typ, data = c._simple_command("SETMETADATA", "INBOX", f'({key} "{value}")')
        expect(typ == "OK", f"SETMETADATA: {data}")
        typ, data = c._simple_command("GETMETADATA", "INBOX", key)
        got = c.untagged_responses.pop("METADATA", [])
        expect(typ == "OK" and any(value.encode() in (x if isinstance(x, bytes) else b"".join(
            y for y in x if isinstance(y, bytes))) for x in got), f"GETMETADATA: {typ} {got}")
        typ, data = c._simple_command("ENABLE", "QRESYNC")
        expect(typ == "OK", f"ENABLE QRESYNC: {data}")
        typ, data = c._simple_command("COMPRESS", "DEFLATE")
        expect(typ == "OK", f"COMPRESS DEFLATE: {data}")  # the stream is compressed from here on
    finally:
        try:
            c.shutdown()
        except OSError:
            pass


# --- checks: POP3 -----------------------------------------------------------------------------

def pop3_connect(env, mode, client_cert=False):
    if mode == "implicit":
        return poplib.POP3_SSL(env["HOST"], int(env["POP3S_PORT"]), context=ctx_verify(env, client_cert=client_cert),
                               timeout=TIMEOUT)
    c = poplib.POP3(env["HOST"], int(env["POP3_PORT"]), timeout=TIMEOUT)
    if mode == "starttls":
        c.stls(context=ctx_verify(env, client_cert=client_cert))
    return c


def pop3_sasl(c, mech, user, password):
    responder = sasl_responder(mech, user, password)
    # RFC 5034 §4: an initial response only for client-first mechanisms; CRAM-MD5 is server-first
    # and Cyrus refuses "AUTH CRAM-MD5 =" (bad protocol), where Dovecot lets it pass.
    if mech in ("PLAIN", "EXTERNAL") or mech.startswith("SCRAM-"):
        first = responder(b"")
        line = f"AUTH {mech} " + (base64.b64encode(first).decode() if first else "=")
    else:
        line = f"AUTH {mech}"
    c._putcmd(line)
    while True:
        resp = c._getline()[0]
        if resp.startswith(b"+OK"):
            return
        if resp.startswith(b"-ERR"):
            raise poplib.error_proto(resp)
        expect(resp.startswith(b"+ ") or resp == b"+", f"odd POP3 AUTH reply {resp!r}")
        challenge = base64.b64decode(resp[2:]) if len(resp) > 2 else b""
        c._putcmd(base64.b64encode(responder(challenge)).decode())


@check("pop3: {1} login as {2} with {3}")
def pop3_auth(env, mode, user_no, mech):
    user, password = env[f"USER{user_no}"], env[f"PASS{user_no}"]
    c = pop3_connect(env, mode, client_cert=(mech == "EXTERNAL"))
    try:
        caps = c.capa()
        expect(mech in caps.get("SASL", []), f"SASL {mech} not offered: {caps}")
        if mech == "USER":
            c.user(user)
            c.pass_(password)
        else:
            pop3_sasl(c, mech, user, password)
        c.stat()
    finally:
        c.quit()


@check("pop3: USER/PASS on {0}; wrong password gets -ERR")
def pop3_userpass(mode, env):
    c = pop3_connect(env, mode)
    try:
        c.user(env["USER1"])
        try:
            c.pass_("wrong")
            raise AssertionError("wrong password accepted")
        except poplib.error_proto:
            pass
    finally:
        c.close()
    c = pop3_connect(env, mode)
    try:
        c.user(env["USER1"])
        c.pass_(env["PASS1"])
        c.stat()
    finally:
        c.quit()


# --- checks: SMTP ----------------------------------------------------------------------------

def smtp_connect(env, port_key, host_key="HOST"):
    host, port = env[host_key], int(env[port_key])
    if port_key == "SMTPS_PORT":
        s = smtplib.SMTP_SSL(host, port, context=ctx_verify(env), timeout=TIMEOUT)
    else:
        s = smtplib.SMTP(host, port, timeout=TIMEOUT)
    s.ehlo("client.localhost")
    return s


def smtp_auth(s, mech, user, password):
    """AUTH with any mechanism, UTF-8 credentials allowed (smtplib.auth encodes as ASCII)."""
    responder = sasl_responder(mech, user, password)
    first = responder(b"") if mech in ("PLAIN", "EXTERNAL") or mech.startswith("SCRAM-") else b""
    code, resp = s.docmd("AUTH", mech + (" " + (base64.b64encode(first).decode() or "=") if first else ""))
    while code == 334:
        code, resp = s.docmd(base64.b64encode(responder(base64.b64decode(resp))).decode())
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, resp)


@check("smtp: port 25 extensions, no AUTH, STARTTLS offered")
def smtp_relay_port(env):
    s = smtp_connect(env, "SMTP_PORT")
    try:
        for ext in ("starttls", "pipelining", "chunking", "8bitmime", "dsn", "enhancedstatuscodes", "smtputf8", "size"):
            expect(s.has_extn(ext), f"EHLO lacks {ext.upper()}: {s.esmtp_features}")
        expect(int(s.esmtp_features["size"]) >= 60 * 1024 * 1024, f"SIZE {s.esmtp_features['size']} < 60 MB")
        expect(not s.has_extn("auth"), "AUTH offered before TLS on port 25")
        s.starttls(context=ctx_verify(env))
        s.ehlo("client.localhost")
        expect(not s.has_extn("starttls"), "STARTTLS still offered after TLS")
    finally:
        s.quit()


@check("smtp: port 25 refuses unknown local users and relaying with 5xx at RCPT")
def smtp_refusals(env):
    s = smtp_connect(env, "SMTP_PORT")
    try:
        code, msg = s.mail("someone@example.org")
        expect(code == 250, f"MAIL FROM: {code} {msg}")
        code, msg = s.rcpt(f"nobody@{env['DOMAIN']}")
        expect(500 <= code < 600, f"RCPT nobody@: {code} {msg}")
        code, msg = s.rcpt("someone@example.com")
        expect(500 <= code < 600, f"RCPT relay: {code} {msg}")
        code, msg = s.rcpt(env["ADDR1"])
        expect(code == 250, f"RCPT {env['ADDR1']}: {code} {msg}")
        s.rset()
    finally:
        s.quit()


@check("smtp: submission requires STARTTLS before AUTH and before mail")
def smtp_submission_policy(env):
    s = smtp_connect(env, "SUBMISSION_PORT")
    try:
        expect(s.has_extn("starttls"), "no STARTTLS on submission")
        expect(not s.has_extn("auth"), "AUTH offered before STARTTLS")
        code, msg = s.mail(env["ADDR1"])
        expect(code == 530 or 500 <= code < 600, f"MAIL before STARTTLS: {code} {msg}")
    finally:
        s.close()
    s = smtp_connect(env, "SUBMISSION_PORT")
    try:
        s.starttls(context=ctx_verify(env))
        s.ehlo("client.localhost")
        expect(s.has_extn("auth"), "no AUTH after STARTTLS")
        code, msg = s.mail(env["ADDR1"])
        code, msg = s.rcpt(env["ADDR2"])
        expect(500 <= code < 600, f"RCPT without AUTH: {code} {msg}")
        s.rset()
        try:
            smtp_auth(s, "PLAIN", env["USER1"], "wrong")
            raise AssertionError("AUTH with a wrong password succeeded")
        except smtplib.SMTPAuthenticationError as e:
            expect(e.smtp_code == 535, f"{e.smtp_code}")
    finally:
        s.close()


@check("smtp: {0} AUTH {2} as {1}")
def smtp_login(port_key, user_no, mech, env):
    s = smtp_connect(env, port_key)
    try:
        if port_key != "SMTPS_PORT":
            s.starttls(context=ctx_verify(env))
            s.ehlo("client.localhost")
        offered = s.esmtp_features.get("auth", "").upper().split()
        expect(mech in offered, f"AUTH {mech} not offered: {offered}")
        smtp_auth(s, mech, env[f"USER{user_no}"], env[f"PASS{user_no}"])
    finally:
        s.quit()


# --- checks: a message round trip -------------------------------------------------------------

def make_message(env, to, tag):
    body = ("Hello from selftest " + tag + "\r\n"
            ".a line that starts with a dot\r\n"
            "..and one with two\r\n"
            "Grüße, 8-bit text: ça marche\r\n"
            "\r\n" + ("x" * 70 + "\r\n") * 50 + ".\r\n" + "end\r\n")
    headers = (f"From: Alice <{env['ADDR1']}>\r\n"
               f"To: <{to}>\r\n"
               f"Subject: selftest {tag}\r\n"
               f"Message-ID: <{tag}@selftest.mailwire>\r\n"
               "Date: Sun, 29 Nov 2026 03:00:00 +0000\r\n"
               "MIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n")
    return (headers + body).encode("utf-8")


def fetch_imap(env, user_no, tag, deadline):
    while True:
        c = imap_connect(env, "implicit")
        try:
            plain = sasl_responder("PLAIN", env[f"USER{user_no}"], env[f"PASS{user_no}"])(b"")
            c.authenticate("PLAIN", lambda ch: plain)  # LOGIN would need an ASCII password
            c.select("INBOX", readonly=True)
            typ, data = c.uid("SEARCH", None, "HEADER", "Message-ID", f"<{tag}@selftest.mailwire>")
            uids = data[0].split()
            if uids:
                typ, data = c.uid("FETCH", uids[-1], "(BODY.PEEK[])")
                return data[0][1]
        finally:
            c.logout()
        if time.monotonic() > deadline:
            raise AssertionError(f"message {tag} did not arrive")
        time.sleep(0.2)


def fetch_pop3(env, user_no, tag):
    c = pop3_connect(env, "starttls")
    try:
        c.user(env[f"USER{user_no}"])
        c.pass_(env[f"PASS{user_no}"])
        _, listing, _ = c.uidl()
        first = [x.decode().split() for x in listing]
        _, listing2, _ = c.uidl()
        expect(first == [x.decode().split() for x in listing2], "UIDL changed within a session")
        for num, uidl in reversed(first):
            _, lines, _ = c.retr(int(num))
            raw = b"\r\n".join(lines) + b"\r\n"
            if f"<{tag}@selftest.mailwire>".encode() in raw:
                return raw, first
        raise AssertionError(f"message {tag} not in POP3 maildrop")
    finally:
        c.quit()


@check("roundtrip: send via {0} (AUTH {2}), read back byte-exact over IMAP and POP3")
def roundtrip(port_key, user_no, mech, env):
    tag = f"{port_key.lower()}-{secrets.token_hex(6)}"
    to = env[f"ADDR{user_no}"]
    msg = make_message(env, to, tag)
    s = smtp_connect(env, port_key)
    try:
        if port_key != "SMTPS_PORT":
            s.starttls(context=ctx_verify(env))
            s.ehlo("client.localhost")
        if mech:
            smtp_auth(s, mech, env["USER1"], env["PASS1"])
        refused = s.sendmail(env["ADDR1"], [to], msg)
        expect(not refused, f"refused {refused}")
    finally:
        s.quit()
    got = fetch_imap(env, user_no, tag, time.monotonic() + 20)
    expect(got.endswith(msg), f"IMAP copy is not the sent message plus trace headers:\n{got[:600]!r}")
    prefix = got[:-len(msg)]
    trace = [b"Return-Path", b"Delivered-To", b"Received"] + [h.encode() for h in env.get("_EXTRA_TRACE", "").split()]
    expect(all(l.split(b":")[0] in trace or l.startswith((b" ", b"\t"))
               for l in prefix.split(b"\r\n") if l), f"unexpected added headers:\n{prefix.decode(errors='replace')}")
    raw, uidls = fetch_pop3(env, user_no, tag)
    expect(raw == got, "POP3 RETR differs from IMAP BODY[]")
    _, uidls2 = fetch_pop3(env, user_no, tag)
    expect(uidls == uidls2, "UIDL changed between sessions")


@check("roundtrip: 8 MB message through port 25 (no AUTH) and back over IMAP")
def big_message(env):
    tag = f"big-{secrets.token_hex(6)}"
    msg = make_message(env, env["ADDR0"], tag)
    msg += (b"0123456789abcdef" * 4 + b"\r\n") * (8 * 1024 * 1024 // 66)
    s = smtp_connect(env, "SMTP_PORT")
    try:
        s.starttls(context=ctx_verify(env))
        s.ehlo("client.localhost")
        s.sendmail("outsider@example.org", [env["ADDR0"]], msg)
    finally:
        s.quit()
    got = fetch_imap(env, 0, tag, time.monotonic() + 60)
    expect(got.endswith(msg), "big message altered")


@check("lmtp: greets with 220 and knows the users")
def lmtp(env):
    with socket.create_connection((env["HOST"], int(env["LMTP_PORT"])), timeout=TIMEOUT) as s:
        f = s.makefile("rwb")
        expect(f.readline().startswith(b"220 "), "no 220 greeting")
        f.write(b"LHLO selftest\r\n")
        f.flush()
        while True:
            line = f.readline()
            if line[3:4] == b" ":
                break
        f.write(b"MAIL FROM:<>\r\nRCPT TO:<" + env["ADDR2"].encode() + b">\r\nRCPT TO:<nobody@localhost>\r\n")
        f.flush()
        replies = [f.readline() for _ in range(3)]
        expect(replies[0].startswith(b"250") and replies[1].startswith(b"250"), f"{replies}")
        expect(replies[2][:1] == b"5", f"unknown user not refused: {replies[2]!r}")
        f.write(b"QUIT\r\n")
        f.flush()


@check("doveadm: DOVEADM prefix works")
def doveadm(env):
    out = subprocess.run(env["DOVEADM"].split() + ["user", env["USER1"]], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=TIMEOUT).stdout.decode()
    expect(f"uid\t{env['MAIL_UID']}" in out.replace("  ", "\t") or env["MAIL_UID"] in out, out)


def interop_checks(env, mechs):
    """Cyrus IMAP and Exim (issue #13, interop.py): the same checks on a view of the env whose
    port keys name their ports. Exim delivers into Cyrus, so the round trip reads back there."""
    if env.get("CYRUS") != "yes" or env.get("EXIM") != "yes":
        print(f"SKIP Cyrus/Exim checks: CYRUS={env.get('CYRUS')} EXIM={env.get('EXIM')} "
              f"({env.get('INTEROP_REASON', 'no reason in the env file')})")
        return
    view = dict(env, _LABEL="cyrus+exim", IMAP_PORT=env["CYRUS_IMAP_PORT"], IMAPS_PORT=env["CYRUS_IMAPS_PORT"],
                POP3_PORT=env["CYRUS_POP3_PORT"], POP3S_PORT=env["CYRUS_POP3S_PORT"], SMTP_PORT=env["EXIM_SMTP_PORT"],
                SUBMISSION_PORT=env["EXIM_SUBMISSION_PORT"], SMTPS_PORT=env["EXIM_SMTPS_PORT"],
                # Cyrus's LMTP delivery adds these two above the message, besides Received.
                _EXTRA_TRACE="X-Cyrus-Session-Id X-Sieve")
    for port_key in ["IMAPS_PORT", "POP3S_PORT", "IMAP_PORT", "POP3_PORT", "SMTPS_PORT", "SUBMISSION_PORT"]:
        tls_verify_errors(port_key, "HOST", view)
    for port_key in ["IMAPS_PORT", "POP3S_PORT", "SMTPS_PORT"]:
        tls_python(port_key, "HOST", view)
    for mode in ("plain", "starttls", "implicit"):
        for user_no in (1, 3):
            for mech in mechs:
                imap_auth(view, mode, user_no, mech)
                pop3_auth(view, mode, user_no, mech)
        pop3_userpass(mode, view)
    imap_bad_password("implicit", view)  # Cyrus waits ~3 s after a failure: once is enough
    smtp_submission_policy(view)
    for port_key in ("SUBMISSION_PORT", "SMTPS_PORT"):
        for user_no in (1, 3):
            for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):  # Exim's built-in authenticators: no SCRAM
                smtp_login(port_key, user_no, mech, view)
    roundtrip("SUBMISSION_PORT", 0, "PLAIN", view)
    roundtrip("SMTPS_PORT", 0, "CRAM-MD5", view)
    roundtrip("SMTP_PORT", 0, None, view)


def main(argv):
    path = argv[1] if len(argv) > 1 else os.environ.get("MAILWIRE_SERVERS_ENV")
    if not path or not os.path.exists(path):
        print("usage: selftest.py ENV_FILE (written by `mwservers start DIR` as DIR/env)", file=sys.stderr)
        return 2
    env = load_env(path)
    postfix = env.get("POSTFIX") == "yes"
    hosts = list(TLS_EXPECT)

    for port_key in ["IMAPS_PORT", "POP3S_PORT", "IMAP_PORT", "POP3_PORT"] + (
            ["SMTPS_PORT", "SUBMISSION_PORT", "SMTP_PORT"] if postfix else []):
        for host_key in hosts:
            tls_verify_errors(port_key, host_key, env)
    for port_key in ["IMAPS_PORT", "POP3S_PORT"] + (["SMTPS_PORT"] if postfix else []):
        for host_key in hosts:
            tls_python(port_key, host_key, env)
        tls13_only(port_key, env)

    mechs = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]
    imap_starttls_caps(env)
    for mode in ("plain", "starttls", "implicit"):
        for user_no in (1, 2, 3):
            for mech in mechs:
                imap_auth(env, mode, user_no, mech)
        imap_bad_password(mode, env)
    imap_auth(env, "implicit", 1, "EXTERNAL")
    imap_auth(env, "starttls", 1, "EXTERNAL")
    imap_extensions(env)

    for mode in ("plain", "starttls", "implicit"):
        for user_no in (1, 3):
            for mech in mechs:
                pop3_auth(env, mode, user_no, mech)
        pop3_userpass(mode, env)
    pop3_auth(env, "implicit", 1, "EXTERNAL")
    lmtp(env)
    doveadm(env)

    if postfix:
        smtp_relay_port(env)
        smtp_refusals(env)
        smtp_submission_policy(env)
        for port_key in ("SUBMISSION_PORT", "SMTPS_PORT"):
            for user_no in (1, 3):
                for mech in mechs:
                    smtp_login(port_key, user_no, mech, env)
        roundtrip("SUBMISSION_PORT", 0, "PLAIN", env)
        roundtrip("SMTPS_PORT", 0, "SCRAM-SHA-256", env)
        roundtrip("SMTP_PORT", 0, None, env)
        big_message(env)
    else:
        print("SKIP smtp checks: POSTFIX=no in the env file")

    interop_checks(env, mechs)

    failed = [r for r in results if r[1]]
    print(f"selftest: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
