// The simple mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5
// (RFC 2195), EXTERNAL (RFC 4422 App. A), XOAUTH2 (Google's protocol) and OAUTHBEARER (RFC 7628).
#include <fmt/format.h>

#include <utility>

#include "sasl/detail.hpp"

namespace mailwire::sasl::detail {
namespace {

void require(bool ok, std::string_view what) {
    if (!ok) fail(errc::invalid_argument, std::string(what));
}

bool has_any(std::string_view s, std::string_view chars) { return s.find_first_of(chars) != std::string_view::npos; }

// ---- PLAIN ------------------------------------------------------------------------------------
class plain final : public mechanism {
public:
    explicit plain(const credentials& c) {
        require(!c.user.empty() && !c.password.empty(), "PLAIN needs a user name and a password");
        // RFC 4616 §2: the fields are separated by NUL, so none may contain one.
        require(!has_any(c.user, {"\0", 1}) && !has_any(c.password.view(), {"\0", 1}) && !has_any(c.authzid, {"\0", 1}),
                "PLAIN credentials must not contain a NUL character");
        message_.reserve(c.authzid.size() + c.user.size() + c.password.size() + 2);
        message_.append(c.authzid).push_back('\0');
        message_.append(c.user).push_back('\0');
        message_.append(c.password);
    }
    std::string_view name() const noexcept override { return "PLAIN"; }
    bool has_initial_response() const noexcept override { return true; }
    bool sends_secret_in_clear() const noexcept override { return true; }
    bool complete() const noexcept override { return sent_; }
    secret step(std::string_view challenge) override {
        // RFC 4616 §2: the server's challenge is empty; tolerate text but never a second round.
        if (sent_) fail(errc::protocol_violation, "unexpected challenge after the PLAIN response", challenge);
        sent_ = true;
        return std::exchange(message_, secret{});  // sent once: no copy stays behind
    }
    std::string redact(std::string_view m) const override { return m.empty() ? "" : "<PLAIN credentials>"; }

private:
    secret message_;
    bool sent_ = false;
};

// ---- LOGIN --------------------------------------------------------------------------------------
// The server prompts twice ("Username:", "Password:", in any wording or language); the client
// answers by position, never by the prompt text, which servers vary freely.
class login final : public mechanism {
public:
    explicit login(const credentials& c) : user_(c.user), password_(c.password) {
        require(!user_.empty(), "LOGIN needs a user name");
        require(c.authzid.empty(), "LOGIN cannot carry an authorization identity (authzid); use PLAIN");
    }
    std::string_view name() const noexcept override { return "LOGIN"; }
    bool has_initial_response() const noexcept override { return false; }
    bool sends_secret_in_clear() const noexcept override { return true; }
    bool complete() const noexcept override { return round_ == 2; }
    secret step(std::string_view challenge) override {
        switch (round_++) {
        case 0:
            return user_;
        case 1:
            return std::exchange(password_, secret{});
        default:
            fail(errc::protocol_violation, "unexpected third LOGIN challenge", challenge);
        }
    }
    std::string redact(std::string_view m) const override {
        if (m.empty()) return {};
        return m == user_ ? "<LOGIN username>" : "<LOGIN password>";
    }

private:
    std::string user_;
    secret password_;
    int round_ = 0;
};

// ---- CRAM-MD5 --------------------------------------------------------------------------------
class cram_md5 final : public mechanism {
public:
    explicit cram_md5(const credentials& c) : user_(c.user), password_(c.password) {
        require(!user_.empty(), "CRAM-MD5 needs a user name");
        require(c.authzid.empty(), "CRAM-MD5 cannot carry an authorization identity (authzid)");
    }
    std::string_view name() const noexcept override { return "CRAM-MD5"; }
    bool has_initial_response() const noexcept override { return false; }
    bool sends_secret_in_clear() const noexcept override { return false; }
    bool complete() const noexcept override { return done_; }
    secret step(std::string_view challenge) override {
        if (done_) fail(errc::protocol_violation, "unexpected challenge after the CRAM-MD5 response", challenge);
        // RFC 2195 §2: the challenge is a msg-id-like string; an empty one would make the
        // response a replayable constant.
        if (challenge.empty()) fail(errc::protocol_violation, "empty CRAM-MD5 challenge");
        done_ = true;
        // RFC 2195 §2: user SP lower-case hex of HMAC-MD5(password, challenge).
        const secret mac = hmac("MD5", password_.view(), challenge);
        password_.clear();  // one response only
        static constexpr char hex[] = "0123456789abcdef";
        secret out;
        out.reserve(user_.size() + 1 + 2 * mac.size());
        out.append(user_).push_back(' ');
        for (const char ch : mac.view()) {
            const auto b = static_cast<unsigned char>(ch);
            out.push_back(hex[b >> 4]).push_back(hex[b & 15]);
        }
        return out;
    }
    std::string redact(std::string_view m) const override { return m.empty() ? "" : "<CRAM-MD5 response>"; }

private:
    std::string user_;
    secret password_;
    bool done_ = false;
};

// ---- EXTERNAL ------------------------------------------------------------------------------------
class external final : public mechanism {
public:
    explicit external(const credentials& c) : authzid_(c.authzid) {}
    std::string_view name() const noexcept override { return "EXTERNAL"; }
    bool has_initial_response() const noexcept override { return true; }
    bool sends_secret_in_clear() const noexcept override { return false; }
    bool complete() const noexcept override { return sent_; }
    secret step(std::string_view challenge) override {
        if (sent_) fail(errc::protocol_violation, "unexpected challenge after the EXTERNAL response", challenge);
        sent_ = true;
        return authzid_;  // RFC 4422 App. A: the authzid, or empty to derive it from the TLS identity
    }
    std::string redact(std::string_view m) const override { return std::string(m); }

private:
    std::string authzid_;
    bool sent_ = false;
};

// ---- XOAUTH2 and OAUTHBEARER --------------------------------------------------------------
// Both send the bearer token first. On failure the server sends one challenge holding a JSON
// error object; the client must answer it (XOAUTH2: empty; OAUTHBEARER: a single ^A, RFC 7628
// §3.2.3) so that the server can finish with its failure reply.
class oauth final : public mechanism {
public:
    oauth(bool bearer, const credentials& c) : bearer_(bearer) {
        const std::string_view mech = bearer ? "OAUTHBEARER" : "XOAUTH2";
        require(!c.oauth_token.empty(), fmt::format("{} needs an OAuth access token", mech));
        // ^A separates the fields; CR/LF/NUL would break the protocol line or the server's parser.
        const std::string_view bad{"\x01\r\n\0", 4};
        require(!has_any(c.oauth_token.view(), bad) && !has_any(c.user, bad) && !has_any(c.authzid, bad) &&
                    !has_any(c.server_host, bad),
                fmt::format("{} credentials must not contain control characters", mech));
        if (!bearer) {
            require(!c.user.empty(), "XOAUTH2 needs a user name");
            message_.append("user=").append(c.user).append("\x01").append("auth=Bearer ").append(c.oauth_token);
            message_.append("\x01\x01");
        } else {
            // RFC 7628 §3.1: gs2-header (no channel binding) with the identity as authzid.
            const std::string& who = c.authzid.empty() ? c.user : c.authzid;
            message_.append(who.empty() ? "n,," : "n,a=" + escape_saslname(who) + ",");
            message_.push_back('\x01');
            if (!c.server_host.empty()) message_.append("host=" + c.server_host + '\x01');
            if (c.server_port != 0) message_.append(fmt::format("port={}\x01", c.server_port));
            message_.append("auth=Bearer ").append(c.oauth_token).append("\x01\x01");
        }
    }
    std::string_view name() const noexcept override { return bearer_ ? "OAUTHBEARER" : "XOAUTH2"; }
    bool has_initial_response() const noexcept override { return true; }
    bool sends_secret_in_clear() const noexcept override { return true; }
    bool complete() const noexcept override { return sent_; }
    secret step(std::string_view challenge) override {
        if (!sent_) {
            sent_ = true;
            return std::exchange(message_, secret{});
        }
        if (error_)
            fail(errc::protocol_violation, fmt::format("unexpected challenge after the {} error", name()), challenge);
        error_ = parse_oauth_error(challenge);
        return bearer_ ? secret("\x01") : secret();
    }
    std::string server_error() const override { return error_ ? error_->summary : std::string(); }
    std::string redact(std::string_view m) const override {
        if (m.empty()) return {};
        if (m == "\x01") return "<OAUTHBEARER error acknowledgement>";
        return fmt::format("<{} credentials>", name());
    }

private:
    bool bearer_;
    secret message_;
    bool sent_ = false;
    std::optional<oauth_error> error_;
};

}  // namespace

std::unique_ptr<mechanism> make_plain(const credentials& c) { return std::make_unique<plain>(c); }
std::unique_ptr<mechanism> make_login(const credentials& c) { return std::make_unique<login>(c); }
std::unique_ptr<mechanism> make_cram_md5(const credentials& c) { return std::make_unique<cram_md5>(c); }
std::unique_ptr<mechanism> make_external(const credentials& c) { return std::make_unique<external>(c); }
std::unique_ptr<mechanism> make_oauth(bool oauthbearer, const credentials& c) {
    return std::make_unique<oauth>(oauthbearer, c);
}

}  // namespace mailwire::sasl::detail
