// The MIME message model: a tree of entities with headers kept raw, in order, with their
// original bytes, and bodies kept as the raw (still encoded) bytes; decoding happens on demand.
//
// An unmodified parsed message serialises back byte for byte (serializer.hpp). What is changed
// through this API (a header set, a body replaced, a part added) is written canonically.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"
#include "mailwire/mime/address.hpp"
#include "mailwire/mime/date.hpp"
#include "mailwire/mime/encoding.hpp"
#include "mailwire/mime/params.hpp"
#include "mailwire/mime/parser.hpp"

namespace mailwire::mime {

/// One header field.
struct header {
    std::string name;   ///< as written
    std::string value;  ///< text after the colon and its leading blanks; folding kept, final line end removed
    std::string raw;    ///< the original bytes including line end; empty when set through the API

    /// The value unfolded (line breaks of folding removed, RFC 5322 §2.2.3).
    [[nodiscard]] std::string unfolded() const;
};

/// A MIME entity: headers and either a body (leaf), parts (multipart) or an embedded message.
class MAILWIRE_API entity {
public:
    /// An empty text/plain leaf.
    entity();
    ~entity();
    /// Deep copy (parts and embedded message included).
    entity(const entity& other);
    /// Deep copy (parts and embedded message included).
    entity& operator=(const entity& other);
    /// Moves the whole tree.
    entity(entity&&) noexcept;
    /// Moves the whole tree.
    entity& operator=(entity&&) noexcept;

    // ---- headers ----
    /// All header fields, in order.
    [[nodiscard]] const std::vector<header>& headers() const noexcept { return headers_; }
    /// First header named `name` (case-insensitive), nullptr when absent.
    [[nodiscard]] const header* find(std::string_view name) const;
    /// Unfolded value of the first `name` header, "" when absent.
    [[nodiscard]] std::string get(std::string_view name) const;
    /// Unfolded values of all `name` headers, in order.
    [[nodiscard]] std::vector<std::string> get_all(std::string_view name) const;
    /// Sets `name` to `value` (replacing the first such header in place and removing the others,
    /// or appending). The value is written as given: encode it first (encode_header_text,
    /// format_address_list, ...). It is folded when written, unless it is already folded.
    ///
    /// Header injection guard: throws mailwire::error (invalid_argument), changing nothing, when
    /// `name` is not an RFC 5322 §2.2 field name (1..996 printable US-ASCII characters except
    /// colon) or `value` contains NUL or any line break other than folding (CRLF followed by a
    /// space or tab and then by something other than blanks): no bare CR, no bare LF, no empty
    /// continuation line. The same rule is applied again by format_header when writing.
    ///
    /// Composite types: a Content-Type or Content-Transfer-Encoding that would leave a multipart/*
    /// or message/* entity (message/global excepted, RFC 6532) declared base64, quoted-printable
    /// or another encoding than 7bit, 8bit and binary is refused the same way (RFC 2045 §6.4,
    /// RFC 2046 §5.2.1); the serialiser checks it again for headers set through the API.
    void set(std::string_view name, std::string value);
    /// Appends a header. Same checks (and exception) as set().
    void add(std::string name, std::string value);
    /// Removes every `name` header; returns how many.
    std::size_t remove(std::string_view name);

    // ---- typed header access ----
    /// Content-Type; text/plain (RFC 2045 §5.2) when absent, message/rfc822 in a multipart/digest.
    [[nodiscard]] mime::content_type content_type() const;
    /// Content-Disposition; kind "" when absent.
    [[nodiscard]] mime::content_disposition disposition() const;
    /// Content-Transfer-Encoding; 7bit when absent.
    [[nodiscard]] transfer_encoding encoding() const;
    /// Subject decoded (RFC 2047) to UTF-8.
    [[nodiscard]] std::string subject() const;
    /// From, parsed (empty when absent).
    [[nodiscard]] std::vector<address> from() const;
    /// To, parsed (empty when absent).
    [[nodiscard]] std::vector<address> to() const;
    /// Cc, parsed (empty when absent).
    [[nodiscard]] std::vector<address> cc() const;
    /// Reply-To, parsed (empty when absent).
    [[nodiscard]] std::vector<address> reply_to() const;
    /// Date, parsed; nullopt when absent or unparseable.
    [[nodiscard]] std::optional<date_time> date() const;
    /// Message-ID without angle brackets, "" when absent.
    [[nodiscard]] std::string message_id() const;
    /// In-Reply-To's first message id without angle brackets.
    [[nodiscard]] std::string in_reply_to() const;
    /// References, oldest first, without angle brackets.
    [[nodiscard]] std::vector<std::string> references() const;
    /// Content-ID without angle brackets.
    [[nodiscard]] std::string content_id() const;
    /// Content-Disposition filename, else the Content-Type name parameter; "" when none.
    [[nodiscard]] std::string filename() const;

    // ---- structure ----
    /// Leaf, multipart or embedded message.
    [[nodiscard]] part_kind kind() const noexcept { return kind_; }
    /// kind() == part_kind::multipart.
    [[nodiscard]] bool is_multipart() const noexcept { return kind_ == part_kind::multipart; }
    /// kind() == part_kind::message.
    [[nodiscard]] bool is_message() const noexcept { return kind_ == part_kind::message; }
    /// kind() == part_kind::leaf.
    [[nodiscard]] bool is_leaf() const noexcept { return kind_ == part_kind::leaf; }
    /// Parts of a multipart.
    [[nodiscard]] const std::vector<entity>& parts() const noexcept { return parts_; }
    /// Parts of a multipart, to edit.
    [[nodiscard]] std::vector<entity>& parts() noexcept { return parts_; }
    /// The embedded message of a message/rfc822 part, nullptr otherwise.
    [[nodiscard]] const entity* embedded() const noexcept { return embedded_.get(); }
    /// The embedded message of a message/rfc822 part, to edit; nullptr otherwise.
    [[nodiscard]] entity* embedded() noexcept { return embedded_.get(); }
    /// A multipart's bytes before its first delimiter.
    [[nodiscard]] const std::string& preamble() const noexcept { return preamble_; }
    /// A multipart's bytes after its close delimiter.
    [[nodiscard]] const std::string& epilogue() const noexcept { return epilogue_; }

    /// Turns this entity into multipart/`subtype` with a fresh random boundary (parts kept).
    void make_multipart(std::string_view subtype);
    /// Appends a part (this must be a multipart); returns it.
    entity& add_part(entity part);
    /// Turns this entity into a message/rfc822 part holding `msg`, with Content-Transfer-Encoding
    /// 8bit or binary when `msg` (serialised once, to be scanned) holds 8-bit bytes, or a NUL or a
    /// line over 998 octets; none for 7bit.
    void set_embedded(entity msg);

    // ---- body ----
    /// A leaf's body as it appears in the message (still transfer-encoded). For content set
    /// through set_content, the encoded form is produced only when serialising; this returns "".
    [[nodiscard]] const std::string& raw_body() const noexcept { return body_; }
    /// The body with the transfer encoding removed (for content set through set_content: that
    /// content; a file is read).
    [[nodiscard]] std::string decoded_body() const;
    /// The decoded body converted from its charset to UTF-8.
    [[nodiscard]] std::string text() const;
    /// Replaces the body with `data` (not yet encoded); Content-Transfer-Encoding is set to
    /// `encoding`, or chosen from the data (choose_encoding) when nullopt — for a message/* or
    /// multipart/* type 7bit, 8bit or binary from all of it, and an explicit encoding other than
    /// those throws mailwire::error (invalid_argument), as set() does.
    void set_content(std::string data, std::optional<transfer_encoding> encoding = std::nullopt);
    /// As set_content, but the body is read from `path` when serialised (never held in memory).
    void set_content_file(std::string path, transfer_encoding encoding = transfer_encoding::base64);
    /// Sets a text body: line ends made CRLF, Content-Type text/`subtype`; charset=utf-8.
    void set_text(std::string_view utf8, std::string_view subtype = "plain");

    /// Calls `f(entity, depth)` for this entity and every descendant, depth first.
    void walk(const std::function<void(const entity&, std::size_t)>& f, std::size_t depth = 0) const;
    /// Leaf parts that are attachments (disposition attachment, or a filename and not inline text).
    [[nodiscard]] std::vector<const entity*> attachments() const;
    /// The first text/`subtype` leaf that is not an attachment, nullptr when none.
    [[nodiscard]] const entity* find_text(std::string_view subtype = "plain") const;

private:
    friend class tree_builder;
    friend class entity_writer;

    std::vector<header> headers_;
    std::string separator_ = "\r\n";  // the blank line after the headers, as parsed
    part_kind kind_ = part_kind::leaf;
    bool parsed_ = false;  // raw delimiter lines below are authoritative
    bool digest_child_ = false;

    std::string body_;  // leaf, raw
    bool has_content_ = false;
    std::string content_;       // leaf, set through the API (decoded)
    std::string content_file_;  // leaf, set through the API: read when writing

    std::string preamble_, epilogue_;
    std::vector<entity> parts_;
    std::vector<std::string> delimiters_;  // raw delimiter before parts_[i] ("" = canonical)
    std::string close_;                    // raw close delimiter
    bool parts_added_ = false;

    std::unique_ptr<entity> embedded_;
};

/// A message: the top-level entity plus what surrounds it in an mbox.
class MAILWIRE_API message : public entity {
public:
    /// An empty message.
    message() = default;
    /// The message whose top-level entity is `e`.
    explicit message(entity e) : entity(std::move(e)) {}

    /// Parses a whole message held in memory. Throws parse_error only on a limit.
    static message parse(std::string_view bytes, const parser_options& options = {});
    /// Reads a message file through the streaming parser.
    static message load(const std::string& path, const parser_options& options = {});

    /// The mbox "From " line this message came with (with line end), "" when none.
    [[nodiscard]] const std::string& envelope() const noexcept { return envelope_; }
    /// Sets the mbox "From " line (with line end) written before the message; "" for none.
    /// Throws mailwire::error (invalid_argument) unless `line` is one line that starts with
    /// "From " and ends with its only LF or CRLF, without NUL: anything else would put extra
    /// lines (headers) in front of the message.
    void set_envelope(std::string line);
    /// The line end that separated it from the next mbox message.
    [[nodiscard]] const std::string& trailer() const noexcept { return trailer_; }

private:
    friend class tree_builder;
    std::string envelope_;
    std::string trailer_;
};

/// Builds entity trees from parser events; usable with any parser feed loop.
class MAILWIRE_API tree_builder : public parser_handler {
public:
    /// `on_message` receives each completed message.
    explicit tree_builder(std::function<void(message&&)> on_message);

    void on_message_begin(std::string_view from_line) override;
    void on_part_begin(const part_head& head) override;
    void on_body(std::string_view raw) override;
    void on_preamble(std::string_view raw) override;
    void on_boundary(std::string_view raw, bool close) override;
    void on_epilogue(std::string_view raw) override;
    void on_part_end() override;
    void on_message_end(std::string_view trailer) override;

private:
    std::function<void(message&&)> on_message_;
    message current_;
    std::vector<entity*> stack_;
    std::string delimiter_;
};

}  // namespace mailwire::mime
