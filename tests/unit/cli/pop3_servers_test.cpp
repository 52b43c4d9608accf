// `mailwire pop3 stat|list|uidl|retr|top|dele` against the real Dovecot, over both POP3 ports
// (STLS on POP3_PORT, implicit TLS on POP3S_PORT). Messages are delivered through Postfix to bob
// with unique Message-IDs; other tests deliver to and delete from bob at the same time, so a test
// only ever looks at its own messages (found by Message-ID, then named by UIDL, which is stable),
// never counts the maildrop, and removes what it delivered.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>

#include "cli_servers.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/smtp/client.hpp"

namespace mailwire::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string unique_id() {
    static std::mt19937_64 rng{std::random_device{}()};
    return "cli-pop3-" + std::to_string(rng());
}

/// A message whose body has dot-led lines of every kind (they are stuffed on the wire).
std::string make_message(const std::string& id, std::size_t body_bytes = 0) {
    std::string m = "From: alice@localhost\r\nTo: bob@localhost\r\nSubject: cli " + id + "\r\nMessage-ID: <" + id +
                    "@mailwire.test>\r\n\r\n";
    m += ".\r\n..\r\n...\r\n. space\r\n.leading dot\r\nnot a dot .\r\n\r\n.\r\n";
    for (std::size_t i = 0; m.size() < body_bytes; ++i)
        m += (i % 5 == 0 ? "." : "") + std::to_string(i) + " the quick brown fox jumps over the lazy dog\r\n";
    return m + "last line\r\n";
}

void deliver(const std::string& message) {
    smtp::client s;
    s.timeouts().io = 60s;
    s.connect(host(), static_cast<std::uint16_t>(std::stoi(need("SMTP_PORT"))), security::none);
    smtp::envelope e;
    e.from = "alice@localhost";
    e.to = {need("ADDR2")};
    ASSERT_TRUE(s.send(e, message).all_accepted());
    s.disconnect();
}

std::unique_ptr<pop3::client> session() {
    auto c = std::make_unique<pop3::client>();
    c->tls().ca_file = ca();
    c->timeouts().io = 30s;
    c->connect(host(), static_cast<std::uint16_t>(std::stoi(need("POP3S_PORT"))), security::implicit_tls);
    c->authenticate(need("USER2"), need("PASS2"));
    return c;
}

/// The UIDL of the message with this Message-ID, scanning from the newest; nullopt if absent.
std::optional<std::string> uid_of(pop3::client& c, const std::string& id) {
    const auto needle = "Message-ID: <" + id + "@mailwire.test>";
    const auto all = c.uidl();
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        try {
            if (c.top(it->number, 0).find(needle) != std::string::npos) return it->uid;
        } catch (const pop3::pop3_error&) {  // deleted by another session meanwhile
        }
    }
    return std::nullopt;
}

/// Delivers the messages and waits until all arrived (Postfix delivers asynchronously); their UIDLs.
std::vector<std::string> deliver_and_await(const std::vector<std::string>& messages,
                                           const std::vector<std::string>& ids) {
    for (const auto& m : messages) deliver(m);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
        auto c = session();
        std::vector<std::string> uids;
        for (const auto& id : ids)
            if (auto u = uid_of(*c, id)) uids.push_back(*u);
        c->disconnect();
        if (uids.size() == ids.size()) return uids;
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "messages did not arrive in bob's maildrop";
            return {};
        }
        std::this_thread::sleep_for(200ms);
    }
}

/// Removes our messages by UIDL (if still there) and commits with QUIT.
void remove_uids(const std::vector<std::string>& uids) {
    try {
        auto c = session();
        for (const auto& m : c->uidl())
            if (std::find(uids.begin(), uids.end(), m.uid) != uids.end()) c->dele(m.number);
        c->quit();
    } catch (const mailwire::error& e) {
        ADD_FAILURE() << "cleanup: " << e.what();
    }
}

struct cleanup {
    std::vector<std::string> uids;
    ~cleanup() { remove_uids(uids); }
};

struct temp_dir {
    fs::path path = fs::temp_directory_path() / unique_id();
    temp_dir() { fs::create_directories(path); }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

/// The connection and login options for bob on one of the two POP3 ports.
std::vector<std::string> pop3_args(const std::string& command, bool implicit_tls) {
    return {"pop3",           command,
            "--host",         host(),
            "--port",         need(implicit_tls ? "POP3S_PORT" : "POP3_PORT"),
            "--security",     implicit_tls ? "tls" : "starttls",
            "--cafile",       ca(),
            "--user",         need("USER2"),
            "--password-env", "MW_POP3_PW",
            "--timeout",      "30"};
}

run_result pop3(const std::string& command, bool implicit_tls, std::initializer_list<std::string> more) {
    return run_cli(with(pop3_args(command, implicit_tls), more), {{"MW_POP3_PW", need("PASS2")}}, 120);
}

class CliPop3 : public ::testing::TestWithParam<bool> {};

TEST_P(CliPop3, ListUidlRetrTopAreByteExact) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    const bool tls = GetParam();
    const auto id = unique_id();
    const auto msg = make_message(id, 30'000);
    cleanup gone;
    gone.uids = deliver_and_await({msg}, {id});
    ASSERT_EQ(gone.uids.size(), 1u);
    const auto uid = gone.uids[0];

    // uidl --uid: the number of our message in that session, as JSON.
    auto r = pop3("uidl", tls, {"--uid", uid, "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto j = parse_json(r);
    EXPECT_EQ(j.value("ok", false), true);
    ASSERT_EQ(j["messages"].size(), 1u) << j.dump(2);
    EXPECT_EQ(j["messages"][0].value("uid", ""), uid);
    EXPECT_GE(j["messages"][0].value("number", 0), 1);

    // retr to stdout: byte-exact after the trace headers, dot-led lines unstuffed.
    r = pop3("retr", tls, {"--uid", uid});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const std::string body = r.out;
    ASSERT_GE(body.size(), msg.size());
    EXPECT_EQ(body.substr(body.size() - msg.size()), msg) << "not byte-exact";
    EXPECT_TRUE(r.err.empty()) << r.err;

    // list --uid: Dovecot's LIST size is the exact size of what RETR delivered.
    r = pop3("list", tls, {"--uid", uid, "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    ASSERT_EQ(j["messages"].size(), 1u) << j.dump(2);
    EXPECT_EQ(j["messages"][0].value("size", std::uint64_t{0}), body.size());
    EXPECT_EQ(j.value("size", std::uint64_t{0}), body.size());
    EXPECT_EQ(j.value("count", 0), 1);

    // The full listings hold our message with the same facts (other messages come and go).
    r = pop3("uidl", tls, {"--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    ASSERT_TRUE(j["messages"].is_array());
    std::optional<int> number;
    for (const auto& m : j["messages"])
        if (m.value("uid", "") == uid) number = m.value("number", 0);
    ASSERT_TRUE(number) << "our UIDL is not in the listing";
    r = pop3("list", tls, {"--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    ASSERT_TRUE(j["messages"].is_array());
    ASSERT_FALSE(j["messages"].empty());
    for (const auto& m : j["messages"]) {
        EXPECT_TRUE(m["number"].is_number_unsigned()) << m.dump();
        EXPECT_TRUE(m["size"].is_number_unsigned()) << m.dump();
    }
    r = pop3("stat", tls, {"--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    EXPECT_TRUE(j["count"].is_number_unsigned() && j["count"].get<int>() >= 1) << j.dump(2);
    EXPECT_TRUE(j["size"].is_number_unsigned()) << j.dump(2);
    r = pop3("stat", tls, {});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    // "1 message, …" or "N messages, …": the maildrop is shared with parallel tests, never counted.
    EXPECT_TRUE(r.out.find(" messages, ") != std::string::npos || r.out.find(" message, ") != std::string::npos)
        << r.out;

    // retr N: numbers are per session, and a parallel test deleting an older message renumbers
    // ours, so look the number up again when the body is not ours.
    bool by_number = false;
    for (int attempt = 0; attempt < 5 && !by_number; ++attempt) {
        r = pop3("uidl", tls, {"--uid", uid, "--json"});
        ASSERT_EQ(r.exit_code, 0) << describe(r);
        const auto n = std::to_string(parse_json(r)["messages"][0].value("number", 0));
        r = pop3("retr", tls, {n});
        ASSERT_EQ(r.exit_code, 0) << describe(r);
        by_number = r.out == body;
    }
    EXPECT_TRUE(by_number) << "retr N never returned our message";

    // retr -o DIR/: the file is named by UIDL and holds the same bytes; the JSON reports it.
    temp_dir dir;
    r = pop3("retr", tls, {"--uid", uid, "-o", dir.path.string() + "/", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    EXPECT_EQ(j.value("ok", false), true);
    EXPECT_EQ(j.value("bytes", std::uint64_t{0}), body.size());
    ASSERT_EQ(j["messages"].size(), 1u) << j.dump(2);
    EXPECT_EQ(j["messages"][0].value("uid", ""), uid);
    EXPECT_EQ(j["messages"][0].value("size", std::uint64_t{0}), body.size());
    const auto file = j["messages"][0].value("file", "");
    EXPECT_EQ(fs::path(file).filename().string(), uid + ".eml");  // Dovecot's UIDLs are hex: nothing to escape
    EXPECT_EQ(read_file(file), body);
    EXPECT_TRUE(j["refused"].empty());
    for (const auto& e : fs::directory_iterator(dir.path))  // no .part file left behind
        EXPECT_EQ(e.path().filename().string(), uid + ".eml");

    // retr -o FILE
    const auto one = (dir.path / "one.eml").string();
    r = pop3("retr", tls, {"--uid", uid, "-o", one});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(read_file(one), body);

    // top --uid U 2: the header and two body lines, unstuffed.
    r = pop3("top", tls, {"--uid", uid, "2"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(r.out.ends_with(id + "@mailwire.test>\r\n\r\n.\r\n..\r\n")) << r.out;
    EXPECT_EQ(r.out, body.substr(0, r.out.size()));
    r = pop3("top", tls, {"--uid", uid, "0", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    EXPECT_EQ(j.value("lines", -1), 0);
    EXPECT_EQ(j.value("text", ""), body.substr(0, body.find("\r\n\r\n") + 4));
}

TEST_P(CliPop3, SeveralMessagesIntoADirectoryAndSkipExisting) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    const bool tls = GetParam();
    const std::vector<std::string> ids{unique_id(), unique_id()};
    const std::vector<std::string> msgs{make_message(ids[0], 5'000), make_message(ids[1], 70'000)};
    cleanup gone;
    gone.uids = deliver_and_await(msgs, ids);
    ASSERT_EQ(gone.uids.size(), 2u);
    temp_dir dir;
    auto r = pop3("retr", tls, {"--uid", gone.uids[0], "--uid", gone.uids[1], "-o", dir.path.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto j = parse_json(r);
    ASSERT_EQ(j["messages"].size(), 2u) << j.dump(2);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto got = read_file((dir.path / (gone.uids[i] + ".eml")).string());
        ASSERT_GE(got.size(), msgs[i].size());
        EXPECT_EQ(got.substr(got.size() - msgs[i].size()), msgs[i]);
    }
    r = pop3("retr", tls,
             {"--uid", gone.uids[0], "--uid", gone.uids[1], "-o", dir.path.string(), "--skip-existing", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    EXPECT_TRUE(j["messages"].empty()) << j.dump(2);
    EXPECT_EQ(j["skipped"].size(), 2u) << j.dump(2);
    // Human output: one line per file and a summary.
    fs::remove(dir.path / (gone.uids[1] + ".eml"));
    r = pop3("retr", tls, {"--uid", gone.uids[0], "--uid", gone.uids[1], "-o", dir.path.string(), "--skip-existing"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find(gone.uids[1] + ".eml"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 message, "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("(1 already there, skipped)"), std::string::npos) << r.out;
}

TEST_P(CliPop3, DeleIsCommittedByQuitAndDryRunMarksNothing) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    const bool tls = GetParam();
    const std::vector<std::string> ids{unique_id(), unique_id()};
    cleanup gone;
    gone.uids = deliver_and_await({make_message(ids[0]), make_message(ids[1])}, ids);
    ASSERT_EQ(gone.uids.size(), 2u);

    auto r = pop3("dele", tls, {"--uid", gone.uids[0], "--uid", gone.uids[1], "--dry-run", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto j = parse_json(r);
    EXPECT_EQ(j.value("dry_run", false), true);
    EXPECT_EQ(j.value("committed", true), false);
    EXPECT_EQ(j["messages"].size(), 2u);
    {
        auto c = session();
        EXPECT_TRUE(uid_of(*c, ids[0])) << "--dry-run deleted a message";
        EXPECT_TRUE(uid_of(*c, ids[1])) << "--dry-run deleted a message";
        c->disconnect();
    }

    // One bad number among good ones: nothing is deleted (RSET before QUIT), exit 7.
    r = pop3("dele", tls, {"--uid", gone.uids[0], "999999"});
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    EXPECT_NE(r.err.find("nothing was deleted"), std::string::npos) << r.err;
    {
        auto c = session();
        EXPECT_TRUE(uid_of(*c, ids[0])) << "a failed dele deleted a message";
        c->disconnect();
    }

    r = pop3("dele", tls, {"--uid", gone.uids[0], "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    EXPECT_EQ(j.value("ok", false), true);
    EXPECT_EQ(j.value("committed", false), true);
    ASSERT_EQ(j["messages"].size(), 1u);
    EXPECT_EQ(j["messages"][0].value("uid", ""), gone.uids[0]);
    r = pop3("dele", tls, {"--uid", gone.uids[1]});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("removed by the server at QUIT"), std::string::npos) << r.out;

    auto c = session();
    EXPECT_FALSE(uid_of(*c, ids[0])) << "still there after dele";
    EXPECT_FALSE(uid_of(*c, ids[1])) << "still there after dele";
    c->disconnect();
    r = pop3("retr", tls, {"--uid", gone.uids[0]});
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    EXPECT_NE(r.err.find("no message has UIDL " + gone.uids[0]), std::string::npos) << r.err;
}

TEST_P(CliPop3, NoSuchMessageExitsSevenWithTheServersWords) {
    REQUIRE_HARNESS();
    const bool tls = GetParam();
    for (const char* cmd : {"retr", "list", "uidl"}) {
        auto r = pop3(cmd, tls, {"999999"});
        EXPECT_EQ(r.exit_code, 7) << cmd << "\n" << describe(r);
        EXPECT_NE(r.err.find("-ERR"), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
    auto r = pop3("top", tls, {"999999", "1"});
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    r = pop3("retr", tls, {"999999", "--json", "-o", (fs::temp_directory_path() / unique_id()).string()});
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    const auto j = parse_json(r);
    EXPECT_EQ(j.value("ok", true), false);
    EXPECT_EQ(j["error"].value("code", ""), "command_failed") << j.dump(2);
    EXPECT_EQ(j["error"].value("category", ""), "protocol");
    EXPECT_FALSE(j["error"].value("server_text", "").empty()) << j.dump(2);
}

TEST_P(CliPop3, ProgressLineOnStderrWithProgressAlways) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    const bool tls = GetParam();
    const auto id = unique_id();
    const auto msg = make_message(id, 200'000);
    cleanup gone;
    gone.uids = deliver_and_await({msg}, {id});
    ASSERT_EQ(gone.uids.size(), 1u);
    temp_dir dir;
    auto r = pop3("retr", tls, {"--uid", gone.uids[0], "-o", (dir.path / "m.eml").string(), "--progress", "always"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.err.find("RETR "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(" KB in "), std::string::npos) << r.err;  // the final state: bytes and time
    EXPECT_TRUE(r.err.ends_with("\n")) << r.err;
    EXPECT_EQ(read_file((dir.path / "m.eml").string()).size() >= msg.size(), true);
    r = pop3("retr", tls, {"--uid", gone.uids[0], "--progress", "never"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(r.err.empty()) << r.err;  // and stdout held only the message
    EXPECT_TRUE(r.out.ends_with(msg)) << r.out.size();
}

INSTANTIATE_TEST_SUITE_P(BothPorts, CliPop3, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "pop3s" : "pop3_stls"; });

TEST(CliPop3Usage, MistakesAreUsageErrors) {
    REQUIRE_HARNESS();
    for (const auto& args :
         std::vector<std::initializer_list<std::string>>{{}, {"--all"}, {"1", "2"}, {"--json"}, {"0"}}) {
        auto r = pop3("retr", true, args);
        EXPECT_EQ(r.exit_code, 2) << describe(r);
    }
    EXPECT_EQ(pop3("dele", true, {}).exit_code, 2);
    EXPECT_EQ(pop3("top", true, {"1"}).exit_code, 2);
    auto r = run_cli({"pop3", "stat", "--host", host(), "--port", need("POP3S_PORT"), "--cafile", ca()});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("--user"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mailwire::test
