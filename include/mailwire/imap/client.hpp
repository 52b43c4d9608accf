// mailwire::imap::client — IMAP4rev1 (RFC 3501) over the shared client base.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mailwire/client.hpp"
#include "mailwire/imap/status.hpp"

namespace mailwire::imap {

class MAILWIRE_API client : public client_base {
public:
    client();
    ~client() override;

    /// Current capabilities, upper case (re-read after STARTTLS and after login).
    [[nodiscard]] const std::vector<std::string>& capabilities() const noexcept { return caps_; }
    [[nodiscard]] bool has_capability(std::string_view cap) const;
    /// SASL mechanisms from the AUTH= capabilities.
    [[nodiscard]] std::vector<std::string> auth_mechanisms() const override;
    /// True when the server greeted with PREAUTH (already authenticated).
    [[nodiscard]] bool preauthenticated() const noexcept { return preauth_; }

    /// LOGIN (RFC 3501 §6.2.3) explicitly; authenticate() prefers SASL and uses LOGIN only when no
    /// mechanism fits. Refused over plaintext unless allow_plaintext_auth.
    /// Throws auth_error with the server's text and response code on NO.
    void login(const std::string& user, const std::string& password);
    /// NOOP; also collects unsolicited responses.
    void noop();
    /// Runs `command` (without tag) and returns the tagged completion; NO/BAD throw command_error.
    response_line run(std::string_view command, stage s = stage::command);

protected:
    void read_greeting() override;
    void query_capabilities() override;
    [[nodiscard]] bool offers_starttls() const override;
    void request_starttls() override;
    void forget_session_state() override;
    void send_logout() override;
    [[nodiscard]] bool greeting_preauthenticated() const override { return preauth_; }
    void sasl_start(std::string_view mechanism, const std::string* initial, std::string_view logged) override;
    sasl_reply sasl_read() override;
    [[nodiscard]] bool sasl_initial_response_allowed() const override { return has_capability("SASL-IR"); }
    std::string legacy_login(const sasl::credentials& credentials) override;
    void on_authenticated() override;

private:
    std::string next_tag();
    /// Sends a tagged command (masked in the log when `logged` is given) and reads to its completion.
    response_line exchange(std::string_view command, stage s, std::string_view logged = {});
    std::string read_response(stage s);
    void absorb(const response_line& r);

    unsigned tag_counter_ = 0;
    std::vector<std::string> caps_;
    bool preauth_ = false;
    std::string auth_tag_;
    bool caps_from_auth_ = false;
};

}  // namespace mailwire::imap
