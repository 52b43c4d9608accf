// mailwire::secret and the wiping of credentials from the caller to the wire (issue #12 item 12).
//
// Freed memory is observed, never read after the fact: this binary replaces the global operator
// new/delete (a standard mechanism, [replacement.functions]) and, while a scan is active on the
// calling thread, searches every block C++ code frees for the watched bytes *before* handing it
// back to malloc. A credential found there is a copy that outlived its use in the heap.
#include "mailwire/secret.hpp"

#include <execinfo.h>
#include <malloc.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/sasl/base64.hpp"
#include "mailwire/sasl/mechanism.hpp"
#include "mailwire/smtp/client.hpp"
#include "sasl/detail.hpp"
#include "support/scripted_server.hpp"

namespace {

// ---- the freed-memory observer ---------------------------------------------------------------

struct freed_memory_scan {
    std::vector<std::string> needles;  // allocated before the scan starts, freed after it ends
    int hits = 0;                      // freed blocks that held a needle
    const void* watched = nullptr;     // a single block to check for all-zero contents...
    std::size_t watched_size = 0;
    int watched_freed = 0;  // ...how often it was freed
    bool watched_zero = false;
};
thread_local freed_memory_scan* active_scan = nullptr;
thread_local bool in_hook = false;

void inspect(void* p, std::size_t n) noexcept {
    freed_memory_scan* scan = active_scan;
    if (p == nullptr || scan == nullptr || in_hook) return;
    in_hook = true;  // nothing below allocates, but never recurse
    if (n == 0) n = malloc_usable_size(p);
    const auto* bytes = static_cast<const unsigned char*>(p);
    if (p == scan->watched) {
        ++scan->watched_freed;
        scan->watched_zero = true;
        for (std::size_t i = 0; i < scan->watched_size; ++i)
            if (bytes[i] != 0) scan->watched_zero = false;
    }
    for (const auto& needle : scan->needles) {
        if (needle.empty() || memmem(p, n, needle.data(), needle.size()) == nullptr) continue;
        ++scan->hits;
        // MAILWIRE_SECRET_TEST_BACKTRACE=1 shows where a leaking block is freed.
        if (std::getenv("MAILWIRE_SECRET_TEST_BACKTRACE") != nullptr) {
            void* frames[40];
            backtrace_symbols_fd(frames, backtrace(frames, 40), STDERR_FILENO);
            static constexpr char sep[] = "----\n";
            (void)!write(STDERR_FILENO, sep, sizeof sep - 1);
        }
    }
    in_hook = false;
}

// Activates a scan on this thread for its lifetime.
class scan_scope {
public:
    explicit scan_scope(freed_memory_scan& s) { active_scan = &s; }
    ~scan_scope() { active_scan = nullptr; }
    scan_scope(const scan_scope&) = delete;
    scan_scope& operator=(const scan_scope&) = delete;
};

void* allocate(std::size_t n) {
    if (n == 0) n = 1;
    if (void* p = std::malloc(n)) return p;
    throw std::bad_alloc();
}

}  // namespace

// NOLINTBEGIN: the replaceable global allocation functions.
void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n == 0 ? 1 : n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n == 0 ? 1 : n); }
void operator delete(void* p) noexcept {
    inspect(p, 0);
    std::free(p);
}
void operator delete[](void* p) noexcept {
    inspect(p, 0);
    std::free(p);
}
void operator delete(void* p, std::size_t n) noexcept {
    inspect(p, n);
    std::free(p);
}
void operator delete[](void* p, std::size_t n) noexcept {
    inspect(p, n);
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    inspect(p, 0);
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    inspect(p, 0);
    std::free(p);
}
// NOLINTEND

namespace mailwire {
namespace {

using namespace std::literals;
using namespace std::chrono_literals;

bool all_zero(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (p[i] != 0) return false;
    return true;
}

// ---- the type ---------------------------------------------------------------------------------

// Printing a secret by accident must not compile: no operator<<, no conversion to a string type.
template <class T>
concept streamable = requires(std::ostream& os, const T& t) {
    os << t;
};
static_assert(!streamable<secret>);
static_assert(!std::is_convertible_v<secret, std::string>);
static_assert(!std::is_convertible_v<secret, std::string_view>);
static_assert(!std::is_convertible_v<secret, const char*>);
// ...while filling one stays as easy as filling a string.
static_assert(std::is_convertible_v<const char*, secret>);
static_assert(std::is_convertible_v<std::string, secret>);
static_assert(std::is_convertible_v<const std::string&, secret>);
static_assert(std::is_convertible_v<std::string_view, secret>);
static_assert(std::is_nothrow_move_constructible_v<secret> && std::is_nothrow_move_assignable_v<secret>);

TEST(secret, holds_bytes_like_a_string) {
    const secret empty;
    EXPECT_TRUE(empty.empty());
    EXPECT_EQ(empty.size(), 0u);
    EXPECT_STREQ(empty.data(), "");
    EXPECT_EQ(empty.view(), "");

    const secret a("hunter2");
    EXPECT_EQ(a.view(), "hunter2");
    EXPECT_EQ(a.size(), 7u);
    EXPECT_FALSE(a.empty());
    EXPECT_STREQ(a.data(), "hunter2");  // NUL-terminated for C interfaces

    const secret with_nul("a\0b"sv);
    EXPECT_EQ(with_nul.view(), "a\0b"sv);
    EXPECT_EQ(secret(static_cast<const char*>(nullptr)).view(), "");  // std::getenv's "not set"
    const std::string s = "from a string";
    EXPECT_EQ(secret(s).view(), s);
    EXPECT_EQ(s, "from a string");  // an lvalue is copied, not taken

    secret b;
    b.append("abc").push_back('d');
    b.append(secret("ef"));
    EXPECT_EQ(b.view(), "abcdef");
    b.append(b.view());  // self-append across a reallocation
    EXPECT_EQ(b.view(), "abcdefabcdef");
    b.assign(b.view().substr(6, 3));  // self-assignment of a sub-range
    EXPECT_EQ(b.view(), "abc");
}

TEST(secret, credentials_fill_as_before) {
    sasl::credentials c;
    c.password = "literal";
    EXPECT_EQ(c.password.view(), "literal");
    const std::string s = "lvalue";
    c.password = s;
    EXPECT_EQ(c.password.view(), "lvalue");
    c.password = std::string("rvalue");
    EXPECT_EQ(c.password.view(), "rvalue");
    c.password = "view"sv;
    EXPECT_EQ(c.password.view(), "view");
    c.oauth_token = std::getenv("MAILWIRE_SECRET_TEST_UNSET_VARIABLE");
    EXPECT_TRUE(c.oauth_token.empty());
    const sasl::credentials d{"alice", "pw", {}, {}, {}, 0};
    EXPECT_FALSE(d.password.empty());
    sasl::credentials copy = d;  // copies own their bytes
    copy.password.clear();
    EXPECT_EQ(d.password.view(), "pw");
}

TEST(secret, equality_compares_bytes) {
    EXPECT_TRUE(secret("abc") == secret("abc"));
    EXPECT_FALSE(secret("abc") == secret("abd"));
    EXPECT_FALSE(secret("abc") == secret("abcd"));
    EXPECT_TRUE(secret() == secret(""));
    EXPECT_TRUE(secret("x") == "x");  // a string literal converts
    EXPECT_TRUE(secret("x") != "y");
}

TEST(secret, taking_a_string_rvalue_wipes_its_whole_buffer) {
    std::string s(40, 'p');  // on the heap
    s.resize(10);            // bytes 10..39 still hold 'p'
    const char* buffer = s.data();
    const secret taken(std::move(s));
    EXPECT_EQ(taken.view(), std::string(10, 'p'));
    EXPECT_TRUE(s.empty());             // NOLINT(bugprone-use-after-move): the documented state
    EXPECT_EQ(s.data(), buffer);        // the buffer is kept (still owned by `s`) ...
    EXPECT_TRUE(all_zero(buffer, 40));  // ... and wiped, tail included

    std::string small = "pw";  // in the string object itself (SSO)
    const char* inside = small.data();
    const secret from_small(std::move(small));
    EXPECT_EQ(from_small.view(), "pw");
    EXPECT_TRUE(all_zero(inside, 2));
}

TEST(secret, assign_and_clear_wipe_in_place) {
    secret s("a-long-password");
    const char* buffer = s.data();
    const std::size_t n = s.size();
    s.assign("ab");  // fits: same buffer, the rest wiped
    EXPECT_EQ(s.data(), buffer);
    EXPECT_EQ(s.view(), "ab");
    EXPECT_TRUE(all_zero(buffer + 2, n - 2));
    s.clear();
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.capacity(), n);
    EXPECT_TRUE(all_zero(buffer, n));
}

TEST(secret, moved_from_is_empty_and_the_buffer_moves) {
    secret a("token");
    const char* buffer = a.data();
    secret b(std::move(a));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the documented state
    EXPECT_EQ(a.capacity(), 0u);
    EXPECT_EQ(b.data(), buffer);  // no copy was made
    secret c;
    c = std::move(b);
    EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(c.data(), buffer);
    EXPECT_EQ(c.view(), "token");
}

// The buffer's bytes are zero at the moment it is handed back to the allocator.
template <class F>
freed_memory_scan watch_free(const secret& s, F&& f) {
    freed_memory_scan scan;
    scan.watched = s.data();
    scan.watched_size = s.size();
    {
        const scan_scope on(scan);
        f();
    }
    return scan;
}

TEST(secret, destruction_wipes_before_freeing) {
    auto* s = new secret("correct horse battery staple");
    const auto scan = watch_free(*s, [&] { delete s; });
    EXPECT_EQ(scan.watched_freed, 1);
    EXPECT_TRUE(scan.watched_zero);
}

TEST(secret, reassignment_wipes_the_old_buffer_before_freeing) {
    secret s("old-password");
    auto scan = watch_free(s, [&] { s = secret("a much longer new password, in a new buffer"); });
    EXPECT_EQ(scan.watched_freed, 1);
    EXPECT_TRUE(scan.watched_zero);

    secret t("short");
    scan = watch_free(t, [&] { t.append(" and then a lot more, so that the buffer must grow"); });
    EXPECT_EQ(scan.watched_freed, 1);
    EXPECT_TRUE(scan.watched_zero);
    EXPECT_EQ(t.view(), "short and then a lot more, so that the buffer must grow");

    secret u("copy-assigned over");
    const secret longer("by something that does not fit in the old buffer at all");
    scan = watch_free(u, [&] { u = longer; });
    EXPECT_EQ(scan.watched_freed, 1);
    EXPECT_TRUE(scan.watched_zero);
}

TEST(secret, the_observer_sees_an_ordinary_string_leak) {
    // The instrument itself: a std::string freed unwiped is reported, one wiped is not.
    freed_memory_scan scan;
    scan.needles = {"observer-needle-1234567890"};
    {
        const scan_scope on(scan);
        auto* leak = new std::string("observer-needle-1234567890");
        delete leak;
    }
    EXPECT_EQ(scan.hits, 1);
    scan.hits = 0;
    {
        const scan_scope on(scan);
        std::string wiped("observer-needle-1234567890");
        detail::wipe(wiped);
    }
    EXPECT_EQ(scan.hits, 0);
}

TEST(secret, wipe_clears_a_strings_whole_capacity) {
    std::string s(64, 'k');
    s.resize(3);
    const char* buffer = s.data();
    detail::wipe(s);
    EXPECT_TRUE(s.empty());
    EXPECT_TRUE(all_zero(buffer, 64));

    std::string t(64, 'k');
    const char* tb = t.data();
    try {
        const detail::wipe_on_exit guard(t);
        throw std::runtime_error("write failed");
    } catch (const std::runtime_error&) {}
    EXPECT_TRUE(all_zero(tb, 64));
}

TEST(secret, base64_encode_secret_matches_rfc4648) {
    for (const auto& [in, out] : {std::pair{""sv, ""sv},
                                  {"f"sv, "Zg=="sv},
                                  {"fo"sv, "Zm8="sv},
                                  {"foo"sv, "Zm9v"sv},
                                  {"foob"sv, "Zm9vYg=="sv},
                                  {"fooba"sv, "Zm9vYmE="sv},
                                  {"foobar"sv, "Zm9vYmFy"sv}}) {
        EXPECT_EQ(sasl::base64_encode_secret(in).view(), out);
        EXPECT_EQ(sasl::base64_encode(in), out);
    }
}

// ---- from the caller to the wire ---------------------------------------------------------------
// Each login below runs under a scan for the password and every encoding of it the protocol
// sends; the scripted server (its own thread, not scanned) checks the bytes on the wire. The
// scripts match the secret lines by pattern so that the test itself holds no extra copies.

constexpr std::string_view password = "Pw-3f9c1a7e-never-in-freed-memory";

std::string b64(std::string_view s) { return sasl::base64_encode(s); }

template <class Client>
void plain_connect(Client& c, const test::scripted_server& srv) {
    c.timeouts().greeting = 2000ms;
    c.timeouts().io = 2000ms;
    c.allow_plaintext_auth(true);
    c.connect(srv.host(), srv.port(), security::none);
}

struct wire_case {
    freed_memory_scan scan;
    explicit wire_case(std::vector<std::string> needles) { scan.needles = std::move(needles); }
};

TEST(secret_wiring, pop3_user_pass_leaves_no_copy) {
    test::scripted_server srv(test::script{}
                                  .send("+OK ready\r\n")
                                  .expect_line("CAPA")
                                  .send("+OK\r\nUSER\r\n.\r\n")
                                  .expect_line("USER bob")
                                  .send("+OK\r\n")
                                  .expect_line_matching("^PASS Pw-3f9c1a7e-")
                                  .send("+OK in\r\n"));
    pop3::client c;
    plain_connect(c, srv);
    const secret pw(password);
    wire_case w({std::string(password), "PASS " + std::string(password)});
    {
        const scan_scope on(w.scan);
        c.login("bob", pw);
    }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(w.scan.hits, 0) << "a freed block held the password";
    EXPECT_NE(srv.received().find("PASS " + std::string(password) + "\r\n"), std::string::npos);
}

TEST(secret_wiring, pop3_apop_leaves_no_copy_of_password_or_digest) {
    const std::string stamp = "<1896.697170952@dbc.mtview.ca.us>";
    const std::string digest = [&] {
        const secret d = sasl::detail::digest("MD5", stamp + std::string(password));
        std::string hex;
        for (const char ch : d.view()) {
            static constexpr char digits[] = "0123456789abcdef";
            hex += digits[static_cast<unsigned char>(ch) >> 4];
            hex += digits[static_cast<unsigned char>(ch) & 15];
        }
        return hex;
    }();
    test::scripted_server srv(test::script{}
                                  .send("+OK ready " + stamp + "\r\n")
                                  .expect_line("CAPA")
                                  .send("+OK\r\nUSER\r\n.\r\n")
                                  .expect_line_matching("^APOP bob [0-9a-f]{32}$")
                                  .send("+OK in\r\n"));
    pop3::client c;
    plain_connect(c, srv);
    const secret pw(password);
    wire_case w({std::string(password), digest});
    {
        const scan_scope on(w.scan);
        c.authenticate("bob", pw);
    }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(c.authenticated_with(), "APOP");
    EXPECT_EQ(w.scan.hits, 0) << "a freed block held the password or the APOP digest";
    EXPECT_NE(srv.received().find("APOP bob " + digest + "\r\n"), std::string::npos);
}

TEST(secret_wiring, imap_login_leaves_no_copy) {
    test::scripted_server srv(test::script{}
                                  .send("* OK [CAPABILITY IMAP4rev1] ready\r\n")
                                  .expect_line_matching(R"(^(\S+) LOGIN "?alice"? "?Pw-3f9c1a7e-)")
                                  .send("$1 OK [CAPABILITY IMAP4rev1] in\r\n"));
    imap::client c;
    plain_connect(c, srv);
    const secret pw(password);
    wire_case w({std::string(password)});
    {
        const scan_scope on(w.scan);
        c.login("alice", pw);
    }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(w.scan.hits, 0) << "a freed block held the password";
    EXPECT_NE(srv.received().find(std::string(password)), std::string::npos);
}

TEST(secret_wiring, imap_login_with_a_quoted_password_leaves_no_copy) {
    // A '"' forces the quoted form with escapes: the path that built a temporary with quote().
    const std::string quoted_pw = std::string(password) + "\"x";
    test::scripted_server srv(test::script{}
                                  .send("* OK [CAPABILITY IMAP4rev1] ready\r\n")
                                  .expect_line_matching(R"(^(\S+) LOGIN "?alice"? "Pw-3f9c1a7e-)")
                                  .send("$1 OK [CAPABILITY IMAP4rev1] in\r\n"));
    imap::client c;
    plain_connect(c, srv);
    const secret pw(quoted_pw);
    wire_case w({std::string(password)});
    {
        const scan_scope on(w.scan);
        c.login("alice", pw);
    }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(w.scan.hits, 0) << "a freed block held the password";
    EXPECT_NE(srv.received().find(" \"" + std::string(password) + "\\\"x\"\r\n"), std::string::npos);
}

TEST(secret_wiring, imap_login_with_a_literal_password_leaves_no_copy) {
    // 8-bit text goes as a synchronizing literal (RFC 3501 §4.3): the password travels in its
    // own part of the command, sent after the server's continuation.
    const std::string literal_pw = std::string(password) + "-p\xc3\xa4ss";
    test::scripted_server srv(test::script{}
                                  .send("* OK [CAPABILITY IMAP4rev1] ready\r\n")
                                  .expect_line_matching(R"(^(\S+) LOGIN "?alice"? \{(\d+)\}$)")
                                  .send("+ go ahead\r\n")
                                  .expect_exact(literal_pw)
                                  .expect_line("")
                                  .send("$1 OK [CAPABILITY IMAP4rev1] in\r\n"));
    imap::client c;
    plain_connect(c, srv);
    const secret pw(literal_pw);
    wire_case w({std::string(password)});
    {
        const scan_scope on(w.scan);
        c.login("alice", pw);
    }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(w.scan.hits, 0) << "a freed block held the password";
}

TEST(secret_wiring, imap_authenticate_plain_with_sasl_ir_leaves_no_copy) {
    const std::string message = "\0alice\0"s + std::string(password);
    test::scripted_server srv(test::script{}
                                  .send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n")
                                  .expect_line_matching(R"(^(\S+) AUTHENTICATE PLAIN \S+$)")
                                  .send("$1 OK [CAPABILITY IMAP4rev1] in\r\n"));
    imap::client c;
    plain_connect(c, srv);
    sasl::credentials cred;
    cred.user = "alice";
    cred.password = password;
    wire_case w({std::string(password), b64(message)});
    {
        const scan_scope on(w.scan);
        c.authenticate(cred, {"PLAIN"});
    }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(w.scan.hits, 0) << "a freed block held the password or its PLAIN encoding";
    EXPECT_NE(srv.received().find("AUTHENTICATE PLAIN " + b64(message) + "\r\n"), std::string::npos);
}

TEST(secret_wiring, smtp_auth_login_leaves_no_copy) {
    // LOGIN answers challenges: the path through the SASL driver's challenge loop.
    test::scripted_server srv(test::script{}
                                  .send("220 ready\r\n")
                                  .expect_line_matching("^EHLO ")
                                  .send("250-hi\r\n250 AUTH LOGIN\r\n")
                                  .expect_line("AUTH LOGIN")
                                  .send("334 VXNlcm5hbWU6\r\n")
                                  .expect_line(b64("bob"))
                                  .send("334 UGFzc3dvcmQ6\r\n")
                                  .expect_line_matching("^UHct")  // base64 of "Pw-"
                                  .send("235 in\r\n"));
    smtp::client c;
    plain_connect(c, srv);
    sasl::credentials cred;
    cred.user = "bob";
    cred.password = password;
    wire_case w({std::string(password), b64(password)});
    {
        const scan_scope on(w.scan);
        c.authenticate(cred, {"LOGIN"});
    }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(w.scan.hits, 0) << "a freed block held the password or its base64 form";
    EXPECT_NE(srv.received().find(b64(password) + "\r\n"), std::string::npos);
}

TEST(secret_wiring, smtp_auth_xoauth2_leaves_no_copy_of_the_token) {
    const std::string token = "ya29.token-5e1d0b7a-never-in-freed-memory";
    const std::string message =
        "user=bob\x01"
        "auth=Bearer " +
        token + "\x01\x01";
    test::scripted_server srv(test::script{}
                                  .send("220 ready\r\n")
                                  .expect_line_matching("^EHLO ")
                                  .send("250-hi\r\n250 AUTH XOAUTH2\r\n")
                                  .expect_line_matching("^AUTH XOAUTH2 \\S+$")
                                  .send("235 in\r\n"));
    smtp::client c;
    plain_connect(c, srv);
    sasl::credentials cred;
    cred.user = "bob";
    cred.oauth_token = token;
    wire_case w({token, b64(message)});
    {
        const scan_scope on(w.scan);
        c.authenticate(cred, {"XOAUTH2"});
    }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(w.scan.hits, 0) << "a freed block held the token or its XOAUTH2 encoding";
    EXPECT_NE(srv.received().find("AUTH XOAUTH2 " + b64(message) + "\r\n"), std::string::npos) << srv.received();
}

TEST(secret_wiring, scram_keeps_its_keys_out_of_freed_memory) {
    // RFC 5802 §3: SaltedPassword, ClientKey and ServerKey each let an attacker in; the proof
    // and the password must not linger either. Driven directly with a fixed nonce.
    const std::string salt_b64 = "QSXCR+Q6sek8bf92";
    const std::string salt = sasl::base64_decode(salt_b64);
    const secret salted = sasl::detail::pbkdf2("SHA256", password, salt, 16);
    const secret client_key = sasl::detail::hmac("SHA256", salted.view(), "Client Key");
    const secret server_key = sasl::detail::hmac("SHA256", salted.view(), "Server Key");
    sasl::credentials cred;
    cred.user = "user";
    cred.password = password;
    wire_case w({std::string(password), std::string(salted.view()), std::string(client_key.view()),
                 std::string(server_key.view())});
    {
        const scan_scope on(w.scan);
        auto m = sasl::detail::make_scram(sasl::detail::scram_hash::sha256, false, cred, std::nullopt, "abc");
        (void)m->step("");
        const secret final = m->step("r=abcdef,s=" + salt_b64 + ",i=16");
        EXPECT_NE(final.view().find(",p="), std::string_view::npos);
    }
    EXPECT_EQ(w.scan.hits, 0) << "a freed block held the password or a SCRAM key";
}

}  // namespace
}  // namespace mailwire
