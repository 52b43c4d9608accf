// mailwire::smtp::client — SMTP submission (RFC 5321, STARTTLS RFC 3207) over the shared client base.
#pragma once

#include <cstdint>
#include <exception>
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
    seven_bit,       ///< plain ASCII (no BODY parameter)
    eight_bit_mime,  ///< BODY=8BITMIME: 8-bit text lines
    binary_mime,     ///< BODY=BINARYMIME: arbitrary bytes, needs CHUNKING (sent with BDAT)
};

/// DSN return option (RFC 3461 §4.3).
enum class dsn_return { unspecified, full, headers };

/// Who the message goes to and how (the message itself is separate: headers are not read).
struct envelope {
    std::string from;                       ///< reverse-path; empty: the null sender "&lt;&gt;"
    std::vector<std::string> to;            ///< forward-paths (To, Cc and Bcc recipients alike)
    body_type body = body_type::seven_bit;  ///< BODY= of MAIL FROM (8BITMIME only when offered)
    /// SMTPUTF8 (RFC 6531); set automatically when any address is not ASCII.
    bool smtputf8 = false;
    bool requiretls = false;  ///< REQUIRETLS (RFC 8689), when the server offers it
    // Delivery status notifications (RFC 3461), used when the server offers DSN.
    dsn_return ret = dsn_return::unspecified;  ///< RET=FULL or RET=HDRS
    std::string envid;                         ///< ENVID
    /// NOTIFY for every recipient: "NEVER", or e.g. "SUCCESS,FAILURE,DELAY" (any case); anything
    /// else is refused by send() before anything is sent.
    std::string notify;
    bool orcpt = false;  ///< add ORCPT=rfc822;ADDRESS (each recipient's own, xtext) to every recipient
};

/// One recipient's fate.
struct recipient_result {
    std::string address;    ///< as given in the envelope
    bool accepted = false;  ///< the server answered RCPT TO with 2xx
    smtp::reply reply;      ///< the server's reply to RCPT TO
};

/// What happened to a message. Partial success (some recipients refused) is a result, not an
/// exception: the accepted recipients get the message and the caller sees who did not.
struct send_result {
    std::vector<recipient_result> recipients;  ///< one per envelope recipient, in order
    smtp::reply final_reply;  ///< the reply to the end of DATA / the last BDAT ("250 2.0.0 Ok: queued as …")
    std::uint64_t bytes = 0;  ///< message bytes read from the source
    bool chunked = false;     ///< sent with BDAT
    /// How many recipients the server accepted.
    [[nodiscard]] std::size_t accepted() const noexcept;
    /// True when no recipient was refused.
    [[nodiscard]] bool all_accepted() const noexcept { return accepted() == recipients.size(); }
};

/// A refused SMTP step, with the whole reply. Derives from command_error (the session lives on,
/// after an RSET) — except 421, after which the server has closed the connection.
class MAILWIRE_API smtp_error : public command_error {
public:
    /// `r` is the refusing reply (empty for a check made before anything was sent, e.g. SIZE).
    smtp_error(errc code, std::string detail, error_context ctx, smtp::reply r, std::string recipient = {});
    /// The whole reply that refused the step.
    [[nodiscard]] const smtp::reply& reply() const noexcept { return reply_; }
    /// Its code: 421, 451, 550, 554 … (0 when no reply was involved).
    [[nodiscard]] int status() const noexcept { return reply_.code; }
    /// Its RFC 3463 code ("5.1.1"), or "" when the server sent none.
    [[nodiscard]] const std::string& enhanced_code() const noexcept { return reply_.enhanced_code; }
    /// 4xx: trying again later may work.
    [[nodiscard]] bool transient() const noexcept { return reply_.transient(); }
    /// 5xx: refused for good.
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
    /// Total size in bytes as read(), if known.
    [[nodiscard]] virtual std::optional<std::uint64_t> size() const { return std::nullopt; }
    /// Size as transmitted (RFC 1870 §4: each line end counted as CRLF; see transmitted_size()),
    /// if known: what SIZE= announces and what is checked against the server's limit for a
    /// message larger than 256 KiB (a smaller one is read before MAIL FROM and counted exactly).
    /// By default size(), which is right when the line ends are CRLF already; memory_source and
    /// file_source count it.
    [[nodiscard]] virtual std::optional<std::uint64_t> transmitted_size() const { return size(); }
};
/// A message in memory (not copied: the view must outlive the send).
MAILWIRE_API std::unique_ptr<message_source> memory_source(std::string_view bytes);
/// A message file, read in blocks.
MAILWIRE_API std::unique_ptr<message_source> file_source(const std::string& path);
/// Any std::istream (size unknown).
MAILWIRE_API std::unique_ptr<message_source> stream_source(std::istream& in);

/// One message of a batch (client::send_many): its envelope and its bytes.
struct outgoing {
    envelope env;                             ///< sender and recipients
    std::unique_ptr<message_source> message;  ///< the message; read once, when its turn comes
};

/// What became of one message of a batch.
struct batch_outcome {
    std::size_t index = 0;  ///< position of the message in the batch, from 0
    send_result result;     ///< recipients' replies and the final reply, as far as the transaction got
    std::exception_ptr
        error;  ///< why the message was not taken (an smtp_error, or what ended the session); null if it was
    /// True when the server took the message (for the accepted recipients).
    [[nodiscard]] bool ok() const noexcept { return !error; }
};

/// An SMTP submission client: connect (client_base), optionally authenticate, then send().
class MAILWIRE_API client : public client_base {
public:
    client();
    ~client() override;

    /// What the server offered in its last EHLO reply (after STARTTLS: the encrypted one).
    [[nodiscard]] const smtp::capabilities& capabilities() const noexcept { return caps_; }
    /// SASL mechanisms from the EHLO AUTH keyword.
    [[nodiscard]] std::vector<std::string> auth_mechanisms() const override { return caps_.auth; }
    /// The name sent with EHLO/HELO; default (or when set to ""): the local address as a literal,
    /// "[127.0.0.1]". RFC 5321 §4.1.1.1: one domain or address literal, so a name with a space or a
    /// control character (CR, LF and NUL included) throws error(errc::invalid_argument) here and
    /// the previous name stays.
    void set_ehlo_name(std::string name);
    /// Sends a command line and returns the reply (whatever its code). Throws
    /// error(errc::invalid_argument), before sending anything, when `command` holds CR, LF or NUL.
    smtp::reply exchange(std::string_view command, stage s = stage::command);
    /// Reads one reply. A reply of more than min(4096, limits().max_list_items) lines or more than
    /// limits().max_multiline_bytes bytes (lines with their CRLF) is a protocol_error
    /// (errc::limit_exceeded) and closes the connection.
    smtp::reply read_reply(stage s);
    /// NOOP; throws command_error unless the server answers 2xx.
    void noop();
    /// RSET: abandons the current transaction.
    void rset();
    /// VRFY (RFC 5321 §3.5.1); returns the reply, whatever its code. `user` is checked as an
    /// address is (no CR, LF, NUL, other controls, angle brackets or unquoted spaces).
    smtp::reply vrfy(std::string_view user);

    /// Sends one message. MAIL FROM carries SIZE=, BODY=, SMTPUTF8, RET/ENVID and REQUIRETLS as the
    /// server supports them; RCPT TO carries NOTIFY/ORCPT. With PIPELINING the commands go out in
    /// one write and replies are matched in order; with CHUNKING the body goes as BDAT chunks
    /// (a small message in the very same write), else DATA with dot-stuffing and CRLF
    /// normalisation done while streaming. A message larger than the server's SIZE is refused
    /// before upload. Throws smtp_error when MAIL, every RCPT, or the data is refused (the
    /// transaction is reset, the session lives on); 421 closes the connection.
    ///
    /// A message up to 256 KiB is read whole before MAIL FROM, and what it holds decides the
    /// parameters: SIZE= is its size as transmitted (line ends counted as CRLF, RFC 1870; a larger
    /// message: message_source::transmitted_size()); raw UTF-8 in its header section adds SMTPUTF8
    /// (RFC 6531 §3.4) and 8-bit body bytes add BODY=8BITMIME (RFC 6152), and when the server does
    /// not offer the extension the message is refused with smtp_error(errc::invalid_argument)
    /// before anything is sent (the header section is looked at within the first 256 KiB of a
    /// larger message; its body goes with the caller's body type). Without SMTPUTF8, an envelope
    /// address whose local part is ASCII gets its UTF-8 domain as an IDNA A-label; results name
    /// recipients as the caller gave them.
    ///
    /// Every envelope value is checked before anything is sent, and a bad one throws
    /// error(errc::invalid_argument) naming it, with the session untouched: addresses may not hold
    /// CR, LF, NUL or other controls, angle brackets, or spaces outside a quoted local part;
    /// `notify` must be NEVER or a comma-separated list of SUCCESS, FAILURE and DELAY (RFC 3461
    /// §4.1); `envid` may not hold CR, LF or NUL (it is sent as xtext, RFC 3461 §4.4).
    send_result send(const envelope& env, message_source& message);
    /// Sends one message held in memory (see the overload above).
    send_result send(const envelope& env, std::string_view message);

    /// Sends several messages over this connection, one transaction each. With PIPELINING and
    /// CHUNKING, a message of known size up to 256 KiB goes as MAIL, RCPT… and "BDAT n LAST" with
    /// its bytes, and the next message follows without waiting for the replies (up to 32 messages
    /// in flight, each after an RSET so a failed transaction can never leak into the next one,
    /// RFC 2920 §3.1, RFC 3030 §4.2). Other messages go one at a time, as with send().
    ///
    /// `next` fills in the next message and returns false when there are no more; it is called only
    /// when that message is about to go, so few sources are open at a time. `done` receives each
    /// message's outcome, in order. A refused message (MAIL, every recipient, or the data refused)
    /// is an outcome with an smtp_error, and the batch goes on. When the session ends (421, a lost
    /// connection, a timeout), each message already sent but not yet answered gets an outcome with
    /// that error (so does the message in hand: every message `next` handed out gets exactly one
    /// outcome), and the error is thrown; messages `next` has not handed out are not touched.
    /// An exception from `next` is passed on after the messages in flight got their outcomes.
    void send_many(const std::function<bool(outgoing&)>& next, const std::function<void(batch_outcome&&)>& done);
    /// Sends all `messages` (see above); one outcome per message, in order. Throws only when the
    /// session ends, as above (the outcomes collected so far are lost: use the callback form to keep them).
    std::vector<batch_outcome> send_many(std::vector<outgoing> messages);

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
    void sasl_start(std::string_view mechanism, const secret* initial, std::string_view logged) override;
    sasl_reply sasl_read() override;
    std::string legacy_login(const sasl::credentials&) override { return {}; }

private:
    std::string ehlo_name() const;
    void check_envelope(const envelope& env, std::optional<std::uint64_t> size) const;
    envelope prepare_envelope(const envelope& env, std::string_view head, bool whole) const;
    static std::optional<std::uint64_t> announced_size(const envelope& env, const message_source& src,
                                                       const std::string* whole);
    void check_address(std::string_view address, std::string_view what) const;
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
