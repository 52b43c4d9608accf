// SCRAM-SHA-1 and SCRAM-SHA-256, with and without channel binding (RFC 5802, RFC 7677).
//
//   C: gs2-header client-first-bare          n,,n=user,r=<c-nonce>
//   S: server-first                          r=<c-nonce><s-nonce>,s=<salt>,i=<count>
//   C: client-final                          c=<base64(gs2-header [cb-data])>,r=<nonce>,p=<proof>
//   S: server-final                          v=<server signature> | e=<error>
#include <algorithm>

#include <fmt/format.h>

#include "mailwire/sasl/base64.hpp"
#include "sasl/detail.hpp"

namespace mailwire::sasl::detail {
namespace {

// RFC 5802 §7: printable = %x21-2B / %x2D-7E (no comma).
bool printable_nonce(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x21 && c <= 0x7e && c != ','; });
}

// RFC 5056 §7: cb-name = 1*(ALPHA / DIGIT / "." / "-")
bool valid_cb_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
}

// Splits "a=x,b=y" into attributes; each must look like ALPHA "=" value.
std::vector<std::pair<char, std::string_view>> attributes(std::string_view msg, std::string_view what) {
    std::vector<std::pair<char, std::string_view>> out;
    std::size_t pos = 0;
    while (true) {
        const std::size_t comma = msg.find(',', pos);
        std::string_view a = msg.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        const bool letter = a.size() >= 2 && ((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z'));
        if (!letter || a[1] != '=')
            fail(errc::protocol_violation, fmt::format("malformed SCRAM {}: expected attribute=value", what), msg);
        out.emplace_back(a[0], a.substr(2));
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
        if (out.size() > 64) fail(errc::protocol_violation, fmt::format("SCRAM {} has too many attributes", what), msg);
    }
    return out;
}

class scram final : public mechanism {
public:
    scram(scram_hash h, bool plus, const credentials& c, std::optional<channel_binding> cb, std::string nonce,
          std::uint32_t max_iterations)
        : md_(h == scram_hash::sha1 ? "SHA1" : "SHA256"),
          name_(h == scram_hash::sha1 ? (plus ? "SCRAM-SHA-1-PLUS" : "SCRAM-SHA-1")
                                      : (plus ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256")),
          nonce_(std::move(nonce)), max_iterations_(max_iterations) {
        if (plus && (!cb || cb->data.empty()))
            fail(errc::invalid_argument, fmt::format("{} needs channel-binding data from the TLS layer", name_));
        if (cb && !valid_cb_name(cb->type))
            fail(errc::invalid_argument, fmt::format("invalid channel-binding type \"{}\"", printable(cb->type, 64)));
        if (!printable_nonce(nonce_))
            fail(errc::invalid_argument, "SCRAM client nonce must be printable ASCII without ','");
        // RFC 5802 §5.1: user name and password are prepared with SASLprep.
        const std::string user = saslprep(c.user);
        if (user.empty()) fail(errc::invalid_argument, fmt::format("{} needs a user name", name_));
        password_ = saslprep(c.password.view());  // the std::string result is wiped as it is taken
        // RFC 5802 §7: gs2-cbind-flag "p=" cb-name (binding) / "y" (could, server can't) / "n".
        std::string gs2 = plus ? "p=" + cb->type : (cb ? "y" : "n");
        gs2 += ',';
        if (!c.authzid.empty()) gs2 += "a=" + escape_saslname(c.authzid);
        gs2 += ',';
        gs2_header_ = gs2;
        cbind_input_ = gs2;
        if (plus) cbind_input_.append(cb->data.begin(), cb->data.end());
        client_first_bare_ = "n=" + escape_saslname(user) + ",r=" + nonce_;
    }

    std::string_view name() const noexcept override { return name_; }
    bool has_initial_response() const noexcept override { return true; }
    bool sends_secret_in_clear() const noexcept override { return false; }
    bool complete() const noexcept override { return state_ == state::verified; }

    secret step(std::string_view challenge) override {
        switch (state_) {
        case state::initial:
            // The server sends an empty challenge (or none, with SASL-IR) before client-first.
            if (!challenge.empty())
                fail(errc::protocol_violation, fmt::format("unexpected non-empty challenge before {} started", name_),
                     challenge);
            state_ = state::sent_first;
            return gs2_header_ + client_first_bare_;
        case state::sent_first: {
            secret r = client_final(challenge);
            state_ = state::sent_final;
            return r;
        }
        case state::sent_final:
            check_server_final(challenge);
            state_ = state::verified;
            return {};  // RFC 4422 §5: the server-final arrived as a challenge; answer it empty
        case state::verified:
            break;
        }
        fail(errc::protocol_violation, fmt::format("unexpected challenge after the {} exchange ended", name_),
             challenge);
    }

    void verify_success(std::string_view server_final) override {
        if (state_ == state::verified && server_final.empty()) return;
        if (state_ == state::initial || state_ == state::sent_first)
            fail(errc::auth_failed,
                 fmt::format("server signature missing: the server reported success before the {} exchange "
                             "finished, without proving it knows the password",
                             name_),
                 server_final);
        if (server_final.empty())
            fail(errc::auth_failed,
                 "server signature missing: the server reported success without proving it knows the password");
        check_server_final(server_final);
        state_ = state::verified;
    }

    std::string redact(std::string_view m) const override {
        // client-first (user name, nonce, gs2 flags) is useful when debugging and holds no
        // secret; the proof in client-final is an offline dictionary-attack target.
        const auto p = m.find(",p=");
        if (p == std::string_view::npos) return std::string(m);
        return std::string(m.substr(0, p)) + ",p=<proof>";
    }

private:
    enum class state { initial, sent_first, sent_final, verified };

    // RFC 5802 §3. Every intermediate value is a secret: SaltedPassword, ClientKey and
    // ServerKey each let an attacker log in (or impersonate the server), and the proof is an
    // offline dictionary-attack target.
    secret client_final(std::string_view server_first) {
        const std::string_view sf = server_first;
        if (sf.starts_with("e="))
            fail(errc::auth_failed, fmt::format("{} server error: {}", name_, printable(sf.substr(2), 200)), sf);
        if (sf.starts_with("m="))  // RFC 5802 §5.1: a mandatory extension we do not know: fail
            fail(errc::auth_unsupported, fmt::format("{} server requires an unsupported extension (m=)", name_), sf);
        const auto attrs = attributes(sf, "server-first message");
        if (attrs.size() < 3 || attrs[0].first != 'r' || attrs[1].first != 's' || attrs[2].first != 'i')
            fail(errc::protocol_violation, "malformed SCRAM server-first message: expected r=, s=, i=", sf);

        const std::string_view nonce = attrs[0].second;
        if (!printable_nonce(nonce))
            fail(errc::protocol_violation, "SCRAM server nonce contains invalid characters", sf);
        // RFC 5802 §5.1: the server appends its own nonce to ours; anything else is a replay
        // or a confused server.
        if (!nonce.starts_with(nonce_) || nonce.size() == nonce_.size())
            fail(errc::protocol_violation, "SCRAM server nonce does not extend the client nonce", sf);

        const auto salt = try_base64_decode(attrs[1].second);
        if (!salt) fail(errc::protocol_violation, "SCRAM salt is not valid base64", sf);
        if (salt->empty()) fail(errc::protocol_violation, "SCRAM salt is empty", sf);

        const std::string_view count = attrs[2].second;
        // RFC 5802 §7: posit-number = %x31-39 *DIGIT. No sign, no leading zero, no zero.
        if (count.empty() || count[0] < '1' || count[0] > '9' ||
            !std::all_of(count.begin(), count.end(), [](char c) { return c >= '0' && c <= '9'; }))
            fail(errc::protocol_violation, "SCRAM iteration count is not a positive number", sf);
        std::uint64_t iterations = 0;
        for (char c : count) {
            iterations = iterations * 10 + static_cast<unsigned>(c - '0');
            if (iterations > max_iterations_) break;
        }
        // RFC 7677 §4 wants servers to use at least 4096; lower counts still work, so they are
        // accepted. The ceiling bounds the CPU a hostile server can make us spend.
        if (iterations > max_iterations_)
            fail(errc::limit_exceeded,
                 fmt::format("SCRAM iteration count {} exceeds the limit of {}", printable(count, 32), max_iterations_),
                 sf);

        secret salted = pbkdf2(md_, password_.view(), *salt, static_cast<std::uint32_t>(iterations));
        password_.clear();  // no longer needed
        const secret client_key = hmac(md_, salted.view(), "Client Key");
        const secret stored_key = digest(md_, client_key.view());
        const secret server_key = hmac(md_, salted.view(), "Server Key");
        salted.clear();

        const std::string without_proof = "c=" + base64_encode(cbind_input_) + ",r=" + std::string(nonce);
        const std::string auth_message = client_first_bare_ + "," + std::string(sf) + "," + without_proof;
        const secret signature = hmac(md_, stored_key.view(), auth_message);  // ClientSignature ...
        secret proof;
        proof.reserve(signature.size());
        for (std::size_t i = 0; i < signature.size(); ++i)  // ... XOR ClientKey
            proof.push_back(static_cast<char>(signature.view()[i] ^ client_key.view()[i]));
        server_signature_ = hmac(md_, server_key.view(), auth_message);
        secret out;
        out.reserve(without_proof.size() + 3 + (proof.size() + 2) / 3 * 4);
        out.append(without_proof).append(",p=").append(base64_encode_secret(proof.view()));
        return out;
    }

    void check_server_final(std::string_view sf) {
        if (sf.starts_with("e=")) {
            const std::string_view value =
                sf.substr(2, sf.find(',') == std::string_view::npos ? std::string_view::npos : sf.find(',') - 2);
            fail(errc::auth_failed, fmt::format("{} server error: {}", name_, printable(value, 200)), sf);
        }
        if (!sf.starts_with("v="))
            fail(errc::protocol_violation, fmt::format("malformed {} server-final message: expected v= or e=", name_),
                 sf);
        const std::string_view value =
            sf.substr(2, sf.find(',') == std::string_view::npos ? std::string_view::npos : sf.find(',') - 2);
        const auto sig = try_base64_decode(value);
        if (!sig || !equal_secret(*sig, server_signature_.view()))
            fail(errc::auth_failed,
                 "server signature does not verify: the server does not know the password, or someone is in the "
                 "middle",
                 sf);
    }

    const char* md_;
    std::string name_;
    std::string nonce_;
    std::uint32_t max_iterations_;
    secret password_;
    std::string gs2_header_, cbind_input_, client_first_bare_;
    secret server_signature_;
    state state_ = state::initial;
};

}  // namespace

std::unique_ptr<mechanism> make_scram(scram_hash h, bool plus, const credentials& c, std::optional<channel_binding> cb,
                                      std::string client_nonce, std::uint32_t max_iterations) {
    if (client_nonce.empty()) client_nonce = base64_encode(random_bytes(18));  // 144 bits, no ','
    return std::make_unique<scram>(h, plus, c, std::move(cb), std::move(client_nonce), max_iterations);
}

}  // namespace mailwire::sasl::detail
