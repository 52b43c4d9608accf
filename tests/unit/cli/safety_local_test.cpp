// What the CLI writes to the disk and to the terminal when the server or the message is hostile
// (issue #12, items 10 and 11). Files: a planted symlink at a temporary or final name is never
// followed, saved files are 0600 whatever the umask, an existing file is never replaced, nothing
// is left behind when the server closes mid-body, 100k equal names are allocated in linear time,
// names lose a leading '-' and bidi controls. Terminal: ESC, C1 controls and bidi overrides from a
// Subject, a name, a file name or a server text are shown escaped in human output, and JSON output
// carries them only as \uNNNN escapes.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "cli_files.hpp"
#include "cli_pop3_local.hpp"
#include "cli_run.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// Every entry of `dir`, hidden ones included.
std::set<std::string> entries(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

/// Permission bits of a regular file (not following a symlink).
unsigned mode_of(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0xFFFF;
    return st.st_mode & 07777;
}

/// Runs with umask 022, the usual default, under which `fopen("wb")` makes world-readable files.
struct umask_022 {
    mode_t old = ::umask(022);
    ~umask_022() { ::umask(old); }
};

/// No raw ESC, BEL, C1 (raw or UTF-8) or bidi override (UTF-8) in `text`.
void expect_no_terminal_controls(const std::string& text, const std::string& what) {
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << what << ":\n" << text;
    EXPECT_EQ(text.find('\x07'), std::string::npos) << what << ":\n" << text;
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << what << ":\n" << text;      // U+009B CSI
    EXPECT_EQ(text.find('\x9b'), std::string::npos) << what << ":\n" << text;          // 8-bit CSI
    EXPECT_EQ(text.find("\xe2\x80\xae"), std::string::npos) << what << ":\n" << text;  // U+202E RLO
    EXPECT_EQ(text.find("\xe2\x81\xa6"), std::string::npos) << what << ":\n" << text;  // U+2066 LRI
}

// ---- IMAP ----------------------------------------------------------------------------------------

script imap_logged_in() {
    return script{}
        .send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] scripted\r\n")
        .expect_line_matching(R"(^(\S+) AUTHENTICATE PLAIN \S+$)")
        .send("$1 OK [CAPABILITY IMAP4rev1] Logged in\r\n")
        .expect_line_matching(R"(^(\S+) EXAMINE "?INBOX"?$)")
        .send("* 2 EXISTS\r\n$1 OK [READ-ONLY] examined\r\n");
}

script& imap_sizes(script& s) {
    return s.expect_line_matching(R"(^(\S+) UID FETCH 1:\* \(?UID RFC822\.SIZE\)?$)")
        .send("* 1 FETCH (UID 7 RFC822.SIZE 5)\r\n* 2 FETCH (UID 8 RFC822.SIZE 6)\r\n$1 OK done\r\n");
}

script& imap_logout(script& s) {
    return s.expect_line_matching(R"(^(\S+) LOGOUT$)").send("* BYE bye\r\n$1 OK done\r\n");
}

run_result run_imap(const scripted_server& srv, std::vector<std::string> args) {
    args.insert(args.begin(), "imap");
    for (const std::string a : {"--host", "127.0.0.1", "--security", "none", "--allow-plaintext-auth", "--user",
                                "alice", "--password-env", "MW_TEST_PW", "--timeout", "10"})
        args.push_back(a);
    args.push_back("--port");
    args.push_back(std::to_string(srv.port()));
    return run_cli(args, {{"MW_TEST_PW", "secret"}});
}

TEST(CliSafetyLocal, ImapFetchIgnoresPlantedSymlinksAndSavesPrivateFiles) {
    umask_022 mask;
    temp_dir tmp{"mw-safety"};
    const fs::path out = tmp.path() / "out";
    fs::create_directory(out);
    const std::string victim = tmp / "victim";
    write_file(victim, "precious");
    // The temporary names the CLI used before (.mailwire-SEQ.part, UID.eml.part) point at the victim.
    for (const char* name : {".mailwire-1.part", ".mailwire-2.part", "7.eml.part", ".7.eml.part"})
        fs::create_symlink(victim, out / name);

    script s = imap_logged_in();
    imap_sizes(s)
        .expect_line_matching(R"(^(\S+) UID FETCH \S+ \(?UID BODY\.PEEK\[\]\)?$)")
        .send("* 1 FETCH (UID 7 BODY[] {5}\r\nhello)\r\n* 2 FETCH (UID 8 BODY[] {6}\r\nworld!)\r\n$1 OK done\r\n");
    scripted_server srv(imap_logout(s));
    const auto r = run_imap(srv, {"fetch", "INBOX", "--body", "-o", out.string(), "--json"});
    EXPECT_EQ(srv.wait(), "");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(read_file(victim), "precious");
    EXPECT_TRUE(fs::is_symlink(fs::symlink_status(out / ".mailwire-1.part")));
    EXPECT_EQ(read_file((out / "7.eml").string()), "hello");
    EXPECT_EQ(read_file((out / "8.eml").string()), "world!");
    EXPECT_EQ(mode_of((out / "7.eml").string()), 0600u);
    EXPECT_EQ(mode_of((out / "8.eml").string()), 0600u);
    // Only the planted links and the two messages: no temporary left.
    EXPECT_EQ(entries(out), (std::set<std::string>{".mailwire-1.part", ".mailwire-2.part", "7.eml.part", ".7.eml.part",
                                                   "7.eml", "8.eml"}));
}

TEST(CliSafetyLocal, ImapFetchNeverReplacesAnExistingFile) {
    temp_dir tmp{"mw-safety"};
    const fs::path out = tmp.path() / "out";
    fs::create_directory(out);
    write_file((out / "7.eml").string(), "mine");
    const std::string victim = tmp / "victim";
    write_file(victim, "precious");
    fs::create_symlink(victim, out / "8.eml");  // a symlink at the final name counts as existing

    {  // without --skip-existing: refused before any body is fetched
        script s = imap_logged_in();
        scripted_server srv(imap_logout(imap_sizes(s)));
        const auto r = run_imap(srv, {"fetch", "INBOX", "--body", "-o", out.string()});
        EXPECT_EQ(srv.wait(), "");
        EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
        EXPECT_NE(r.err.find("never replaced"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("--skip-existing"), std::string::npos) << r.err;
    }
    EXPECT_EQ(read_file((out / "7.eml").string()), "mine");
    EXPECT_EQ(read_file(victim), "precious");
    EXPECT_TRUE(fs::is_symlink(fs::symlink_status(out / "8.eml")));

    fs::remove(out / "8.eml");
    {  // with --skip-existing: only UID 8 is fetched
        script s = imap_logged_in();
        imap_sizes(s)
            .expect_line_matching(R"(^(\S+) UID FETCH 8 \(?UID BODY\.PEEK\[\]\)?$)")
            .send("* 2 FETCH (UID 8 BODY[] {6}\r\nworld!)\r\n$1 OK done\r\n");
        scripted_server srv(imap_logout(s));
        const auto r = run_imap(srv, {"fetch", "INBOX", "--body", "-o", out.string(), "--skip-existing", "--json"});
        EXPECT_EQ(srv.wait(), "");
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        const auto j = json::parse(r.out, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << r.out;
        EXPECT_EQ(j["skipped"], json::array({7})) << j.dump(2);
        ASSERT_EQ(j["messages"].size(), 1u) << j.dump(2);
        EXPECT_EQ(j["messages"][0]["uid"], 8);
    }
    EXPECT_EQ(read_file((out / "7.eml").string()), "mine");
    EXPECT_EQ(read_file((out / "8.eml").string()), "world!");
}

TEST(CliSafetyLocal, ImapFetchLeavesNothingBehindWhenTheServerClosesMidBody) {
    temp_dir tmp{"mw-safety"};
    const fs::path out = tmp.path() / "out";
    script s = imap_logged_in();
    imap_sizes(s)
        .expect_line_matching(R"(^(\S+) UID FETCH \S+ \(?UID BODY\.PEEK\[\]\)?$)")
        .send("* 1 FETCH (UID 7 BODY[] {5}\r\nhello)\r\n* 2 FETCH (UID 8 BODY[] {6000}\r\nhalf a message")
        .close();
    scripted_server srv(s);
    const auto r = run_imap(srv, {"fetch", "INBOX", "--body", "-o", out.string()});
    EXPECT_EQ(srv.wait(), "");
    EXPECT_NE(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.exit_code, -1) << "killed";
    // 7 completed and stays; 8 never completed: no 8.eml and no temporary of any name.
    EXPECT_EQ(entries(out), std::set<std::string>{"7.eml"});
    EXPECT_EQ(read_file((out / "7.eml").string()), "hello");
}

TEST(CliSafetyLocal, ImapHumanOutputEscapesTerminalControls) {
    // Subject: ESC ] 0;pwned BEL (set the window title), ESC [2J (clear the screen), C1 CSI, RLO.
    const std::string subject = "=?utf-8?q?=1B]0;pwned=07=1B[2J?= =?utf-8?q?=C2=9B31m_=E2=80=AEgnp.exe?=";
    const std::string envelope =
        "* 1 FETCH (UID 7 FLAGS (\\Seen) RFC822.SIZE 100 ENVELOPE (\"Mon, 1 Jan 2024 "
        "10:00:00 +0000\" \"" +
        subject +
        "\" ((\"=?utf-8?q?Eve=1B[31m=E2=81=A6?=\" NIL \"eve\" \"example.com\")) NIL NIL NIL "
        "NIL NIL NIL \"<id@x>\"))\r\n";
    auto serve = [&] {
        script s = imap_logged_in();
        s.expect_line_matching(R"(^(\S+) UID FETCH 1:\* .*ENVELOPE)").send(envelope + "$1 OK done\r\n");
        return imap_logout(s);
    };
    {
        scripted_server srv(serve());
        const auto r = run_imap(srv, {"fetch", "INBOX"});
        EXPECT_EQ(srv.wait(), "");
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        expect_no_terminal_controls(r.out, "fetch table");
        EXPECT_NE(r.out.find("\\x1b]0;pwned\\x07"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("\\x1b[2J\\u009b"), std::string::npos) << r.out;  // the rest is cut to the width
        EXPECT_NE(r.out.find("Eve\\x1b[31m\\u2066"), std::string::npos) << r.out;
    }
    {
        scripted_server srv(serve());
        const auto r = run_imap(srv, {"fetch", "INBOX", "--json"});
        EXPECT_EQ(srv.wait(), "");
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        expect_no_terminal_controls(r.out, "fetch --json");
        const auto j = json::parse(r.out, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << r.out;
        // Exact: the JSON value is the decoded subject, controls and all.
        EXPECT_EQ(j["messages"][0]["subject"],
                  "\x1b]0;pwned\x07\x1b[2J\xc2\x9b"
                  "31m \xe2\x80\xae"
                  "gnp.exe");
        EXPECT_EQ(j["messages"][0]["from"][0]["name"], "Eve\x1b[31m\xe2\x81\xa6");
    }
    {  // a refusal's server text reaches the error line
        script s = script{}
                       .send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] scripted\r\n")
                       .expect_line_matching(R"(^(\S+) AUTHENTICATE PLAIN \S+$)")
                       .send("$1 OK [CAPABILITY IMAP4rev1] Logged in\r\n")
                       .expect_line_matching(R"(^(\S+) EXAMINE "?INBOX"?$)")
                       .send(
                           "$1 NO \x1b]0;pwned\x07 \xc2\x9b"
                           "2J \xe2\x80\xae no such mailbox\r\n");
        scripted_server srv(imap_logout(s));
        const auto r = run_imap(srv, {"fetch", "INBOX"});
        EXPECT_EQ(srv.wait(), "");
        EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
        expect_no_terminal_controls(r.err, "error line");
        EXPECT_NE(r.err.find("no such mailbox"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("\\x1b]0;pwned"), std::string::npos) << r.err;
    }
}

// ---- POP3 ----------------------------------------------------------------------------------------

TEST(CliSafetyLocal, Pop3RetrIsPrivateNeverFollowsNorReplacesAndCleansUp) {
    umask_022 mask;
    temp_dir tmp{"mw-safety"};
    const fs::path out = tmp.path() / "out";
    fs::create_directory(out);
    const std::string victim = tmp / "victim";
    write_file(victim, "precious");
    fs::create_symlink(victim, out / ".u1.eml.part");  // the old temporary name of u1.eml

    {  // --all into DIR: the UIDL "-rf" does not make a name starting with '-'; files are 0600
        scripted_server srv(pop3_logged_in()
                                .expect_line("LIST")
                                .send("+OK\r\n1 6\r\n2 4\r\n.\r\n")
                                .expect_line("UIDL")
                                .send("+OK\r\n1 u1\r\n2 -rf\r\n.\r\n")
                                .expect_line("RETR 1")
                                .expect_line("RETR 2")
                                .send("+OK\r\nfirst\r\n.\r\n+OK\r\ntwo\r\n.\r\n")
                                .expect_line("QUIT")
                                .send("+OK bye\r\n")
                                .close());
        const auto r = run_cli(pop3_args(srv, {"retr", "--all", "-o", out.string()}), {{"MW_TEST_PW", "pw"}});
        EXPECT_EQ(srv.wait(), "");
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(read_file((out / "u1.eml").string()), "first\r\n");
        EXPECT_EQ(read_file((out / "%2Drf.eml").string()), "two\r\n");
        EXPECT_EQ(mode_of((out / "u1.eml").string()), 0600u);
        EXPECT_EQ(mode_of((out / "%2Drf.eml").string()), 0600u);
        EXPECT_EQ(read_file(victim), "precious");
        EXPECT_EQ(entries(out), (std::set<std::string>{".u1.eml.part", "u1.eml", "%2Drf.eml"}));
    }
    write_file((out / "u1.eml").string(), "mine");
    {  // again without --skip-existing: nothing is downloaded, nothing replaced, and it says so
        scripted_server srv(pop3_logged_in()
                                .expect_line("LIST")
                                .send("+OK\r\n1 6\r\n2 4\r\n.\r\n")
                                .expect_line("UIDL")
                                .send("+OK\r\n1 u1\r\n2 -rf\r\n.\r\n")
                                .expect_eof());  // no RETR
        const auto r = run_cli(pop3_args(srv, {"retr", "--all", "-o", out.string()}), {{"MW_TEST_PW", "pw"}});
        EXPECT_EQ(srv.wait(), "");
        EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
        EXPECT_NE(r.err.find("never replaced"), std::string::npos) << r.err;
        EXPECT_EQ(read_file((out / "u1.eml").string()), "mine");
    }
    {  // -o FILE that exists (here a symlink to the victim): refused before connecting
        const auto r = run_cli({"pop3", "retr", "1", "-o", (out / ".u1.eml.part").string(), "--host", "127.0.0.1",
                                "--port", "1", "--security", "none"});
        EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
        EXPECT_NE(r.err.find("not replaced"), std::string::npos) << r.err;
        EXPECT_EQ(read_file(victim), "precious");
    }
    {  // the server closes in the middle of a body: no file, no temporary
        const fs::path dir2 = tmp.path() / "two";
        scripted_server srv(pop3_logged_in()
                                .expect_line("LIST")
                                .send("+OK\r\n1 600\r\n.\r\n")
                                .expect_line("UIDL")
                                .send("+OK\r\n1 u1\r\n.\r\n")
                                .expect_line("RETR 1")
                                .send("+OK\r\nhalf a mess")
                                .close());
        const auto r = run_cli(pop3_args(srv, {"retr", "--all", "-o", dir2.string()}), {{"MW_TEST_PW", "pw"}});
        EXPECT_EQ(srv.wait(), "");
        EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
        EXPECT_TRUE(entries(dir2).empty()) << *entries(dir2).begin();
    }
}

TEST(CliSafetyLocal, Pop3HumanOutputEscapesServerText) {
    scripted_server srv(pop3_logged_in()
                            .expect_line("LIST")
                            .send("+OK\r\n1 6\r\n.\r\n")
                            .expect_line("UIDL")
                            .send("+OK\r\n1 u1\r\n.\r\n")
                            .expect_line("RETR 1")
                            .send("-ERR \x1b]0;pwned\x07\xc2\x9b"
                                  "2J\xe2\x80\xae gone\r\n")
                            .expect_line("QUIT")
                            .send("+OK bye\r\n")
                            .close());
    temp_dir tmp{"mw-safety"};
    const auto r = run_cli(pop3_args(srv, {"retr", "--all", "-o", tmp / "out"}), {{"MW_TEST_PW", "pw"}});
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    expect_no_terminal_controls(r.out + r.err, "retr refusal");
    EXPECT_NE(r.err.find("\\x1b]0;pwned\\x07\\u009b2J\\u202e gone"), std::string::npos) << r.err;
}

// ---- parse ---------------------------------------------------------------------------------------

TEST(CliSafetyLocal, ParseHumanOutputEscapesAndJsonStaysExact) {
    temp_dir tmp{"mw-safety"};
    const std::string eml = tmp / "m.eml";
    write_file(eml,
               "From: =?utf-8?q?Eve=C2=9B31m=E2=80=AE?= <eve@example.com>\n"
               "Subject: =?utf-8?q?=1B]0;pwned=07=1B[2J?= hi\n"
               "MIME-Version: 1.0\n"
               "Content-Type: multipart/mixed; boundary=b\n\n"
               "--b\nContent-Type: text/plain\n\nbody\n"
               "--b\nContent-Type: application/octet-stream\n"
               "Content-Disposition: attachment; filename=\"=?utf-8?q?--rf_=E2=80=AEtxt.exe=E2=81=A9?=\"\n\nX\n"
               "--b--\n");
    const auto human = run_cli({"parse", eml, "--extract", tmp / "out"});
    ASSERT_EQ(human.exit_code, 0) << human.err;
    expect_no_terminal_controls(human.out, "parse tree");
    EXPECT_NE(human.out.find("\\x1b]0;pwned\\x07\\x1b[2J hi"), std::string::npos) << human.out;
    EXPECT_NE(human.out.find("Eve\\u009b31m\\u202e"), std::string::npos) << human.out;
    // The saved name: no leading '-', no bidi control.
    EXPECT_EQ(entries(tmp.path() / "out"), std::set<std::string>{"rf txt.exe"});

    const auto j = run_cli({"parse", eml, "--json"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    expect_no_terminal_controls(j.out, "parse --json");
    const auto doc = json::parse(j.out, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << j.out;
    EXPECT_EQ(doc["subject"], "\x1b]0;pwned\x07\x1b[2J hi");
    EXPECT_EQ(doc["from"],
              "Eve\xc2\x9b"
              "31m\xe2\x80\xae <eve@example.com>");
    EXPECT_EQ(doc["tree"]["parts"][1]["filename"], "--rf \xe2\x80\xaetxt.exe\xe2\x81\xa9");
}

TEST(CliSafetyLocal, ParseExtractsHundredThousandEqualNamesInLinearTime) {
    umask_022 mask;
    temp_dir tmp{"mw-safety"};
    // 100 000 parts named "a": two messages of 50 000 (the parser allows 100 000 entities per message).
    constexpr std::size_t per_message = 50'000, messages = 2;
    std::string mbox;
    mbox.reserve(messages * per_message * 64);
    for (std::size_t m = 0; m < messages; ++m) {
        mbox +=
            "From x@y Mon Jan  1 00:00:00 2024\nSubject: many\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=b\n\n";
        for (std::size_t i = 0; i < per_message; ++i) mbox += "--b\nContent-Disposition: attachment; filename=a\n\nx\n";
        mbox += "--b--\n\n";
    }
    const std::string path = tmp / "many.mbox";
    write_file(path, mbox);
    const fs::path out = tmp.path() / "out";
    // Generous: the quadratic allocator needed ~5e9 name probes here and never finished.
    const auto r = run_cli({"parse", "--mbox", path, "--extract", out.string(), "--json"}, {}, 300);
    ASSERT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
    const auto j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    ASSERT_EQ(j["extracted"].size(), messages * per_message);
    EXPECT_EQ(j["extracted"][0]["name"], "a");
    EXPECT_EQ(j["extracted"][1]["name"], "a-2");
    EXPECT_EQ(j["extracted"][messages * per_message - 1]["name"], "a-100000");
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(out)) {
        ++files;
        if (files % 9973 == 0) {
            EXPECT_EQ(mode_of(e.path().string()), 0600u) << e.path();
        }
    }
    EXPECT_EQ(files, messages * per_message);
    EXPECT_EQ(read_file((out / "a-77777").string()), "x");
}

}  // namespace
}  // namespace mailwire::test
