// The one SASL driver shared by IMAP AUTHENTICATE, POP3 AUTH and SMTP AUTH (RFC 4422 §5): the
// protocols contribute only how a start command, a challenge and the outcome look on the wire.
#include <fmt/format.h>

#include <algorithm>

#include "mailwire/client.hpp"
#include "mailwire/sasl/base64.hpp"
#include "sasl/detail.hpp"

namespace mailwire {

void client_base::authenticate(const std::string& user, const secret& password) {
    sasl::credentials c;
    c.user = user;
    c.password = password;
    authenticate(c);
}

namespace {

// "SCRAM-SHA-256-PLUS" -> "SCRAM-SHA-256"; empty for anything that is not a SCRAM -PLUS.
std::string unbound_scram(const std::string& name) {
    if (!name.starts_with("SCRAM-") || !name.ends_with("-PLUS")) return {};
    return name.substr(0, name.size() - 5);
}

}  // namespace

void client_base::authenticate(const sasl::credentials& credentials, const std::vector<std::string>& mechanisms) {
    if (!stream_.is_open())
        throw error(errc::not_connected, "authenticate needs a connection", context(stage::authenticate));
    if (authenticated_) throw error(errc::invalid_argument, "already authenticated", context(stage::authenticate));
    const auto offered = auth_mechanisms();
    // Either binding type will do: run_sasl picks the one for the TLS version.
    const bool cb_available = stream_.is_tls() && (!stream_.channel_binding("tls-unique").empty() ||
                                                   !stream_.channel_binding("tls-exporter").empty());
    sasl::selection_options o;
    o.encrypted = stream_.is_tls();
    o.allow_plaintext_auth = allow_plaintext_auth_;
    o.have_channel_binding = cb_available;
    o.have_oauth_token = !credentials.oauth_token.empty();
    o.have_password = !credentials.password.empty();
    o.preferred = mechanisms;
    const auto chosen = sasl::choose_mechanisms(offered, o);
    const bool offers_plus =
        std::any_of(offered.begin(), offered.end(), [](const std::string& m) { return m.ends_with("-PLUS"); });

    std::string list;
    for (const auto& m : offered) list += (list.empty() ? "" : " ") + m;
    if (!mechanisms.empty()) {
        // An explicit list is the caller's decision: the first usable entry, in the caller's
        // order, and no fallback. Entries may name the protocol's own logins (POP3 APOP, USER).
        std::vector<std::string> names;
        for (const auto& requested : mechanisms) names.push_back(sasl::detail::upper(requested));
        // Refused before anything is sent: a name mailwire cannot speak is not the server's
        // fault, and "no usable mechanism (server offers: ... X ...)" would say it was.
        const bool pop3 = protocol_ == protocol::pop3;
        const auto implemented = [pop3](const std::string& n) {
            return sasl::is_supported(n) || (pop3 && (n == "APOP" || n == "USER"));
        };
        if (std::none_of(names.begin(), names.end(), implemented)) {
            std::string missing;
            for (const auto& n : names) missing += (missing.empty() ? "" : ", ") + sasl::detail::printable(n, 40);
            throw auth_error(errc::auth_unsupported,
                             fmt::format("mailwire does not implement {}; it implements {}{}; the server offers {}",
                                         missing, sasl::detail::implemented_names(),
                                         pop3 ? " (and POP3 APOP, USER)" : "", list.empty() ? "none" : list),
                             context(stage::authenticate, {},
                                     "name a mechanism both sides have, or pass no list (no --auth) and let "
                                     "mailwire choose the strongest"));
        }
        for (const auto& name : names) {
            // EXTERNAL (RFC 4422 appendix A) logs in as the identity of the TLS client certificate:
            // without one, or without TLS, the server can only refuse, so nothing is sent.
            if (name == "EXTERNAL" && (!stream_.is_tls() || tls_.client_cert_file.empty())) {
                if (names.size() > 1) continue;
                throw auth_error(errc::auth_unsupported,
                                 stream_.is_tls()
                                     ? "refusing EXTERNAL: it logs in with the TLS client certificate, and none was "
                                       "given"
                                     : "refusing EXTERNAL: it needs a TLS connection with a client certificate",
                                 context(stage::authenticate, {},
                                         "give a client certificate with --client-cert (tls().client_cert_file) over "
                                         "TLS, or name a password mechanism"));
            }
            if (std::find(chosen.begin(), chosen.end(), name) != chosen.end()) {
                run_sasl(name, credentials, offers_plus, nullptr);
                on_authenticated();
                return;
            }
            // The protocol applies the plaintext rule before it sends anything.
            if (sasl::is_supported(name) || credentials.password.empty()) continue;
            auto used = legacy_login_named(credentials, name);
            if (!used.empty()) {
                set_authenticated(std::move(used));
                on_authenticated();
                return;
            }
        }
    } else if (!chosen.empty()) {
        bool refused = false;
        try {
            run_sasl(chosen.front(), credentials, offers_plus, &refused);
        } catch (const auth_error& first) {
            // RFC 5802 §6 / RFC 5056: servers differ in the binding types they implement (Cyrus
            // 3.6 only tls-unique, which TLS 1.3 does not have; Mailutils none, though it offers
            // -PLUS), and refuse the whole exchange when ours is not theirs. The same SCRAM
            // without binding is tried once, and only when all of these hold:
            //  - the server answered with a failure reply (`refused`): a server that failed
            //    mutual authentication (wrong or missing v=) or broke the grammar is not retried;
            //  - the certificate passed the default policy: then the TLS session already
            //    authenticates the server, which is what binding would have added. Over a session
            //    accepted through override_rejection (or --insecure) the binding is the only
            //    thing that can expose a man in the middle, so its failure stays fatal.
            // A man in the middle with a certificate the default policy trusts could force this
            // downgrade; it could equally read the session, so binding protected nothing there.
            const auto unbound = unbound_scram(chosen.front());
            const bool retry = refused && stream_.is_open() && stream_.is_tls() &&
                               stream_.tls_info().certificate.accepted_by_default && !unbound.empty() &&
                               std::find(chosen.begin(), chosen.end(), unbound) != chosen.end();
            if (!retry) throw;
            try {
                // offers_plus is true here, so run_sasl sends the gs2 flag "n", as it must.
                run_sasl(unbound, credentials, offers_plus, nullptr);
            } catch (const auth_error& second) {
                throw auth_error(static_cast<errc>(second.code().value()),
                                 fmt::format("{} (after {} was refused: {})", second.detail(), chosen.front(),
                                             first.detail()),
                                 second.context(), second.response_code());
            }
            set_authenticated(unbound, chosen.front());
        }
        on_authenticated();
        return;
    } else if (!credentials.password.empty()) {
        // No SASL mechanism fits: the protocol's own login, still under the plaintext rule.
        require_secure_for_credentials("a password");
        const auto used = legacy_login(credentials);
        if (!used.empty()) {
            set_authenticated(used);
            on_authenticated();
            return;
        }
    }
    if (!stream_.is_tls() && !allow_plaintext_auth_ && !offered.empty()) require_secure_for_credentials("a password");
    throw auth_error(errc::auth_unsupported,
                     fmt::format("no usable authentication mechanism (server offers: {})",
                                 list.empty() ? "none" : list),
                     context(stage::authenticate, {},
                             "check the mechanisms you asked for and the credentials you gave"));
}

void client_base::run_sasl(const std::string& name, const sasl::credentials& credentials, bool server_offers_plus,
                           bool* refused) {
    std::optional<sasl::channel_binding> cb;
    const bool plus = name.ends_with("-PLUS");
    // RFC 5802 §6: a client able to bind tells a server that offered no -PLUS so ("y" flag), and
    // a server that did offer -PLUS treats "y" as a downgrade and refuses. So when the server
    // offered -PLUS and plain SCRAM is used anyway (no binding here, or the fallback after a
    // refused -PLUS in authenticate()), the flag is "n": "y" would fail, and "p=" is the -PLUS
    // exchange the server just refused.
    if (stream_.is_tls() && (plus || (name.starts_with("SCRAM-") && !server_offers_plus))) {
        // tls-unique (RFC 5929) is RFC 5802's mandatory type and what TLS 1.2 servers implement
        // (Cyrus 3.6 has nothing else); TLS 1.3 has no tls-unique, so there channel_binding()
        // returns nothing for it and tls-exporter (RFC 9266) is used. Both are offered below
        // TLS 1.3 only with the extended master secret (net::stream::channel_binding).
        static constexpr const char* types[] = {"tls-unique", "tls-exporter"};
        for (const char* type : types) {
            auto data = stream_.channel_binding(type);
            if (!data.empty()) {
                cb = sasl::channel_binding{type, std::move(data)};
                break;
            }
        }
    }
    std::unique_ptr<sasl::mechanism> mech;
    try {
        mech = sasl::make_mechanism(name, credentials, cb);
    } catch (const auth_error& e) {
        throw auth_error(static_cast<errc>(e.code().value()), e.detail(), context(stage::authenticate));
    }
    if (mech->sends_secret_in_clear()) require_secure_for_credentials(fmt::format("{} credentials", name));

    auto fail = [&](const sasl_reply& r) -> auth_error {
        std::string detail = fmt::format("{} authentication failed: {}", name, r.text.empty() ? "refused" : r.text);
        const auto extra = mech->server_error();
        if (!extra.empty()) detail += fmt::format(" ({})", extra);
        // A refused -PLUS is often a binding type the server does not implement (Cyrus 3.6 has
        // only tls-unique, which TLS 1.3 lacks), not a wrong password.
        std::string hint;
        if (plus)
            hint = fmt::format(
                "if the password is right, the server may not implement the {} channel binding: "
                "name {} without -PLUS, or let mailwire choose",
                cb ? cb->type : std::string("TLS"), name.substr(0, name.size() - 5));
        return auth_error(errc::auth_failed, detail, context(stage::authenticate, r.text, std::move(hint)), r.code);
    };
    // Cancels the exchange after a local failure; the server answers with a failure reply
    // (RFC 4422 §3.5, RFC 3501 §6.2.2). Once: a server answering "*" with challenges for ever
    // would otherwise keep the client writing, and every write restarts timeouts().command.
    auto cancel = [&]() {
        send_line("*");
        if (sasl_read().type == sasl_reply::kind::challenge)
            protocol_failure(errc::protocol_violation, stage::authenticate,
                             "the server answered the cancelled SASL exchange with another challenge");
    };
    // No mechanism mailwire speaks needs more than a few round trips (SCRAM two, LOGIN two or
    // three); a server that keeps challenging is stalling the client.
    constexpr int max_challenges = 16;
    int challenges = 0;

    // Mechanism messages and their base64 form are secrets (wiped when dropped): they carry the
    // password or token itself (PLAIN, LOGIN, OAuth) or a value that can be attacked offline.
    secret pending;  // an initial response waiting for the server's empty challenge
    bool have_pending = false;
    if (mech->has_initial_response()) {
        secret first = mech->step({});
        if (sasl_initial_response_allowed()) {
            const secret b64 = first.empty() ? secret("=") : sasl::base64_encode_secret(first.view());
            sasl_start(name, &b64, first.empty() ? "=" : mech->redact(first.view()));
        } else {
            sasl_start(name, nullptr, {});
            pending = std::move(first);
            have_pending = true;
        }
    } else {
        sasl_start(name, nullptr, {});
    }

    for (;;) {
        auto r = sasl_read();
        switch (r.type) {
        case sasl_reply::kind::challenge: {
            if (++challenges > max_challenges)
                protocol_failure(errc::protocol_violation, stage::authenticate,
                                 fmt::format("the server sent more than {} SASL challenges", max_challenges));
            secret response;
            if (have_pending) {
                response = std::move(pending);
                have_pending = false;
            } else {
                try {
                    response = mech->step(sasl::base64_decode(r.data));
                } catch (const auth_error& e) {
                    cancel();
                    throw auth_error(static_cast<errc>(e.code().value()), e.detail(),
                                     context(stage::authenticate, r.data));
                }
            }
            const secret b64 = response.empty() ? secret() : sasl::base64_encode_secret(response.view());
            send_line_masked(b64.view(),
                             response.empty() ? std::string_view() : std::string_view(mech->redact(response.view())));
            break;
        }
        case sasl_reply::kind::success:
            try {
                mech->verify_success(r.data);
            } catch (const auth_error& e) {
                // The server says yes but could not prove it knows the password: not our server.
                stream_.close();
                throw auth_error(errc::auth_failed, e.detail(),
                                 context(stage::authenticate, r.text,
                                         "the server failed mutual authentication: a man in the middle, or a "
                                         "misconfigured server; the connection was closed"));
            }
            set_authenticated(name);
            return;
        case sasl_reply::kind::failure:
            // A refusal the server chose (not one that follows our cancel, which throws above).
            if (refused != nullptr) *refused = true;
            throw fail(r);
        }
    }
}

void client_base::send_sasl_start(std::string_view command, std::string_view mechanism, const secret* initial,
                                  std::string_view logged) {
    if (initial == nullptr) {
        send_line(fmt::format("{} {}", command, mechanism));
        return;
    }
    secret line;  // carries the credential: built in a secret, wiped when it goes
    line.reserve(command.size() + 1 + mechanism.size() + 1 + initial->size());
    line.append(command).push_back(' ');
    line.append(mechanism).push_back(' ');
    line.append(*initial);
    send_line_masked(line.view(), fmt::format("{} {} {}", command, mechanism, logged));
}

}  // namespace mailwire
