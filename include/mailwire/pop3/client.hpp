// mailwire::pop3::client — POP3 (RFC 1939, CAPA RFC 2449, STLS RFC 2595) over the shared client base.
#pragma once

#include <string>
#include <vector>

#include "mailwire/client.hpp"
#include "mailwire/pop3/response.hpp"

namespace mailwire::pop3 {

class MAILWIRE_API client : public client_base {
public:
    client();
    ~client() override;

    [[nodiscard]] const pop3::capabilities& capabilities() const noexcept { return caps_; }
    /// The APOP timestamp of the greeting, empty when the server offers none.
    [[nodiscard]] const std::string& apop_timestamp() const noexcept { return apop_; }
    /// SASL mechanisms from CAPA's SASL line.
    [[nodiscard]] std::vector<std::string> auth_mechanisms() const override { return caps_.sasl; }

    /// USER/PASS (RFC 1939 §7) explicitly; authenticate() prefers SASL, then APOP, then USER/PASS.
    /// Refused over plaintext unless allow_plaintext_auth.
    void login(const std::string& user, const std::string& password);
    void noop();
    /// Sends a command and returns its +OK status; -ERR throws command_error carrying the code.
    pop3::status run(std::string_view command, stage s = stage::command);

protected:
    void read_greeting() override;
    void query_capabilities() override;
    [[nodiscard]] bool offers_starttls() const override { return caps_.stls; }
    void request_starttls() override;
    void forget_session_state() override;
    void send_logout() override;
    void sasl_start(std::string_view mechanism, const std::string* initial, std::string_view logged) override;
    sasl_reply sasl_read() override;
    std::string legacy_login(const sasl::credentials& credentials) override;

private:
    void user_pass(const sasl::credentials& credentials);
    pop3::status exchange(std::string_view command, stage s, std::string_view logged = {});
    pop3::capabilities caps_;
    std::string apop_;
};

}  // namespace mailwire::pop3
