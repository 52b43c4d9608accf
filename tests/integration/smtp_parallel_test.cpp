// smtp::send_parallel through the real Postfix (submission, STARTTLS + AUTH), read back from
// Dovecot's maildir: over several connections every message is queued once (distinct queue ids),
// reported in input order, and delivered exactly once. Each message carries its own random marker;
// nothing here counts the shared mailbox.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mailwire/smtp/parallel.hpp"
#include "support/maildir.hpp"
#include "support/server_env.hpp"

namespace mailwire::smtp {
namespace {

using namespace std::chrono_literals;
using test::server_env;

// How many stored messages of `user` hold each marker in their first 16 KiB.
std::map<std::string, int> count_markers(const std::string& user, const std::vector<std::string>& markers) {
    std::map<std::string, int> n;
    test::visit_maildir(std::filesystem::path(server_env::get().str("MAIL_ROOT")) / user, 16 << 10,
                        [&](const std::string& head, std::istream&) {
                            for (const auto& m : markers)
                                if (head.find(m) != std::string::npos) ++n[m];
                            return false;
                        });
    return n;
}

TEST(smtp_parallel_real, every_message_is_queued_and_delivered_exactly_once) {
    const auto& env = server_env::get();
    if (!env.ok()) GTEST_FAIL() << "harness not running";
    const std::string run = std::to_string(std::mt19937_64(std::random_device{}())());
    std::vector<std::string> markers, bodies;
    for (int i = 0; i < 30; ++i) {
        markers.push_back("<par-" + run + "-" + std::to_string(i) + "@mailwire.test>");
        bodies.push_back("From: alice@localhost\r\nTo: bob@localhost\r\nSubject: parallel " + run +
                         "\r\nMessage-ID: " + markers.back() + "\r\n\r\nmessage " + std::to_string(i) + "\r\n");
    }
    const connect_function connect = [&](std::size_t) {
        auto c = std::make_unique<client>();
        c->tls().ca_file = env.str("CA_FILE");
        c->connect(env.str("HOST"), env.port("SUBMISSION_PORT"), security::starttls);
        c->authenticate(env.str("USER1"), env.str("PASS1"));
        return c;
    };
    std::size_t i = 0;
    std::vector<batch_outcome> outcomes;
    const auto summary = send_parallel(
        connect,
        [&](outgoing& m) {
            if (i == bodies.size()) return false;
            m.env = envelope{"alice@localhost", {"bob@localhost"}};
            m.message = memory_source(bodies[i++]);
            return true;
        },
        3, [&](batch_outcome&& o) { outcomes.push_back(std::move(o)); });
    EXPECT_EQ(summary.messages, bodies.size());
    for (const auto& e : summary.errors) EXPECT_FALSE(e);
    ASSERT_EQ(outcomes.size(), bodies.size());
    std::set<std::string> queue_ids;
    for (std::size_t k = 0; k < outcomes.size(); ++k) {
        EXPECT_EQ(outcomes[k].index, k);
        ASSERT_TRUE(outcomes[k].ok()) << k;
        queue_ids.insert(queue_id(outcomes[k].result.final_reply));
    }
    EXPECT_EQ(queue_ids.size(), bodies.size()) << "Postfix queued each message once";

    const auto deadline = std::chrono::steady_clock::now() + 90s;
    while (count_markers("bob", markers).size() < markers.size() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(200ms);
    std::this_thread::sleep_for(1s);  // a duplicate would be on its way by now
    const auto n = count_markers("bob", markers);
    ASSERT_EQ(n.size(), markers.size()) << "not every message was delivered";
    for (const auto& [m, count] : n) EXPECT_EQ(count, 1) << m;
}

}  // namespace
}  // namespace mailwire::smtp
