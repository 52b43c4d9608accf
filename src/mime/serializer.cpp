// Serialiser: raw bytes where the parse left them, canonical output where the API changed things.
#include "mailwire/mime/serializer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "mailwire/error.hpp"

namespace mailwire::mime {

output::~output() = default;

std::string format_header(std::string_view name, std::string_view value) {
    std::string out;
    out.reserve(name.size() + value.size() + 8);
    out.append(name);
    out += ':';
    if (value.find('\n') != std::string_view::npos) {  // pre-folded
        if (!value.empty() && value.front() != ' ' && value.front() != '\t') out += ' ';
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) out += '\r';
            out += value[i];
        }
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
        while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) ++j;
        while (j < value.size() && value[j] != ' ' && value[j] != '\t') ++j;
        const std::string_view seg = value.substr(i, j - i);
        if (col + seg.size() > width && col > min_col && (seg.front() == ' ' || seg.front() == '\t')) {
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
    void write_body(const entity& e) {
        if (!e.has_content_) {
            out_.write(e.body_);
            return;
        }
        auto enc = make_encoder(e.encoding());
        std::string buf;
        constexpr std::size_t piece = 64 * 1024;
        auto put = [&](std::string_view data) {
            buf.clear();
            enc->encode(data, buf);
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
