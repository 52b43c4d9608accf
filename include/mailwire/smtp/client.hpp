// mailwire::smtp::client — SMTP submission (RFC 5321, STARTTLS RFC 3207) over the shared client base.
#pragma once

#include <string>

#include "mailwire/client.hpp"
#include "mailwire/smtp/reply.hpp"

namespace mailwire::smtp {

class MAILWIRE_API client : public client_base {
public:
    client();
    ~client() override;

    [[nodiscard]] const smtp::capabilities& capabilities() const noexcept { return caps_; }
    /// SASL mechanisms from the EHLO AUTH keyword.
    [[nodiscard]] std::vector<std::string> auth_mechanisms() const override { return caps_.auth; }
    /// The name sent with EHLO/HELO; default: the local address as a literal, "[127.0.0.1]".
    void set_ehlo_name(std::string name) { ehlo_name_ = std::move(name); }
    /// Sends a command line and returns the reply (whatever its code).
    smtp::reply exchange(std::string_view command, stage s = stage::command);
    /// Reads one reply.
    smtp::reply read_reply(stage s);
    void noop();

protected:
    void read_greeting() override;
    void query_capabilities() override;
    [[nodiscard]] bool offers_starttls() const override { return caps_.starttls; }
    void request_starttls() override;
    void forget_session_state() override;
    void send_logout() override;
    void sasl_start(std::string_view mechanism, const std::string* initial, std::string_view logged) override;
    sasl_reply sasl_read() override;
    std::string legacy_login(const sasl::credentials&) override { return {}; }

private:
    std::string ehlo_name() const;
    smtp::capabilities caps_;
    std::string ehlo_name_;
};

}  // namespace mailwire::smtp
