// Every security mode × protocol against the real Dovecot and Postfix of the test harness:
// the right port succeeds, the wrong one fails with the right typed error and hint.
#include <gtest/gtest.h>

#include <memory>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/smtp/client.hpp"
#include "support/server_env.hpp"

namespace mailwire {
namespace {

using namespace std::chrono_literals;
using test::server_env;

struct endpoint {
    protocol proto;
    const char* plain_key;  // plaintext + STARTTLS port
    const char* tls_key;    // implicit TLS port
};

std::unique_ptr<client_base> make_client(protocol p) {
    switch (p) {
    case protocol::imap:
        return std::make_unique<imap::client>();
    case protocol::pop3:
        return std::make_unique<pop3::client>();
    case protocol::smtp:
        return std::make_unique<smtp::client>();
    }
    return nullptr;
}

std::unique_ptr<client_base> configured(protocol p) {
    auto c = make_client(p);
    c->tls().ca_file = server_env::get().str("CA_FILE");
    c->tls().use_system_store = false;
    c->timeouts().greeting = 1500ms;
    c->timeouts().auto_detect_wait = 700ms;
    return c;
}

bool capabilities_known(client_base& c) {
    if (auto* i = dynamic_cast<imap::client*>(&c)) return !i->capabilities().empty();
    if (auto* p = dynamic_cast<pop3::client*>(&c)) return !p->capabilities().lines.empty();
    if (auto* s = dynamic_cast<smtp::client*>(&c)) return s->capabilities().extended;
    return false;
}

bool advertises_starttls(client_base& c) {
    if (auto* i = dynamic_cast<imap::client*>(&c)) return i->has_capability("STARTTLS");
    if (auto* p = dynamic_cast<pop3::client*>(&c)) return p->capabilities().stls;
    if (auto* s = dynamic_cast<smtp::client*>(&c)) return s->capabilities().starttls;
    return false;
}

class modes : public ::testing::TestWithParam<endpoint> {
protected:
    const server_env& env = server_env::get();
    std::string host() const { return env.str("HOST"); }
    std::uint16_t plain_port() const { return env.port(GetParam().plain_key); }
    std::uint16_t tls_port() const { return env.port(GetParam().tls_key); }
};

TEST_P(modes, none_on_plain_port_stays_plain) {
    auto c = configured(GetParam().proto);
    c->connect(host(), plain_port(), security::none);
    EXPECT_TRUE(c->is_connected());
    EXPECT_FALSE(c->is_secure());
    EXPECT_EQ(c->security_used(), security::none);
    EXPECT_TRUE(capabilities_known(*c));
    EXPECT_TRUE(advertises_starttls(*c));
    EXPECT_FALSE(c->greeting().empty());
    c->disconnect();
    EXPECT_FALSE(c->is_connected());
}

TEST_P(modes, starttls_upgrades_and_asks_capabilities_again) {
    for (auto mode : {security::starttls, security::starttls_when_available, security::auto_detect}) {
        auto c = configured(GetParam().proto);
        c->connect(host(), plain_port(), mode);
        EXPECT_TRUE(c->is_secure()) << to_string(mode);
        EXPECT_EQ(c->security_used(), security::starttls) << to_string(mode);
        EXPECT_TRUE(capabilities_known(*c)) << to_string(mode);
        // The post-TLS capabilities were asked for again: servers stop offering STARTTLS then.
        EXPECT_FALSE(advertises_starttls(*c)) << to_string(mode);
        EXPECT_EQ(c->tls_info().certificate.errors, policy_error::none);
        EXPECT_FALSE(c->tls_info().version.empty());
        c->disconnect();
    }
}

TEST_P(modes, implicit_tls_and_auto_on_tls_port) {
    for (auto mode : {security::implicit_tls, security::auto_detect}) {
        auto c = configured(GetParam().proto);
        c->connect(host(), tls_port(), mode);
        EXPECT_TRUE(c->is_secure()) << to_string(mode);
        EXPECT_EQ(c->security_used(), security::implicit_tls) << to_string(mode);
        EXPECT_TRUE(capabilities_known(*c));
        EXPECT_FALSE(c->tls_info().cipher.empty());
        ASSERT_FALSE(c->tls_info().certificate.chain.empty());
        EXPECT_NE(c->tls_info().certificate.chain.front().subject_alt_names.size(), 0u);
        c->disconnect();
    }
}

TEST_P(modes, implicit_tls_to_plaintext_port_is_diagnosed) {
    auto c = configured(GetParam().proto);
    try {
        c->connect(host(), plain_port(), security::implicit_tls);
        FAIL() << "connected with TLS to a plaintext port";
    } catch (const tls_error& e) {
        EXPECT_EQ(e.code(), errc::tls_plaintext_greeting) << e.what();
        EXPECT_EQ(e.stage(), stage::tls_handshake);
        EXPECT_EQ(e.port(), plain_port());
        EXPECT_EQ(e.host(), host());
        EXPECT_NE(std::string(e.what()).find("greeted in plaintext"), std::string::npos) << e.what();
        EXPECT_FALSE(e.server_text().empty()) << "the greeting line should be quoted";
        EXPECT_NE(e.hint().find("starttls"), std::string::npos) << e.hint();
        EXPECT_NE(e.hint().find(std::to_string(implicit_tls_port(GetParam().proto))), std::string::npos) << e.hint();
    }
    EXPECT_FALSE(c->is_connected());
}

TEST_P(modes, plaintext_to_tls_port_is_diagnosed) {
    for (auto mode : {security::none, security::starttls}) {
        auto c = configured(GetParam().proto);
        try {
            c->connect(host(), tls_port(), mode);
            FAIL() << "connected in plaintext to an implicit-TLS port";
        } catch (const error& e) {
            EXPECT_EQ(e.code(), errc::tls_expected) << e.what();
            EXPECT_EQ(e.stage(), stage::greeting);
            EXPECT_NE(e.hint().find("implicit_tls"), std::string::npos) << e.hint();
        }
        EXPECT_FALSE(c->is_connected());
    }
}

INSTANTIATE_TEST_SUITE_P(servers, modes,
                         ::testing::Values(endpoint{protocol::imap, "IMAP_PORT", "IMAPS_PORT"},
                                           endpoint{protocol::pop3, "POP3_PORT", "POP3S_PORT"},
                                           endpoint{protocol::smtp, "SUBMISSION_PORT", "SMTPS_PORT"}),
                         [](const auto& p) { return std::string(to_string(p.param.proto)); });

TEST(modes_smtp, relay_port_offers_starttls_when_available) {
    const auto& env = server_env::get();
    auto c = configured(protocol::smtp);
    c->connect(env.str("HOST"), env.port("SMTP_PORT"), security::starttls_when_available);
    EXPECT_TRUE(c->is_secure());
    c->disconnect();
}

TEST(modes_defaults, port_zero_picks_the_standard_port) {
    EXPECT_EQ(default_port(protocol::imap, security::implicit_tls), 993);
    EXPECT_EQ(default_port(protocol::imap, security::starttls), 143);
    EXPECT_EQ(default_port(protocol::pop3, security::none), 110);
    EXPECT_EQ(default_port(protocol::pop3, security::auto_detect), 995);
    EXPECT_EQ(default_port(protocol::smtp, security::starttls), 587);
    EXPECT_EQ(default_port(protocol::smtp, security::implicit_tls), 465);
}

TEST(connect_errors, refused_port_and_bad_name) {
    imap::client c;
    c.timeouts().connect = 2000ms;
    try {
        c.connect("127.0.0.1", 1, security::none);
        FAIL();
    } catch (const connect_error& e) {
        EXPECT_EQ(e.code(), errc::connect_failed);
        EXPECT_EQ(e.stage(), stage::connect);
        EXPECT_EQ(e.port(), 1);
    }
    try {
        c.connect("no-such-host.invalid", 143, security::none);
        FAIL();
    } catch (const connect_error& e) {
        EXPECT_EQ(e.code(), errc::resolve_failed);
        EXPECT_EQ(e.stage(), stage::resolve);
    }
}

}  // namespace
}  // namespace mailwire
