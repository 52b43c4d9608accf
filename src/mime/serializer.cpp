// Serialiser: raw bytes where the parse left them, canonical output where the API changed things.
#include "mailwire/mime/serializer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "detail_composite.hpp"
#include "detail_model.hpp"
#include "detail_text.hpp"
#include "mailwire/error.hpp"

namespace mailwire::mime {

output::~output() = default;

namespace detail {

void check_header_name(std::string_view name) {
    // RFC 5322 §2.2: ftext = %d33-57 / %d59-126. A longer name could not share a line with its
    // colon within the 998-octet limit of §2.1.1.
    if (name.empty()) throw error(errc::invalid_argument, "header name is empty");
    if (name.size() > 996) throw error(errc::invalid_argument, "header name longer than 996 characters");
    for (const char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126 || c == ':')
            throw error(errc::invalid_argument,
                        "header name contains a character that is not printable US-ASCII or is a colon");
    }
}

void check_header_value(std::string_view name, std::string_view value) {
    // The only line break a field body may contain is folding: CRLF followed by WSP (RFC 5322
    // §2.2.3), and a continuation line of nothing but blanks is obsolete syntax (§4.2) that
    // readers treat as the end of the header block. Anything else would let the value start a
    // header (or the body) of its own.
    const auto bad = [&](const char* what) {
        return error(errc::invalid_argument, std::string("header ") + std::string(name) + ": value contains " + what);
    };
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\0') throw bad("a NUL character");
        if (c == '\n') throw bad("a bare LF (only CRLF followed by a space or tab may fold a header)");
        if (c != '\r') continue;
        if (i + 1 >= value.size() || value[i + 1] != '\n')
            throw bad("a bare CR (only CRLF followed by a space or tab may fold a header)");
        if (i + 2 >= value.size() || !is_wsp(value[i + 2])) throw bad("a line break not followed by a space or tab");
        std::size_t j = i + 2;
        while (j < value.size() && is_wsp(value[j])) ++j;
        if (j == value.size() || value[j] == '\r' || value[j] == '\n') throw bad("an empty continuation line");
        i = j - 1;
    }
}

void check_header_field(std::string_view name, std::string_view value) {
    check_header_name(name);
    check_header_value(name, value);
}

}  // namespace detail

std::string format_header(std::string_view name, std::string_view value) {
    // Every header line written from API values passes here (the entity writer calls it for
    // each header without raw bytes), so the injection rule holds even for a header list
    // edited after entity::set/add checked it.
    detail::check_header_field(name, value);
    std::string out;
    out.reserve(name.size() + value.size() + 8);
    out.append(name);
    out += ':';
    if (value.find('\r') != std::string_view::npos) {  // pre-folded, checked above: CRLF WSP only
        if (value.front() != ' ' && value.front() != '\t' && value.front() != '\r') out += ' ';
        out.append(value);
        out += "\r\n";
        return out;
    }
    out += ' ';
    constexpr std::size_t width = 78;
    std::size_t col = out.size();
    const std::size_t min_col = col;
    std::size_t i = 0;
    while (i < value.size()) {
        // A segment: leading blanks, then the word up to the next blank.
        std::size_t j = i;
        while (j < value.size() && detail::is_wsp(value[j])) ++j;
        const bool has_word = j < value.size();
        while (j < value.size() && !detail::is_wsp(value[j])) ++j;
        const std::string_view seg = value.substr(i, j - i);
        // Never fold before trailing blanks: that would write a blank continuation line.
        if (has_word && col + seg.size() > width && col > min_col && detail::is_wsp(seg.front())) {
            out += "\r\n";
            col = 0;
        }
        out.append(seg);
        col += seg.size();
        i = j;
    }
    out += "\r\n";
    return out;
}

class entity_writer {
public:
    explicit entity_writer(output& out) : out_(out) {}

    void write(const entity& e) {
        check_api_encoding(e);
        for (const auto& h : e.headers_) {
            if (!h.raw.empty()) out_.write(h.raw);
            else out_.write(format_header(h.name, h.value));
        }
        out_.write(e.parsed_ ? std::string_view(e.separator_) : std::string_view("\r\n"));
        switch (e.kind_) {
        case part_kind::leaf:
            write_body(e);
            break;
        case part_kind::message:
            if (e.embedded_) write(*e.embedded_);
            break;
        case part_kind::multipart:
            write_parts(e);
            break;
        }
    }

private:
    // The last gate for the composite rule (detail_composite.hpp): where the Content-Type or the
    // Content-Transfer-Encoding was set through the API, a multipart or message entity must not
    // be declared base64 or quoted-printable. A parsed entity is written back as it came.
    static void check_api_encoding(const entity& e) {
        const header* type = nullptr;
        const header* cte = nullptr;
        for (const auto& h : e.headers_) {
            if (detail::iequals(h.name, "content-type")) type = &h;
            else if (detail::iequals(h.name, "content-transfer-encoding")) cte = &h;
        }
        if ((type != nullptr && type->raw.empty()) || (cte != nullptr && cte->raw.empty()))
            detail::check_composite_encoding(e.content_type(), e.encoding());
    }

    void write_body(const entity& e) {
        if (!e.has_content_) {
            out_.write(e.body_);
            return;
        }
        auto enc = make_encoder(e.encoding());
        std::string buf;
        constexpr std::size_t piece = 64 * 1024;
        // A message set as content (an attached .eml) is lines (RFC 2045 §2.7, §2.8, RFC 5322
        // §2.1): each LF, CR or CRLF is written as CRLF, so a file with Unix line ends leaves no
        // bare LF in the message (which some IMAP servers refuse on APPEND). A CR at the end of a
        // piece waits for an LF.
        const bool lines = detail::is_composite(e.content_type()) && (e.encoding() == transfer_encoding::seven_bit ||
                                                                      e.encoding() == transfer_encoding::eight_bit);
        bool pending_cr = false;
        auto put = [&](std::string_view data) {
            buf.clear();
            if (!lines) {
                enc->encode(data, buf);
            } else {
                buf.reserve(data.size() + data.size() / 32 + 2);
                for (const char c : data) {
                    if (pending_cr) {
                        pending_cr = false;
                        buf += "\r\n";
                        if (c == '\n') continue;
                    }
                    if (c == '\r') pending_cr = true;
                    else if (c == '\n') buf += "\r\n";
                    else buf += c;
                }
            }
            out_.write(buf);
        };
        if (e.content_file_.empty()) {
            for (std::size_t i = 0; i < e.content_.size(); i += piece)
                put(std::string_view(e.content_).substr(i, piece));
        } else {
            const int fd = ::open(e.content_file_.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) throw error(errc::io_error, "cannot open " + e.content_file_ + ": " + std::strerror(errno));
            std::unique_ptr<char[]> block(new char[piece]);
            for (;;) {
                const ssize_t n = ::read(fd, block.get(), piece);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) {
                    ::close(fd);
                    throw error(errc::io_error, "read failed on " + e.content_file_);
                }
                if (n == 0) break;
                put(std::string_view(block.get(), static_cast<std::size_t>(n)));
            }
            ::close(fd);
        }
        buf.clear();
        if (pending_cr) buf += "\r\n";
        enc->finish(buf);
        out_.write(buf);
    }

    void write_parts(const entity& e) {
        const std::string boundary = e.content_type().param("boundary");
        out_.write(e.preamble_);
        for (std::size_t i = 0; i < e.parts_.size(); ++i) {
            const std::string& raw = i < e.delimiters_.size() ? e.delimiters_[i] : std::string();
            if (!raw.empty()) {
                out_.write(raw);
            } else {
                const bool first = i == 0 && e.preamble_.empty();
                out_.write((first ? "--" : "\r\n--") + boundary + "\r\n");
            }
            write(e.parts_[i]);
        }
        if (!e.close_.empty()) out_.write(e.close_);
        else if (!e.parsed_ || e.parts_added_) out_.write("\r\n--" + boundary + "--\r\n");
        out_.write(e.epilogue_);
    }

    output& out_;
};

void serialize(const entity& e, output& out) { entity_writer(out).write(e); }

void serialize(const message& m, output& out) {
    out.write(m.envelope());
    entity_writer(out).write(m);
    out.write(m.trailer());
}

std::string to_string(const entity& e) {
    std::string s;
    string_output o(s);
    serialize(e, o);
    return s;
}

std::string to_string(const message& m) {
    std::string s;
    string_output o(s);
    serialize(m, o);
    return s;
}

namespace {
class fd_output : public output {
public:
    explicit fd_output(int fd) : fd_(fd) {}
    void write(std::string_view b) override {
        if (buf_.size() + b.size() > 256 * 1024) flush();
        if (b.size() > 256 * 1024) put(b);
        else buf_.append(b);
    }
    void flush() {
        put(buf_);
        buf_.clear();
    }

private:
    void put(std::string_view b) {
        while (!b.empty()) {
            const ssize_t n = ::write(fd_, b.data(), b.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw error(errc::io_error, std::string("write failed: ") + std::strerror(errno));
            b.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    int fd_;
    std::string buf_;
};
}  // namespace

void write_file(const message& m, const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw error(errc::io_error, "cannot create " + path + ": " + std::strerror(errno));
    try {
        fd_output o(fd);
        serialize(m, o);
        o.flush();
    } catch (...) {
        ::close(fd);
        throw;
    }
    if (::close(fd) != 0) throw error(errc::io_error, "close failed on " + path);
}

}  // namespace mailwire::mime
