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

/// A new Message-ID "<random@domain>" (with angle brackets), 128 random bits.
MAILWIRE_API std::string make_message_id(std::string_view domain);

/// Builds an everyday message step by step (each setter returns *this), then build() it.
class MAILWIRE_API message_builder {
public:
    /// Adds an author (From).
    message_builder& from(mailbox m);
    /// Sets the Sender (the mailbox that actually sent it, when not the author).
    message_builder& sender(mailbox m);
    /// Adds a To recipient.
    message_builder& to(mailbox m);
    /// Adds a Cc recipient.
    message_builder& cc(mailbox m);
    /// Recipients that are not written into the message (see recipients()).
    message_builder& bcc(mailbox m);
    /// Adds a Reply-To mailbox.
    message_builder& reply_to(mailbox m);
    /// UTF-8 subject, RFC 2047-encoded when needed.
    message_builder& subject(std::string utf8);
    /// The text/plain body (UTF-8; line ends become CRLF).
    message_builder& text(std::string utf8);
    /// The text/html body (UTF-8).
    message_builder& html(std::string utf8);
    /// An attachment from memory. `mime_type` "" = guessed from the file name.
    message_builder& attach(std::string filename, std::string data, std::string mime_type = {});
    /// An attachment read from `path` when the message is written (never held in memory).
    message_builder& attach_file(const std::string& path, std::string mime_type = {});
    /// An inline image for the HTML body, referenced there as "cid:<content_id>".
    message_builder& inline_image(std::string content_id, std::string filename, std::string data,
                                  std::string mime_type = {});
    /// An attached message (message/rfc822), e.g. for a forward.
    message_builder& attach_message(const entity& msg);
    /// Any other header (value written as given).
    message_builder& header(std::string name, std::string value);
    /// Fixed Date (default: now, UTC).
    message_builder& date(date_time d);
    /// Fixed Message-ID (default: make_message_id(domain of From)).
    message_builder& message_id(std::string id);

    /// A reply to `original`: To = its Reply-To or From (plus its To/Cc minus `self` when
    /// reply_all), Subject "Re: ..." (not doubled), In-Reply-To and References, and the original
    /// text quoted with "> " under an attribution line.
    static message_builder reply(const entity& original, bool reply_all = false, std::optional<mailbox> self = {});
    /// A forward of `original`: Subject "Fwd: ...", the original attached as message/rfc822
    /// (as_attachment) or its text quoted inline under a "Forwarded message" block.
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
