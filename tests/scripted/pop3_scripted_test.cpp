// POP3 against the scripted server: what Dovecot will not do — terminators split across reads,
// response codes, garbage listings, stalls mid-body, endless bodies, pipelining proven by a server
// that answers only once every command of a batch has arrived.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "mailwire/pop3/client.hpp"
#include "scripted_helpers.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::pop3 {
namespace {

using namespace std::chrono_literals;
using test::connect;
using test::script;
using test::scripted_server;

const char* const capa_reply = "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nUSER\r\n.\r\n";

// Greeting and CAPA, as every script starts.
script greeted(const char* capa = capa_reply) {
    return std::move(script{}.send("+OK scripted POP3 ready\r\n").expect_line("CAPA").send(capa));
}

struct collect {
    std::string bytes;
    void operator()(std::string_view c) { bytes.append(c); }
};

TEST(pop3_scripted, terminator_split_across_reads) {
    scripted_server srv(greeted()
                            .expect_line("RETR 1")
                            .send_split({"+OK 21 octets\r\nSubject: s\r\n\r\n..x\r", "\n.", "\r", "\n"})
                            .expect_line("TOP 1 0")
                            .send_split({"+OK\r\nSubject: s\r\n\r\n\r\n", ".", "\r\n"})
                            .expect_line("QUIT")
                            .send("+OK bye\r\n"));
    client c;
    connect(c, srv);
    std::string got;
    std::vector<std::uint64_t> progress;
    c.on_progress([&](std::uint32_t n, std::uint64_t received, std::optional<std::uint64_t> total) {
        EXPECT_EQ(n, 1u);
        EXPECT_EQ(total, 21u);
        progress.push_back(received);
    });
    EXPECT_EQ(c.retr(1, [&](std::string_view b) { got.append(b); }), 18u);
    EXPECT_EQ(got, "Subject: s\r\n\r\n.x\r\n");
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back(), 18u);
    c.on_progress({});
    EXPECT_EQ(c.top(1, 0), "Subject: s\r\n\r\n\r\n");
    c.quit();
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_scripted, in_use_at_login_and_at_a_command) {
    scripted_server srv(greeted()
                            .expect_line("USER bob")
                            .send("+OK\r\n")
                            .expect_line("PASS secret")
                            .send("-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n")
                            .expect_line("RETR 3")
                            .send("-ERR [SYS/TEMP] storage hiccup\r\n")
                            .expect_line("DELE 3")
                            .send("-ERR [IN-USE/SOMETHING] still busy\r\n")
                            .expect_line("NOOP")
                            .send("+OK\r\n")
                            .expect_line("QUIT")
                            .send("-ERR [SYS/PERM] some deleted messages not removed\r\n"));
    client c;
    connect(c, srv);
    c.allow_plaintext_auth(true);
    try {
        c.login("bob", "secret");
        FAIL();
    } catch (const auth_error& e) {
        EXPECT_EQ(e.response_code(), "IN-USE");
        EXPECT_EQ(e.server_text(), "Mailbox is locked by another POP3 session");
    }
    try {
        (void)c.retr(3);
        FAIL();
    } catch (const pop3_error& e) {
        EXPECT_EQ(e.code(), errc::command_failed);
        EXPECT_EQ(e.kind(), response_code::sys_temp);
        EXPECT_TRUE(e.transient());
        EXPECT_EQ(e.status().text, "storage hiccup");
    }
    try {
        c.dele(3);
        FAIL();
    } catch (const command_error& e) {  // pop3_error is a command_error
        const auto* p = dynamic_cast<const pop3_error*>(&e);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(p->kind(), response_code::in_use);
        EXPECT_EQ(p->response_code(), "IN-USE/SOMETHING");
    }
    EXPECT_TRUE(c.is_connected());
    c.noop();
    try {
        c.quit();
        FAIL();
    } catch (const pop3_error& e) {
        EXPECT_EQ(e.kind(), response_code::sys_perm);
        EXPECT_FALSE(e.transient());
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_scripted, garbage_listing_is_a_protocol_error) {
    scripted_server srv(greeted().expect_line("LIST").send("+OK 2 messages\r\n1 120\r\ntwo 7\r\n.\r\n").expect_eof());
    client c;
    connect(c, srv);
    try {
        (void)c.list();
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::protocol_violation);
        EXPECT_EQ(e.server_text(), "two 7");
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_scripted, garbage_status_line_is_a_protocol_error) {
    scripted_server srv(greeted().expect_line("STAT").send("* OK this is IMAP\r\n").expect_eof());
    client c;
    connect(c, srv);
    EXPECT_THROW((void)c.stat(), protocol_error);
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_scripted, garbage_uidl_and_stat) {
    scripted_server srv(greeted().expect_line("UIDL").send("+OK\r\n1 has spaces in it\r\n.\r\n").expect_eof());
    client c;
    connect(c, srv);
    EXPECT_THROW((void)c.uidl(), protocol_error);
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_scripted, stall_mid_retr_times_out) {
    scripted_server srv(
        greeted().expect_line("RETR 1").send("+OK 100000 octets\r\nSubject: slow\r\n\r\npart").stall(3s));
    client c;
    connect(c, srv);
    c.timeouts().io = 300ms;
    collect sink;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        c.retr(1, std::ref(sink));
        FAIL();
    } catch (const timeout_error& e) {
        EXPECT_EQ(e.code(), errc::timeout);
        EXPECT_EQ(e.stage(), stage::data);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_EQ(sink.bytes, "Subject: slow\r\n\r\npart");
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(pop3_scripted, oversized_unterminated_listing) {
    std::string lines;
    for (int i = 1; i <= 200; ++i) lines += std::to_string(i) + " 1000\r\n";
    scripted_server srv(greeted().expect_line("LIST").send("+OK\r\n" + lines).stall(3s));
    client c;
    connect(c, srv);
    c.limits().max_multiline_bytes = 1024;
    try {
        (void)c.list();
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded);
    }
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(pop3_scripted, oversized_unterminated_body) {
    const std::string line(998, 'x');
    std::string body;
    for (int i = 0; i < 300; ++i) body += line + "\r\n";  // 300 kB and no terminator
    scripted_server srv(greeted().expect_line("RETR 1").send("+OK\r\n" + body).stall(3s));
    client c;
    connect(c, srv);
    c.max_message_bytes(100'000);
    collect sink;
    try {
        c.retr(1, std::ref(sink));
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded);
        EXPECT_EQ(e.stage(), stage::data);
    }
    EXPECT_LE(sink.bytes.size(), 100'000u);  // never more than the limit reached the sink
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(pop3_scripted, pipelined_retrieve_sends_the_batch_before_reading) {
    // The server reads all three commands before it answers anything: a client that waited for
    // each reply would stall here and time out.
    scripted_server srv(
        greeted()
            .expect_line("RETR 1")
            .expect_line("RETR 2")
            .expect_line("RETR 3")
            .send("+OK 5 octets\r\none\r\n.\r\n-ERR [SYS/TEMP] no such message\r\n+OK\r\n..three\r\n.\r\n")
            .expect_line("LIST 1")
            .expect_line("LIST 9")
            .send("+OK 1 5\r\n-ERR no such message\r\n")
            .expect_line("UIDL 9")
            .expect_line("UIDL 3")
            .send("-ERR [SYS/TEMP] gone\r\n+OK 3 uid-three\r\n")
            .expect_line("QUIT")
            .send("+OK\r\n"));
    client c;
    connect(c, srv);
    ASSERT_TRUE(c.pipelining());
    struct handler : message_handler {
        std::vector<std::string> log;
        void begin(std::uint32_t n, std::optional<std::uint64_t> size) override {
            log.push_back("begin " + std::to_string(n) + " " + (size ? std::to_string(*size) : "?"));
        }
        void data(std::uint32_t n, std::string_view chunk) override {
            log.push_back("data " + std::to_string(n) + " " + std::string(chunk));
        }
        void end(std::uint32_t n, std::uint64_t bytes) override {
            log.push_back("end " + std::to_string(n) + " " + std::to_string(bytes));
        }
        void refused(std::uint32_t n, const status& st) override {
            log.push_back("refused " + std::to_string(n) + " " + st.code);
        }
    } h;
    const std::vector<std::uint32_t> numbers{1, 2, 3};
    auto r = c.retrieve(numbers, h);
    EXPECT_EQ(r.retrieved, 2u);
    EXPECT_EQ(r.bytes, 5u + 8u);
    EXPECT_EQ(r.refused, (std::vector<std::uint32_t>{2}));
    EXPECT_EQ(h.log, (std::vector<std::string>{"begin 1 5", "data 1 one\r\n", "end 1 5", "refused 2 SYS/TEMP",
                                               "begin 3 ?", "data 3 .three\r\n", "end 3 8"}));
    const std::vector<std::uint32_t> one_and_nine{1, 9};
    EXPECT_EQ(c.list(one_and_nine), (std::vector<std::optional<message_info>>{message_info{1, 5}, std::nullopt}));
    const std::vector<std::uint32_t> nine_and_three{9, 3};
    EXPECT_EQ(c.uidl(nine_and_three),
              (std::vector<std::optional<message_uid>>{std::nullopt, message_uid{3, "uid-three"}}));
    EXPECT_TRUE(c.is_connected());
    c.quit();
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_scripted, pipeline_window_bounds_outstanding_commands) {
    // Window 2: RETR 1 and RETR 2 go out together; RETR 3 only after an answer.
    scripted_server srv(greeted()
                            .expect_line("RETR 1")
                            .expect_line("RETR 2")
                            .send("+OK\r\n1\r\n.\r\n")
                            .expect_line("RETR 3")
                            .send("+OK\r\n2\r\n.\r\n+OK\r\n3\r\n.\r\n")
                            .expect_line("QUIT")
                            .send("+OK\r\n"));
    client c;
    connect(c, srv);
    c.pipeline_window(2);
    struct handler : message_handler {
        std::string all;
        void data(std::uint32_t, std::string_view chunk) override { all.append(chunk); }
    } h;
    const std::vector<std::uint32_t> numbers{1, 2, 3};
    EXPECT_EQ(c.retrieve(numbers, h).retrieved, 3u);
    EXPECT_EQ(h.all, "1\r\n2\r\n3\r\n");
    c.quit();
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_scripted, without_pipelining_commands_go_one_by_one) {
    scripted_server srv(greeted("+OK\r\nUIDL\r\n.\r\n")
                            .expect_line("RETR 1")
                            .send("+OK\r\nx\r\n.\r\n")
                            .expect_line("RETR 2")
                            .send("+OK\r\ny\r\n.\r\n")
                            .expect_line("QUIT")
                            .send("+OK\r\n"));
    client c;
    connect(c, srv);
    EXPECT_FALSE(c.pipelining());
    struct handler : message_handler {
        std::string all;
        void data(std::uint32_t, std::string_view chunk) override { all.append(chunk); }
    } h;
    const std::vector<std::uint32_t> numbers{1, 2};
    EXPECT_EQ(c.retrieve(numbers, h).bytes, 6u);
    EXPECT_EQ(h.all, "x\r\ny\r\n");
    c.quit();
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_scripted, sink_exception_ends_the_session) {
    scripted_server srv(greeted().expect_line("RETR 1").send("+OK\r\nabc\r\n").stall(2s));
    client c;
    connect(c, srv);
    EXPECT_THROW(c.retr(1, [](std::string_view) { throw std::runtime_error("disk full"); }), std::runtime_error);
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(pop3_scripted, stls_reply_with_injected_bytes_in_the_same_packet) {
    scripted_server srv(script{}
                            .send("+OK scripted\r\n")
                            .expect_line("CAPA")
                            .send("+OK\r\nSTLS\r\n.\r\n")
                            .expect_line("STLS")
                            .send("+OK begin TLS\r\n+OK injected\r\n")
                            .expect_eof());
    client c;
    c.timeouts().io = 2000ms;
    try {
        c.connect(srv.host(), srv.port(), security::starttls);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::starttls_injection);
        EXPECT_NE(e.server_text().find("injected"), std::string::npos);
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_scripted, utf8_needs_the_capability) {
    scripted_server srv(greeted("+OK\r\nUTF8 USER\r\nUSER\r\n.\r\n")
                            .expect_line("UTF8")
                            .send("+OK UTF8 enabled\r\n")
                            .expect_line("QUIT")
                            .send("+OK\r\n"));
    client c;
    connect(c, srv);
    EXPECT_FALSE(c.utf8_enabled());
    c.utf8();
    EXPECT_TRUE(c.utf8_enabled());
    c.quit();
    EXPECT_EQ(srv.wait(), "");

    scripted_server srv2(greeted().expect_line("QUIT").send("+OK\r\n"));
    client c2;
    connect(c2, srv2);
    EXPECT_THROW(c2.utf8(), config_error);
    c2.quit();
    EXPECT_EQ(srv2.wait(), "");
}

}  // namespace
}  // namespace mailwire::pop3

namespace mailwire::pop3 {
namespace {

TEST(pop3_scripted, long_status_lines_grow_the_buffer_up_to_the_line_limit) {
    const std::string text(300'000, 'x');
    scripted_server srv(greeted()
                            .expect_line("NOOP")
                            .send("+OK " + text + "\r\n+OK 1 uid-after-long-line\r\n")
                            .expect_line("UIDL 1")
                            .expect_line("NOOP")
                            .send("+OK " + text + "\r\n")
                            .stall(2s));
    client c;
    connect(c, srv);
    EXPECT_EQ(c.run("NOOP").text, text);
    // The reply that arrived with the long line was not lost.
    c.pipeline_window(1);
    const std::vector<std::uint32_t> one{1};
    EXPECT_EQ(c.uidl(one)[0], (message_uid{1, "uid-after-long-line"}));
    c.limits().max_line_length = 100'000;
    try {
        c.noop();
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded);
    }
    EXPECT_FALSE(c.is_connected());
    srv.stop();  // the client hung up with the long line unread
    EXPECT_NE(srv.received().find("UIDL 1\r\nNOOP\r\n"), std::string::npos);
}

}  // namespace
}  // namespace mailwire::pop3
