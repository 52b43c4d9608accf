// Streaming output against scripted IMAP servers: the documented --json/--jsonl shapes, valid JSON
// when the connection drops mid-list, results on stdout while the server is still sending, and
// table columns laid out by display width (CJK 2 columns, combining marks 0).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "cli_files.hpp"
#include "cli_run.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

script logged_in() {
    return script{}
        .send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] scripted\r\n")
        .expect_line_matching(R"(^(\S+) AUTHENTICATE PLAIN \S+$)")
        .send("$1 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
}

script& logout(script& s) { return s.expect_line_matching(R"(^(\S+) LOGOUT$)").send("* BYE bye\r\n$1 OK done\r\n"); }

std::vector<std::string> imap_args(const scripted_server& srv, std::vector<std::string> args) {
    args.insert(args.begin(), {cli_path(), "imap"});
    for (const std::string a : {"--host", "127.0.0.1", "--security", "none", "--allow-plaintext-auth", "--user",
                                "alice", "--password-env", "MW_TEST_PW", "--timeout", "10"})
        args.push_back(a);
    args.push_back("--port");
    args.push_back(std::to_string(srv.port()));
    return args;
}

const std::map<std::string, std::string> cli_env = {{"MW_TEST_PW", "secret"}, {"COLUMNS", "100"}};

run_result run_imap(const scripted_server& srv, std::vector<std::string> args) {
    return run_program(imap_args(srv, std::move(args)), cli_env);
}

/// One FETCH response of `fetch --envelope` (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE).
std::string envelope_fetch(int seq, int uid, const std::string& from_name, const std::string& subject,
                           int size = 1234) {
    return "* " + std::to_string(seq) + " FETCH (UID " + std::to_string(uid) + " FLAGS (\\Seen) RFC822.SIZE " +
           std::to_string(size) +
           " INTERNALDATE \"01-Feb-2024 10:00:00 +0100\" ENVELOPE (\"Thu, 01 Feb 2024 10:00:00 +0100\" \"" + subject +
           "\" ((\"" + from_name +
           "\" NIL \"a\" \"example.org\")) NIL NIL ((NIL NIL \"b\" \"example.org\")) NIL NIL "
           "NIL \"<m" +
           std::to_string(uid) + "@x>\"))\r\n";
}

/// EXAMINE, then the start of UID FETCH 1:* for envelopes.
script& examine_and_fetch(script& s) {
    return s.expect_line_matching(R"(^(\S+) EXAMINE "?INBOX"?$)")
        .send("* 3 EXISTS\r\n$1 OK [READ-ONLY] examined\r\n")
        .expect_line_matching(R"(^(\S+) UID FETCH 1:\* \(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE\)$)");
}

TEST(CliOutputLocal, JsonIsOneDocumentWithOkLastAndJsonlAnObjectPerLinePlusSummary) {
    for (const std::string mode : {"--json", "--jsonl"}) {
        SCOPED_TRACE(mode);
        script s = logged_in();
        examine_and_fetch(s).send(envelope_fetch(1, 11, "Ann", "one") + envelope_fetch(2, 12, "Bo", "two") +
                                  envelope_fetch(3, 13, "Cy", "three") + "$1 OK fetched\r\n");
        scripted_server srv(logout(s));
        const auto r = run_imap(srv, {"fetch", "INBOX", mode});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(srv.wait(), "");
        if (mode == "--json") {
            const auto j = json::parse(r.out);
            EXPECT_EQ(j["ok"], true);
            EXPECT_EQ(j["mailbox"], "INBOX");
            ASSERT_EQ(j["messages"].size(), 3u) << r.out;
            EXPECT_EQ(j["messages"][0]["uid"], 11);
            EXPECT_EQ(j["messages"][2]["subject"], "three");
            EXPECT_EQ(j["messages"][1]["from"][0]["address"], "a@example.org");
            // "ok" is written last: the document can be written before the result is known.
            EXPECT_TRUE(r.out.ends_with("\"ok\": true\n}\n")) << r.out;
        } else {
            const auto lines = lines_of(r.out);
            ASSERT_EQ(lines.size(), 4u) << r.out;
            for (std::size_t i = 0; i < 3; ++i) {
                const auto j = json::parse(lines[i]);
                EXPECT_EQ(j["uid"], 11 + static_cast<int>(i));
                EXPECT_FALSE(j.contains("ok")) << lines[i];  // only the summary line has "ok"
            }
            const auto last = json::parse(lines[3]);
            EXPECT_EQ(last["ok"], true);
            EXPECT_EQ(last["mailbox"], "INBOX");
        }
    }
}

TEST(CliOutputLocal, ADropMidListStillGivesValidJsonWithTheError) {
    for (const std::string mode : {"--json", "--jsonl", ""}) {
        SCOPED_TRACE(mode);
        script s = logged_in();
        examine_and_fetch(s).send(envelope_fetch(1, 11, "Ann", "one") + envelope_fetch(2, 12, "Bo", "two")).drop();
        scripted_server srv(std::move(s));
        std::vector<std::string> args = {"fetch", "INBOX"};
        if (!mode.empty()) args.push_back(mode);
        const auto r = run_imap(srv, args);
        EXPECT_NE(r.exit_code, 0) << r.out << r.err;
        EXPECT_GT(r.exit_code, 1) << r.out << r.err;  // a typed error, not a crash or a bug
        srv.wait();
        if (mode == "--json") {
            json j;
            ASSERT_NO_THROW(j = json::parse(r.out)) << r.out;
            EXPECT_EQ(j["ok"], false);
            ASSERT_EQ(j["messages"].size(), 2u);  // what arrived before the drop
            EXPECT_EQ(j["messages"][1]["uid"], 12);
            EXPECT_EQ(j["error"]["exit_code"], r.exit_code) << j.dump(2);
            EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
        } else if (mode == "--jsonl") {
            const auto lines = lines_of(r.out);
            ASSERT_EQ(lines.size(), 3u) << r.out;
            EXPECT_EQ(json::parse(lines[0])["uid"], 11);
            EXPECT_EQ(json::parse(lines[1])["uid"], 12);
            const auto last = json::parse(lines[2]);
            EXPECT_EQ(last["ok"], false);
            EXPECT_EQ(last["mailbox"], "INBOX");
            EXPECT_EQ(last["error"]["exit_code"], r.exit_code) << lines[2];
        } else {
            const auto lines = lines_of(r.out);
            ASSERT_EQ(lines.size(), 3u) << r.out;  // header and the two rows; the error goes to stderr
            EXPECT_NE(lines[2].find("two"), std::string::npos);
            EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
        }
    }
}

/// Runs the CLI and notes when each piece of stdout arrived, relative to the start.
struct timed_output {
    std::vector<std::pair<std::chrono::milliseconds, std::string>> chunks;
    std::chrono::milliseconds exited{0};
    int exit_code = -1;
    /// stdout received before `t`.
    [[nodiscard]] std::string before(std::chrono::milliseconds t) const {
        std::string s;
        for (const auto& [at, c] : chunks)
            if (at < t) s += c;
        return s;
    }
};

timed_output run_timed(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    timed_output r;
    const auto start = std::chrono::steady_clock::now();
    auto since_start = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    };
    const auto run = run_program(argv, env, 60, [&](std::string_view chunk) {
        r.chunks.emplace_back(since_start(), std::string(chunk));
    });
    r.exited = since_start();
    r.exit_code = run.exit_code;
    return r;
}

TEST(CliOutputLocal, ResultsReachStdoutWhileTheServerIsStillSending) {
    // Two messages, then the server stalls for 2.5 s before the third: the first rows (or JSON
    // objects) must be readable on the pipe well before the command ends.
    for (const std::string mode : {"", "--jsonl", "--json"}) {
        SCOPED_TRACE(mode);
        script s = logged_in();
        examine_and_fetch(s)
            .send(envelope_fetch(1, 11, "Ann", "first-row") + envelope_fetch(2, 12, "Bo", "second-row"))
            .stall(2500ms)
            .send(envelope_fetch(3, 13, "Cy", "third-row") + "$1 OK fetched\r\n");
        scripted_server srv(logout(s));
        std::vector<std::string> args = {"fetch", "INBOX"};
        if (!mode.empty()) args.push_back(mode);
        const auto r = run_timed(imap_args(srv, args), cli_env);
        ASSERT_EQ(r.exit_code, 0);
        EXPECT_EQ(srv.wait(), "");
        ASSERT_GT(r.exited, 2500ms);
        const auto early = r.before(r.exited - 1500ms);
        EXPECT_NE(early.find("second-row"), std::string::npos) << "stdout 1.5 s before the end: " << early;
        EXPECT_EQ(early.find("third-row"), std::string::npos) << early;
    }
}

/// Terminal columns of the test's strings: CJK ideographs and fullwidth forms 2, combining
/// diacritics 0, everything else 1 (an independent count, not the CLI's table).
std::size_t test_width(const std::string& s) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        char32_t cp = c;
        std::size_t len = 1;
        if (c >= 0xF0) cp = c & 0x07, len = 4;
        else if (c >= 0xE0) cp = c & 0x0F, len = 3;
        else if (c >= 0xC0) cp = c & 0x1F, len = 2;
        for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        i += len;
        if (cp >= 0x300 && cp <= 0x36F) continue;
        w += ((cp >= 0x3000 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xFF01 && cp <= 0xFF60)) ? 2
                                                                                                                  : 1;
    }
    return w;
}

TEST(CliOutputLocal, TableColumnsAlignByDisplayWidthWithCjkAndCombiningMarks) {
    const std::string cjk_name = "山田太郎";                                    // 8 columns
    const std::string combining = "Jose\xcc\x81 Mari\xcc\x81\x61";              // José María, decomposed: 10
    const std::string long_cjk = "東京都千代田区丸の内一丁目九番二号株式会社";  // 21 chars, 42 columns
    const std::string hangul = "안녕하세요 회의 일정";                          // 5+1+2+1+2 chars
    script s = logged_in();
    examine_and_fetch(s).send(envelope_fetch(1, 11, "Ann", "plain ascii subject", 500) +
                              envelope_fetch(2, 12, cjk_name, "会議の議事録 " + long_cjk + long_cjk, 1500) +
                              envelope_fetch(3, 13, combining, "Re\xcc\x81sume\xcc\x81 " + hangul, 2500) +
                              envelope_fetch(4, 14, long_cjk, "ＦＵＬＬＷＩＤＴＨ", 3500) + "$1 OK fetched\r\n");
    scripted_server srv(logout(s));
    const auto r = run_imap(srv, {"fetch", "INBOX"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(srv.wait(), "");
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 5u) << r.out;
    // COLUMNS=100: UID 7, DATE 16, FROM 22, SIZE 8 (right-aligned), two spaces apart: every SIZE
    // cell ends at column 59, whatever the FROM cell holds.
    const std::vector<std::string> sizes = {"SIZE", "500 B", "1.5 KB", "2.5 KB", "3.5 KB"};
    for (std::size_t i = 0; i < lines.size(); ++i) {
        SCOPED_TRACE(lines[i]);
        const auto at = lines[i].find(sizes[i]);
        ASSERT_NE(at, std::string::npos);
        EXPECT_EQ(test_width(lines[i].substr(0, at + sizes[i].size())), 59u);
        EXPECT_LE(test_width(lines[i]), 100u);  // long CJK subjects are cut to the terminal
    }
    EXPECT_NE(lines[2].find(cjk_name), std::string::npos);
    EXPECT_NE(lines[3].find(combining), std::string::npos);  // 10 columns: not cut, marks kept
    EXPECT_NE(lines[4].find("…"), std::string::npos);        // 42 columns of FROM cut to 22
    EXPECT_NE(lines[2].find("…"), std::string::npos);        // the subject cut at the line end
}

TEST(CliOutputLocal, ParseMboxListsOneObjectPerMessage) {
    temp_dir tmp{"mw-output"};
    std::string mbox;
    for (int i = 1; i <= 3; ++i)
        mbox += "From sender@example.org Thu Feb  1 10:00:00 2024\nFrom: Sender " + std::to_string(i) +
                " <s@example.org>\nSubject: message " + std::to_string(i) +
                "\nDate: Thu, 01 Feb 2024 10:00:00 +0100\nMessage-ID: <" + std::to_string(i) + "@x>\n\nbody\n\n";
    const std::string path = tmp / "box.mbox";
    write_file(path, mbox);
    const auto r = run_cli({"parse", "--mbox", path, "--list", "--jsonl"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 4u) << r.out;
    for (int i = 0; i < 3; ++i) {
        const auto j = json::parse(lines[static_cast<std::size_t>(i)]);
        EXPECT_EQ(j["index"], i + 1);
        EXPECT_EQ(j["subject"], "message " + std::to_string(i + 1));
        EXPECT_EQ(j["message_id"], "<" + std::to_string(i + 1) + "@x>");
    }
    const auto last = json::parse(lines[3]);
    EXPECT_EQ(last["ok"], true);
    EXPECT_EQ(last["count"], 3);
    const auto doc = run_cli({"parse", "--mbox", path, "--list", "--json"});
    ASSERT_EQ(doc.exit_code, 0) << doc.err;
    const auto j = json::parse(doc.out);
    EXPECT_EQ(j["messages"].size(), 3u);
    EXPECT_EQ(j["format"], "mbox");
    const auto text = run_cli({"parse", "--mbox", path, "--list"}, {{"COLUMNS", "100"}});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    ASSERT_EQ(lines_of(text.out).size(), 4u) << text.out;
    EXPECT_NE(lines_of(text.out)[1].find("2024-02-01 10:00"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace mailwire::test
