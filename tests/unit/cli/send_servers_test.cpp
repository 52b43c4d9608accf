// `mailwire send` against the real Postfix (submission with STARTTLS + AUTH, and implicit TLS),
// delivering to Dovecot: message files arrive byte-exact in body, envelopes default from the
// headers (Bcc stripped), refused recipients are reported next to accepted ones, composed messages
// re-parse to the right MIME tree, several files go over one connection. Every message carries a
// unique Message-ID or subject marker, and is expunged again: other tests share these mailboxes.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cli_servers.hpp"
#include "mailwire/mime/message.hpp"
#include "support/maildir.hpp"

namespace mailwire::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string unique_id() {
    static std::mt19937_64 rng(std::random_device{}());
    return std::to_string(rng());
}

// A private scratch directory, removed at the end of the test.
class scratch {
public:
    scratch() {
        dir_ = fs::temp_directory_path() / ("mw-send-test-" + unique_id());
        fs::create_directories(dir_);
    }
    ~scratch() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;
    [[nodiscard]] std::string path(const std::string& name) const { return (dir_ / name).string(); }
    std::string write(const std::string& name, const std::string& bytes) const {
        const auto p = path(name);
        fs::create_directories(fs::path(p).parent_path());
        std::ofstream(p, std::ios::binary) << bytes;
        return p;
    }

private:
    fs::path dir_;
};

// Submission with STARTTLS + AUTH as alice (or implicit TLS on the SMTPS port).
std::vector<std::string> send_args(bool implicit_tls = false) {
    return {"send",
            "--host",
            host(),
            "--port",
            need(implicit_tls ? "SMTPS_PORT" : "SUBMISSION_PORT"),
            "--security",
            implicit_tls ? "tls" : "starttls",
            "--cafile",
            ca(),
            "--user",
            need("USER1"),
            "--password-env",
            "MW_TEST_PW",
            "--timeout",
            "60"};
}
std::map<std::string, std::string> pw() { return {{"MW_TEST_PW", need("PASS1")}}; }

// The per-message list of `send --json`: {"messages": [...], "sent": …, …, "ok": …}.
json sent_list(const run_result& r) {
    const auto j = parse_json(r);
    if (!j.contains("messages")) ADD_FAILURE() << "no messages list:\n" << describe(r);
    return j.value("messages", json::array());
}

// A message whose body has dot-led lines, a lone dot, long lines and 8-bit text.
std::string make_message(const std::string& id, const std::string& headers, std::size_t body_bytes) {
    std::string m = headers + "Subject: mailwire send test " + id + "\r\nMessage-ID: <" + id +
                    "@send.mailwire.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n\r\n";
    std::mt19937 rng(static_cast<unsigned>(body_bytes));
    for (std::size_t line = 0; m.size() < body_bytes; ++line) {
        switch (line % 6) {
        case 0:
            m += ".leading dot\r\n";
            break;
        case 1:
            m += ".\r\n";
            break;
        case 2:
            m += "Grüße aus Köln ✓\r\n";
            break;
        default: {
            std::string l(10 + rng() % 70, 'x');
            for (auto& c : l) c = static_cast<char>('a' + rng() % 26);
            m += l + "\r\n";
        }
        }
    }
    return m;
}

// Waits until Dovecot stored a message containing `marker` for `user`; returns its bytes ("" on
// timeout).
std::string delivered(const std::string& user, const std::string& marker, std::chrono::seconds limit = 90s) {
    return wait_in_maildir(fs::path(need("MAIL_ROOT")) / user, marker, limit);
}

// Expunges this test's messages through Dovecot (never by deleting files under its feet).
void expunge(const std::string& user, const std::string& field, const std::string& value) {
    // Subject goes through the "subject" key (decodes RFC 2047); others as a plain header search.
    const bool subject = field == "Subject";
    auto cmd = need("DOVEADM");
    std::vector<std::string> argv;
    std::istringstream words(cmd);
    for (std::string w; words >> w;) argv.push_back(w);
    argv.insert(argv.end(), {"expunge", "-u", user, "mailbox", "INBOX"});
    if (subject) argv.insert(argv.end(), {"subject", value});
    else argv.insert(argv.end(), {"header", field, value});
    (void)run_program(argv, {}, 30);
}

// The body (after the first blank line) with CRLF made LF: maildir keeps LF line ends.
std::string body_of(const std::string& message) {
    std::string lf;
    lf.reserve(message.size());
    for (std::size_t i = 0; i < message.size(); ++i)
        if (!(message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n')) lf += message[i];
    const auto sep = lf.find("\n\n");
    return sep == std::string::npos ? std::string() : lf.substr(sep + 2);
}

std::string fmt_name(int i) {
    char b[32];
    std::snprintf(b, sizeof b, "dir/m%02d.eml", i);
    return b;
}

std::string header_section(const std::string& message) {
    auto sep = message.find("\n\n");
    if (sep == std::string::npos) sep = message.find("\r\n\r\n");
    return message.substr(0, sep);
}

// ---- one file -----------------------------------------------------------------------------------

TEST(CliSend, FileOverStarttlsArrivesByteExactWithTheEnvelopeFromItsHeaders) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    const auto id = unique_id();
    const auto msg = make_message(id, "From: Alice <alice@localhost>\r\nTo: Bob <bob@localhost>\r\n", 300 << 10);
    const auto file = tmp.write("one.eml", msg);
    auto r = run_cli(with(send_args(), {"--log", tmp.path("log"), file}), pw(), 120);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("sent"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 of 1 recipient accepted"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("queued as "), std::string::npos) << r.out;
    const auto log = read_file(tmp.path("log"));
    EXPECT_NE(log.find("MAIL FROM:<alice@localhost>"), std::string::npos) << log.substr(0, 2000);
    EXPECT_NE(log.find("RCPT TO:<bob@localhost>"), std::string::npos);
    const auto got = delivered("bob", id + "@send.mailwire.test");
    ASSERT_FALSE(got.empty()) << "not delivered";
    EXPECT_TRUE(body_of(got) == body_of(msg)) << "the body differs";
    expunge("bob", "Message-ID", id);
}

TEST(CliSend, ImplicitTlsJsonReportsRecipientsAndQueueId) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    const auto id = unique_id();
    const auto msg = make_message(id, "From: alice@localhost\r\nTo: somebody@example.invalid\r\n", 2000);
    const auto file = tmp.write("m.eml", msg);
    // --to replaces the recipients of the headers.
    auto r = run_cli(with(send_args(true), {"--json", "--to", "bob@localhost", file}), pw());
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = sent_list(r);
    ASSERT_TRUE(j.is_array()) << j.dump(2);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0]["ok"], true);
    EXPECT_EQ(j[0]["from"], "alice@localhost");
    ASSERT_EQ(j[0]["recipients"].size(), 1u);
    EXPECT_EQ(j[0]["recipients"][0]["address"], "bob@localhost");
    EXPECT_EQ(j[0]["recipients"][0]["accepted"], true);
    EXPECT_EQ(j[0]["recipients"][0]["reply"]["code"], 250);
    EXPECT_TRUE(j[0]["queue_id"].is_string()) << j.dump(2);
    EXPECT_EQ(j[0]["reply"]["code"], 250);
    EXPECT_EQ(j[0]["bytes"], msg.size());
    EXPECT_FALSE(body_of(delivered("bob", id + "@send.mailwire.test")).empty());
    expunge("bob", "Message-ID", id);
}

TEST(CliSend, RefusedRecipientAmongAcceptedIsAPartialSuccessWithExitSeven) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    const auto id = unique_id();
    const auto file = tmp.write("m.eml", make_message(id,
                                                      "From: alice@localhost\r\nTo: bob@localhost, nobody@localhost\r\n"
                                                      "Cc: carol@localhost\r\n",
                                                      1500));
    auto r = run_cli(with(send_args(), {"--json", file}), pw());
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    const auto j = sent_list(r);
    ASSERT_TRUE(j.is_array() && j.size() == 1) << j.dump(2);
    EXPECT_EQ(j[0]["ok"], true);  // taken for the accepted recipients
    EXPECT_EQ(j[0]["accepted"], 2);
    EXPECT_EQ(j[0]["refused"], 1);
    ASSERT_EQ(j[0]["recipients"].size(), 3u);
    for (const auto& rc : j[0]["recipients"]) {
        const bool nobody = rc["address"] == "nobody@localhost";
        EXPECT_EQ(rc["accepted"], !nobody) << rc.dump();
        if (nobody) {
            EXPECT_EQ(rc["reply"]["code"].get<int>() / 100, 5) << rc.dump();
            EXPECT_FALSE(rc["reply"]["enhanced_code"].get<std::string>().empty());
        }
    }
    EXPECT_FALSE(delivered("bob", id + "@send.mailwire.test").empty());
    EXPECT_FALSE(delivered("carol", id + "@send.mailwire.test").empty());
    expunge("bob", "Message-ID", id);
    expunge("carol", "Message-ID", id);

    // The human form names the refused recipient and the server's words.
    auto h = run_cli(with(send_args(), {"--to", "bob@localhost", "--to", "nobody@localhost", file}), pw());
    EXPECT_EQ(h.exit_code, 7) << describe(h);
    EXPECT_NE(h.out.find("partial"), std::string::npos) << h.out;
    EXPECT_NE(h.out.find("refused   nobody@localhost: 550"), std::string::npos) << h.out;
    expunge("bob", "Message-ID", id);
}

TEST(CliSend, BccHeaderIsAnEnvelopeRecipientButNeverTransmitted) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    const auto id = unique_id();
    const auto file = tmp.write("m.eml", make_message(id,
                                                      "From: alice@localhost\r\nTo: bob@localhost\r\nBcc: Secret\r\n "
                                                      "Person <carol@localhost>\r\n",
                                                      1000));
    auto r = run_cli(with(send_args(), {"--json", file}), pw());
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = sent_list(r);
    ASSERT_EQ(j[0]["recipients"].size(), 2u) << j.dump(2);
    EXPECT_EQ(j[0]["bcc_removed"], true);
    for (const char* user : {"bob", "carol"}) {
        const auto got = delivered(user, id + "@send.mailwire.test");
        ASSERT_FALSE(got.empty()) << user;
        const auto head = header_section(got);
        EXPECT_EQ(head.find("Bcc:"), std::string::npos) << head;
        EXPECT_EQ(head.find("Secret"), std::string::npos) << head;
        EXPECT_NE(head.find("To: bob@localhost"), std::string::npos) << head;
        expunge(user, "Message-ID", id);
    }
}

// ---- several files, one connection ------------------------------------------------------------

TEST(CliSend, DirectoryOfFilesGoesOverOneConnectionPipelined) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    std::vector<std::string> ids, bodies;
    for (int i = 0; i < 12; ++i) {
        ids.push_back(unique_id());
        bodies.push_back(make_message(ids.back(), "From: alice@localhost\r\nTo: bob@localhost\r\n", 500 + 300 * i));
        tmp.write(fmt_name(i), bodies.back());
    }
    tmp.write("dir/notes.txt", "not a message");  // only *.eml files are taken from a directory
    auto r = run_cli(with(send_args(), {"--json", "--log", tmp.path("log"), tmp.path("dir")}), pw(), 120);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = sent_list(r);
    ASSERT_EQ(j.size(), ids.size()) << j.dump(2);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        EXPECT_EQ(j[i]["ok"], true) << j[i].dump(2);
        EXPECT_NE(j[i]["message"].get<std::string>().find(fmt_name(static_cast<int>(i)).substr(4)), std::string::npos);
        EXPECT_TRUE(j[i]["queue_id"].is_string());
    }
    const auto log = read_file(tmp.path("log"));
    // One connection: one greeting, one login; every transaction on it.
    std::size_t greetings = 0, mails = 0;
    for (const auto& l : lines_of(log)) {
        if (l.rfind("S: 220 ", 0) == 0 && l.find("ESMTP") != std::string::npos) ++greetings;
        if (l.rfind("C: MAIL FROM:", 0) == 0) ++mails;
    }
    EXPECT_EQ(greetings, 1u) << log.substr(0, 3000);
    EXPECT_EQ(mails, ids.size());
    // Pipelined across messages: a later MAIL FROM was written before an earlier message's reply.
    const auto second_mail = log.find("C: MAIL FROM:", log.find("C: MAIL FROM:") + 1);
    const auto first_queued = log.find("queued as");
    EXPECT_LT(second_mail, first_queued) << log.substr(0, 3000);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto got = delivered("bob", ids[i] + "@send.mailwire.test");
        EXPECT_TRUE(!got.empty() && body_of(got) == body_of(bodies[i])) << "message " << i;
        expunge("bob", "Message-ID", ids[i]);
    }
}

TEST(CliSend, ARefusedMessageInABatchDoesNotSpoilTheOthers) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    std::vector<std::string> ids, files;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(unique_id());
        // The middle message goes only to an unknown user.
        const std::string to = i == 1 ? "nobody@localhost" : "bob@localhost";
        files.push_back(tmp.write("m" + std::to_string(i) + ".eml",
                                  make_message(ids.back(), "From: alice@localhost\r\nTo: " + to + "\r\n", 800)));
    }
    for (bool chunking : {true, false}) {
        auto args = with(send_args(), {"--json"});
        if (!chunking) args.push_back("--no-chunking");
        args.insert(args.end(), files.begin(), files.end());
        auto r = run_cli(args, pw());
        EXPECT_EQ(r.exit_code, 7) << describe(r);
        const auto j = sent_list(r);
        ASSERT_EQ(j.size(), 3u) << j.dump(2);
        EXPECT_EQ(j[0]["ok"], true);
        EXPECT_EQ(j[1]["ok"], false);
        EXPECT_EQ(j[1]["error"]["recipient"], "nobody@localhost") << j[1].dump(2);
        EXPECT_EQ(j[1]["error"]["reply"]["code"].get<int>() / 100, 5);
        EXPECT_EQ(j[2]["ok"], true);
        // The third message went with its own envelope, not into the refused transaction.
        EXPECT_EQ(j[2]["recipients"][0]["address"], "bob@localhost");
        EXPECT_EQ(j[2]["recipients"][0]["accepted"], true);
        for (int i : {0, 2}) {
            EXPECT_FALSE(delivered("bob", ids[i] + "@send.mailwire.test").empty()) << i << " chunking " << chunking;
            expunge("bob", "Message-ID", ids[i]);
        }
    }
    // The text form: one line each, and a summary.
    auto h = run_cli(with(send_args(), {files[0], files[1]}), pw());
    EXPECT_EQ(h.exit_code, 7) << describe(h);
    EXPECT_NE(h.out.find("failed    " + files[1]), std::string::npos) << h.out;
    EXPECT_NE(h.out.find("1 of 2 messages sent to every recipient, 1 refused"), std::string::npos) << h.out;
    expunge("bob", "Message-ID", ids[0]);
}

// ---- composing -------------------------------------------------------------------------------------

TEST(CliSend, ComposedMessageWithAttachmentReparsesToTheRightTree) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    const auto marker = "mwcompose" + unique_id();
    std::string blob(70000, '\0');
    std::mt19937 rng(7);
    for (auto& c : blob) c = static_cast<char>(rng() & 0xff);
    const auto attachment = tmp.write("data.bin", blob);
    const auto html = tmp.write("body.html", "<p>Hallo <b>" + marker + "</b></p>\n");
    auto r = run_cli(with(send_args(), {"--json", "--from", "Alice Example <alice@localhost>", "--to", "bob@localhost",
                                        "--cc", "Bob Again <bob@LOCALHOST>", "--bcc", "carol@localhost", "--subject",
                                        "Grüße " + marker, "--body", "Text body\nline two " + marker + "\n",
                                        "--html-file", html, "--attach", attachment}),
                     pw());
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = sent_list(r);
    ASSERT_EQ(j.size(), 1u);
    // bob@localhost and bob@LOCALHOST are one envelope recipient.
    EXPECT_EQ(j[0]["recipients"].size(), 2u) << j.dump(2);

    for (const char* user : {"bob", "carol"}) {
        const auto got = delivered(user, marker);
        ASSERT_FALSE(got.empty()) << "not delivered to " << user;
        const auto m = mime::message::parse(got);
        EXPECT_NE(m.get("Message-ID"), "");
        EXPECT_NE(m.get("Date"), "");
        EXPECT_NE(m.get("From").find("alice@localhost"), std::string::npos);
        EXPECT_NE(m.get("To").find("bob@localhost"), std::string::npos);
        EXPECT_NE(m.get("Cc").find("bob@LOCALHOST"), std::string::npos);
        EXPECT_EQ(m.find("Bcc"), nullptr);
        EXPECT_EQ(got.find("carol@localhost", got.find("\n\n")), std::string::npos) << "Bcc leaked into the message";
        EXPECT_EQ(m.subject(), "Grüße " + marker);
        // multipart/mixed( multipart/alternative( text/plain, text/html ), application/octet-stream )
        EXPECT_EQ(m.content_type().type, "multipart");
        EXPECT_EQ(m.content_type().subtype, "mixed");
        ASSERT_EQ(m.parts().size(), 2u);
        const auto& alt = m.parts()[0];
        EXPECT_EQ(alt.content_type().subtype, "alternative");
        ASSERT_EQ(alt.parts().size(), 2u);
        EXPECT_EQ(alt.parts()[0].content_type().subtype, "plain");
        EXPECT_NE(alt.parts()[0].text().find("line two " + marker), std::string::npos);
        EXPECT_EQ(alt.parts()[1].content_type().subtype, "html");
        const auto& att = m.parts()[1];
        EXPECT_EQ(att.filename(), "data.bin");
        EXPECT_TRUE(att.decoded_body() == blob) << "attachment bytes differ";
        expunge(user, "Subject", marker);
    }
}

// ---- DSN, DATA, big files -----------------------------------------------------------------------------

TEST(CliSend, DsnOptionsGoOnTheWire) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    const auto id = unique_id();
    const auto file = tmp.write("m.eml", make_message(id, "From: alice@localhost\r\nTo: bob@localhost\r\n", 900));
    auto r = run_cli(with(send_args(), {"--log", tmp.path("log"), "--notify", "failure,delay", "--ret", "hdrs",
                                        "--envid", "env+" + id, "--orcpt", "--no-pipelining", file}),
                     pw());
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto log = read_file(tmp.path("log"));
    EXPECT_NE(log.find("RET=HDRS ENVID=env+2B" + id), std::string::npos) << log.substr(0, 3000);
    EXPECT_NE(log.find("NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@localhost"), std::string::npos) << log.substr(0, 3000);
    EXPECT_FALSE(delivered("bob", id + "@send.mailwire.test").empty());
    expunge("bob", "Message-ID", id);

    auto bad = run_cli(with(send_args(), {"--notify", "never,success", file}), pw());
    EXPECT_EQ(bad.exit_code, 2) << describe(bad);
}

TEST(CliSend, LargeFileStreamsWithFlatMemoryAndProgress) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    const auto id = unique_id();
    const auto file = tmp.path("big.eml");
    std::uint64_t size = 0, body_lf = 0;
    {
        // 60 MB, written in pieces: neither this test nor the CLI holds it whole.
        std::ofstream out(file, std::ios::binary);
        const auto head = make_message(id, "From: alice@localhost\r\nTo: bob@localhost\r\n", 0);
        out << head;
        std::string block;
        for (int i = 0; i < 1000; ++i) block += "line " + std::to_string(i) + " of a large streamed message ......\r\n";
        size = head.size();
        while (size < (60u << 20)) {
            out << block;
            size += block.size();
            body_lf += block.size() - 1000;  // as maildir stores it: LF line ends
        }
    }
    auto r = run_cli(with(send_args(), {"--progress", "always", file}), pw(), 300);
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.err.find("upload " + file), std::string::npos) << r.err.substr(0, 500);
    // ru_maxrss of the largest child so far (KiB): the CLI's peak stays far below the file size.
    EXPECT_LT(usage.ru_maxrss, 40 * 1024) << "peak RSS " << usage.ru_maxrss << " KiB for a " << size << " byte file";
    const auto got = delivered("bob", id + "@send.mailwire.test", 180s);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(body_of(got).size(), body_lf);
    expunge("bob", "Message-ID", id);
}

// ---- several connections ----------------------------------------------------------------------------

// How many messages for `user` hold `marker` in their header section.
std::size_t deliveries(const std::string& user, const std::string& marker) {
    std::size_t n = 0;
    visit_maildir(fs::path(need("MAIL_ROOT")) / user, 16 << 10, [&](const std::string& head, std::istream&) {
        if (head.find(marker) != std::string::npos) ++n;
        return false;
    });
    return n;
}

TEST(CliSend, SeveralConnectionsDeliverEveryMessageExactlyOnceInInputOrder) {
    REQUIRE_HARNESS();
    REQUIRE_POSTFIX();
    scratch tmp;
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i) {
        ids.push_back(unique_id());
        tmp.write(fmt_name(i), make_message(ids.back(), "From: alice@localhost\r\nTo: bob@localhost\r\n", 400));
    }
    auto r = run_cli(with(send_args(), {"--jsonl", "--connections", "4", "--log", tmp.path("log"), tmp.path("dir")}),
                     pw(), 120);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::vector<json> lines;
    for (const auto& l : lines_of(r.out))
        if (!l.empty()) lines.push_back(json::parse(l));
    ASSERT_EQ(lines.size(), ids.size() + 1) << r.out;
    std::set<std::string> queue_ids;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        EXPECT_EQ(lines[i]["ok"], true) << lines[i].dump(2);
        EXPECT_NE(lines[i]["message"].get<std::string>().find(fmt_name(static_cast<int>(i)).substr(4)),
                  std::string::npos);
        queue_ids.insert(lines[i]["queue_id"].get<std::string>());
    }
    EXPECT_EQ(queue_ids.size(), ids.size()) << "Postfix queued each message once";
    EXPECT_EQ(lines.back()["ok"], true);
    EXPECT_EQ(lines.back()["connections"], 4);
    // --log records the first connection only: one greeting.
    std::size_t greetings = 0;
    for (const auto& l : lines_of(read_file(tmp.path("log"))))
        if (l.rfind("S: 220 ", 0) == 0 && l.find("ESMTP") != std::string::npos) ++greetings;
    EXPECT_EQ(greetings, 1u);
    for (const auto& id : ids) ASSERT_FALSE(delivered("bob", id + "@send.mailwire.test").empty()) << id;
    std::this_thread::sleep_for(1s);  // a duplicate would be on its way by now
    for (const auto& id : ids) {
        EXPECT_EQ(deliveries("bob", id + "@send.mailwire.test"), 1u) << id;
        expunge("bob", "Message-ID", id);
    }
}

}  // namespace
}  // namespace mailwire::test
