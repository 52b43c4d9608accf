// Sending through the real Postfix (submission with STARTTLS + AUTH, and implicit TLS), read back
// from Dovecot's maildir: bodies must arrive byte-exact. Plus the scripted server for what Postfix
// will not do: a 421 mid-transaction, a disconnect during DATA, a slow server, split replies.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include "mailwire/mime/builder.hpp"
#include "mailwire/mime/serializer.hpp"
#include "mailwire/smtp/client.hpp"
#include "mailwire/smtp/data.hpp"
#include "support/maildir.hpp"
#include "support/scripted_server.hpp"
#include "support/server_env.hpp"

namespace mailwire::smtp {
namespace {

using namespace std::chrono_literals;
using test::server_env;

std::unique_ptr<client> submission(const char* port_key = "SUBMISSION_PORT", security mode = security::starttls) {
    const auto& env = server_env::get();
    auto c = std::make_unique<client>();
    c->tls().ca_file = env.str("CA_FILE");
    c->connect(env.str("HOST"), env.port(port_key), mode);
    c->authenticate(env.str("USER1"), env.str("PASS1"));
    return c;
}

std::string unique_id() {
    static std::mt19937_64 rng(std::random_device{}());
    return std::to_string(rng());
}

// Builds a message whose body has long runs, dot-led lines and (optionally) 8-bit text.
std::string make_message(const std::string& id, std::size_t body_bytes, bool eight_bit = false) {
    std::string m = "From: alice@localhost\r\nTo: bob@localhost\r\nSubject: test " + id + "\r\nMessage-ID: <" + id +
                    "@mailwire.test>\r\n";
    if (eight_bit)
        m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n";
    m += "\r\n";
    std::mt19937 rng(static_cast<unsigned>(body_bytes));
    std::size_t line = 0;
    while (m.size() < body_bytes) {
        switch (line++ % 7) {
        case 0:
            m += ".leading dot line\r\n";
            break;
        case 1:
            m += "..two dots\r\n";
            break;
        case 2:
            m += ".\r\n";
            break;  // a lone dot must not end the message
        case 3:
            m += eight_bit ? "Grüße aus Köln — ünïcödé ✓\r\n" : "plain ascii line\r\n";
            break;
        default: {
            std::string l(20 + rng() % 60, 'x');
            for (auto& c : l) c = static_cast<char>('a' + rng() % 26);
            m += l + "\r\n";
        }
        }
    }
    return m;
}

// Waits for Dovecot to store a message containing `marker` for `user`; returns its bytes.
std::string delivered(const std::string& user, const std::string& marker, std::chrono::seconds limit = 60s) {
    return test::wait_in_maildir(std::filesystem::path(server_env::get().str("MAIL_ROOT")) / user, marker, limit);
}

std::string body_of(std::string message) {
    // Maildir keeps LF line ends; compare bodies in that form.
    std::string lf;
    lf.reserve(message.size());
    for (std::size_t i = 0; i < message.size(); ++i)
        if (!(message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n')) lf += message[i];
    auto sep = lf.find("\n\n");
    return sep == std::string::npos ? std::string() : lf.substr(sep + 2);
}

TEST(smtp_send, bodies_arrive_byte_exact_at_every_size) {
    auto c = submission();
    for (std::size_t size :
         {std::size_t(1) << 10, std::size_t(300) << 10, std::size_t(3) << 20, std::size_t(50) << 20}) {
        const auto id = unique_id();
        const auto msg = make_message(id, size);
        envelope env{"alice@localhost", {"bob@localhost"}};
        std::uint64_t progress = 0;
        c->on_progress([&](std::uint64_t sent, std::optional<std::uint64_t>) { progress = sent; });
        auto r = c->send(env, msg);
        EXPECT_TRUE(r.all_accepted());
        EXPECT_EQ(r.final_reply.code, 250);
        EXPECT_EQ(r.bytes, msg.size());
        EXPECT_EQ(progress, msg.size());
        const auto got = delivered("bob", id + "@mailwire.test");
        ASSERT_FALSE(got.empty()) << "not delivered: " << size;
        EXPECT_TRUE(body_of(got) == body_of(msg)) << "body differs at size " << size;
    }
    c->disconnect();
}

TEST(smtp_send, data_path_without_chunking_or_pipelining) {
    auto c = submission("SMTPS_PORT", security::implicit_tls);
    c->use_chunking(false);
    c->use_pipelining(false);
    const auto id = unique_id();
    const auto msg = make_message(id, 200 << 10);
    auto r = c->send(envelope{"alice@localhost", {"bob@localhost"}}, msg);
    EXPECT_FALSE(r.chunked);
    EXPECT_EQ(r.final_reply.code, 250);
    EXPECT_EQ(body_of(delivered("bob", id + "@mailwire.test")), body_of(msg));
    c->disconnect();
}

TEST(smtp_send, pipelined_data_when_chunking_is_off) {
    auto c = submission();
    c->use_chunking(false);
    const auto id = unique_id();
    const auto msg = make_message(id, 2 << 20);
    auto r = c->send(envelope{"alice@localhost", {"bob@localhost"}}, msg);
    EXPECT_FALSE(r.chunked);
    EXPECT_EQ(body_of(delivered("bob", id + "@mailwire.test")), body_of(msg));
    c->disconnect();
}

TEST(smtp_send, eight_bit_body_arrives_intact) {
    auto c = submission();
    ASSERT_TRUE(c->capabilities().eight_bit_mime);
    const auto id = unique_id();
    const auto msg = make_message(id, 4096, true);
    envelope env{"alice@localhost", {"bob@localhost"}};
    env.body = body_type::eight_bit_mime;
    auto r = c->send(env, msg);
    EXPECT_TRUE(r.all_accepted());
    EXPECT_EQ(body_of(delivered("bob", id + "@mailwire.test")), body_of(msg));
    c->disconnect();
}

TEST(smtp_send, utf8_address_goes_out_with_smtputf8) {
    // Postfix takes the SMTPUTF8 transaction; final delivery to Dovecot 2.3 then bounces (its
    // LMTP does not offer SMTPUTF8), so acceptance by the submission server is what is checked.
    auto c = submission();
    ASSERT_TRUE(c->capabilities().smtputf8);
    std::vector<std::string> sent;
    c->set_logger([&](log_direction d, std::string_view l) {
        if (d == log_direction::client) sent.emplace_back(l);
    });
    envelope env{"jörg@localhost", {"bob@localhost"}};
    env.body = body_type::eight_bit_mime;
    auto r = c->send(env, make_message(unique_id(), 1024, true));
    EXPECT_EQ(r.final_reply.code, 250);
    ASSERT_FALSE(sent.empty());
    EXPECT_NE(sent.front().find("SMTPUTF8"), std::string::npos) << sent.front();
    EXPECT_NE(sent.front().find("BODY=8BITMIME"), std::string::npos) << sent.front();
    c->disconnect();
}

TEST(smtp_send, one_refused_recipient_among_accepted_ones) {
    auto c = submission();
    const auto id = unique_id();
    const auto msg = make_message(id, 2048);
    auto r = c->send(envelope{"alice@localhost", {"alice@localhost", "nobody@localhost", "bob@localhost"}}, msg);
    ASSERT_EQ(r.recipients.size(), 3u);
    EXPECT_TRUE(r.recipients[0].accepted);
    EXPECT_FALSE(r.recipients[1].accepted);
    EXPECT_TRUE(r.recipients[1].reply.permanent());
    EXPECT_FALSE(r.recipients[1].reply.enhanced_code.empty());
    EXPECT_TRUE(r.recipients[2].accepted);
    EXPECT_EQ(r.accepted(), 2u);
    EXPECT_FALSE(delivered("alice", id + "@mailwire.test").empty());
    EXPECT_FALSE(delivered("bob", id + "@mailwire.test").empty());
    c->disconnect();
}

TEST(smtp_send, all_recipients_refused_is_an_error_and_the_session_lives_on) {
    auto c = submission();
    try {
        c->send(envelope{"alice@localhost", {"nobody@localhost"}}, make_message(unique_id(), 100));
        FAIL();
    } catch (const smtp_error& e) {
        EXPECT_EQ(e.recipient(), "nobody@localhost");
        EXPECT_TRUE(e.permanent());
        EXPECT_EQ(e.status() / 100, 5);
    }
    EXPECT_TRUE(c->is_connected());
    const auto id = unique_id();
    auto r = c->send(envelope{"alice@localhost", {"bob@localhost"}}, make_message(id, 100));
    EXPECT_TRUE(r.all_accepted());
    c->disconnect();
}

TEST(smtp_send, several_messages_over_one_connection) {
    auto c = submission("SMTPS_PORT", security::implicit_tls);
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) {
        ids.push_back(unique_id());
        c->send(envelope{"alice@localhost", {"bob@localhost"}}, make_message(ids.back(), 1500));
    }
    for (const auto& id : ids) EXPECT_FALSE(delivered("bob", id + "@mailwire.test").empty());
    c->disconnect();
}

TEST(smtp_send, send_many_pipelines_across_messages_and_isolates_a_refused_one) {
    auto c = submission();
    std::vector<std::string> ids;
    std::vector<std::string> msgs;
    std::vector<outgoing> batch;
    for (int i = 0; i < 40; ++i) {
        ids.push_back(unique_id());
        msgs.push_back(make_message(ids.back(), 600 + 97 * static_cast<std::size_t>(i)));
    }
    for (int i = 0; i < 40; ++i) {
        // Message 7 goes only to an unknown user; 20 is larger than the inline limit (streamed).
        if (i == 20) msgs[20] = make_message(ids[20], 600 << 10);
        const std::string to = i == 7 ? "nobody@localhost" : "bob@localhost";
        batch.push_back({envelope{"alice@localhost", {to}}, memory_source(msgs[static_cast<std::size_t>(i)])});
    }
    std::size_t mails_before_first_reply = 0;
    bool replied = false;
    c->set_logger([&](log_direction d, std::string_view l) {
        if (d == log_direction::server) replied = true;
        if (d == log_direction::client && l.starts_with("MAIL FROM") && !replied) ++mails_before_first_reply;
    });
    const auto outcomes = c->send_many(std::move(batch));
    c->set_logger({});
    ASSERT_EQ(outcomes.size(), 40u);
    EXPECT_GT(mails_before_first_reply, 1u) << "not pipelined across messages";
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        EXPECT_EQ(outcomes[i].index, i);
        if (i == 7) {
            ASSERT_FALSE(outcomes[i].ok());
            try {
                std::rethrow_exception(outcomes[i].error);
            } catch (const smtp_error& e) {
                EXPECT_EQ(e.recipient(), "nobody@localhost");
                EXPECT_TRUE(e.permanent());
            }
            continue;
        }
        ASSERT_TRUE(outcomes[i].ok()) << i;
        EXPECT_EQ(outcomes[i].result.final_reply.code, 250);
        EXPECT_EQ(outcomes[i].result.bytes, msgs[i].size());
    }
    EXPECT_TRUE(c->is_connected());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i == 7) continue;
        const auto got = delivered("bob", ids[i] + "@mailwire.test");
        EXPECT_TRUE(!got.empty() && body_of(got) == body_of(msgs[i])) << "message " << i;
    }
    c->disconnect();
}

class huge_source final : public message_source {
public:
    std::size_t read(char*, std::size_t) override { return 0; }
    std::optional<std::uint64_t> size() const override { return 200ull << 20; }
};

TEST(smtp_send, larger_than_size_is_refused_before_upload) {
    auto c = submission();
    ASSERT_TRUE(c->capabilities().has_size);
    huge_source big;
    try {
        c->send(envelope{"alice@localhost", {"bob@localhost"}}, big);
        FAIL();
    } catch (const smtp_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded);
    }
    c->noop();
    c->disconnect();
}

TEST(smtp_send, file_source_and_vrfy_rset) {
    auto c = submission();
    const auto id = unique_id();
    const auto msg = make_message(id, 100 << 10);
    const auto path = std::filesystem::temp_directory_path() / ("mw-" + id + ".eml");
    std::ofstream(path, std::ios::binary) << msg;
    auto src = file_source(path.string());
    c->send(envelope{"alice@localhost", {"bob@localhost"}}, *src);
    std::filesystem::remove(path);
    EXPECT_EQ(body_of(delivered("bob", id + "@mailwire.test")), body_of(msg));
    c->rset();
    EXPECT_GT(c->vrfy("bob").code, 0);
    EXPECT_THROW(c->vrfy("bob\r\nRSET"), error);
    c->disconnect();
}

TEST(smtp_send, composed_message_obeys_the_rfcs_end_to_end) {
    // Issue #13 item 8 against Postfix and Dovecot: an attached .eml (LF line ends, 8-bit text)
    // goes as message/rfc822 8bit, never base64; the From name is RFC 2047 and a Cc domain an
    // A-label, so the header section is ASCII and MAIL FROM carries BODY=8BITMIME but no SMTPUTF8;
    // the message file itself has LF line ends and SIZE= counts them as CRLF.
    const auto id = unique_id();
    const auto path = std::filesystem::temp_directory_path() / ("mw-inner-" + id + ".eml");
    std::ofstream(path, std::ios::binary) << "From: carol@localhost\nSubject: inner " + id + "\n\nGrüße\n";
    mime::message_builder b;
    b.from({"Jörg", "alice", "localhost"})
        .to({"", "bob", "localhost"})
        .cc({"", "x", "bücher.example"})
        .subject("outer " + id)
        .text("see the attached message\n")
        .attach_file(path.string())
        .message_id(id + "@mailwire.test");
    std::string lf;  // the composed message as a file written on Unix might hold it
    for (const char ch : mime::to_string(b.build()))
        if (ch != '\r') lf += ch;
    auto c = submission();
    std::vector<std::string> sent;
    c->set_logger([&](log_direction d, std::string_view l) {
        if (d == log_direction::client && l.starts_with("MAIL FROM")) sent.emplace_back(l);
    });
    const auto r = c->send(envelope{"alice@localhost", {"bob@localhost"}}, lf);
    std::filesystem::remove(path);
    EXPECT_EQ(r.final_reply.code, 250);
    EXPECT_FALSE(queue_id(r.final_reply).empty()) << r.final_reply.text();  // Postfix's "queued as"
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_NE(sent[0].find("BODY=8BITMIME"), std::string::npos) << sent[0];
    EXPECT_EQ(sent[0].find("SMTPUTF8"), std::string::npos) << sent[0];
    EXPECT_NE(sent[0].find("SIZE=" + std::to_string(transmitted_size(lf))), std::string::npos) << sent[0];
    c->disconnect();

    const auto got = delivered("bob", id + "@mailwire.test");
    ASSERT_FALSE(got.empty());
    const std::string head = got.substr(0, got.find("\n\n"));
    for (const char ch : head) EXPECT_LT(static_cast<unsigned char>(ch), 0x80) << head;
    EXPECT_NE(head.find("x@xn--bcher-kva.example"), std::string::npos) << head;
    EXPECT_EQ(got.find("base64"), std::string::npos) << got;
    const auto m = mime::message::parse(got);
    ASSERT_EQ(m.parts().size(), 2u);
    EXPECT_EQ(m.parts()[1].content_type().mime_type(), "message/rfc822");
    EXPECT_EQ(m.parts()[1].encoding(), mime::transfer_encoding::eight_bit);
    ASSERT_NE(m.parts()[1].embedded(), nullptr);
    EXPECT_EQ(m.parts()[1].embedded()->subject(), "inner " + id);
    EXPECT_EQ(m.from()[0].members[0].name, "Jörg");
}

// ---- scripted servers ------------------------------------------------------------------------

using test::script;
using test::scripted_server;

script ehlo(std::string extra) {
    return std::move(script{}
                         .send("220 scripted ESMTP\r\n")
                         .expect_line_matching("^EHLO ")
                         .send("250-scripted\r\n" + extra + "250 8BITMIME\r\n"));
}

TEST(smtp_scripted, dot_lines_are_stuffed_on_the_wire) {
    scripted_server srv(ehlo("")
                            .expect_line("MAIL FROM:<a@x>")
                            .send("250 ok\r\n")
                            .expect_line("RCPT TO:<b@x>")
                            .send("250 ok\r\n")
                            .expect_line("DATA")
                            .send("354 go\r\n")
                            .read_dot_body()
                            .send("250 queued\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    client c;
    c.connect(srv.host(), srv.port(), security::none);
    auto r = c.send(envelope{"a@x", {"b@x"}}, "Subject: s\n\n.one\n..two\n.\nend");
    EXPECT_EQ(r.final_reply.code, 250);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    ASSERT_EQ(srv.captured().size(), 1u);
    EXPECT_EQ(srv.captured()[0], "Subject: s\r\n\r\n..one\r\n...two\r\n..\r\nend\r\n.\r\n");
}

TEST(smtp_scripted, pipelined_replies_split_across_packets) {
    scripted_server srv(
        ehlo("250-PIPELINING\r\n")
            .expect_line("MAIL FROM:<a@x>")
            .expect_line("RCPT TO:<b@x>")
            .expect_line("RCPT TO:<c@x>")
            .expect_line("DATA")
            .send_split({"250 2.1.0 o", "k\r\n250 2.1.5 ok\r\n55", "0 5.1.1 no such user\r\n354 go\r\n"}, 30ms)
            .read_dot_body()
            .send("250 2.0.0 queued\r\n")
            .expect_line("QUIT")
            .send("221 bye\r\n"));
    client c;
    c.connect(srv.host(), srv.port(), security::none);
    auto r = c.send(envelope{"a@x", {"b@x", "c@x"}}, "Subject: s\r\n\r\nhi\r\n");
    EXPECT_EQ(r.accepted(), 1u);
    EXPECT_EQ(r.recipients[1].reply.enhanced_code, "5.1.1");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_scripted, a_421_mid_transaction_closes_the_session) {
    scripted_server srv(ehlo("")
                            .expect_line("MAIL FROM:<a@x>")
                            .send("250 ok\r\n")
                            .expect_line("RCPT TO:<b@x>")
                            .send("421 4.3.2 shutting down\r\n")
                            .close());
    client c;
    c.connect(srv.host(), srv.port(), security::none);
    try {
        c.send(envelope{"a@x", {"b@x"}}, "x\r\n");
        FAIL();
    } catch (const smtp_error& e) {
        EXPECT_EQ(e.status(), 421);
        EXPECT_TRUE(e.transient());
        EXPECT_EQ(e.code(), errc::connection_closed);
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_scripted, disconnect_during_data) {
    scripted_server srv(ehlo("")
                            .expect_line("MAIL FROM:<a@x>")
                            .send("250 ok\r\n")
                            .expect_line("RCPT TO:<b@x>")
                            .send("250 ok\r\n")
                            .expect_line("DATA")
                            .send("354 go\r\n")
                            .expect_bytes(1000)
                            .reset());
    client c;
    c.timeouts().io = 3s;
    c.connect(srv.host(), srv.port(), security::none);
    const std::string big(4 << 20, 'a');
    EXPECT_THROW(c.send(envelope{"a@x", {"b@x"}}, big), error);
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_scripted, slow_server_times_out) {
    scripted_server srv(ehlo("")
                            .expect_line("MAIL FROM:<a@x>")
                            .send("250 ok\r\n")
                            .expect_line("RCPT TO:<b@x>")
                            .send("250 ok\r\n")
                            .expect_line("DATA")
                            .send("354 go\r\n")
                            .read_dot_body()
                            .stall(5s));
    client c;
    c.timeouts().io = 500ms;
    c.connect(srv.host(), srv.port(), security::none);
    const auto t0 = std::chrono::steady_clock::now();
    try {
        c.send(envelope{"a@x", {"b@x"}}, "x\r\n");
        FAIL();
    } catch (const timeout_error& e) {
        EXPECT_EQ(e.stage(), stage::data);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    srv.stop();
}

TEST(smtp_scripted, bdat_chunks_without_pipelining) {
    scripted_server srv(ehlo("250-CHUNKING\r\n")
                            .expect_line("MAIL FROM:<a@x>")
                            .send("250 ok\r\n")
                            .expect_line("RCPT TO:<b@x>")
                            .send("250 ok\r\n")
                            .expect_line("BDAT 10 LAST")
                            .expect_exact("a\r\n.b\r\nc\r\n")
                            .send("250 2.0.0 got it\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    client c;
    c.connect(srv.host(), srv.port(), security::none);
    send_result r;
    try {
        r = c.send(envelope{"a@x", {"b@x"}}, "a\n.b\nc");
    } catch (const error& e) {
        FAIL() << e.what() << " / server: " << srv.wait();
    }
    EXPECT_TRUE(r.chunked);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_scripted, smtputf8_needs_the_extension_and_addresses_are_checked) {
    scripted_server srv(ehlo("").expect_line("QUIT").send("221 bye\r\n"));
    client c;
    c.connect(srv.host(), srv.port(), security::none);
    EXPECT_THROW(c.send(envelope{"jörg@x", {"b@x"}}, "x"), smtp_error);
    EXPECT_THROW(c.send(envelope{"a@x>\r\nRSET", {"b@x"}}, "x"), error);
    EXPECT_THROW(c.send(envelope{"a@x", {}}, "x"), error);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

std::string bdat_group(const std::string& from, const std::string& to, const std::string& body, bool rset) {
    return (rset ? std::string("RSET\r\n") : std::string()) + "MAIL FROM:<" + from + ">\r\nRCPT TO:<" + to +
           ">\r\nBDAT " + std::to_string(body.size()) + " LAST\r\n" + body;
}

TEST(smtp_scripted, send_many_writes_the_next_transactions_before_the_replies) {
    // Three messages in one write: each after the first starts with RSET; the server answers only
    // once it has all three, and the middle one's recipient is refused.
    const std::string b = "Subject: s\r\n\r\nhi\r\n";
    scripted_server srv(ehlo("250-PIPELINING\r\n250-CHUNKING\r\n")
                            .expect_exact(bdat_group("a@x", "b@x", b, false))
                            .expect_exact(bdat_group("a@x", "c@x", b, true))
                            .expect_exact(bdat_group("a@x", "b@x", b, true))
                            .send("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.0.0 queued as A1\r\n")
                            .send("250 2.0.0 reset\r\n250 2.1.0 ok\r\n550 5.1.1 no such user\r\n"
                                  "554 5.5.1 no valid recipients\r\n")
                            .send("250 2.0.0 reset\r\n250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.0.0 queued as A3\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    client c;
    c.connect(srv.host(), srv.port(), security::none);
    std::vector<outgoing> batch;
    for (const char* to : {"b@x", "c@x", "b@x"}) batch.push_back({envelope{"a@x", {to}}, memory_source(b)});
    // The batch has only three messages: they all go in the first write, before any reply.
    std::vector<batch_outcome> out;
    try {
        out = c.send_many(std::move(batch));
    } catch (const error& e) {
        FAIL() << e.what() << " / server: " << srv.wait();
    }
    ASSERT_EQ(out.size(), 3u);
    EXPECT_TRUE(out[0].ok());
    EXPECT_EQ(out[0].result.final_reply.text(), "queued as A1");
    EXPECT_FALSE(out[1].ok());
    ASSERT_EQ(out[1].result.recipients.size(), 1u);
    EXPECT_EQ(out[1].result.recipients[0].reply.enhanced_code, "5.1.1");
    EXPECT_TRUE(out[2].ok());
    EXPECT_EQ(out[2].result.final_reply.text(), "queued as A3");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_scripted, send_many_421_fails_every_message_in_flight_and_throws) {
    const std::string b = "x\r\n";
    scripted_server srv(ehlo("250-PIPELINING\r\n250-CHUNKING\r\n")
                            .expect_exact(bdat_group("a@x", "b@x", b, false))
                            .expect_exact(bdat_group("a@x", "b@x", b, true))
                            .send("250 ok\r\n250 ok\r\n250 queued as Q1\r\n421 4.3.2 shutting down\r\n")
                            .close());
    client c;
    c.connect(srv.host(), srv.port(), security::none);
    std::vector<batch_outcome> out;
    int handed = 0;
    try {
        c.send_many(
            [&](outgoing& m) {
                if (handed == 2) return false;
                ++handed;
                m.env = envelope{"a@x", {"b@x"}};
                m.message = memory_source(b);
                return true;
            },
            [&](batch_outcome&& o) { out.push_back(std::move(o)); });
        FAIL() << "no error";
    } catch (const smtp_error& e) {
        EXPECT_EQ(e.status(), 421);
    }
    EXPECT_FALSE(c.is_connected());
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0].ok());
    EXPECT_FALSE(out[1].ok());
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_scripted, send_many_settles_the_pipeline_when_next_throws) {
    const std::string b = "x\r\n";
    scripted_server srv(ehlo("250-PIPELINING\r\n250-CHUNKING\r\n")
                            .expect_exact(bdat_group("a@x", "b@x", b, false))
                            .send("250 ok\r\n250 ok\r\n250 queued as Q1\r\n")
                            .expect_line("NOOP")
                            .send("250 ok\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    client c;
    c.connect(srv.host(), srv.port(), security::none);
    std::vector<batch_outcome> out;
    int calls = 0;
    EXPECT_THROW(c.send_many(
                     [&](outgoing& m) {
                         if (calls++ == 1) throw std::runtime_error("the caller's source failed");
                         m.env = envelope{"a@x", {"b@x"}};
                         m.message = memory_source(b);
                         return true;
                     },
                     [&](batch_outcome&& o) { out.push_back(std::move(o)); }),
                 std::runtime_error);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].ok());
    c.noop();  // still in step with the server
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_scripted, send_many_without_pipelining_goes_one_at_a_time) {
    scripted_server srv(ehlo("")
                            .expect_line("MAIL FROM:<a@x>")
                            .send("250 ok\r\n")
                            .expect_line("RCPT TO:<b@x>")
                            .send("550 no\r\n")
                            .expect_line("RSET")
                            .send("250 reset\r\n")
                            .expect_line("MAIL FROM:<a@x>")
                            .send("250 ok\r\n")
                            .expect_line("RCPT TO:<c@x>")
                            .send("250 ok\r\n")
                            .expect_line("DATA")
                            .send("354 go\r\n")
                            .read_dot_body()
                            .send("250 queued\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    client c;
    c.connect(srv.host(), srv.port(), security::none);
    std::vector<outgoing> batch;
    batch.push_back({envelope{"a@x", {"b@x"}}, memory_source("one\r\n")});
    batch.push_back({envelope{"a@x", {"c@x"}}, memory_source("two\r\n")});
    auto out = c.send_many(std::move(batch));
    ASSERT_EQ(out.size(), 2u);
    EXPECT_FALSE(out[0].ok());
    EXPECT_TRUE(out[1].ok());
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

}  // namespace
}  // namespace mailwire::smtp
