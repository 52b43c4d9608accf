// `mailwire send` command-line checks that need no server: every mistake is found before
// connecting (exit 2), so nothing is half sent. The port is closed on purpose: reaching it would
// exit 3, not 2. The --connections tests talk to smtp_sink, a local SMTP server that serves many
// connections at once and lets a message's headers delay its answer or close its connection.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "cli_run.hpp"
#include "support/smtp_sink.hpp"

namespace mailwire::test {
namespace {

namespace fs = std::filesystem;

class CliSendLocal : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("mw-send-local-" + std::to_string(std::random_device{}()));
        fs::create_directories(dir_);
        port_ = std::to_string(closed_port());
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    std::string write(const std::string& name, const std::string& bytes) {
        const auto p = (dir_ / name).string();
        std::ofstream(p, std::ios::binary) << bytes;
        return p;
    }
    run_result send(std::vector<std::string> args) {
        args.insert(args.begin(),
                    {"send", "--host", "127.0.0.1", "--port", port_, "--security", "none", "--timeout", "2"});
        return run_cli(args);
    }
    fs::path dir_;
    std::string port_;
};

TEST_F(CliSendLocal, MistakesExitTwoBeforeConnecting) {
    const auto good = write("good.eml", "From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n\r\nhi\r\n");
    const auto no_from = write("nofrom.eml", "To: b@example.com\r\nSubject: s\r\n\r\nhi\r\n");
    const auto no_to = write("noto.eml", "From: a@example.com\r\nSubject: s\r\n\r\nhi\r\n");
    fs::create_directories(dir_ / "empty");
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{}, "nothing to send"},
        {{good, "--subject", "x"}, "not both"},
        {{"--from", "a@example.com", "--to", "b@example.com", "--body", "x", "--body-file", good},
         "do not go together"},
        {{"--to", "b@example.com", "--subject", "x", "--body", "y"}, "needs --from"},
        {{"--from", "a@example.com", "--subject", "x", "--body", "y"}, "needs --to"},
        {{no_from}, "no From or Sender"},
        {{no_to}, "no To, Cc or Bcc"},
        {{(dir_ / "missing.eml").string()}, "no such file"},
        {{(dir_ / "empty").string()}, "no .eml files"},
        {{"--notify", "never,success", good}, "cannot be combined"},
        {{"--notify", "sometimes", good}, "--notify"},
        {{"--to", "not an address", good}, "not an address"},
        {{"--check", good}, "sends nothing"},
        {{"--from", "a@example.com", "--to", "b@example.com", "--subject", "x", "--attach",
          (dir_ / "nothere.bin").string()},
         "--attach"},
    };
    for (const auto& [args, words] : cases) {
        auto r = send(args);
        std::string cmd;
        for (const auto& a : args) cmd += a + " ";
        EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.out << r.err;
        EXPECT_NE(r.err.find(words), std::string::npos) << cmd << "\n" << r.err;
    }
}

TEST_F(CliSendLocal, AGoodCommandLineGetsAsFarAsConnecting) {
    // The same kind of command line, valid: it fails only at connect (exit 3).
    const auto good = write("good.eml", "From: a@example.com\r\nTo: b@example.com\r\nBcc: c@example.com\r\n\r\nhi\r\n");
    EXPECT_EQ(send({good}).exit_code, 3);
    EXPECT_EQ(send({"--from", "Ann <a@example.com>", "--to", "b@example.com", "--subject", "x", "--body", "y"})
                  .exit_code,
              3);
    EXPECT_EQ(send({"--notify", "success,failure,delay", "--ret", "hdrs", "--envid", "e1", good}).exit_code, 3);
}

// ---- --connections N: parallel submission against smtp_sink (many connections at once) ---------

class CliSendParallel : public CliSendLocal {
protected:
    // n files a00.eml … in name order; `extra(i)` adds header lines to file i.
    std::vector<std::string> files(std::size_t n, const std::function<std::string(std::size_t)>& extra = {}) {
        std::vector<std::string> names;
        fs::create_directories(dir_ / "out");
        for (std::size_t i = 0; i < n; ++i) {
            char name[32];
            std::snprintf(name, sizeof name, "out/a%03zu.eml", i);
            write(name, "From: a@example.com\r\nTo: b@example.com\r\n" + (extra ? extra(i) : std::string()) +
                            "Message-ID: <cli-par-" + std::to_string(i) + "@mailwire.test>\r\n\r\nbody " +
                            std::to_string(i) + "\r\n");
            names.push_back(name + 4);
        }
        return names;
    }
    run_result send_to(const smtp_sink& sink, std::vector<std::string> args) {
        args.insert(args.begin(), {"send", "--host", "127.0.0.1", "--port", std::to_string(sink.port()), "--security",
                                   "none", "--timeout", "10"});
        args.push_back((dir_ / "out").string());
        return run_cli(args);
    }
    // How often the sink took each of our files (by its Message-ID marker).
    static std::map<int, int> taken(const smtp_sink& sink) {
        std::map<int, int> n;
        for (const auto& m : sink.messages()) {
            const auto p = m.data.find("<cli-par-");
            if (p != std::string::npos) ++n[std::stoi(m.data.substr(p + 9))];
        }
        return n;
    }
    static std::vector<nlohmann::json> json_lines(const std::string& out) {
        std::vector<nlohmann::json> v;
        for (const auto& l : lines_of(out))
            if (!l.empty()) v.push_back(nlohmann::json::parse(l));
        return v;
    }
};

TEST_F(CliSendParallel, ConnectionsZeroOrTooManyIsAUsageError) {
    files(2);
    smtp_sink sink;
    for (const char* n : {"0", "65", "-1"}) {
        const auto r = send_to(sink, {"--connections", n});
        EXPECT_EQ(r.exit_code, 2) << n << "\n" << r.out << r.err;
        EXPECT_NE(r.err.find(std::string("--connections ") + n + ": give 1 to 64"), std::string::npos) << r.err;
    }
    EXPECT_EQ(sink.connections(), 0);
}

TEST_F(CliSendParallel, EveryMessageArrivesOnceAndIsReportedInInputOrder) {
    const auto names = files(90);
    smtp_sink sink;
    const auto r = send_to(sink, {"--jsonl", "--connections", "3"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), names.size() + 1) << r.out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_NE(lines[i]["message"].get<std::string>().find(names[i]), std::string::npos) << lines[i].dump();
        EXPECT_EQ(lines[i]["ok"], true) << lines[i].dump();
        EXPECT_TRUE(lines[i]["queue_id"].is_string()) << lines[i].dump();
    }
    const auto& summary = lines.back();
    EXPECT_EQ(summary["ok"], true) << summary.dump();
    EXPECT_EQ(summary["sent"], names.size());
    EXPECT_EQ(summary["connections"], 3);
    const auto n = taken(sink);
    EXPECT_EQ(n.size(), names.size());
    for (const auto& [id, count] : n) EXPECT_EQ(count, 1) << "message " << id;
    EXPECT_LE(sink.connections(), 3);
    std::set<int> used;
    for (const auto& m : sink.messages()) used.insert(m.connection);
    EXPECT_GE(used.size(), 2u) << "one connection carried every message";
}

TEST_F(CliSendParallel, OutputFollowsInputOrderWhenALaterMessageFinishesFirst) {
    // No CHUNKING: one message at a time per connection. a000 is answered after 800 ms, while the
    // other connection sends a001 … a005; the table still lists a000 first.
    const auto names = files(6, [](std::size_t i) { return i == 0 ? std::string("X-Sink-Delay: 800\r\n") : ""; });
    smtp_sink sink(false);
    const auto r = send_to(sink, {"--connections", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), names.size() + 1) << r.out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(lines[i].rfind("sent", 0), 0u) << lines[i];
        EXPECT_NE(lines[i].find(names[i]), std::string::npos) << r.out;
    }
    EXPECT_NE(lines.back().find("6 of 6 messages sent to every recipient (2 connections)"), std::string::npos) << r.out;
    const auto got = sink.messages();
    ASSERT_EQ(got.size(), names.size());
    EXPECT_NE(got.back().data.find("<cli-par-0@"), std::string::npos) << "a000 was not the last to finish";
}

TEST_F(CliSendParallel, AConnectionClosedMidBatchReportsExactlyWhichMessageWasNotSent) {
    // The connection that takes a003 is closed instead of an answer: a003 is reported failed, the
    // other connection sends the rest, and nothing else is lost or sent twice.
    const auto names = files(8, [](std::size_t i) { return i == 3 ? std::string("X-Sink-Close: yes\r\n") : ""; });
    for (const bool json : {true, false}) {
        smtp_sink sink(false);
        std::vector<std::string> args{"--connections", "2"};
        if (json) args.push_back("--json");
        const auto r = send_to(sink, args);
        EXPECT_NE(r.exit_code, 0) << r.out << r.err;
        EXPECT_NE(r.exit_code, 2) << r.out << r.err;
        if (json) {
            const auto j = nlohmann::json::parse(r.out);
            ASSERT_EQ(j["messages"].size(), names.size()) << j.dump(2);
            for (std::size_t i = 0; i < names.size(); ++i) {
                EXPECT_NE(j["messages"][i]["message"].get<std::string>().find(names[i]), std::string::npos);
                EXPECT_EQ(j["messages"][i]["ok"], i != 3) << j["messages"][i].dump(2);
            }
            EXPECT_EQ(j["ok"], false);
            EXPECT_EQ(j["sent"], names.size() - 1);
            ASSERT_EQ(j["connection_errors"].size(), 1u) << j.dump(2);
            EXPECT_EQ(j["connection_errors"][0]["error"]["code"], "connection_closed") << j.dump(2);
        } else {
            const auto lines = lines_of(r.out);
            ASSERT_GE(lines.size(), names.size()) << r.out;
            for (std::size_t i = 0; i < names.size(); ++i)
                EXPECT_EQ(lines[i].rfind(i == 3 ? "failed" : "sent", 0), 0u) << r.out;
            EXPECT_NE(r.err.find("connection"), std::string::npos) << r.err;
        }
        const auto n = taken(sink);
        EXPECT_EQ(n.size(), names.size() - 1);
        EXPECT_EQ(n.count(3), 0u);
        for (const auto& [id, count] : n) EXPECT_EQ(count, 1) << "message " << id;
    }
}

TEST_F(CliSendParallel, MoreConnectionsThanMessagesOpensOnlyWhatIsNeeded) {
    const auto names = files(2);
    smtp_sink sink;
    const auto r = send_to(sink, {"--json", "--connections", "8"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["messages"].size(), 2u) << j.dump(2);
    EXPECT_EQ(j["connections"], 2);
    EXPECT_LE(sink.connections(), 2);
    EXPECT_EQ(taken(sink).size(), 2u);
}

// ---- composed messages obey the RFCs (issue #13 item 8) ----------------------------------------

TEST_F(CliSendLocal, ComposedMessageIsAsciiAndAttachesEmlWithoutBase64) {
    // --attach x.eml used to go as message/rfc822 with base64 (RFC 2046 §5.2.1 allows 7bit, 8bit,
    // binary), and --cc x@bücher.example and a UTF-8 From name went out raw without SMTPUTF8.
    const auto eml = write("fwd.eml", "From: c@example.com\nSubject: inner\n\nplain text\n");
    smtp_sink sink;
    const auto r = run_cli({"send",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            std::to_string(sink.port()),
                            "--security",
                            "none",
                            "--timeout",
                            "10",
                            "--from",
                            "Jörg <joerg@example.com>",
                            "--to",
                            "b@example.com",
                            "--cc",
                            "x@bücher.example",
                            "--subject",
                            "Grüße",
                            "--body",
                            "hi",
                            "--attach",
                            eml,
                            "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto msgs = sink.messages();
    ASSERT_EQ(msgs.size(), 1u);
    const std::string& data = msgs[0].data;
    const std::string head = data.substr(0, data.find("\r\n\r\n"));
    for (const char c : head) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << head;
    EXPECT_NE(head.find("Cc: x@xn--bcher-kva.example"), std::string::npos) << head;
    const auto part = data.find("Content-Type: message/rfc822");
    ASSERT_NE(part, std::string::npos) << data;
    EXPECT_EQ(data.find("base64"), std::string::npos) << data;
    EXPECT_NE(data.find("Subject: inner\r\n", part), std::string::npos) << data;
}

TEST_F(CliSendLocal, SizeCountsLineEndsAsCrlfForALargeLfOnlyFile) {
    // RFC 1870: SIZE= is the size as transmitted, each line end a CRLF. A file too large to be read
    // ahead before MAIL FROM (over 256 KiB) used to be announced with its LF-only size.
    std::string body;
    std::size_t lines = 0;
    while (body.size() < 400 * 1024) {
        body += "a line of a large message written with bare LF line ends\n";
        ++lines;
    }
    const std::string head = "From: a@example.com\nTo: b@example.com\nBcc: hidden@example.com\nSubject: big\n\n";
    const auto file = write("big.eml", head + body);
    smtp_sink sink;
    const auto r = run_cli({"send", "--host", "127.0.0.1", "--port", std::to_string(sink.port()), "--security", "none",
                            "--timeout", "10", file});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto mails = sink.mail_commands();
    ASSERT_EQ(mails.size(), 1u);
    const auto msgs = sink.messages();
    ASSERT_EQ(msgs.size(), 1u);
    // What arrived (DATA, CRLF, without the Bcc line the CLI removes) is what SIZE= had to say.
    const auto& data = msgs[0].data;
    EXPECT_EQ(data.find("Bcc:"), std::string::npos);
    EXPECT_NE(mails[0].find(" SIZE=" + std::to_string(data.size())), std::string::npos)
        << mails[0] << " (arrived: " << data.size() << " bytes, " << lines << " body lines)";
}

}  // namespace
}  // namespace mailwire::test
