// mailwire::smtp::client — SMTP submission (RFC 5321, STARTTLS RFC 3207) over the shared client base.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mailwire/client.hpp"
#include "mailwire/smtp/reply.hpp"

namespace mailwire::smtp {

/// How the message body is labelled in MAIL FROM (RFC 6152, RFC 3030).
enum class body_type {
    seven_bit,      ///< plain ASCII (no BODY parameter)
    eight_bit_mime, ///< BODY=8BITMIME: 8-bit text lines
    binary_mime,    ///< BODY=BINARYMIME: arbitrary bytes, needs CHUNKING (sent with BDAT)
};

/// DSN return option (RFC 3461 §4.3).
enum class dsn_return { unspecified, full, headers };

/// Who the message goes to and how (the message itself is separate: headers are not read).
struct envelope {
    std::string from;             ///< reverse-path; empty: the null sender "<>"
    std::vector<std::string> to;  ///< forward-paths (To, Cc and Bcc recipients alike)
    body_type body = body_type::seven_bit;
    /// SMTPUTF8 (RFC 6531); set automatically when any address is not ASCII.
    bool smtputf8 = false;
    bool requiretls = false;      ///< REQUIRETLS (RFC 8689), when the server offers it
    // Delivery status notifications (RFC 3461), used when the server offers DSN.
    dsn_return ret = dsn_return::unspecified;
    std::string envid;            ///< ENVID
    std::string notify;           ///< NOTIFY for every recipient: "NEVER" or e.g. "SUCCESS,FAILURE,DELAY"
    bool orcpt = false;           ///< add ORCPT=rfc822;<address> to every recipient
};

/// One recipient's fate.
struct recipient_result {
    std::string address;
    bool accepted = false;
    smtp::reply reply;
};

/// What happened to a message. Partial success (some recipients refused) is a result, not an
/// exception: the accepted recipients get the message and the caller sees who did not.
struct send_result {
    std::vector<recipient_result> recipients;
    smtp::reply final_reply;  ///< the reply to the end of DATA / the last BDAT ("250 2.0.0 Ok: queued as …")
    std::uint64_t bytes = 0;  ///< message bytes read from the source
    bool chunked = false;     ///< sent with BDAT
    [[nodiscard]] std::size_t accepted() const noexcept;
    [[nodiscard]] bool all_accepted() const noexcept { return accepted() == recipients.size(); }
};

/// A refused SMTP step, with the whole reply. Derives from command_error (the session lives on,
/// after an RSET) — except 421, after which the server has closed the connection.
class MAILWIRE_API smtp_error : public command_error {
public:
    smtp_error(errc code, std::string detail, error_context ctx, smtp::reply r, std::string recipient = {});
    [[nodiscard]] const smtp::reply& reply() const noexcept { return reply_; }
    [[nodiscard]] int status() const noexcept { return reply_.code; }
    [[nodiscard]] const std::string& enhanced_code() const noexcept { return reply_.enhanced_code; }
    [[nodiscard]] bool transient() const noexcept { return reply_.transient(); }
    [[nodiscard]] bool permanent() const noexcept { return reply_.permanent(); }
    /// The recipient a RCPT failure concerns (when every recipient was refused: the first).
    [[nodiscard]] const std::string& recipient() const noexcept { return recipient_; }
    /// Per-recipient results when the failure came after RCPT (e.g. DATA refused).
    std::vector<recipient_result> recipients;

private:
    smtp::reply reply_;
    std::string recipient_;
};

/// Where a message's bytes come from, read in chunks so a large message never sits in memory.
class MAILWIRE_API message_source {
public:
    virtual ~message_source();
    /// Fills up to `n` bytes; returns 0 at the end.
    virtual std::size_t read(char* buf, std::size_t n) = 0;
    /// Total size if known (announced with SIZE=, checked against the server's limit up front).
    [[nodiscard]] virtual std::optional<std::uint64_t> size() const { return std::nullopt; }
};
/// A message in memory (not copied: the view must outlive the send).
MAILWIRE_API std::unique_ptr<message_source> memory_source(std::string_view bytes);
/// A message file, read in blocks.
MAILWIRE_API std::unique_ptr<message_source> file_source(const std::string& path);
/// Any std::istream (size unknown).
MAILWIRE_API std::unique_ptr<message_source> stream_source(std::istream& in);

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
    /// RSET: abandons the current transaction.
    void rset();
    /// VRFY (RFC 5321 §3.5.1); returns the reply, whatever its code.
    smtp::reply vrfy(std::string_view user);

    /// Sends one message. MAIL FROM carries SIZE=, BODY=, SMTPUTF8, RET/ENVID and REQUIRETLS as the
    /// server supports them; RCPT TO carries NOTIFY/ORCPT. With PIPELINING the commands go out in
    /// one write and replies are matched in order; with CHUNKING the body goes as BDAT chunks
    /// (a small message in the very same write), else DATA with dot-stuffing and CRLF
    /// normalisation done while streaming. A message larger than the server's SIZE is refused
    /// before upload. Throws smtp_error when MAIL, every RCPT, or the data is refused (the
    /// transaction is reset, the session lives on); 421 closes the connection.
    send_result send(const envelope& env, message_source& message);
    send_result send(const envelope& env, std::string_view message);

    /// Use BDAT when the server offers CHUNKING (default true); false forces DATA.
    void use_chunking(bool on) noexcept { chunking_ = on; }
    /// Use PIPELINING when offered (default true).
    void use_pipelining(bool on) noexcept { pipelining_ = on; }
    /// Called with the bytes of the message sent so far, after each block.
    void on_progress(std::function<void(std::uint64_t sent, std::optional<std::uint64_t> total)> cb) {
        progress_ = std::move(cb);
    }

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
    [[noreturn]] void fail(const smtp::reply& r, stage s, std::string what, std::string recipient = {},
                           std::vector<recipient_result> rcpts = {});
    std::string mail_command(const envelope& env, std::optional<std::uint64_t> size) const;
    std::string rcpt_command(const envelope& env, const std::string& rcpt) const;
    void upload_data(message_source& message, send_result& result);
    void upload_bdat(message_source& message, send_result& result, std::string raw_prefix, bool binary);
    smtp::capabilities caps_;
    std::string ehlo_name_;
    bool chunking_ = true;
    bool pipelining_ = true;
    std::function<void(std::uint64_t, std::optional<std::uint64_t>)> progress_;
};

}  // namespace mailwire::smtp
