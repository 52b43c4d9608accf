// mailwire::pop3::client — POP3 (RFC 1939, CAPA RFC 2449, STLS RFC 2595, PIPELINING RFC 2449,
// UTF8 RFC 6856) over the shared client base.
//
//     mailwire::pop3::client c;
//     c.connect("pop.example.com", 995, mailwire::security::implicit_tls);
//     c.authenticate("bob", password);
//     auto [count, size] = c.stat();
//     std::ofstream f("1.eml", std::ios::binary);
//     c.retr(1, [&](std::string_view chunk) { f.write(chunk.data(), chunk.size()); });
//     c.dele(1);
//     c.quit();  // deletions happen here, and only here
//
// Bodies (RETR, TOP) are streamed: the sink receives unstuffed bytes in blocks as they arrive; the
// whole message is never held in memory. Listings (LIST, UIDL, CAPA) are buffered up to
// limits().max_multiline_bytes and limits().max_list_items lines.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/client.hpp"
#include "mailwire/pop3/multiline.hpp"
#include "mailwire/pop3/response.hpp"

namespace mailwire::pop3 {

/// The server answered -ERR to a command (after authentication; login failures are auth_error with
/// the code in response_code()). The session lives on. code() is errc::command_failed,
/// server_text() the text after the response code.
class MAILWIRE_API pop3_error : public command_error {
public:
    /// `st` is the -ERR reply; `detail` and `ctx` as for every mailwire::error.
    pop3_error(std::string detail, error_context ctx, pop3::status st);
    /// The whole -ERR reply: the extended code (without brackets, upper case) and the text.
    [[nodiscard]] const pop3::status& status() const noexcept { return status_; }
    /// The extended response code as sent ("IN-USE", "SYS/TEMP", …), empty when none.
    [[nodiscard]] const std::string& response_code() const noexcept { return status_.code; }
    /// The response code classified: in_use, login_delay, auth, sys_temp, sys_perm, utf8, other, none.
    [[nodiscard]] pop3::response_code kind() const noexcept { return classify_response_code(status_.code); }
    /// True for [IN-USE], [LOGIN-DELAY] and [SYS/TEMP]: trying again later may work.
    [[nodiscard]] bool transient() const noexcept;

private:
    pop3::status status_;
};

/// Receives a message's bytes, already unstuffed, in chunks of any size as they arrive.
using body_sink = std::function<void(std::string_view chunk)>;

/// Receives the messages of a bulk download (client::retrieve), in the order asked for.
class MAILWIRE_API message_handler {
public:
    virtual ~message_handler();
    /// A message starts; `announced` is the size from the server's "+OK n octets", if given.
    virtual void begin(std::uint32_t number, std::optional<std::uint64_t> announced);
    /// Bytes of the current message.
    virtual void data(std::uint32_t number, std::string_view chunk) = 0;
    /// The message is complete (`bytes` were delivered).
    virtual void end(std::uint32_t number, std::uint64_t bytes);
    /// The server refused RETR for this message (-ERR: deleted, no such message …); the batch goes on.
    virtual void refused(std::uint32_t number, const pop3::status& reply);
};

/// What a bulk download did.
struct download_result {
    std::size_t retrieved = 0;           ///< messages completely received
    std::uint64_t bytes = 0;             ///< their bytes
    std::vector<std::uint32_t> refused;  ///< numbers the server answered -ERR for
};

/// Progress of a body transfer: message number, bytes received, announced size if known.
using progress_callback =
    std::function<void(std::uint32_t number, std::uint64_t received, std::optional<std::uint64_t> total)>;

/// A POP3 session (RFC 1939): connect() and authenticate() from client_base, then the
/// TRANSACTION commands below. One thread at a time; message numbers are valid for this session
/// only (another session's QUIT renumbers), UIDLs across sessions. Deletions (dele()) take effect
/// only when quit() succeeds.
class MAILWIRE_API client : public client_base {
public:
    client();
    ~client() override;

    /// The CAPA answer of this connection (asked again after STLS).
    [[nodiscard]] const pop3::capabilities& capabilities() const noexcept { return caps_; }
    /// The APOP timestamp of the greeting, empty when the server offers none.
    [[nodiscard]] const std::string& apop_timestamp() const noexcept { return apop_; }
    /// SASL mechanisms from CAPA's SASL line.
    [[nodiscard]] std::vector<std::string> auth_mechanisms() const override { return caps_.sasl; }

    /// USER/PASS (RFC 1939 §7) explicitly; authenticate() prefers SASL, then APOP, then USER/PASS.
    /// Refused over plaintext unless allow_plaintext_auth. A user name or password holding CR, LF
    /// or NUL throws error(errc::invalid_argument) before anything is sent (here and in
    /// authenticate()'s APOP and USER/PASS); the session stays usable.
    void login(const std::string& user, const secret& password);
    /// Sends a command and returns its +OK status; -ERR throws pop3_error (a command_error) carrying the code.
    /// A command holding CR, LF or NUL throws error(errc::invalid_argument) and nothing is sent.
    pop3::status run(std::string_view command, stage s = stage::command);

    // ---- TRANSACTION state (RFC 1939 §5) ------------------------------------------------------
    /// STAT: message count and total size (messages marked deleted are not counted).
    mailbox_stat stat();
    /// LIST: every message not marked deleted, with its size. The listing is bounded like every
    /// buffered multi-line reply (CAPA, LIST, UIDL): more than limits().max_multiline_bytes bytes or
    /// limits().max_list_items lines is a protocol_error (errc::limit_exceeded) that closes the
    /// connection.
    std::vector<message_info> list();
    /// LIST n. Throws pop3_error when there is no such message.
    message_info list(std::uint32_t number);
    /// LIST n for each number, pipelined when the server offers PIPELINING; nullopt where the server
    /// answered -ERR.
    std::vector<std::optional<message_info>> list(std::span<const std::uint32_t> numbers);
    /// UIDL: the unique id of every message (stable across sessions); bounded as list() is.
    std::vector<message_uid> uidl();
    /// UIDL n. Throws pop3_error when there is no such message.
    message_uid uidl(std::uint32_t number);
    /// UIDL n for each number, pipelined when offered; nullopt where the server answered -ERR.
    std::vector<std::optional<message_uid>> uidl(std::span<const std::uint32_t> numbers);

    /// RETR n, streamed: `sink` gets the unstuffed message bytes (as stored, CRLF line ends) in
    /// blocks as they arrive. Returns the byte count. Throws pop3_error on -ERR; a body larger than
    /// max_message_bytes() is a protocol_error(limit_exceeded). An exception thrown by the sink
    /// ends the session (the rest of the body is still on the wire) and is passed on.
    std::uint64_t retr(std::uint32_t number, const body_sink& sink);
    /// RETR n into memory; bounded by limits().max_multiline_bytes — use the sink form for large mail.
    std::string retr(std::uint32_t number);
    /// TOP n lines (RFC 1939 §7): the header and the first `lines` lines of the body, streamed.
    std::uint64_t top(std::uint32_t number, std::uint32_t lines, const body_sink& sink);
    /// TOP into memory, bounded by limits().max_multiline_bytes.
    std::string top(std::uint32_t number, std::uint32_t lines);
    /// Downloads the given messages: with PIPELINING the RETR commands go out in batches (one write
    /// each, at most pipeline_window() outstanding) and the replies are read back in order, so the
    /// link is never idle between messages; without it, one RETR after the other. A refused RETR
    /// goes to handler.refused() and the batch continues; an exception from the handler ends the session.
    download_result retrieve(std::span<const std::uint32_t> numbers, message_handler& handler);

    /// DELE n: marks the message deleted. Nothing is removed until quit() succeeds: RSET, a dropped
    /// connection or disconnect(false) leave the maildrop untouched (RFC 1939 §6).
    void dele(std::uint32_t number);
    /// RSET: unmarks every message marked deleted in this session.
    void rset();
    /// NOOP: keeps the session alive.
    void noop();
    /// QUIT: the server removes the messages marked deleted (UPDATE state), then the connection
    /// closes. Throws pop3_error when the server reports that the removal failed (the connection
    /// is closed either way). disconnect() sends QUIT too but cannot report such a failure.
    void quit();
    /// UTF8 (RFC 6856): switches the session to UTF-8 (user names, passwords, headers), before
    /// authentication. Throws pop3_error when refused, config_error when UTF8 is not advertised.
    void utf8();
    /// Whether utf8() succeeded on this connection.
    [[nodiscard]] bool utf8_enabled() const noexcept { return utf8_; }

    // ---- settings -----------------------------------------------------------------------------
    /// Use PIPELINING when the server offers it (default true).
    void use_pipelining(bool on) noexcept { pipelining_ = on; }
    /// Whether batches are pipelined on this connection now.
    [[nodiscard]] bool pipelining() const noexcept { return pipelining_ && caps_.pipelining; }
    /// Commands outstanding at most in a pipelined batch (default 64, at least 1).
    void pipeline_window(std::size_t n) noexcept { window_ = n == 0 ? 1 : n; }
    /// The current pipeline window.
    [[nodiscard]] std::size_t pipeline_window() const noexcept { return window_; }
    /// Largest streamed body (RETR/TOP to a sink) accepted before the transfer is abandoned with
    /// protocol_error(limit_exceeded): a server that never sends the terminating line cannot make
    /// the client write forever. Default 4 GiB; 0 means no limit.
    void max_message_bytes(std::uint64_t n) noexcept { max_message_ = n; }
    /// The current streamed-body limit (0: none).
    [[nodiscard]] std::uint64_t max_message_bytes() const noexcept { return max_message_; }
    /// Called after each block of a RETR/TOP/retrieve body.
    void on_progress(progress_callback cb) { progress_ = std::move(cb); }

protected:
    void read_greeting() override;
    void query_capabilities() override;
    [[nodiscard]] bool offers_starttls() const override { return caps_.stls; }
    void request_starttls() override;
    void forget_session_state() override;
    void send_logout() override;
    void sasl_start(std::string_view mechanism, const secret* initial, std::string_view logged) override;
    sasl_reply sasl_read() override;
    std::string legacy_login(const sasl::credentials& credentials) override;
    std::string legacy_login_named(const sasl::credentials& credentials, std::string_view name) override;

private:
    void user_pass(const sasl::credentials& credentials);
    std::string apop_login(const sasl::credentials& credentials);
    void check_credentials(std::string_view user, const secret* password) const;
    pop3::status exchange(std::string_view command, stage s, std::string_view logged = {});
    pop3::status read_status(stage s);
    [[noreturn]] void refused(std::string_view command, const pop3::status& st, stage s);
    std::string_view read_reply_line(stage s);
    void fill_input(stage s);
    /// Reads a multi-line body into `out` (per chunk) until its terminating line; more than
    /// `limit` bytes (0: none) is a protocol_error naming `limit_name`.
    std::uint64_t read_body(stage s, std::uint64_t limit, std::string_view limit_name,
                            const std::function<void(std::string_view)>& out, std::uint32_t number,
                            std::optional<std::uint64_t> total);
    /// Reads a multi-line listing into lines, bounded by limits() (`what` names it in errors).
    std::vector<std::string> read_lines(stage s, std::string_view what);
    void pipelined(std::size_t count, const std::function<std::string(std::size_t)>& command,
                   const std::function<void(std::size_t, const pop3::status&)>& response);
    std::uint64_t fetch(std::string command, std::uint32_t number, const body_sink& sink, std::uint64_t limit,
                        std::string_view limit_name);

    pop3::capabilities caps_;
    std::string apop_;
    bool utf8_ = false;
    bool pipelining_ = true;
    std::size_t window_ = 64;
    std::uint64_t max_message_ = std::uint64_t{1} << 32;
    progress_callback progress_;
    // POP3's own read buffer: pipelined replies follow a body directly, so the bytes after a
    // terminating line must stay readable for the next reply.
    std::unique_ptr<char[]> in_;
    std::size_t in_cap_ = 0, in_begin_ = 0, in_end_ = 0;
};

}  // namespace mailwire::pop3
