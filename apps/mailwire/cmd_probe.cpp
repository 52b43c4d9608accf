// `mailwire probe HOST[:PORT]` — how does this server want to be talked to?
//
// Every fact comes from ordinary connections made with the public API: a raw net::stream for the
// first bytes, a client connected with security::none (then start_tls) or implicit_tls for the
// greeting, capabilities and the default-policy certificate check, and one connection per TLS
// version with min_version = max_version = v.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iostream>
#include <memory>
#include <optional>

#include "common.hpp"
#include "mailwire/imap/client.hpp"
#include "mailwire/net/stream.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/ports.hpp"
#include "mailwire/smtp/client.hpp"
#include "report.hpp"

namespace mailwire::cli {
namespace {

using std::chrono::milliseconds;

struct probe_state {
    std::string target;
    std::string protocol_name;
    bool all = false;
    std::vector<std::string> ports;
    double wait = 2.0;
    connection_options o;
};

struct version_result {
    tls_version version;
    std::string state;  // accepted | refused | unsupported_locally | no_answer | failed
    std::string detail;
};

struct port_probe {
    std::string host;
    std::uint16_t port = 0;
    std::optional<mailwire::protocol> proto;
    std::string proto_source;   // given | port | greeting | tls_greeting
    std::string first_contact;  // plaintext | tls_first | tls_record | binary | closed | refused | timeout
    std::string first_line;
    std::string greeting;
    bool starttls_offered = false;
    bool plaintext_login_before = false;
    std::vector<std::string> caps_before, auth_before, caps_after, auth_after;
    bool tls_ok = false;
    tls_session_info tls;
    std::vector<version_result> versions;
    std::vector<std::string> errors;
    std::optional<int> reach_exit;  // set when the port could not be reached at all
    std::string reach_error;
    // verdict
    std::string mode;  // implicit_tls | starttls | none | "" (nothing usable)
    bool usable = false;
    std::vector<std::string> risks;
    std::vector<std::string> notes;
    std::string verdict;
};

struct timing {
    timeouts t;
    milliseconds wait{2000};
};

std::unique_ptr<client_base> make_client(mailwire::protocol p) {
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

struct facts {
    std::vector<std::string> caps, auth;
    bool starttls = false;
    bool plaintext_login = false;  // a password command usable right now (IMAP LOGIN, POP3 USER)
};

facts read_facts(const client_base& c) {
    facts f;
    if (const auto* i = dynamic_cast<const imap::client*>(&c)) {
        f.caps = i->capabilities();
        f.auth = i->auth_mechanisms();
        f.starttls = i->has_capability("STARTTLS");
        f.plaintext_login = !i->has_capability("LOGINDISABLED");
    } else if (const auto* p = dynamic_cast<const pop3::client*>(&c)) {
        f.caps = p->capabilities().lines;
        f.auth = p->capabilities().sasl;
        f.starttls = p->capabilities().stls;
        f.plaintext_login = p->capabilities().user;
    } else if (const auto* s = dynamic_cast<const smtp::client*>(&c)) {
        for (const auto& [k, v] : s->capabilities().keywords) f.caps.push_back(v.empty() ? k : k + " " + v);
        f.auth = s->capabilities().auth;
        f.starttls = s->capabilities().starttls;
    }
    return f;
}

// Probing only: accept what the default policy rejected (chain or name errors) so the report can
// show what lies behind; the check's policy errors are reported as they are.
bool accept_any(const certificate_check&) { return true; }

std::optional<mailwire::protocol> protocol_from_greeting(std::string_view line) {
    if (line.starts_with("* ")) return protocol::imap;
    if (line.starts_with("+OK")) return protocol::pop3;
    if (line.starts_with("220")) return protocol::smtp;
    return std::nullopt;
}

std::string short_message(const mailwire::error& e) { return e.detail(); }

// ---- the probe ------------------------------------------------------------------------------

void first_contact(port_probe& p, const timing& tm) {
    net::stream s;
    s.set_context(p.host, p.port, p.proto ? std::string(to_string(*p.proto)) : std::string());
    try {
        s.connect(p.host, p.port, tm.t.connect);
    } catch (const mailwire::error& e) {
        p.first_contact = exit_code_for(e) == exit_timeout ? "timeout" : "refused";
        p.reach_exit = exit_code_for(e);
        p.reach_error = message_without_hint(e);
        return;
    }
    try {
        if (!s.wait_readable(tm.wait)) {
            p.first_contact = "tls_first";  // silence: the port waits for our ClientHello
            if (!p.proto) {
                // Which protocol greets inside TLS? Look, accepting any certificate (only for this peek).
                tls_options peek;
                peek.override_rejection = accept_any;
                peek.session_resumption = false;
                s.start_tls(peek, p.host, tm.t.greeting);
                if (s.wait_readable(tm.t.greeting)) {
                    std::array<char, 512> buf{};
                    const auto n = s.read_some(buf, tm.t.io);
                    const auto fb = net::classify_first_bytes(std::string_view(buf.data(), n));
                    if (auto g = protocol_from_greeting(fb.first_line)) {
                        p.proto = g;
                        p.proto_source = "tls_greeting";
                    }
                }
            }
            s.close();
            return;
        }
        std::array<char, 512> buf{};
        const auto n = s.read_some(buf, tm.t.io);
        if (n == 0) {
            p.first_contact = "closed";
            p.reach_exit = exit_connect;
            p.reach_error = fmt::format("{}:{} accepted the connection and closed it without a word", p.host, p.port);
        } else {
            const auto fb = net::classify_first_bytes(std::string_view(buf.data(), n));
            switch (fb.kind) {
            case net::first_bytes_kind::plaintext_line:
                p.first_contact = "plaintext";
                p.first_line = fb.first_line;
                if (!p.proto)
                    if (auto g = protocol_from_greeting(fb.first_line)) {
                        p.proto = g;
                        p.proto_source = "greeting";
                    }
                break;
            case net::first_bytes_kind::tls_record:
                p.first_contact = "tls_record";
                break;
            default:
                p.first_contact = "binary";
                break;
            }
        }
    } catch (const mailwire::error& e) {
        p.errors.push_back("first contact: " + short_message(e));
    }
    s.close();
}

void configure(client_base& c, const timing& tm, const connection_options& o) {
    c.timeouts() = tm.t;
    c.tls().session_resumption = false;
    if (!o.cafile.empty()) c.tls().ca_file = o.cafile;
    if (!o.client_cert.empty()) c.tls().client_cert_file = o.client_cert;
    if (!o.client_key.empty()) c.tls().client_key_file = o.client_key;
}

void main_session(port_probe& p, const timing& tm, const connection_options& o) {
    auto c = make_client(*p.proto);
    configure(*c, tm, o);
    // The default policy decides what the check says; we accept anyway to see what lies behind.
    c->override_rejection(accept_any);
    const bool plain = p.first_contact == "plaintext";
    try {
        if (plain) {
            c->connect(p.host, p.port, security::none);
            p.greeting = c->greeting();
            const auto f = read_facts(*c);
            p.caps_before = f.caps;
            p.auth_before = f.auth;
            p.starttls_offered = f.starttls;
            p.plaintext_login_before = f.plaintext_login;
            if (!f.starttls) {
                c->disconnect();
                return;
            }
            c->start_tls();
        } else {
            c->connect(p.host, p.port, security::implicit_tls);
            p.greeting = c->greeting();
        }
        p.tls_ok = true;
        p.tls = c->tls_info();
        const auto f = read_facts(*c);
        p.caps_after = f.caps;
        p.auth_after = f.auth;
        c->disconnect();
    } catch (const mailwire::error& e) {
        p.errors.push_back(fmt::format("{} ({}): {}",
                                       plain ? (p.greeting.empty() ? "greeting" : "STARTTLS") : "implicit TLS",
                                       category_name(exit_code_for(e)), short_message(e)));
    }
}

void probe_versions(port_probe& p, const timing& tm, const connection_options& o) {
    const bool plain = p.first_contact == "plaintext";
    for (auto v : {tls_version::v1_0, tls_version::v1_1, tls_version::v1_2, tls_version::v1_3}) {
        version_result r{v, {}, {}};
        auto c = make_client(*p.proto);
        configure(*c, tm, o);
        c->tls().min_version = v;
        c->tls().max_version = v;
        c->override_rejection(accept_any);  // probing the version, not the chain
        try {
            c->connect(p.host, p.port, plain ? security::starttls : security::implicit_tls);
            r.state = "accepted";
            r.detail = c->tls_info().cipher;
            c->disconnect();
        } catch (const config_error& e) {
            r.state = "unsupported_locally";
            r.detail = "not supported by local OpenSSL: " + e.detail();
        } catch (const mailwire::error& e) {
            const int rc = exit_code_for(e);
            r.state = rc == exit_tls ? "refused" : rc == exit_timeout ? "no_answer" : "failed";
            r.detail = short_message(e);
        }
        p.versions.push_back(std::move(r));
    }
}

std::string version_name(tls_version v) {
    switch (v) {
    case tls_version::v1_0:
        return "TLS 1.0";
    case tls_version::v1_1:
        return "TLS 1.1";
    case tls_version::v1_2:
        return "TLS 1.2";
    case tls_version::v1_3:
        return "TLS 1.3";
    }
    return "?";
}

void decide(port_probe& p, bool single) {
    if (p.reach_exit) {
        p.verdict = fmt::format("port {} cannot be used: {}", p.port,
                                p.first_contact == "timeout" ? "no answer" : "nothing accepts connections");
        return;
    }
    if (!p.proto) {
        p.verdict = fmt::format("port {}: unknown protocol (pass --protocol)", p.port);
        return;
    }
    const auto proto = *p.proto;
    const bool plain = p.first_contact == "plaintext";
    if (plain) {
        // Mechanisms that hand the secret itself to whoever listens (challenge-response ones do not).
        std::vector<std::string> cleartext;
        for (const auto& m : p.auth_before)
            if (m == "PLAIN" || m == "LOGIN" || m == "XOAUTH2" || m == "OAUTHBEARER") cleartext.push_back(m);
        if (!cleartext.empty()) p.risks.push_back(fmt::format("AUTH {} offered before TLS", join(cleartext)));
        if (p.plaintext_login_before)
            p.risks.push_back(proto == protocol::pop3 ? "USER/PASS offered before TLS" : "LOGIN allowed before TLS");
    }
    for (const auto& v : p.versions)
        if (v.state == "accepted" && (v.version == tls_version::v1_0 || v.version == tls_version::v1_1))
            p.risks.push_back(version_name(v.version) + " accepted");
    if (p.tls_ok) {
        for (auto& r : policy_risks(p.tls.certificate)) p.risks.push_back(std::move(r));
        if (any(p.tls.certificate.errors))
            p.notes.emplace_back("clients that verify certificates (the default) will refuse this server");
    }
    std::vector<std::string> accepted;
    for (const auto& v : p.versions)
        if (v.state == "accepted") accepted.push_back(version_name(v.version));
    if (accepted.size() == 1 && p.versions.size() == 4)
        p.notes.push_back(fmt::format("only {} is accepted: clients without it cannot connect", accepted.front()));

    if (plain && !p.starttls_offered && !p.greeting.empty()) {
        p.mode = "none";
        p.risks.insert(p.risks.begin(), "no TLS on this port");
        p.verdict = fmt::format(
            "do not use port {}: it offers no {}; use the server's implicit-TLS port if it has one "
            "(standard: {})",
            p.port, starttls_command(proto), implicit_tls_port(proto));
    } else if (p.tls_ok) {
        p.usable = true;
        p.mode = plain ? "starttls" : "implicit_tls";
        p.verdict = fmt::format("use {} on port {}", p.mode, p.port);
        if (plain && single)
            // The standard port is named as the standard one: the server may well use others.
            p.verdict +=
                fmt::format(" (no implicit-TLS port checked; the standard one is {})", implicit_tls_port(proto));
    } else if (plain && p.greeting.empty()) {
        p.verdict = fmt::format("port {} does not speak {} as expected", p.port, to_string(proto));
    } else {
        p.verdict = fmt::format("port {}: {} fails", p.port, plain ? "STARTTLS" : "the TLS handshake");
    }
    if (!p.risks.empty()) p.verdict += "; risks: " + join(p.risks, ", ");
    else if (p.usable) p.verdict += "; no risks found";
}

port_probe probe_port(const std::string& host, std::uint16_t port, std::optional<mailwire::protocol> proto,
                      const timing& tm, const connection_options& o, bool single) {
    port_probe p;
    p.host = host;
    p.port = port;
    p.proto = proto;
    if (proto) p.proto_source = "given";
    else {
        mailwire::protocol guess{};
        if (protocol_from_port(port, guess)) {
            p.proto = guess;
            p.proto_source = "port";
        }
    }
    first_contact(p, tm);
    const bool speaks =
        p.first_contact == "plaintext" || p.first_contact == "tls_first" || p.first_contact == "tls_record";
    if (!p.reach_exit && p.proto && speaks) {
        main_session(p, tm, o);
        if (p.first_contact != "plaintext" || p.starttls_offered) probe_versions(p, tm, o);
    } else if (!p.reach_exit && !p.proto) {
        p.errors.emplace_back("could not tell the protocol from the port or the greeting; pass --protocol");
    } else if (p.first_contact == "binary") {
        p.errors.emplace_back("the port sent binary data that is neither a greeting nor TLS");
    }
    decide(p, single);
    return p;
}

// ---- output ---------------------------------------------------------------------------------

std::string contact_words(const port_probe& p) {
    if (p.first_contact == "plaintext") return "plaintext: the server greets first (plain or STARTTLS)";
    if (p.first_contact == "tls_first") return "silent: the port expects TLS first (implicit TLS)";
    if (p.first_contact == "tls_record") return "a TLS record arrived first: the port expects TLS first";
    if (p.first_contact == "binary") return "binary data: not a mail protocol greeting";
    if (p.first_contact == "closed") return "closed without a word";
    return p.reach_error;
}

nlohmann::json port_json(const port_probe& p) {
    nlohmann::json versions = nlohmann::json::object();
    for (const auto& v : p.versions)
        versions[std::string(to_string(v.version))] = {{"state", v.state}, {"detail", v.detail}};
    return {
        {"host", p.host},
        {"port", p.port},
        {"protocol", p.proto ? std::string(to_string(*p.proto)) : std::string()},
        {"protocol_source", p.proto_source},
        {"reachable", !p.reach_exit.has_value()},
        {"first_contact", p.first_contact},
        {"first_line", p.first_line},
        {"greeting", p.greeting},
        {"starttls_offered", p.starttls_offered},
        {"capabilities", {{"before_tls", p.caps_before}, {"after_tls", p.caps_after}}},
        {"auth_mechanisms", {{"before_tls", p.auth_before}, {"after_tls", p.auth_after}}},
        {"plaintext_login_before_tls", p.plaintext_login_before},
        {"tls_versions", versions},
        {"tls", p.tls_ok ? tls_json(p.tls) : nlohmann::json(nullptr)},
        {"errors", p.errors},
        {"verdict",
         {{"mode", p.mode},
          {"port", p.port},
          {"usable", p.usable},
          {"risks", p.risks},
          {"notes", p.notes},
          {"text", p.verdict}}},
    };
}

void port_text(text_report& r, const port_probe& p) {
    r.heading(fmt::format(
        "{}:{}  {}{}", p.host, p.port, p.proto ? to_string(*p.proto) : "unknown protocol",
        p.proto_source == "given" || p.proto_source.empty() ? "" : " (from the " + [&] {
            return p.proto_source == "port" ? std::string("port number") : std::string("greeting");
        }() + ")"));
    r.field("first contact", contact_words(p));
    if (p.reach_exit) {
        r.field("verdict", p.verdict);
        return;
    }
    if (!p.greeting.empty()) r.field("greeting", p.greeting);
    if (p.first_contact == "plaintext") {
        r.field("STARTTLS", p.starttls_offered ? "offered" : "NOT offered");
        if (!p.caps_before.empty()) r.field("caps before TLS", join(p.caps_before));
        r.field("auth before TLS", p.auth_before.empty() ? "none" : join(p.auth_before));
    }
    if (p.tls_ok) {
        r.field("caps after TLS", join(p.caps_after));
        r.field("auth after TLS", p.auth_after.empty() ? "none" : join(p.auth_after));
    }
    if (!p.versions.empty()) {
        std::vector<std::string> vs;
        for (const auto& v : p.versions) {
            std::string s = version_name(v.version) + " " +
                            (v.state == "unsupported_locally" ? std::string("not supported by local OpenSSL")
                             : v.state == "no_answer"         ? std::string("no answer")
                                                              : v.state);
            vs.push_back(s);
        }
        r.field("TLS versions", join(vs, ", "));
    }
    if (p.tls_ok) {
        r.field("negotiated", join({p.tls.version, p.tls.cipher, p.tls.group.empty() ? "-" : p.tls.group}, "  "));
        const auto& chk = p.tls.certificate;
        for (std::size_t i = 0; i < chk.chain.size(); ++i) {
            const auto& c = chk.chain[i];
            r.field(fmt::format("certificate {}", i), c.subject);
            r.field("  issuer", c.issuer);
            if (!c.subject_alt_names.empty()) r.field("  names", join(c.subject_alt_names, ", "));
            r.field("  valid", format_time(c.not_before) + " to " + format_time(c.not_after));
            r.field("  key", c.public_key + (c.signature_algorithm.empty() ? "" : ", signed " + c.signature_algorithm));
            r.field("  sha256", c.sha256_fingerprint);
            r.field("  pin", "sha256/" + c.spki_sha256);
        }
        const auto words = policy_words(chk);
        if (words.empty()) r.field("certificate ok", fmt::format("verifies for {} with the default policy", chk.host));
        else r.fields("certificate", words);
    }
    if (!p.errors.empty()) r.fields("problems", p.errors);
    r.field("verdict", p.verdict);
    if (!p.notes.empty()) r.fields("note", p.notes);
}

// ---- targets ----------------------------------------------------------------------------------

std::pair<std::string, std::uint16_t> split_target(const std::string& t, std::uint16_t fallback) {
    auto bad = [&] {
        return usage_error(fmt::format("probe target '{}': expected HOST, HOST:PORT or [IPv6]:PORT", t));
    };
    auto parse_port = [&](const std::string& s) -> std::uint16_t {
        if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) throw bad();
        const unsigned long v = std::stoul(s);
        if (v == 0 || v > 65535) throw bad();
        return static_cast<std::uint16_t>(v);
    };
    if (t.empty()) throw bad();
    if (t.front() == '[') {
        const auto close = t.find(']');
        if (close == std::string::npos) throw bad();
        const auto host = t.substr(1, close - 1);
        if (close + 1 == t.size()) return {host, fallback};
        if (t[close + 1] != ':') throw bad();
        return {host, parse_port(t.substr(close + 2))};
    }
    const auto colon = t.rfind(':');
    if (colon == std::string::npos || t.find(':') != colon) return {t, fallback};  // a name, or bare IPv6
    return {t.substr(0, colon), parse_port(t.substr(colon + 1))};
}

std::optional<mailwire::protocol> parse_protocol(const std::string& s) {
    if (s == "imap") return protocol::imap;
    if (s == "pop3") return protocol::pop3;
    if (s == "smtp") return protocol::smtp;
    return std::nullopt;
}

struct port_spec {
    std::uint16_t port;
    std::optional<mailwire::protocol> proto;
};

std::vector<port_spec> all_ports(const probe_state& st, std::optional<mailwire::protocol> only) {
    std::vector<port_spec> out;
    if (st.ports.empty()) {
        for (auto p : {protocol::imap, protocol::pop3, protocol::smtp}) {
            if (only && *only != p) continue;
            out.push_back({starttls_port(p), p});
            out.push_back({implicit_tls_port(p), p});
        }
        return out;
    }
    for (const auto& tok : st.ports) {
        std::optional<mailwire::protocol> proto = only;
        std::string num = tok;
        if (const auto c = tok.find_first_of(":/"); c != std::string::npos) {
            proto = parse_protocol(tok.substr(0, c));
            if (!proto)
                throw usage_error(fmt::format("--ports {}: expected PORT or PROTOCOL:PORT (imap, pop3, smtp)", tok));
            num = tok.substr(c + 1);
        }
        if (num.empty() || num.size() > 5 || num.find_first_not_of("0123456789") != std::string::npos ||
            std::stoul(num) == 0 || std::stoul(num) > 65535)
            throw usage_error(fmt::format("--ports {}: not a port number", tok));
        out.push_back({static_cast<std::uint16_t>(std::stoul(num)), proto});
    }
    return out;
}

struct summary_line {
    std::string protocol;
    std::string text;
    std::optional<std::size_t> best;  // index into the probes
};

std::vector<summary_line> summarize(const std::vector<port_probe>& probes) {
    std::vector<summary_line> out;
    for (auto proto : {protocol::imap, protocol::pop3, protocol::smtp}) {
        std::optional<std::size_t> best;
        bool seen = false;
        auto score = [](const port_probe& p) {
            // Usable beats unusable, a clean certificate beats risks, implicit TLS beats STARTTLS (RFC 8314).
            return (p.usable ? 100 : 0) + (p.risks.empty() ? 10 : 0) + (p.mode == "implicit_tls" ? 1 : 0);
        };
        for (std::size_t i = 0; i < probes.size(); ++i) {
            if (!probes[i].proto || *probes[i].proto != proto) continue;
            seen = true;
            if (!probes[i].usable) continue;
            if (!best || score(probes[i]) > score(probes[*best])) best = i;
        }
        if (!seen) continue;
        summary_line l{std::string(to_string(proto)), {}, best};
        if (best) {
            const auto& p = probes[*best];
            l.text = fmt::format("use {} on port {}", p.mode, p.port);
            if (!p.risks.empty()) l.text += "; risks: " + join(p.risks, ", ");
        } else {
            l.text = "no usable secure port found";
        }
        out.push_back(std::move(l));
    }
    return out;
}

int run_probe(const probe_state& st) {
    const auto& o = st.o;
    std::optional<mailwire::protocol> proto;
    if (!st.protocol_name.empty()) proto = parse_protocol(st.protocol_name);
    std::string target = !st.target.empty() ? st.target : o.host;
    if (target.empty()) throw usage_error("probe needs a HOST (or HOST:PORT)");
    auto [host, port] = split_target(target, o.port);
    if (!st.all && port == 0) {
        if (!proto)
            throw usage_error("give a port (HOST:PORT or --port), --protocol to use its standard port, or --all");
        port = starttls_port(*proto);
    }
    if (st.all && !st.ports.empty() && port != 0)
        throw usage_error("--ports and a port in the target do not go together");

    timing tm;
    apply_timeouts(tm.t, o.timeout);
    tm.wait = milliseconds(static_cast<long long>(st.wait * 1000));
    tls_options validated;
    apply_tls_options(validated, o);  // validates --cafile etc.

    std::vector<port_probe> probes;
    if (st.all) {
        for (const auto& spec : all_ports(st, proto))
            probes.push_back(probe_port(host, spec.port, spec.proto, tm, o, false));
    } else {
        probes.push_back(probe_port(host, port, proto, tm, o, true));
        const auto& p = probes.front();
        if (p.reach_exit) {
            // Nothing to report: say why like every other command.
            error_context ctx;
            ctx.host = host;
            ctx.port = port;
            ctx.stage = stage::connect;
            ctx.hint = "check the host and port; `mailwire probe HOST --all` tries the standard ports";
            const errc code = *p.reach_exit == exit_timeout ? errc::timeout : errc::connect_failed;
            if (code == errc::timeout) throw timeout_error(code, p.reach_error, ctx);
            throw connect_error(code, p.reach_error, ctx);
        }
    }

    const bool any_reached = std::any_of(probes.begin(), probes.end(), [](const auto& p) { return !p.reach_exit; });
    if (o.json) {
        nlohmann::json j;
        j["ok"] = true;
        j["host"] = host;
        if (st.all) {
            j["ports"] = nlohmann::json::array();
            for (const auto& p : probes) j["ports"].push_back(port_json(p));
            j["verdicts"] = nlohmann::json::object();
            for (const auto& l : summarize(probes))
                j["verdicts"][l.protocol] = {{"text", l.text},
                                             {"port",
                                              l.best ? nlohmann::json(probes[*l.best].port) : nlohmann::json(nullptr)},
                                             {"mode", l.best ? probes[*l.best].mode : std::string()}};
        } else {
            j.update(port_json(probes.front()));
        }
        std::cout << json_text(j) << "\n";
    } else {
        text_report r(output_width(), 18);
        for (std::size_t i = 0; i < probes.size(); ++i) {
            if (i) r.blank();
            port_text(r, probes[i]);
        }
        if (st.all) {
            r.blank();
            r.heading(fmt::format("summary for {}", host));
            for (const auto& l : summarize(probes)) r.field(l.protocol, l.text);
        }
        print_out(r.str());
    }
    return any_reached ? exit_ok : exit_connect;
}

}  // namespace

command add_probe(CLI::App& app) {
    auto st = std::make_shared<probe_state>();
    auto* sub = app.add_subcommand("probe", "Report how a server wants to be talked to, with a verdict");
    sub->add_option("target", st->target, "HOST, HOST:PORT or [IPv6]:PORT");
    sub->add_option("--protocol", st->protocol_name, "imap, pop3 or smtp (default: from the port or the greeting)")
        ->check(CLI::IsMember({"imap", "pop3", "smtp"}));
    sub->add_flag("--all", st->all, "Probe the six standard ports 143 993 110 995 587 465 (see --ports)");
    sub->add_option("--ports", st->ports, "With --all: these ports, PORT or PROTOCOL:PORT, comma separated")
        ->delimiter(',');
    sub->add_option("--wait", st->wait, "Seconds of silence meaning \"TLS first\" (default 2)")
        ->check(CLI::PositiveNumber);
    auto& o = st->o;
    sub->add_option("--host", o.host, "Server (alternative to the positional target)");
    sub->add_option("--port", o.port, "Port (alternative to HOST:PORT)");
    sub->add_option("--cafile", o.cafile, "Also trust the CAs in this PEM file")->check(CLI::ExistingFile);
    sub->add_option("--client-cert", o.client_cert, "Client certificate (PEM) for servers that require one")
        ->check(CLI::ExistingFile);
    sub->add_option("--client-key", o.client_key, "Client private key (PEM)")->check(CLI::ExistingFile);
    sub->add_option("--timeout", o.timeout, "Seconds for each connect, handshake and read")->check(CLI::PositiveNumber);
    sub->add_flag("--json", o.json, "Print the facts as one JSON object (fields: docs/cli.md)");
    sub->footer(
        "\nThe report: first contact (plaintext greeting or TLS first), greeting, STARTTLS, capabilities and\n"
        "auth mechanisms before and after TLS, each TLS version 1.0-1.3 accepted or refused, the negotiated\n"
        "version/cipher/group, the certificate chain (subject, issuer, names, validity, SHA-256,\n"
        "SPKI pin) with its policy errors in words, and a verdict: the mode and port to use and the\n"
        "risks found.\n"
        "JSON fields: host port protocol protocol_source reachable first_contact first_line greeting\n"
        "starttls_offered capabilities{before_tls,after_tls} auth_mechanisms{before_tls,after_tls}\n"
        "plaintext_login_before_tls tls_versions{TLSv1..TLSv1.3:{state,detail}} tls{version,cipher,group,\n"
        "certificate{host,policy_errors,problems,verify_results,chain[]}} errors\n"
        "verdict{mode,port,usable,risks,text}; with --all: {host, ports:[...], verdicts:{imap,pop3,smtp}}.\n"
        "Exit 0 when the report was made (read the verdict), 3 or 8 when the port could not be reached.");
    return {sub, [st] { return run_probe(*st); }, &st->o.json};
}

}  // namespace mailwire::cli
