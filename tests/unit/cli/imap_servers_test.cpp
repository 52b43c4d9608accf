// `mailwire imap list|status|fetch|search|append|move|delete|idle` against the real Dovecot, over
// both IMAP ports (STARTTLS on IMAP_PORT, implicit TLS on IMAPS_PORT). Each test works in its own
// freshly created mailbox (cli-<random>, removed at the end), so tests may run in parallel with
// anything else that uses the same user.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include "cli_servers.hpp"
#include "mailwire/imap/client.hpp"
#include "mailwire/smtp/client.hpp"

namespace mailwire::test {
namespace {

namespace fs = std::filesystem;

/// prefix + 12 random digits: names of one length, so none is a prefix of another (LIST patterns).
std::string random_name(const std::string& prefix) {
    static std::mt19937_64 rng{std::random_device{}()};
    auto n = std::to_string(rng() % 1'000'000'000'000ULL);
    return prefix + std::string(12 - n.size(), '0') + n;
}

std::string join_args(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
    return s;
}

/// A scratch directory under the system temp dir, removed at the end.
struct temp_dir {
    fs::path path = fs::temp_directory_path() / random_name("mailwire-cli-imap-");
    temp_dir() { fs::create_directories(path); }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name, const std::string& content) const {
        const auto p = (path / name).string();
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }
};

struct port_case {
    std::string port_key, security;
};
void PrintTo(const port_case& p, std::ostream* os) { *os << p.port_key << " " << p.security; }

class CliImap : public ::testing::TestWithParam<port_case> {
protected:
    void SetUp() override {
        if (!env().ok()) GTEST_FAIL() << "harness not running";
        mailbox_ = random_name("cli-");
        connect_admin();
        admin_->create(mailbox_);
    }
    void TearDown() override {
        if (mailbox_.empty()) return;
        try {
            if (!admin_ || !admin_->is_connected()) connect_admin();
            // Children first: deleting a parent leaves them behind (\Noselect) on many servers.
            auto kids = admin_->list("", mailbox_ + "/*");
            std::sort(kids.begin(), kids.end(),
                      [](const auto& a, const auto& b) { return a.entry.name.size() > b.entry.name.size(); });
            for (const auto& k : kids) admin_->delete_mailbox(k.entry.name);
            admin_->delete_mailbox(mailbox_);
            admin_->disconnect();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "cleanup of " << mailbox_ << ": " << e.what();
        }
    }

    void connect_admin() {
        admin_ = std::make_unique<imap::client>();
        admin_->tls().ca_file = ca();
        admin_->connect(host(), env().port("IMAPS_PORT"), security::implicit_tls);
        admin_->login(need("USER1"), need("PASS1"));
    }

    /// The connection options for this test's port and user 1.
    std::vector<std::string> conn() const {
        return {"--host",         host(),
                "--port",         need(GetParam().port_key),
                "--security",     GetParam().security,
                "--cafile",       ca(),
                "--user",         need("USER1"),
                "--password-env", "MW_TEST_IMAP_PW",
                "--timeout",      "20"};
    }
    /// Runs `mailwire imap ARGS… <connection options>`.
    run_result imap(std::vector<std::string> args, int timeout_s = 60) const {
        args.insert(args.begin(), "imap");
        const auto c = conn();
        args.insert(args.end(), c.begin(), c.end());
        return run_cli(args, {{"MW_TEST_IMAP_PW", need("PASS1")}}, timeout_s);
    }
    json imap_json(std::vector<std::string> args) const {
        args.push_back("--json");
        const auto r = imap(args);
        EXPECT_EQ(r.exit_code, 0) << describe(r);
        return parse_json(r);
    }
    /// Appends `content` (written to a file) with the CLI; returns the new UID.
    std::uint32_t append(const std::string& mbox, const std::string& content, std::vector<std::string> extra = {}) {
        const auto path = dir_.file(random_name("msg-") + ".eml", content);
        std::vector<std::string> args = {"append", mbox, path};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto j = imap_json(args);
        if (j["appended"].size() != 1 || !j["appended"][0]["uid"].is_number()) {
            ADD_FAILURE() << j.dump(2);
            return 0;
        }
        return j["appended"][0]["uid"].get<std::uint32_t>();
    }
    std::vector<std::uint32_t> search(const std::string& mbox, const std::string& query) const {
        const auto j = imap_json({"search", mbox, query});
        return j.value("uids", std::vector<std::uint32_t>{});
    }

    std::string mailbox_;
    std::unique_ptr<imap::client> admin_;  ///< creates and removes the test's mailboxes
    temp_dir dir_;
};

std::string message(const std::string& from, const std::string& subject, const std::string& body,
                    const std::string& id = random_name("id-")) {
    return "From: " + from + "\r\nTo: bob@localhost\r\nSubject: " + subject + "\r\nMessage-ID: <" + id +
           "@mailwire.test>\r\nDate: Tue, 30 Jan 2024 10:00:00 +0100\r\n\r\n" + body;
}

INSTANTIATE_TEST_SUITE_P(Ports, CliImap,
                         ::testing::Values(port_case{"IMAP_PORT", "starttls"}, port_case{"IMAPS_PORT", "tls"}),
                         [](const auto& p) { return p.param.security; });

// ---- append, list, status, fetch ---------------------------------------------------------------

TEST_P(CliImap, AppendThenListStatusAndFetchByteExact) {
    const std::string child = mailbox_ + "/Grüße ☃";  // modified UTF-7 on the wire, UTF-8 here
    admin_->create(child);
    // One message with bare LF line ends (sent as CRLF), one binary-safe CRLF message of 3 MB that
    // arrives in many reads and goes through the literal sink.
    const std::string lf =
        "From: Alice Example <alice@localhost>\nTo: bob@localhost\n"
        "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from the CLI\nMessage-ID: <lf@mailwire.test>\n\nline one\n";
    std::string big = message("carol@localhost", "big one", "");
    for (int i = 0; big.size() < 3'000'000; ++i) big += "line " + std::to_string(i) + " \xc3\xa9t\xc3\xa9 \t end\r\n";
    const auto lf_path = dir_.file("lf.eml", lf);
    const auto big_path = dir_.file("big.eml", big);
    auto j = imap_json({"append", mailbox_, lf_path, big_path, "--flags", "\\Seen \\Flagged"});
    ASSERT_EQ(j["appended"].size(), 2u) << j.dump(2);
    EXPECT_EQ(j["appended"][0].value("converted_to_crlf", false), true);
    EXPECT_EQ(j["appended"][1].value("converted_to_crlf", true), false);
    EXPECT_EQ(j["appended"][1]["bytes"].get<std::size_t>(), big.size());
    const auto uid_lf = j["appended"][0]["uid"].get<std::uint32_t>();
    const auto uid_big = j["appended"][1]["uid"].get<std::uint32_t>();
    EXPECT_NE(uid_lf, uid_big);
    const auto uid_child = append(child, message("bob@localhost", "in the child", "x\r\n"));
    EXPECT_GT(uid_child, 0u);

    // list: UTF-8 names, counts (Dovecot has LIST-STATUS), one unseen in the child
    j = imap_json({"list", mailbox_ + "*"});
    EXPECT_EQ(j.value("counts", ""), "LIST-STATUS");
    ASSERT_EQ(j["mailboxes"].size(), 2u) << j.dump(2);
    for (const auto& m : j["mailboxes"]) {
        if (m["name"] == mailbox_) {
            EXPECT_EQ(m["messages"], 2);
            EXPECT_EQ(m["unseen"], 0);
        } else {
            EXPECT_EQ(m["name"], child) << m.dump(2);
            EXPECT_NE(m["raw_name"], child);  // modified UTF-7
            EXPECT_EQ(m["raw_name"].get<std::string>().find("\xc3"), std::string::npos);
            EXPECT_EQ(m["messages"], 1);
            EXPECT_EQ(m["unseen"], 1);
            EXPECT_EQ(m["delimiter"], "/");
        }
    }
    auto r = imap({"list", mailbox_ + "*"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("MAILBOX"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(child), std::string::npos) << r.out;
    // special-use flags; --no-status leaves the counts out
    j = imap_json({"list", "Sent"});
    ASSERT_EQ(j["mailboxes"].size(), 1u) << j.dump(2);
    EXPECT_EQ(j["mailboxes"][0]["special_use"], json::array({"\\Sent"}));
    r = imap({"list", "Trash", "--no-status"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    // Column widths come from the terminal width, not from the names: SPECIAL-USE and \Trash start
    // in the same column, whatever that is.
    const auto list_lines = lines_of(r.out);
    ASSERT_EQ(list_lines.size(), 2u) << r.out;
    EXPECT_EQ(list_lines[0].rfind("MAILBOX ", 0), 0u) << r.out;
    EXPECT_EQ(list_lines[1].rfind("Trash ", 0), 0u) << r.out;
    EXPECT_EQ(list_lines[0].find("SPECIAL-USE"), list_lines[1].find("\\Trash")) << r.out;
    j = imap_json({"list", "Trash", "--no-status"});
    EXPECT_EQ(j["counts"], "none");
    EXPECT_FALSE(j["mailboxes"][0].contains("messages")) << j.dump(2);

    // status
    j = imap_json({"status", mailbox_});
    EXPECT_EQ(j["messages"], 2);
    EXPECT_EQ(j["unseen"], 0);
    EXPECT_GT(j["uidnext"].get<std::uint32_t>(), uid_big);
    EXPECT_GT(j["uidvalidity"].get<std::uint32_t>(), 0u);
    r = imap({"status", child});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("messages        1"), std::string::npos) << r.out;

    // fetch --envelope (the default): decoded subject and names, flags, sizes
    j = imap_json({"fetch", mailbox_});
    ASSERT_EQ(j["messages"].size(), 2u) << j.dump(2);
    const auto& first = j["messages"][0];
    EXPECT_EQ(first["uid"], uid_lf);
    EXPECT_EQ(first["subject"], "Grüße from the CLI");
    EXPECT_EQ(first["from"][0]["name"], "Alice Example");
    EXPECT_EQ(first["from"][0]["address"], "alice@localhost");
    EXPECT_EQ(first["message_id"], "<lf@mailwire.test>");
    EXPECT_NE(std::find(first["flags"].begin(), first["flags"].end(), "\\Flagged"), first["flags"].end());
    EXPECT_EQ(j["messages"][1]["size"].get<std::size_t>(), big.size());
    r = imap({"fetch", mailbox_, "--uid", std::to_string(uid_lf)}, 60);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto rows = lines_of(r.out);
    ASSERT_EQ(rows.size(), 2u) << r.out;
    EXPECT_EQ(rows[0].find("    UID  DATE"), 0u) << r.out;
    EXPECT_NE(rows[1].find("Grüße from the CLI"), std::string::npos) << r.out;
    EXPECT_NE(rows[1].find("Alice Example"), std::string::npos) << r.out;
    EXPECT_NE(rows[1].find("  F  "), std::string::npos) << r.out;  // \Seen \Flagged: just F

    // fetch --headers: the header block exactly
    r = imap({"fetch", mailbox_, "--uid", std::to_string(uid_big), "--headers"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, big.substr(0, big.find("\r\n\r\n") + 4));
    j = imap_json({"fetch", mailbox_, "--headers"});
    ASSERT_EQ(j["messages"].size(), 2u);
    EXPECT_EQ(j["messages"][0]["fields"][2]["name"], "Subject");
    EXPECT_EQ(j["messages"][0]["fields"][2]["value"], "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from the CLI");

    // fetch --body: byte-exact, to stdout and to DIR/UID.eml
    r = imap({"fetch", mailbox_, "--uid", std::to_string(uid_big), "--body"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out == big) << "stdout differs: " << r.out.size() << " bytes vs " << big.size();
    const auto out_dir = (dir_.path / "out").string();
    j = imap_json({"fetch", mailbox_, "--body", "-o", out_dir, "--progress", "always"});
    ASSERT_EQ(j["messages"].size(), 2u) << j.dump(2);
    std::string crlf;
    for (char ch : lf) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    EXPECT_EQ(j["bytes"].get<std::size_t>(), big.size() + crlf.size());
    EXPECT_EQ(read_file(out_dir + "/" + std::to_string(uid_big) + ".eml"), big);
    EXPECT_EQ(read_file(out_dir + "/" + std::to_string(uid_lf) + ".eml"), crlf);
    EXPECT_EQ(j["messages"][1]["file"], out_dir + "/" + std::to_string(uid_big) + ".eml");
    for (const auto& e : fs::directory_iterator(out_dir))
        EXPECT_EQ(e.path().extension(), ".eml") << "left behind: " << e.path();
    // by sequence number, human report
    r = imap({"fetch", mailbox_, "2", "--body", "-o", out_dir + "/seq", "--progress", "always"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(read_file(out_dir + "/seq/" + std::to_string(uid_big) + ".eml"), big);
    EXPECT_NE(r.out.find("1 message, 3.0 MB written to"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("fetch " + mailbox_ + ": 3.0 MB in "), std::string::npos) << r.err;  // the meter's last word
    // several messages but no -o: refused (exit 2) — stdout takes one message
    r = imap({"fetch", mailbox_, "--body"});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("give -o DIR"), std::string::npos) << r.err;
    // the child fetched by its UTF-8 name
    j = imap_json({"fetch", child});
    ASSERT_EQ(j["messages"].size(), 1u);
    EXPECT_EQ(j["messages"][0]["subject"], "in the child");
}

// ---- search --------------------------------------------------------------------------------------

TEST_P(CliImap, SearchQueryLanguageAndRaw) {
    const auto a = append(mailbox_, message("Alice <alice@localhost>", "quarterly report", "numbers\r\n"),
                          {"--flags", "\\Seen", "--date", "2020-03-01 12:00:00 +0000"});
    std::string padding(20'000, 'p');
    const auto b = append(mailbox_, message("bob@localhost", "lunch plans", padding + "\r\n"),
                          {"--date", "2024-06-01 12:00:00 +0000"});
    const auto c =
        append(mailbox_, message("carol@localhost", "Re: quarterly report =?UTF-8?Q?K=C3=B6ln?=", "see you\r\n"),
               {"--flags", "\\Flagged", "--date", "2024-06-02 12:00:00 +0000"});
    using v = std::vector<std::uint32_t>;
    EXPECT_EQ(search(mailbox_, "all"), (v{a, b, c}));
    EXPECT_EQ(search(mailbox_, "from:alice"), (v{a}));
    EXPECT_EQ(search(mailbox_, "subject:\"quarterly report\""), (v{a, c}));
    EXPECT_EQ(search(mailbox_, "unseen"), (v{b, c}));
    EXPECT_EQ(search(mailbox_, "since:2024-01-01"), (v{b, c}));
    EXPECT_EQ(search(mailbox_, "before:2024-01-01"), (v{a}));
    EXPECT_EQ(search(mailbox_, "larger:10k"), (v{b}));
    EXPECT_EQ(search(mailbox_, "smaller:10000 unseen"), (v{c}));
    EXPECT_EQ(search(mailbox_, "from:alice or from:bob"), (v{a, b}));
    EXPECT_EQ(search(mailbox_, "not from:alice"), (v{b, c}));
    EXPECT_EQ(search(mailbox_, "(from:alice or from:carol) flagged"), (v{c}));
    EXPECT_EQ(search(mailbox_, "Köln"), (v{c}));  // a bare word: TEXT; non-ASCII goes with CHARSET UTF-8
    EXPECT_EQ(search(mailbox_, "uid:" + std::to_string(b) + ":" + std::to_string(c) + " not flagged"), (v{b}));
    EXPECT_EQ(search(mailbox_, "header:Message-ID:mailwire.test"), (v{a, b, c}));
    EXPECT_EQ(search(mailbox_, "subject:nothing-like-this"), (v{}));

    auto j = imap_json({"search", mailbox_, "--raw", "OR FROM alice FROM carol"});
    EXPECT_EQ(j["uids"], json(v{a, c}));
    EXPECT_EQ(j["count"], 2);
    EXPECT_EQ(j["criteria"], "OR FROM alice FROM carol");
    EXPECT_EQ(j["mailbox"], mailbox_);
    // several shell words make one query
    auto r = imap({"search", mailbox_, "from:carol", "flagged"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, std::to_string(c) + "\n");

    // mistakes in the query are usage errors (exit 2) and never reach the server
    for (const std::string q : {"since:yesterday", "bogus:1", "(from:a", "from:a or", "larger:lots", "uid:x"}) {
        r = imap({"search", mailbox_, q});
        EXPECT_EQ(r.exit_code, 2) << q << "\n" << describe(r);
        EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
    }
    // raw keys the server rejects: its words, exit 7
    r = imap({"search", mailbox_, "--raw", "NOSUCHKEY 1"});
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    EXPECT_NE(r.err.find("SEARCH refused: BAD"), std::string::npos) << r.err;
}

// ---- move, delete --------------------------------------------------------------------------------

TEST_P(CliImap, MoveAndDeleteSayWhatHappened) {
    const std::string dest = mailbox_ + "/dest";
    admin_->create(dest);
    const auto u1 = append(mailbox_, message("alice@localhost", "one", "1\r\n"));
    const auto u2 = append(mailbox_, message("alice@localhost", "two", "2\r\n"));
    const auto u3 = append(mailbox_, message("alice@localhost", "three", "3\r\n"));

    // move two by UID (99999 does not exist and is reported as not moved)
    auto j = imap_json({"move", mailbox_, std::to_string(u1) + "," + std::to_string(u2) + ",99999", dest});
    EXPECT_EQ(j["moved"], 2) << j.dump(2);
    EXPECT_EQ(j["uids"], json({u1, u2}));
    EXPECT_EQ(j["method"], "MOVE");  // Dovecot has MOVE
    EXPECT_TRUE(j["destination_uids"].is_string()) << j.dump(2);
    EXPECT_EQ(imap_json({"status", mailbox_})["messages"], 1);
    EXPECT_EQ(imap_json({"status", dest})["messages"], 2);
    EXPECT_EQ(imap_json({"fetch", dest})["messages"][1]["subject"], "two");

    // by sequence number, human report
    auto r = imap({"move", dest, "1", mailbox_, "--seq"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("moved 1 message"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("with MOVE; new UIDs"), std::string::npos) << r.out;
    EXPECT_EQ(imap_json({"status", mailbox_})["messages"], 2);

    // nothing matches: said, exit 0
    r = imap({"move", mailbox_, "99999", dest});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("nothing moved"), std::string::npos) << r.out;
    // a destination that does not exist: the server's words ([TRYCREATE]), exit 7
    r = imap({"move", mailbox_, std::to_string(u3), mailbox_ + "/nowhere"});
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    EXPECT_NE(r.err.find("TRYCREATE"), std::string::npos) << r.err;

    // delete --no-expunge: flagged only
    j = imap_json({"delete", mailbox_, std::to_string(u3), "--no-expunge"});
    EXPECT_EQ(j["flagged_deleted"], 1);
    EXPECT_EQ(j["expunged"], 0);
    EXPECT_EQ(j["method"], "none");
    EXPECT_EQ(j["not_expunged_because"], "--no-expunge");
    EXPECT_EQ(search(mailbox_, "deleted"), (std::vector<std::uint32_t>{u3}));
    // delete u3 again: UID EXPUNGE removes only it; the message moved back stays
    r = imap({"delete", mailbox_, std::to_string(u3)});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("deleted 1 message (UIDs " + std::to_string(u3) + ")"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("UID EXPUNGE removed 1 message"), std::string::npos) << r.out;
    j = imap_json({"status", mailbox_});
    EXPECT_EQ(j["messages"], 1);
    j = imap_json({"delete", dest, "1:*"});
    EXPECT_EQ(j["expunged"], 1) << j.dump(2);
    EXPECT_EQ(j["method"], "UID EXPUNGE");
    EXPECT_EQ(imap_json({"status", dest})["messages"], 0);
    r = imap({"delete", dest, "1:*"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("nothing deleted"), std::string::npos) << r.out;
}

// ---- idle ----------------------------------------------------------------------------------------

std::vector<json> json_lines(const std::string& out) {
    std::vector<json> v;
    for (const auto& l : lines_of(out)) {
        try {
            v.push_back(json::parse(l));
        } catch (const std::exception& e) {
            ADD_FAILURE() << "not a JSON line: " << l;
        }
    }
    return v;
}

TEST_P(CliImap, IdleSeesAMessageAppendedByAnotherConnection) {
    run_result idle;
    std::atomic<bool> finished{false};
    std::thread t([&] {
        idle = imap({"idle", mailbox_, "--count", "1", "--wait", "40", "--json"}, 60);
        finished = true;
    });
    // Append until the idling session has seen one (the first may land before IDLE starts).
    std::vector<std::uint32_t> appended;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    while (!finished && std::chrono::steady_clock::now() < deadline) {
        appended.push_back(append(mailbox_, message("bob@localhost", "wake up", "x\r\n")));
        for (int i = 0; i < 30 && !finished; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    t.join();
    ASSERT_EQ(idle.exit_code, 0) << describe(idle);
    const auto lines = json_lines(idle.out);
    ASSERT_EQ(lines.size(), 2u) << idle.out;
    EXPECT_EQ(lines[0].value("event", ""), "exists") << lines[0].dump();
    EXPECT_GE(lines[0].value("messages", 0u), 1u);
    EXPECT_LE(lines[0].value("messages", 0u), appended.size());
    EXPECT_FALSE(lines[0].value("time", "").empty());
    EXPECT_EQ(lines[1].value("event", ""), "end");
    EXPECT_EQ(lines[1].value("reason", ""), "count");
    EXPECT_EQ(lines[1].value("events", 0), 1);
}

TEST_P(CliImap, IdleReportsFlagChangesAndExpungesUntilTheTimeLimit) {
    const auto u = append(mailbox_, message("bob@localhost", "watch me", "x\r\n"));
    run_result idle;
    std::thread t([&] { idle = imap({"idle", mailbox_, "--wait", "6"}, 60); });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    auto r = imap({"delete", mailbox_, std::to_string(u), "--no-expunge"});  // a flag change: FETCH
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    r = imap({"delete", mailbox_, std::to_string(u)});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    t.join();
    ASSERT_EQ(idle.exit_code, 0) << describe(idle);
    EXPECT_NE(idle.err.find("idling in " + mailbox_ + " (1 message)"), std::string::npos) << idle.err;
    const auto lines = lines_of(idle.out);
    ASSERT_EQ(lines.size(), 2u) << idle.out;
    EXPECT_NE(lines[0].find("Z  FETCH 1 "), std::string::npos) << idle.out;  // + "UID n" when the server says
    EXPECT_NE(lines[0].find(" FLAGS ("), std::string::npos) << idle.out;
    EXPECT_NE(lines[0].find("\\Deleted"), std::string::npos) << idle.out;
    EXPECT_NE(lines[1].find("Z  EXPUNGE 1"), std::string::npos) << idle.out;
    EXPECT_NE(idle.err.find("2 events in"), std::string::npos) << idle.err;
    EXPECT_NE(idle.err.find("(--wait passed)"), std::string::npos) << idle.err;
}

TEST_P(CliImap, IdleSeesAMessageDeliveredBySmtp) {
    if (!opt("SMTP_PORT")) GTEST_SKIP() << "the harness runs without Postfix (POSTFIX=no)";
    // Postfix delivers to INBOX, which other tests share: we count any new message as the wake-up,
    // then check that ours did arrive and remove it.
    // Other tests also expunge from this INBOX, so an idle that wakes for an EXPUNGE is retried.
    const auto id = random_name("idle-smtp-");
    int sent = 0;
    bool saw_exists = false;
    for (int attempt = 0; attempt < 5 && !saw_exists; ++attempt) {
        run_result idle;
        std::atomic<bool> finished{false};
        std::thread t([&] {
            idle = imap({"idle", "INBOX", "--count", "1", "--wait", "40", "--json"}, 60);
            finished = true;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(1000));
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
        while (!finished && std::chrono::steady_clock::now() < deadline) {
            smtp::client s;
            s.connect(host(), env().port("SMTP_PORT"), security::none);
            smtp::envelope e;
            e.from = "bob@localhost";
            e.to = {need("ADDR1")};
            const auto m = message("bob@localhost", "idle via smtp", "x\r\n", id + "-" + std::to_string(sent++));
            EXPECT_TRUE(s.send(e, m).all_accepted());
            s.disconnect();
            for (int i = 0; i < 50 && !finished; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        t.join();
        ASSERT_EQ(idle.exit_code, 0) << describe(idle);
        const auto lines = json_lines(idle.out);
        ASSERT_EQ(lines.size(), 2u) << idle.out;  // one event and the summary
        const auto event = lines[0].value("event", "");
        EXPECT_TRUE(event == "exists" || event == "expunge" || event == "fetch") << lines[0].dump();
        saw_exists = event == "exists";
    }
    EXPECT_TRUE(saw_exists) << "five idles in a row woke for something else";
    // Ours arrived (delivery is asynchronous: wait for all we sent), then clean INBOX up.
    std::vector<std::uint32_t> ours;
    for (int i = 0; i < 100; ++i) {
        ours = search("INBOX", "header:Message-ID:" + id);
        if (ours.size() == static_cast<std::size_t>(sent)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(ours.size(), static_cast<std::size_t>(sent));
    if (!ours.empty()) {
        const auto j = imap_json({"delete", "INBOX", imap::sequence_set::from(ours).to_string()});
        EXPECT_EQ(j["expunged"].get<std::size_t>(), ours.size());
    }
}

// ---- errors --------------------------------------------------------------------------------------

TEST_P(CliImap, NoSuchMailboxExitsSevenWithTheServersWords) {
    const std::string missing = mailbox_ + "/does-not-exist";
    const std::vector<std::vector<std::string>> cmds = {{"status", missing},
                                                        {"fetch", missing},
                                                        {"search", missing, "all"},
                                                        {"move", missing, "1", mailbox_},
                                                        {"delete", missing, "1"},
                                                        {"idle", missing, "--wait", "1"},
                                                        {"append", missing,
                                                         dir_.file("m.eml", message("a@b", "s", "b\r\n"))}};
    for (const auto& cmd : cmds) {
        auto r = imap(cmd);
        EXPECT_EQ(r.exit_code, 7) << cmd[0] << "\n" << describe(r);
        EXPECT_NE(r.err.find("doesn't exist"), std::string::npos) << cmd[0] << "\n" << r.err;  // Dovecot's words
        auto args = cmd;
        args.push_back("--json");
        r = imap(args);
        EXPECT_EQ(r.exit_code, 7) << cmd[0] << "\n" << describe(r);
        const auto j = parse_json(r);
        EXPECT_EQ(j.value("ok", true), false);
        EXPECT_EQ(j["error"].value("code", ""), "command_failed") << j.dump(2);
        EXPECT_EQ(j["error"].value("category", ""), "protocol");
        EXPECT_NE(j["error"].value("server_text", "").find("doesn't exist"), std::string::npos) << j.dump(2);
    }
}

TEST_P(CliImap, UsageMistakesExitTwo) {
    const std::vector<std::vector<std::string>> cmds = {
        {"fetch", mailbox_, "--uid", "1:x"},
        {"fetch", mailbox_, "--uid", "1", "--seq", "1"},
        {"fetch", mailbox_, "--headers", "--body"},
        {"fetch", mailbox_, "--headers", "-o", "/tmp"},
        {"fetch", mailbox_, "--body", "--json"},
        {"move", mailbox_, "abc", "x"},
        {"append", mailbox_, (dir_.path / "no-such-file.eml").string()},
        {"append", mailbox_, dir_.file("m.eml", "x\r\n"), "--flags", "(bad"},
        {"search", mailbox_, "--raw"},
    };
    for (const auto& cmd : cmds) {
        auto r = imap(cmd);
        EXPECT_EQ(r.exit_code, 2) << join_args(cmd) << "\n" << describe(r);
    }
    // without --user the mailbox commands cannot work
    auto r = run_cli({"imap", "status", "INBOX", "--host", host(), "--port", need("IMAPS_PORT"), "--security", "tls",
                      "--cafile", ca()});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("--user"), std::string::npos) << r.err;
}

// Dovecot answers APPEND and MOVE to a missing mailbox with NO [TRYCREATE]: the error names the code
// and --create; with --create the mailbox is created and the command retried once.
TEST_P(CliImap, AppendAndMoveCreateTheMailboxOnTrycreate) {
    const std::string target = mailbox_ + "/new";
    const auto file = dir_.file("m.eml", message("a@b", "trycreate", "b\r\n"));
    auto r = imap({"append", target, file});
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    EXPECT_NE(r.err.find("TRYCREATE"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--create"), std::string::npos) << r.err;
    const auto j = imap_json({"append", target, file, "--create"});
    EXPECT_EQ(j["created"], true) << j.dump(2);
    ASSERT_TRUE(j["appended"][0]["uid"].is_number()) << j.dump(2);
    EXPECT_EQ(search(target, "subject:trycreate").size(), 1u);

    const auto uid = append(mailbox_, message("a@b", "moved-on-trycreate", "b\r\n"));
    const std::string dest = mailbox_ + "/dest";
    r = imap({"move", mailbox_, std::to_string(uid), dest});
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    EXPECT_NE(r.err.find("--create"), std::string::npos) << r.err;
    r = imap({"move", mailbox_, std::to_string(uid), dest, "--create"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("(created)"), std::string::npos) << r.out;
    EXPECT_EQ(search(dest, "subject:moved-on-trycreate").size(), 1u);
    EXPECT_TRUE(search(mailbox_, "subject:moved-on-trycreate").empty());
}

}  // namespace
}  // namespace mailwire::test
