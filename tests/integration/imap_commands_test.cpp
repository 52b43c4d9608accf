// IMAP commands end to end against the harness's Dovecot. Every test works in its own mailboxes
// (names carry the test name and the process id) so test binaries can run in parallel.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "mailwire/imap/client.hpp"
#include "support/server_env.hpp"

namespace mailwire::imap {
namespace {

using namespace std::chrono_literals;
using test::server_env;

std::string box(std::string_view base) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string(base) + "-" + info->name() + "-" + std::to_string(::getpid());
}

std::unique_ptr<client> login(const std::string& n = "2", bool implicit = false) {
    const auto& env = server_env::get();
    auto c = std::make_unique<client>();
    c->tls().ca_file = env.str("CA_FILE");
    if (implicit) c->connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
    else c->connect(env.str("HOST"), env.port("IMAP_PORT"), security::starttls);
    c->authenticate(env.str("USER" + n), env.str("PASS" + n));
    return c;
}

std::string message(std::string_view subject, std::string_view body = "Hello.\r\n",
                    std::string_view from = "Alice <alice@localhost>") {
    std::ostringstream m;
    m << "From: " << from << "\r\nTo: bob@localhost\r\nSubject: " << subject
      << "\r\nDate: Thu, 01 Feb 2024 10:00:00 +0100\r\nMessage-ID: <" << subject.size() << "." << ::getpid()
      << "@mailwire.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
      << body;
    return m.str();
}

const std::string multipart =
    "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\nTo: team: a@x.org, b@y.org;\r\n"
    "Subject: =?utf-8?b?R3LDvMOfZQ==?= multipart\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "text part\r\n--b1\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; "
    "filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-Language: de\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n";

TEST(imap_commands, mailbox_lifecycle_with_utf8_names) {
    auto c = login();
    const auto name = box("Entw\xc3\xbcrfe");
    c->create(name);
    c->create(name + "/Kind");
    auto listed = c->list("", name + "*");
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].entry.name, name);
    EXPECT_EQ(listed[0].entry.raw_name, encode_mailbox_name(name));
    EXPECT_EQ(listed[0].entry.delimiter, '/');
    EXPECT_TRUE(listed[0].entry.has_attribute("\\HasChildren"));

    auto st = c->status(name);
    EXPECT_EQ(st.messages, 0u);
    EXPECT_TRUE(st.uidvalidity.has_value());

    c->subscribe(name);
    auto subs = c->lsub("", name);
    ASSERT_EQ(subs.size(), 1u);
    EXPECT_EQ(subs[0].name, name);
    list_options lo;
    lo.subscribed = true;
    EXPECT_EQ(c->list("", name, lo).size(), 1u);
    c->unsubscribe(name);
    EXPECT_TRUE(c->lsub("", name).empty());

    c->rename(name + "/Kind", name + "/Neu");
    EXPECT_EQ(c->list("", name + "/*").at(0).entry.name, name + "/Neu");
    c->delete_mailbox(name + "/Neu");
    c->delete_mailbox(name);
    EXPECT_TRUE(c->list("", name + "*").empty());
    EXPECT_THROW(c->delete_mailbox(name), command_error);
    EXPECT_TRUE(c->is_connected());  // a NO keeps the session
}

TEST(imap_commands, special_use_list_status_and_extensions) {
    auto c = login();
    list_options lo;
    lo.return_special_use = true;
    lo.status_items = {"MESSAGES", "UIDNEXT"};
    bool saw_sent = false;
    for (const auto& e : c->list("", "*", lo)) {
        if (e.entry.has_attribute("\\Sent")) {
            saw_sent = true;
            ASSERT_TRUE(e.status.has_value());
            EXPECT_TRUE(e.status->uidnext.has_value());
        }
    }
    EXPECT_TRUE(saw_sent);
    auto ns = c->namespaces();
    ASSERT_FALSE(ns.personal.empty());
    EXPECT_EQ(ns.personal[0].delimiter, '/');
    auto server = c->id({{"name", "mailwire-test"}});
    EXPECT_FALSE(server.empty());
    auto enabled = c->enable({"CONDSTORE"});
    EXPECT_TRUE(c->is_enabled("CONDSTORE"));
    c->noop();
}

TEST(imap_commands, append_fetch_byte_exact_and_typed) {
    auto c = login();
    const auto name = box("fetch");
    c->create(name);
    const auto plain = message("=?utf-8?q?Gr=C3=BC=C3=9Fe?= plain", "line 1\r\nline 2\r\n");
    append_message m{plain, {"\\Seen", "$Label1"}, mime::parse_date("Thu, 01 Feb 2024 10:00:00 +0100")};
    auto ar = c->append(name, m);
    EXPECT_NE(ar.uidvalidity, 0u);
    ASSERT_EQ(ar.uids.expand().size(), 1u);
    const auto uid1 = ar.uids.expand()[0];
    const auto uid2 = c->append(name, append_message{multipart, {}, std::nullopt}).uids.expand().at(0);

    const auto& st = c->select(name);
    EXPECT_EQ(st.exists, 2u);
    EXPECT_EQ(st.uidvalidity, ar.uidvalidity);
    EXPECT_FALSE(st.read_only);
    EXPECT_FALSE(st.permanent_flags.empty());

    auto all =
        c->fetch(sequence_set(uid1, uid2), "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[]");
    ASSERT_EQ(all.size(), 2u);
    const auto& a = all[0].uid == uid1 ? all[0] : all[1];
    const auto& b = all[0].uid == uid1 ? all[1] : all[0];
    ASSERT_EQ(a.sections.size(), 1u);
    EXPECT_EQ(a.sections[0].data, plain);
    EXPECT_EQ(a.rfc822_size, plain.size());
    ASSERT_TRUE(a.parsed_internaldate);  // Dovecot keeps the instant, not the zone
    EXPECT_EQ(a.parsed_internaldate->utc, m.date->utc);
    ASSERT_TRUE(a.flags);
    EXPECT_NE(std::find(a.flags->begin(), a.flags->end(), "\\Seen"), a.flags->end());
    EXPECT_NE(std::find(a.flags->begin(), a.flags->end(), "$Label1"), a.flags->end());
    ASSERT_TRUE(a.env);
    EXPECT_EQ(a.env->subject,
              "Gr\xc3\xbc\xc3\x9f"
              "e plain");
    EXPECT_EQ(a.env->from.at(0).members.at(0).address(), "alice@localhost");
    EXPECT_EQ(a.body->lines, 2u);

    EXPECT_EQ(b.sections.at(0).data, multipart);
    EXPECT_EQ(b.env->subject,
              "Gr\xc3\xbc\xc3\x9f"
              "e multipart");
    EXPECT_EQ(b.env->from.at(0).members.at(0).name, "J\xc3\xb6rg");
    ASSERT_EQ(b.env->to.size(), 1u);
    EXPECT_EQ(b.env->to[0].group_name, "team");
    EXPECT_EQ(b.env->to[0].members.size(), 2u);
    ASSERT_TRUE(b.body);
    EXPECT_EQ(b.body->subtype, "mixed");
    ASSERT_EQ(b.body->parts.size(), 2u);
    EXPECT_EQ(b.body->parts[1].disposition, "attachment");
    EXPECT_EQ(b.body->parts[1].param("name"), "a.pdf");
    EXPECT_EQ(b.body->parts[1].language, (std::vector<std::string>{"de"}));

    // Sections and partial fetches.
    auto part = c->fetch(sequence_set(uid2), "BODY.PEEK[2] BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[]<0.4>");
    ASSERT_EQ(part.size(), 1u);
    EXPECT_EQ(part[0].find("2")->data, "JVBERi0xLjQK");
    EXPECT_EQ(part[0].find("HEADER.FIELDS (SUBJECT)")->data, "Subject: =?utf-8?b?R3LDvMOfZQ==?= multipart\r\n\r\n");
    EXPECT_EQ(part[0].find("")->data, "From");
    EXPECT_EQ(part[0].find("")->origin, 0u);

    // Streaming to a sink (whole body) and to a file.
    std::string streamed;
    EXPECT_EQ(c->fetch_body(uid2, [&](std::string_view b2) { streamed.append(b2); }), multipart.size());
    EXPECT_EQ(streamed, multipart);
    const std::string path = "/tmp/mailwire-imap-" + std::to_string(::getpid()) + ".eml";
    EXPECT_EQ(c->fetch_body_to_file(uid1, path), plain.size());
    std::ifstream f(path, std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(f), {}), plain);
    std::remove(path.c_str());

    c->close_mailbox();
    c->delete_mailbox(name);
}

TEST(imap_commands, large_message_streams_byte_exact) {
    auto c = login();
    const auto name = box("large");
    c->create(name);
    std::string body;
    for (int i = 0; body.size() < 3'000'000; ++i) body += "line " + std::to_string(i) + " of a large message body\r\n";
    const auto msg = message("large", body);
    const auto uid = c->append(name, append_message{msg, {}, std::nullopt}).uids.expand().at(0);
    c->examine(name);
    std::string got;
    std::size_t chunks = 0;
    c->fetch_body(uid, [&](std::string_view b) {
        got.append(b);
        ++chunks;
    });
    EXPECT_EQ(got, msg);
    EXPECT_GT(chunks, 10u);  // arrived in pieces, never as one buffered literal
    c->unselect();
    c->delete_mailbox(name);
}

TEST(imap_commands, multiappend_search_store_expunge) {
    auto c = login();
    const auto name = box("search");
    c->create(name);
    std::vector<std::string> bodies = {message("apple pie", "x\r\n", "Carol <carol@localhost>"),
                                       message("banana split", std::string(5000, 'b') + "\r\n"),
                                       message("cherry \xc3\xa9t\xc3\xa9", "y\r\n"), message("date", "z\r\n")};
    std::vector<append_message> msgs;
    for (const auto& b : bodies) msgs.push_back({b, {}, std::nullopt});
    msgs[1].flags = {"\\Flagged"};
    auto ar = c->append(name, msgs);
    ASSERT_EQ(ar.uids.expand().size(), 4u);
    const auto uids = ar.uids.expand();
    c->select(name, true);

    EXPECT_EQ(c->search(search_query::all()).ids, uids);
    EXPECT_EQ(c->search(search_query::subject("banana")).ids, (std::vector<std::uint32_t>{uids[1]}));
    EXPECT_EQ(c->search(search_query::from("carol")).ids, (std::vector<std::uint32_t>{uids[0]}));
    EXPECT_EQ(c->search(search_query::flagged()).ids, (std::vector<std::uint32_t>{uids[1]}));
    EXPECT_EQ(c->search(search_query::larger(3000)).ids, (std::vector<std::uint32_t>{uids[1]}));
    EXPECT_EQ(c->search(search_query::subject("apple") || search_query::subject("date")).ids,
              (std::vector<std::uint32_t>{uids[0], uids[3]}));
    EXPECT_EQ(c->search(!search_query::flagged() && search_query::since({2000, 1, 1})).ids.size(), 3u);
    // Non-ASCII goes as a literal with CHARSET UTF-8.
    EXPECT_EQ(c->search(search_query::subject("\xc3\xa9t\xc3\xa9")).ids, (std::vector<std::uint32_t>{uids[2]}));
    // Sequence-number search and ESEARCH.
    search_options so;
    so.uid = false;
    EXPECT_EQ(c->search(search_query::all(), so).ids, (std::vector<std::uint32_t>{1, 2, 3, 4}));
    so.uid = true;
    so.returns = {"MIN", "MAX", "COUNT", "ALL"};
    auto es = c->search(search_query::unflagged(), so);
    EXPECT_EQ(es.count, 3u);
    EXPECT_EQ(es.min, uids[0]);
    EXPECT_EQ(es.max, uids[3]);
    EXPECT_EQ(es.ids, (std::vector<std::uint32_t>{uids[0], uids[2], uids[3]}));
    so.returns = {"COUNT"};
    EXPECT_EQ(c->search(search_query::subject("nothing-matches-this"), so).count, 0u);

    // STORE: add, remove, replace, silent, UNCHANGEDSINCE.
    auto sr = c->store(sequence_set(uids[0]), store_action::add, {"\\Seen", "$Work"});
    ASSERT_EQ(sr.updated.size(), 1u);
    EXPECT_EQ(sr.updated[0].uid, uids[0]);
    EXPECT_NE(std::find(sr.updated[0].flags->begin(), sr.updated[0].flags->end(), "$Work"), sr.updated[0].flags->end());
    EXPECT_TRUE(sr.updated[0].modseq.has_value());
    store_options silent;
    silent.silent = true;
    for (const auto& u : c->store(sequence_set(uids[0]), store_action::remove, {"$Work"}, silent).updated)
        EXPECT_FALSE(u.flags.has_value());  // .SILENT: at most MODSEQ comes back (RFC 7162 §3.1.3)
    EXPECT_EQ(c->search(search_query::keyword("$Work")).ids.size(), 0u);
    c->store(sequence_set(uids[3]), store_action::replace, {"\\Answered"});
    EXPECT_EQ(c->search(search_query::answered()).ids, (std::vector<std::uint32_t>{uids[3]}));
    store_options cond;
    cond.unchanged_since = 1;  // older than any modseq here: nothing is stored
    auto mod = c->store(sequence_set(uids[2]), store_action::add, {"\\Flagged"}, cond);
    EXPECT_TRUE(mod.modified.contains(uids[2]));
    EXPECT_EQ(c->search(search_query::flagged()).ids, (std::vector<std::uint32_t>{uids[1]}));

    // SORT and THREAD.
    EXPECT_EQ(c->sort("REVERSE SUBJECT", search_query::all()),
              (std::vector<std::uint32_t>{uids[3], uids[2], uids[1], uids[0]}));
    EXPECT_EQ(c->thread("ORDEREDSUBJECT", search_query::all()).size(), 4u);

    // EXPUNGE and UID EXPUNGE.
    c->store(sequence_set(uids[1]), store_action::add, {"\\Deleted"}, silent);
    auto ex = c->expunge();
    EXPECT_EQ(ex.sequence_numbers, (std::vector<std::uint32_t>{2}));
    EXPECT_EQ(c->mailbox().exists, 3u);
    c->store(sequence_set(uids[2]), store_action::add, {"\\Deleted"}, silent);
    c->store(sequence_set(uids[3]), store_action::add, {"\\Deleted"}, silent);
    ex = c->expunge(sequence_set(uids[2]));
    EXPECT_EQ(ex.sequence_numbers, (std::vector<std::uint32_t>{2}));
    EXPECT_EQ(c->search(search_query::all()).ids, (std::vector<std::uint32_t>{uids[0], uids[3]}));
    c->check();
    c->close_mailbox();  // CLOSE expunges the \Deleted uids[3] silently
    EXPECT_EQ(c->status(name).messages, 1u);
    c->delete_mailbox(name);
}

TEST(imap_commands, copy_move_and_errors) {
    auto c = login();
    const auto src = box("src");
    const auto dst = box("dst");
    c->create(src);
    c->create(dst);
    auto ar = c->append(src, std::vector<append_message>{{message("one"), {}, {}},
                                                         {message("two"), {}, {}},
                                                         {message("three"), {}, {}}});
    const auto uids = ar.uids.expand();
    c->select(src);
    auto cr = c->copy(sequence_set(uids[0]), dst);
    EXPECT_NE(cr.uidvalidity, 0u);
    EXPECT_EQ(cr.source.expand(), (std::vector<std::uint32_t>{uids[0]}));
    EXPECT_EQ(cr.destination.expand().size(), 1u);
    auto mr = c->move(sequence_set(uids[1], uids[2]), dst);
    EXPECT_EQ(mr.source.expand(), (std::vector<std::uint32_t>{uids[1], uids[2]}));
    EXPECT_EQ(c->mailbox().exists, 1u);
    EXPECT_EQ(c->status(dst).messages, 3u);

    // NO with TRYCREATE: a command error; the session lives on.
    try {
        c->copy(sequence_set(uids[0]), box("missing"));
        FAIL() << "copy to a missing mailbox succeeded";
    } catch (const command_error& e) {
        EXPECT_NE(std::string(e.what()).find("TRYCREATE"), std::string::npos) << e.what();
    }
    EXPECT_THROW(c->select(box("missing")), command_error);
    EXPECT_FALSE(c->mailbox().selected);
    EXPECT_THROW(c->run("FROBNICATE"), command_error);
    c->noop();
    c->delete_mailbox(src);
    c->delete_mailbox(dst);
}

TEST(imap_commands, observer_sees_changes_from_another_connection) {
    auto a = login();
    auto b = login();
    const auto name = box("observe");
    a->create(name);
    a->select(name);
    std::vector<mailbox_event::kind> seen;
    a->on_mailbox_event([&](const mailbox_event& e, const mailbox_state&) { seen.push_back(e.type); });
    b->append(name, append_message{message("hello"), {}, {}});
    a->noop();
    EXPECT_EQ(a->mailbox().exists, 1u);
    EXPECT_NE(std::find(seen.begin(), seen.end(), mailbox_event::kind::exists), seen.end());
    b->select(name);
    b->store(sequence_set::all(), store_action::add, {"\\Flagged"});
    seen.clear();
    a->noop();
    EXPECT_NE(std::find(seen.begin(), seen.end(), mailbox_event::kind::fetch), seen.end());
    b->store(sequence_set::all(), store_action::add, {"\\Deleted"});
    b->expunge();
    a->noop();
    EXPECT_EQ(a->mailbox().exists, 0u);
    a->on_mailbox_event({});
    a->unselect();
    a->delete_mailbox(name);
}

void deliver_smtp(const std::string& to, const std::string& subject) {
    const auto& env = server_env::get();
    const std::string cmd = "python3 -c \"import smtplib; s=smtplib.SMTP('" + env.str("HOST") + "', " +
                            std::to_string(env.port("SMTP_PORT")) + "); s.sendmail('alice@localhost', ['" + to +
                            "'], 'From: alice@localhost\\r\\nTo: " + to + "\\r\\nSubject: " + subject +
                            "\\r\\n\\r\\nidle test\\r\\n'); s.quit()\"";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(imap_commands, idle_sees_a_message_delivered_by_smtp) {
    auto c = login("3");
    const auto before = c->select("INBOX").exists;
    const auto subject = box("idle");
    std::thread sender([&] {
        std::this_thread::sleep_for(300ms);
        deliver_smtp(server_env::get().str("ADDR3"), subject);
    });
    std::uint32_t exists = 0;
    const auto t0 = std::chrono::steady_clock::now();
    c->idle(
        [&](const mailbox_event& e) {
            if (e.type != mailbox_event::kind::exists) return true;
            exists = e.number;
            return false;  // stop idling
        },
        30s);
    sender.join();
    EXPECT_GT(exists, before);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 25s);
    EXPECT_EQ(c->search(search_query::subject(subject)).ids.size(), 1u);
    c->noop();  // the session is usable after DONE
}

TEST(imap_commands, idle_stops_from_another_thread) {
    auto c = login();
    c->examine("INBOX");
    std::thread stopper([&] {
        std::this_thread::sleep_for(200ms);
        c->stop_idle();
    });
    const auto t0 = std::chrono::steady_clock::now();
    c->idle([](const mailbox_event&) { return true; }, 20s);
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    c->noop();
}

TEST(imap_commands, qresync_after_changes_from_a_second_connection) {
    auto a = login();
    auto b = login();
    const auto name = box("qresync");
    a->create(name);
    auto uids = a->append(name, std::vector<append_message>{{message("q1"), {}, {}},
                                                            {message("q2"), {}, {}},
                                                            {message("q3"), {}, {}}})
                    .uids.expand();
    a->enable({"QRESYNC"});
    const auto st = a->select(name);
    const auto uidvalidity = st.uidvalidity;
    const auto modseq = st.highestmodseq;
    EXPECT_GT(modseq, 0u);
    a->unselect();

    b->select(name);
    b->store(sequence_set(uids[0]), store_action::add, {"\\Seen"});
    b->store(sequence_set(uids[1]), store_action::add, {"\\Deleted"});
    b->expunge();

    auto r = a->select_qresync(name, {uidvalidity, modseq, sequence_set(uids[0], uids[2])});
    EXPECT_TRUE(r.vanished.contains(uids[1]));
    EXPECT_FALSE(r.vanished.contains(uids[0]));
    ASSERT_EQ(r.changed.size(), 1u);
    EXPECT_EQ(r.changed[0].uid, uids[0]);
    ASSERT_TRUE(r.changed[0].flags);
    EXPECT_NE(std::find(r.changed[0].flags->begin(), r.changed[0].flags->end(), "\\Seen"), r.changed[0].flags->end());
    EXPECT_GT(a->mailbox().highestmodseq, modseq);
    EXPECT_EQ(a->mailbox().exists, 2u);

    // CHANGEDSINCE with VANISHED on a fetch.
    const auto mark = a->mailbox().highestmodseq;
    b->store(sequence_set(uids[2]), store_action::add, {"\\Flagged"});
    fetch_options fo;
    fo.changed_since = mark;
    fo.vanished = true;
    auto changed = a->fetch(sequence_set::all(), "UID FLAGS", fo);
    // The unsolicited flag update for b's STORE may arrive too; both are about uids[2] only.
    ASSERT_FALSE(changed.empty());
    for (const auto& ch : changed) EXPECT_EQ(ch.uid, uids[2]);

    // UID EXPUNGE with QRESYNC reports VANISHED.
    a->store(sequence_set(uids[2]), store_action::add, {"\\Deleted"});
    auto ex = a->expunge(sequence_set(uids[2]));
    EXPECT_TRUE(ex.vanished.contains(uids[2]));
    a->unselect();
    a->delete_mailbox(name);
}

TEST(imap_commands, compress_gives_identical_results) {
    auto plain = login();
    auto packed = login("2", true);
    const auto name = box("compress");
    plain->create(name);
    std::vector<std::string> bodies;
    for (int i = 0; i < 30; ++i)
        bodies.push_back(message("compress " + std::to_string(i), std::string(2000 + i * 50, 'a' + i % 26) + "\r\n"));
    std::vector<append_message> msgs;
    for (const auto& b : bodies) msgs.push_back({b, {}, {}});
    plain->append(name, msgs);
    packed->compress();
    EXPECT_TRUE(packed->is_connected());
    packed->noop();
    plain->examine(name);
    packed->examine(name);
    const char* items = "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[]";
    auto x = plain->fetch(sequence_set::all(), items);
    auto y = packed->fetch(sequence_set::all(), items);
    ASSERT_EQ(x.size(), 30u);
    EXPECT_EQ(x, y);
    // Commands with literals also work compressed.
    packed->append(name, append_message{message("after compress \xc3\xa4"), {}, {}});
    EXPECT_EQ(packed->search(search_query::subject("after compress")).ids.size(), 1u);
    packed->unselect();
    packed->disconnect();
    plain->unselect();
    plain->delete_mailbox(name);
}

TEST(imap_commands, login_with_a_non_ascii_password_goes_as_a_literal) {
    const auto& env = server_env::get();
    client c;
    c.tls().ca_file = env.str("CA_FILE");
    c.connect(env.str("HOST"), env.port("IMAP_PORT"), security::starttls);
    std::vector<std::string> sent;
    c.set_logger([&](log_direction d, std::string_view line) {
        if (d == log_direction::client) sent.emplace_back(line);
    });
    c.login(env.str("USER3"), env.str("PASS3"));
    EXPECT_TRUE(c.is_authenticated());
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent[0].find(env.str("PASS3")), std::string::npos);  // masked in the log
    EXPECT_NE(sent[0].find("<password>"), std::string::npos);
    c.noop();
}

TEST(imap_commands, quota_and_metadata) {
    auto c = login();
    auto roots = c->quota_root("INBOX");
    ASSERT_FALSE(roots.empty());
    bool storage = false;
    for (const auto& q : roots)
        for (const auto& r : q.resources)
            if (r.name == "STORAGE") storage = r.limit > 0;
    EXPECT_TRUE(storage);
    const auto name = box("meta");
    c->create(name);
    c->set_metadata(name, {{"/private/comment", std::string("a note \xc3\xa4")}});
    auto md = c->get_metadata(name, {"/private/comment"});
    ASSERT_EQ(md.count("/private/comment"), 1u);
    EXPECT_EQ(md["/private/comment"], std::string("a note \xc3\xa4"));
    c->set_metadata(name, {{"/private/comment", std::nullopt}});
    md = c->get_metadata(name, {"/private/comment"});
    EXPECT_FALSE(md.count("/private/comment") != 0 && md["/private/comment"].has_value());
    c->delete_mailbox(name);
}

TEST(imap_commands, utf8_accept_mailbox_names) {
    auto c = login();
    if (!c->has_capability("UTF8=ACCEPT")) GTEST_SKIP() << "server lacks UTF8=ACCEPT";
    c->enable({"UTF8=ACCEPT"});
    const auto name =
        box("\xc3\xbc"
            "tf8");
    c->create(name);
    auto l = c->list("", name);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].entry.raw_name, name);  // no modified UTF-7 on the wire any more
    c->delete_mailbox(name);
}

}  // namespace
}  // namespace mailwire::imap

namespace mailwire::imap {
namespace {

// append_message::reader: the message goes out in chunks as the reader produces them (the CLI
// streams files this way); the server stores exactly those bytes.
TEST(imap_commands, append_from_a_reader_streams_byte_exact) {
    auto c = login();
    const auto name = box("reader");
    c->create(name);
    std::string body;
    for (int i = 0; body.size() < 2'000'000; ++i) body += "streamed line " + std::to_string(i) + "\r\n";
    const auto msg = message("reader", body);
    append_message m;
    std::size_t pos = 0, calls = 0;
    m.size = msg.size();
    m.reader = [&](char* buffer, std::size_t capacity) {
        ++calls;
        const auto n = std::min<std::size_t>({capacity, msg.size() - pos, 100'000});
        std::memcpy(buffer, msg.data() + pos, n);
        pos += n;
        return n;
    };
    const auto uid = c->append(name, m).uids.expand().at(0);
    EXPECT_GE(calls, msg.size() / 100'000);
    c->examine(name);
    std::string got;
    c->fetch_body(uid, [&](std::string_view b) { got.append(b); });
    EXPECT_EQ(got, msg);
    c->unselect();
    c->delete_mailbox(name);
}

// A reader that ends before its promised size leaves the server mid-literal: the connection is
// closed and the error says how many bytes came; nothing half-written is stored.
TEST(imap_commands, append_from_a_short_reader_closes_the_connection) {
    auto c = login();
    const auto name = box("short");
    c->create(name);
    append_message m;
    m.size = 10'000;
    bool given = false;
    m.reader = [&](char* buffer, std::size_t capacity) -> std::size_t {
        if (given) return 0;
        given = true;
        const std::string head = "Subject: short\r\n\r\nonly this\r\n";
        const auto n = std::min(capacity, head.size());
        std::memcpy(buffer, head.data(), n);
        return n;
    };
    try {
        (void)c->append(name, m);
        ADD_FAILURE() << "a short reader must fail";
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::io_error);
        EXPECT_NE(std::string(e.what()).find("of the 10000 bytes"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(c->is_connected());
    auto d = login();
    EXPECT_EQ(d->status(name).messages.value_or(99), 0u);
    d->delete_mailbox(name);
}

}  // namespace
}  // namespace mailwire::imap
