// Composing messages for the everyday case: text, text + HTML, attachments, inline images,
// replies and forwards.
//
//   mime::message_builder b;
//   b.from({"Ann", "ann", "example.com"}).to({"", "bob", "example.org"}).subject("Grüße")
//    .text("Hello\n").html("<p>Hello</p>").attach_file("report.pdf");
//   mime::message m = b.build();          // Message-ID, Date, MIME-Version set
//   auto rcpt = b.recipients();           // To + Cc + Bcc for the SMTP envelope
//
// Structure: multipart/mixed( multipart/alternative( text/plain, multipart/related( text/html,
// inline images ) ), attachments ), with each level left out when it has one child.
// Bcc is never written into the message.
//
// Header injection: no value given to the builder (or taken from a message being replied to or
// forwarded) can add a header line or end the header block. The rule, by kind of value:
//  - structured values are validated and rejected with mailwire::error (errc::invalid_argument)
//    by the setter, before anything is built: mailboxes (a local part with a control character,
//    a domain that is not a dot-atom or [literal]), message ids (must be <left@right>), Content-IDs,
//    MIME types (type/subtype), header names (RFC 5322 §2.2) and header() values;
//  - addresses are written ASCII whenever the local part is: display names RFC 2047-encoded,
//    UTF-8 domains as IDNA A-labels, so such a message needs no SMTPUTF8 (RFC 6531 §3.4);
//  - unstructured text (subject, display names, file names) is made single-line: each line
//    break (CRLF, CR or LF) with its surrounding blanks becomes one space, other control
//    characters (tab excepted) are removed, then it is RFC 2047/2231-encoded as needed;
//  - header() takes a raw value, which may be pre-folded: only CRLF followed by a space or tab
//    (and then by something else) is accepted; a bare CR or LF, NUL or an empty continuation
//    line is rejected;
//  - reply() and forward() sanitise what they copy: message ids that are not valid msg-ids are
//    dropped, addresses that cannot be written are dropped, the subject is made single-line.
// Every header line is finally written through format_header (serializer.hpp), which applies
// the same folding rule again.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"
#include "mailwire/mime/address.hpp"
#include "mailwire/mime/date.hpp"
#include "mailwire/mime/message.hpp"

namespace mailwire::mime {

/// MIME type for a file name's extension ("report.pdf" → "application/pdf");
/// application/octet-stream when unknown.
MAILWIRE_API std::string guess_mime_type(std::string_view filename);

/// A new Message-ID "<random@domain>" (with angle brackets), 128 random bits. `domain` "" means
/// "localhost"; throws mailwire::error (invalid_argument) when it is not a dot-atom or a domain
/// literal (or is longer than 217 octets).
MAILWIRE_API std::string make_message_id(std::string_view domain);

/// Builds an everyday message step by step (each setter returns *this), then build() it.
///
/// Setters that take structured values throw mailwire::error (errc::invalid_argument) on a value
/// that could not be written safely (see the header injection rules at the top of builder.hpp);
/// the builder is then unchanged.
class MAILWIRE_API message_builder {
public:
    /// Adds an author (From).
    /// Throws invalid_argument for a local part with a control character or a malformed domain;
    /// the display name is made single-line text.
    message_builder& from(mailbox m);
    /// Sets the Sender (the mailbox that actually sent it, when not the author).
    /// Throws invalid_argument for a local part with a control character or a malformed domain;
    /// the display name is made single-line text.
    message_builder& sender(mailbox m);
    /// Adds a To recipient.
    /// Throws invalid_argument for a local part with a control character or a malformed domain;
    /// the display name is made single-line text.
    message_builder& to(mailbox m);
    /// Adds a Cc recipient.
    /// Throws invalid_argument for a local part with a control character or a malformed domain;
    /// the display name is made single-line text.
    message_builder& cc(mailbox m);
    /// Recipients that are not written into the message (see recipients()).
    /// Throws invalid_argument for a local part with a control character or a malformed domain;
    /// the display name is made single-line text.
    message_builder& bcc(mailbox m);
    /// Adds a Reply-To mailbox.
    /// Throws invalid_argument for a local part with a control character or a malformed domain;
    /// the display name is made single-line text.
    message_builder& reply_to(mailbox m);
    /// UTF-8 subject, RFC 2047-encoded when needed. Unstructured text: line breaks become spaces
    /// and control characters (tab excepted) are removed when it is written.
    message_builder& subject(std::string utf8);
    /// The text/plain body (UTF-8; line ends become CRLF).
    message_builder& text(std::string utf8);
    /// The text/html body (UTF-8).
    message_builder& html(std::string utf8);
    /// An attachment from memory. `mime_type` "" = guessed from the file name, else exactly
    /// "type/subtype" (invalid_argument otherwise; a multipart type too: it has parts, not data).
    /// The file name is made single-line text. Text is 7bit or quoted-printable, other types base64,
    /// except message/rfc822 (an .eml file): never encoded (RFC 2046 §5.2.1), it goes as 7bit, or
    /// 8bit when it has 8-bit bytes (sending it then needs the server's 8BITMIME, which
    /// smtp::client::send checks); bytes that are no message (a NUL, a line over 998 octets)
    /// would need BINARYMIME and go as application/octet-stream, base64, under the same name.
    message_builder& attach(std::string filename, std::string data, std::string mime_type = {});
    /// An attachment read from `path` when the message is written (never held in memory; a
    /// message/rfc822 file is also read once by build(), to choose its encoding).
    /// `mime_type`, the file name (the last path component) and the encoding as for attach().
    message_builder& attach_file(const std::string& path, std::string mime_type = {});
    /// An inline image for the HTML body, referenced there as "cid:<content_id>". `content_id` is
    /// "left@right" (RFC 2392) or a bare dot-atom ("logo"), angle brackets optional; anything else
    /// throws invalid_argument. `filename` and `mime_type` as for attach().
    message_builder& inline_image(std::string content_id, std::string filename, std::string data,
                                  std::string mime_type = {});
    /// An attached message (message/rfc822), e.g. for a forward: 7bit, or 8bit when it holds
    /// 8-bit bytes (entity::set_embedded); one with a NUL or an overlong line goes as
    /// application/octet-stream "message.eml", base64 (see attach()).
    message_builder& attach_message(const entity& msg);
    /// Any other header, value written as given (encode it first). `name` must be an RFC 5322
    /// field name and not one the builder writes itself (From, Sender, To, Cc, Bcc, Reply-To,
    /// Subject, Date, Message-ID, MIME-Version, Content-*). `value` may be pre-folded, but only
    /// with CRLF followed by a space or tab; a bare CR or LF, NUL or an empty continuation line
    /// throws invalid_argument.
    message_builder& header(std::string name, std::string value);
    /// Fixed Date (default: now, UTC).
    message_builder& date(date_time d);
    /// Fixed Message-ID "<left@right>" (brackets optional; default: make_message_id(domain of
    /// From)). Throws invalid_argument unless it is a valid msg-id (RFC 5322 §3.6.4, dot-atom or
    /// [literal] on the right, at most 250 octets).
    message_builder& message_id(std::string id);

    /// A reply to `original`: To = its Reply-To or From (plus its To/Cc minus `self` when
    /// reply_all), Subject "Re: ..." (not doubled), In-Reply-To and References, and the original
    /// text quoted with "> " under an attribution line. What is copied is sanitised: In-Reply-To
    /// and References keep only valid msg-ids (References: the first and the 19 most recent),
    /// addresses that cannot be written back are dropped, the subject is made single-line.
    static message_builder reply(const entity& original, bool reply_all = false, std::optional<mailbox> self = {});
    /// A forward of `original`: Subject "Fwd: ...", the original attached as message/rfc822
    /// (as_attachment) or its text quoted inline under a "Forwarded message" block. The subject
    /// is made single-line.
    static message_builder forward(const entity& original, bool as_attachment = true);

    /// Builds the message. Throws mailwire::error (invalid_argument) without From or recipients.
    [[nodiscard]] message build() const;
    /// Every envelope recipient: To, Cc and Bcc.
    [[nodiscard]] std::vector<mailbox> recipients() const;

private:
    struct part {
        std::string filename, data, path, mime_type, content_id;
        bool is_message = false;
        entity msg;
    };
    std::optional<mailbox> from_, sender_;
    std::vector<mailbox> to_, cc_, bcc_, reply_to_;
    std::string subject_;
    std::optional<std::string> text_, html_;
    std::vector<part> attachments_, inline_;
    std::vector<std::pair<std::string, std::string>> headers_;
    std::optional<date_time> date_;
    std::string message_id_;
};

}  // namespace mailwire::mime
