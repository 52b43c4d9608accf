// Transfer encodings: base64, quoted-printable, uuencode. Hot loops write through a pointer into
// pre-sized output. The base64 and quoted-printable decoders run their long stretches through the
// vector kernels of simd_decode.hpp (AVX2, SSSE3 or scalar, chosen once per process) and keep the
// byte-by-byte state machine for what the kernels stop at, so every path decodes alike.
#include "mailwire/mime/encoding.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#include "mime/detail_text.hpp"
#include "mime/simd_decode.hpp"

namespace mailwire::mime {
namespace {

using detail::b64;
using detail::b64_alphabet;
using detail::simd_kernels;

// ---- base64 decoding ----------------------------------------------------------------------------

struct b64_state {
    std::uint32_t acc = 0;
    int n = 0;  // characters in acc
    bool errors = false;
};

// Decodes [p, end) into [o, o_end), which has room for (end-p)/4*3+3 bytes; returns the new
// output end. Between quads (n == 0) the kernel takes runs of whole quads and the line breaks
// between them; padding, junk and quads split by a break go through the state machine one
// character each.
char* b64_decode_block(const unsigned char* p, const unsigned char* end, char* o, const char* o_end, b64_state& st,
                       const simd_kernels& k) {
    std::uint32_t acc = st.acc;
    int n = st.n;
    while (p < end) {
        if (n == 0) {
            p += k.b64_run(p, static_cast<std::size_t>(end - p), o, o_end);
            if (p == end) break;
        }
        const std::uint8_t c = b64.v[*p++];
        if (c < 64) {
            acc = (acc << 6) | c;
            if (++n == 4) {
                o[0] = static_cast<char>(acc >> 16);
                o[1] = static_cast<char>(acc >> 8);
                o[2] = static_cast<char>(acc);
                o += 3;
                n = 0;
                acc = 0;
            }
        } else if (c == detail::b64_pad) {
            // Padding ends a quad early. A second '=' (n == 0) is normal; after one character
            // it cannot be valid.
            if (n == 2) {
                *o++ = static_cast<char>(acc >> 4);
            } else if (n == 3) {
                *o++ = static_cast<char>(acc >> 10);
                *o++ = static_cast<char>(acc >> 2);
            } else if (n == 1) {
                st.errors = true;
            }
            n = 0;
            acc = 0;
        } else if (c == detail::b64_junk) {
            st.errors = true;
        }
    }
    st.acc = acc;
    st.n = n;
    return o;
}

char* b64_flush(char* o, b64_state& st) {
    // Missing padding is common and harmless; a lone sixth of a byte is not.
    if (st.n == 2) {
        *o++ = static_cast<char>(st.acc >> 4);
    } else if (st.n == 3) {
        *o++ = static_cast<char>(st.acc >> 10);
        *o++ = static_cast<char>(st.acc >> 2);
    } else if (st.n == 1) {
        st.errors = true;
    }
    st.n = 0;
    st.acc = 0;
    return o;
}

std::string b64_decode_all(std::string_view in, const simd_kernels& k) {
    std::string out(in.size() / 4 * 3 + 6, '\0');
    b64_state st;
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    char* o = b64_decode_block(p, p + in.size(), out.data(), out.data() + out.size(), st, k);
    o = b64_flush(o, st);
    out.resize(static_cast<std::size_t>(o - out.data()));
    return out;
}

// ---- quoted-printable decoding ---------------------------------------------------------------

constexpr std::array<std::int8_t, 256> make_hex_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<std::int8_t>(c);
    for (int c = 0; c < 6; ++c) {
        t['A' + c] = static_cast<std::int8_t>(10 + c);
        t['a' + c] = static_cast<std::int8_t>(10 + c);  // lower case is not canonical but common
    }
    return t;
}
constexpr auto hex_table = make_hex_table();

// Decodes the inside of one line [b, e) (no line end, no soft break) to o.
char* qp_span(const char* b, const char* e, char* o, bool& errors, const simd_kernels& k) {
    while (b < e) {
        const char* eq = k.find2(b, e, '=', '=');
        std::memcpy(o, b, static_cast<std::size_t>(eq - b));
        o += eq - b;
        b = eq;
        if (b == e) break;
        if (e - b >= 3) {
            const int h = hex_table[static_cast<unsigned char>(b[1])];
            const int l = hex_table[static_cast<unsigned char>(b[2])];
            if ((h | l) >= 0) {
                *o++ = static_cast<char>(h * 16 + l);
                b += 3;
                continue;
            }
        }
        errors = true;  // "=G1", "=" + one char: keep as written
        *o++ = '=';
        ++b;
    }
    return o;
}

// Decodes the complete lines [p, le) (le - 1 is a '\n') to o in one pass: the kernel skips to the
// next '=' or '\n', and the run before it is copied. Output is input byte for byte except at
// escapes, so the blanks before a line end (RFC 2045 §6.7(3): dropped) are taken back off the
// output, but only as far back as the last escape: "=20" is data.
char* qp_lines(const char* p, const char* le, char* o, bool& errors, const simd_kernels& k) {
    char* lit = o;  // where the current run of literal output began
    while (p < le) {
        const char* q = k.find2(p, le, '=', '\n');
        std::memcpy(o, p, static_cast<std::size_t>(q - p));
        o += q - p;
        p = q;
        if (*p == '\n') {
            const bool cr = o > lit && o[-1] == '\r';
            if (cr) --o;
            while (o > lit && detail::is_wsp(o[-1])) --o;
            if (cr) *o++ = '\r';
            *o++ = '\n';
            lit = o;
            ++p;
            continue;
        }
        // '='; a hex digit is never '\n', so p[2] is inside the line when p[1] is a digit.
        const int h = hex_table[static_cast<unsigned char>(p[1])];
        if (h >= 0) {
            const int l = hex_table[static_cast<unsigned char>(p[2])];
            if (l >= 0) {
                *o++ = static_cast<char>(h * 16 + l);
                p += 3;
                lit = o;
                continue;
            }
        }
        // Soft line break: "=" blanks* CR? LF (the scan stops at '\n', so r stays inside).
        const char* r = p + 1;
        while (detail::is_wsp(*r)) ++r;
        if (*r == '\r' && r[1] == '\n') ++r;
        if (*r == '\n') {
            p = r + 1;
            lit = o;
            continue;
        }
        errors = true;  // "=G1", "=" + one char: keep as written
        *o++ = '=';
        ++p;
    }
    return o;
}

// Decodes complete lines of s; a trailing partial line is decoded up to where a later chunk could
// change its meaning (trailing blanks, "=", "=X"), unless `final`. Returns bytes consumed.
std::size_t qp_process(std::string_view s, bool final, std::string& out, bool& errors, const simd_kernels& k) {
    const std::size_t old = out.size();
    out.resize(old + s.size());
    char* o = out.data() + old;
    const char* base = s.data();
    const void* last_nl = s.empty() ? nullptr : memrchr(base, '\n', s.size());
    const std::size_t ls =
        last_nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(last_nl) - base) + 1 : 0;
    std::size_t consumed = s.size();
    o = qp_lines(base, base + ls, o, errors, k);
    if (ls < s.size()) {
        std::size_t ce = s.size();
        while (ce > ls && (detail::is_wsp(base[ce - 1]) || base[ce - 1] == '\r')) --ce;
        if (!final) {
            std::size_t safe = ce;
            if (safe > ls && base[safe - 1] == '=') --safe;
            else if (safe >= ls + 2 && base[safe - 2] == '=') safe -= 2;
            o = qp_span(base + ls, base + safe, o, errors, k);
            consumed = safe;
        } else {
            const bool soft = ce > ls && base[ce - 1] == '=';
            o = qp_span(base + ls, base + (soft ? ce - 1 : ce), o, errors, k);
        }
    }
    out.resize(static_cast<std::size_t>(o - out.data()));
    return consumed;
}

// ---- decoders --------------------------------------------------------------------------------

class identity_decoder final : public decoder {
public:
    void decode(std::string_view in, std::string& out) override { out.append(in); }
    void finish(std::string&) override {}
    bool saw_errors() const noexcept override { return false; }
};

class base64_decoder final : public decoder {
public:
    explicit base64_decoder(const simd_kernels& k) : k_(k) {}

    void decode(std::string_view in, std::string& out) override {
        const std::size_t old = out.size();
        out.resize(old + in.size() / 4 * 3 + 3);
        const auto* p = reinterpret_cast<const unsigned char*>(in.data());
        char* o = b64_decode_block(p, p + in.size(), out.data() + old, out.data() + out.size(), st_, k_);
        out.resize(static_cast<std::size_t>(o - out.data()));
    }
    void finish(std::string& out) override {
        char buf[3];
        char* o = b64_flush(buf, st_);
        out.append(buf, static_cast<std::size_t>(o - buf));
    }
    bool saw_errors() const noexcept override { return st_.errors; }

private:
    const simd_kernels& k_;
    b64_state st_;
};

class qp_decoder final : public decoder {
public:
    explicit qp_decoder(const simd_kernels& k) : k_(k) {}

    void decode(std::string_view in, std::string& out) override {
        if (!carry_.empty()) {
            // More blanks: hold them back too (appending keeps a long blank run linear).
            std::size_t blanks = 0;
            while (blanks < in.size() && (detail::is_wsp(in[blanks]) || in[blanks] == '\r')) ++blanks;
            if (blanks == in.size()) {
                carry_.append(in);
                return;
            }
            // Re-read the held-back tail together with the rest of its line.
            const auto nl = in.find('\n');
            const std::size_t take = nl == std::string_view::npos ? in.size() : nl + 1;
            std::string tmp = carry_;
            tmp.append(in.substr(0, take));
            const std::size_t used = qp_process(tmp, false, out, errors_, k_);
            carry_.assign(tmp, used);
            in.remove_prefix(take);
            if (in.empty()) return;
        }
        const std::size_t used = qp_process(in, false, out, errors_, k_);
        carry_.assign(in.substr(used));
    }
    void finish(std::string& out) override {
        if (!carry_.empty()) {
            qp_process(carry_, true, out, errors_, k_);
            carry_.clear();
        }
    }
    bool saw_errors() const noexcept override { return errors_; }

private:
    const simd_kernels& k_;
    std::string carry_;
    bool errors_ = false;
};

class uu_decoder final : public decoder {
public:
    void decode(std::string_view in, std::string& out) override {
        while (!in.empty()) {
            const auto nl = in.find('\n');
            if (nl == std::string_view::npos) {
                line_.append(in);
                return;
            }
            if (line_.empty()) {
                line(in.substr(0, nl), out);
            } else {
                line_.append(in.substr(0, nl));
                line(line_, out);
                line_.clear();
            }
            in.remove_prefix(nl + 1);
        }
    }
    void finish(std::string& out) override {
        if (!line_.empty()) {
            std::string l;
            l.swap(line_);
            line(l, out);
        }
        if (state_ != state::done) errors_ = true;  // no "end" line (or no data at all)
    }
    bool saw_errors() const noexcept override { return errors_; }

private:
    enum class state { before, data, done };

    static int val(char c) { return (static_cast<unsigned char>(c) - 0x20) & 0x3F; }

    static bool plausible(std::string_view l) {
        if (l.empty()) return false;
        const int n = val(l[0]);
        if (n == 0) return false;
        for (char c : l)
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x60) return false;
        const std::size_t need = static_cast<std::size_t>((n + 2) / 3 * 4);
        return l.size() - 1 + 2 >= need && l.size() - 1 <= need + 2;
    }

    void line(std::string_view l, std::string& out) {
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        switch (state_) {
        case state::done:
            return;
        case state::before:
            if (l.starts_with("begin ") || l == "begin") {
                state_ = state::data;
                return;
            }
            if (!plausible(l)) return;  // preamble text
            state_ = state::data;
            break;
        case state::data:
            break;
        }
        if (detail::trim(l) == "end") {
            state_ = state::done;
            return;
        }
        if (l.empty()) return;
        const int n = val(l[0]);
        const std::size_t need = static_cast<std::size_t>((n + 2) / 3 * 4);
        const std::string_view body = l.substr(1);
        // Short lines are read as if padded with spaces: transports strip trailing spaces,
        // which encode zero bits.
        char buf[66];  // n ≤ 63 bytes in 21 groups of 3
        char* o = buf;
        for (std::size_t g = 0; g < need; g += 4) {
            int v[4];
            for (int k = 0; k < 4; ++k) {
                const std::size_t idx = g + static_cast<std::size_t>(k);
                v[k] = idx < body.size() ? val(body[idx]) : 0;
            }
            const std::uint32_t x = (static_cast<std::uint32_t>(v[0]) << 18) |
                                    (static_cast<std::uint32_t>(v[1]) << 12) | (static_cast<std::uint32_t>(v[2]) << 6) |
                                    static_cast<std::uint32_t>(v[3]);
            *o++ = static_cast<char>(x >> 16);
            *o++ = static_cast<char>(x >> 8);
            *o++ = static_cast<char>(x);
        }
        out.append(buf, static_cast<std::size_t>(n));
    }

    std::string line_;
    state state_ = state::before;
    bool errors_ = false;
};

// ---- encoders --------------------------------------------------------------------------------

class identity_encoder final : public encoder {
public:
    void encode(std::string_view in, std::string& out) override { out.append(in); }
    void finish(std::string&) override {}
};

class base64_encoder final : public encoder {
public:
    explicit base64_encoder(std::size_t line_length) : line_(line_length / 4 * 4) {}

    void encode(std::string_view in, std::string& out) override {
        if (n_ > 0) {
            while (n_ < 3 && !in.empty()) {
                carry_[n_++] = static_cast<unsigned char>(in.front());
                in.remove_prefix(1);
            }
            if (n_ < 3) return;
            emit(carry_, 3, out);
            n_ = 0;
        }
        const std::size_t whole = in.size() / 3 * 3;
        if (whole) emit(reinterpret_cast<const unsigned char*>(in.data()), whole, out);
        for (std::size_t i = whole; i < in.size(); ++i) carry_[n_++] = static_cast<unsigned char>(in[i]);
    }
    void finish(std::string& out) override {
        if (n_ == 0) return;
        break_if_full(out);
        const std::uint32_t x =
            (static_cast<std::uint32_t>(carry_[0]) << 16) | (n_ > 1 ? static_cast<std::uint32_t>(carry_[1]) << 8 : 0);
        char q[4] = {b64_alphabet[x >> 18], b64_alphabet[(x >> 12) & 63], n_ > 1 ? b64_alphabet[(x >> 6) & 63] : '=',
                     '='};
        out.append(q, 4);
        col_ += 4;
        n_ = 0;
    }

private:
    void break_if_full(std::string& out) {
        if (line_ && col_ >= line_) {
            out += "\r\n";
            col_ = 0;
        }
    }
    // Encodes len (a multiple of 3) bytes.
    void emit(const unsigned char* p, std::size_t len, std::string& out) {
        const std::size_t quads = len / 3;
        const std::size_t old = out.size();
        out.resize(old + quads * 4 + (line_ ? (quads * 4 / line_ + 1) * 2 : 0));
        char* o = out.data() + old;
        for (std::size_t i = 0; i < quads; ++i, p += 3) {
            if (line_ && col_ >= line_) {
                *o++ = '\r';
                *o++ = '\n';
                col_ = 0;
            }
            const std::uint32_t x =
                (static_cast<std::uint32_t>(p[0]) << 16) | (static_cast<std::uint32_t>(p[1]) << 8) | p[2];
            o[0] = b64_alphabet[x >> 18];
            o[1] = b64_alphabet[(x >> 12) & 63];
            o[2] = b64_alphabet[(x >> 6) & 63];
            o[3] = b64_alphabet[x & 63];
            o += 4;
            col_ += 4;
        }
        out.resize(static_cast<std::size_t>(o - out.data()));
    }

    std::size_t line_;
    std::size_t col_ = 0;
    unsigned char carry_[3] = {};
    int n_ = 0;
};

class qp_encoder final : public encoder {
public:
    void encode(std::string_view in, std::string& out) override {
        out.reserve(out.size() + in.size() + in.size() / 8 + 8);
        const auto* p = reinterpret_cast<const unsigned char*>(in.data());
        const std::size_t n = in.size();
        for (std::size_t i = 0; i < n;) {
            // Fast path: a run of printable characters that need no escaping, copied at once,
            // as far as the current line has room (line starts go the slow way for '.'/"From ").
            if (ws_ == 0 && !cr_ && col_ > 0 && col_ < 75 && plain(p[i])) {
                std::size_t j = i + 1;
                const std::size_t lim = std::min(n, i + (75 - col_));
                // A blank followed by a printable character is not trailing: literal too.
                while (j < lim && (plain(p[j]) || ((p[j] == ' ' || p[j] == '\t') && j + 1 < lim && plain(p[j + 1]))))
                    ++j;
                out.append(in.data() + i, j - i);
                col_ += j - i;
                i = j;
                continue;
            }
            put(p[i++], out);
        }
    }
    void finish(std::string& out) override {
        if (ws_) {
            // Blanks at the very end are trailing blanks too (unless a bare CR follows).
            if (cr_) literal(ws_, out);
            else escaped(ws_, out);
            ws_ = 0;
        }
        if (cr_) escaped('\r', out);
        cr_ = false;
    }

private:
    static bool plain(unsigned char c) { return c >= 33 && c <= 126 && c != '='; }

    void room(std::size_t len, std::string& out) {
        if (col_ + len > 75) {  // keep one column for the soft-break '='
            out += "=\r\n";
            col_ = 0;
        }
    }
    void literal(unsigned char c, std::string& out) {
        room(1, out);
        out.push_back(static_cast<char>(c));
        ++col_;
    }
    void escaped(unsigned char c, std::string& out) {
        room(3, out);
        const char e[3] = {'=', detail::hex_upper[c >> 4], detail::hex_upper[c & 15]};
        out.append(e, 3);
        col_ += 3;
    }
    void hard_break(std::string& out) {
        if (ws_) escaped(ws_, out);
        ws_ = 0;
        out += "\r\n";
        col_ = 0;
    }
    void put(unsigned char c, std::string& out) {
        if (cr_) {
            cr_ = false;
            if (c == '\n') {
                hard_break(out);
                return;
            }
            if (ws_) literal(ws_, out);
            ws_ = 0;
            escaped('\r', out);  // bare CR
        }
        if (c == '\r') {
            cr_ = true;
            return;
        }
        if (c == '\n') {
            hard_break(out);
            return;
        }
        if (ws_) {
            literal(ws_, out);
            ws_ = 0;
        }
        if (c == ' ' || c == '\t') {
            ws_ = c;  // held until we know whether a line end follows
            return;
        }
        const bool plain = c >= 33 && c <= 126 && c != '=';
        // At a physical line start, '.' (SMTP end of data) and 'F' ("From " in mbox) are escaped.
        if (!plain || (col_ == 0 && (c == '.' || c == 'F'))) escaped(c, out);
        else literal(c, out);
        if (col_ > 75) col_ = 75;
    }

    std::size_t col_ = 0;
    unsigned char ws_ = 0;
    bool cr_ = false;
};

class uu_encoder final : public encoder {
public:
    void encode(std::string_view in, std::string& out) override {
        start(out);
        while (!in.empty()) {
            const std::size_t take = std::min<std::size_t>(45 - buf_.size(), in.size());
            buf_.append(in.substr(0, take));
            in.remove_prefix(take);
            if (buf_.size() == 45) {
                line(out);
                buf_.clear();
            }
        }
    }
    void finish(std::string& out) override {
        start(out);
        if (!buf_.empty()) line(out);
        buf_.clear();
        out += "`\r\nend";
    }

private:
    static char enc(std::uint32_t v) { return v == 0 ? '`' : static_cast<char>(v + 32); }
    void start(std::string& out) {
        if (!started_) out += "begin 644 attachment\r\n";
        started_ = true;
    }
    void line(std::string& out) {
        out.push_back(enc(static_cast<std::uint32_t>(buf_.size())));
        for (std::size_t i = 0; i < buf_.size(); i += 3) {
            std::uint32_t x = 0;
            for (std::size_t k = 0; k < 3; ++k)
                x = (x << 8) | (i + k < buf_.size() ? static_cast<unsigned char>(buf_[i + k]) : 0u);
            out.push_back(enc(x >> 18));
            out.push_back(enc((x >> 12) & 63));
            out.push_back(enc((x >> 6) & 63));
            out.push_back(enc(x & 63));
        }
        out += "\r\n";
    }
    std::string buf_;
    bool started_ = false;
};

}  // namespace

decoder::~decoder() = default;
encoder::~encoder() = default;

transfer_encoding parse_transfer_encoding(std::string_view value) {
    // Drop comments and blanks: `base64 (the usual)`.
    std::string v;
    for (std::size_t i = 0; i < value.size();) {
        if (value[i] == '(') {
            i = detail::skip_comment(value, i);
            continue;
        }
        if (!detail::is_blank(value[i]) && value[i] != '"') v.push_back(detail::ascii_lower(value[i]));
        ++i;
    }
    if (v.empty() || v == "7bit") return transfer_encoding::seven_bit;
    if (v == "8bit") return transfer_encoding::eight_bit;
    if (v == "binary") return transfer_encoding::binary;
    if (v == "quoted-printable" || v == "quotedprintable" || v == "qp") return transfer_encoding::quoted_printable;
    if (v == "base64" || v == "base-64" || v == "x-base64") return transfer_encoding::base64;
    if (v == "x-uuencode" || v == "x-uue" || v == "uuencode" || v == "uue" || v == "x-uuencoded")
        return transfer_encoding::uuencode;
    return transfer_encoding::unknown;
}

std::string_view to_string(transfer_encoding e) noexcept {
    switch (e) {
    case transfer_encoding::seven_bit:
        return "7bit";
    case transfer_encoding::eight_bit:
        return "8bit";
    case transfer_encoding::binary:
        return "binary";
    case transfer_encoding::quoted_printable:
        return "quoted-printable";
    case transfer_encoding::base64:
        return "base64";
    case transfer_encoding::uuencode:
        return "x-uuencode";
    case transfer_encoding::unknown:
        break;
    }
    return "";
}

std::unique_ptr<decoder> detail::make_decoder(transfer_encoding e, simd_path path) {
    switch (e) {
    case transfer_encoding::base64:
        return std::make_unique<base64_decoder>(kernels(path));
    case transfer_encoding::quoted_printable:
        return std::make_unique<qp_decoder>(kernels(path));
    case transfer_encoding::uuencode:
        return std::make_unique<uu_decoder>();
    default:
        return std::make_unique<identity_decoder>();
    }
}

std::unique_ptr<decoder> make_decoder(transfer_encoding e) {
    switch (e) {
    case transfer_encoding::base64:
        return std::make_unique<base64_decoder>(detail::active_kernels());
    case transfer_encoding::quoted_printable:
        return std::make_unique<qp_decoder>(detail::active_kernels());
    case transfer_encoding::uuencode:
        return std::make_unique<uu_decoder>();
    default:
        return std::make_unique<identity_decoder>();
    }
}

std::unique_ptr<encoder> make_encoder(transfer_encoding e) {
    switch (e) {
    case transfer_encoding::base64:
        return std::make_unique<base64_encoder>(76);
    case transfer_encoding::quoted_printable:
        return std::make_unique<qp_encoder>();
    case transfer_encoding::uuencode:
        return std::make_unique<uu_encoder>();
    default:
        return std::make_unique<identity_encoder>();
    }
}

std::string base64_decode(std::string_view in) { return b64_decode_all(in, detail::active_kernels()); }

std::string detail::base64_decode(std::string_view in, simd_path path) { return b64_decode_all(in, kernels(path)); }

std::string detail::qp_decode(std::string_view in, simd_path path) {
    std::string out;
    bool errors = false;
    qp_process(in, true, out, errors, kernels(path));
    return out;
}

std::string base64_encode(std::string_view in, std::size_t line_length) {
    base64_encoder e(line_length);
    std::string out;
    out.reserve(in.size() / 3 * 4 + 4 + (line_length ? in.size() / line_length * 2 : 0));
    e.encode(in, out);
    e.finish(out);
    return out;
}

std::string qp_decode(std::string_view in, bool header_mode) {
    std::string out;
    bool errors = false;
    if (!header_mode) {
        qp_process(in, true, out, errors, detail::active_kernels());
        return out;
    }
    out.resize(in.size());
    char* o = out.data();
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '_') {
            *o++ = ' ';
        } else if (c == '=' && i + 2 < in.size() && detail::hex_value(in[i + 1]) >= 0 &&
                   detail::hex_value(in[i + 2]) >= 0) {
            *o++ = static_cast<char>(detail::hex_value(in[i + 1]) * 16 + detail::hex_value(in[i + 2]));
            i += 2;
        } else {
            *o++ = c;
        }
    }
    out.resize(static_cast<std::size_t>(o - out.data()));
    return out;
}

std::string qp_encode(std::string_view in, bool header_mode) {
    std::string out;
    if (!header_mode) {
        qp_encoder e;
        e.encode(in, out);
        e.finish(out);
        return out;
    }
    out.reserve(in.size() * 3);
    for (unsigned char c : in) {
        const bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' ||
                          c == '*' || c == '+' || c == '-' || c == '/';
        if (c == ' ') out.push_back('_');
        else if (safe) out.push_back(static_cast<char>(c));
        else {
            out.push_back('=');
            out.push_back(detail::hex_upper[c >> 4]);
            out.push_back(detail::hex_upper[c & 15]);
        }
    }
    return out;
}

transfer_encoding choose_encoding(std::string_view s, bool is_text) {
    std::size_t eight = 0, ctl = 0, line = 0, max_line = 0;
    bool nul = false, bare_cr = false, bare_lf = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n') {
            if (i == 0 || s[i - 1] != '\r') bare_lf = true;
            max_line = std::max(max_line, line);
            line = 0;
            continue;
        }
        ++line;
        if (c == '\r') {
            if (i + 1 < s.size() && s[i + 1] == '\n') {
                --line;
            } else if (i + 1 < s.size()) {
                bare_cr = true;
            }
        } else if (c == 0) {
            nul = true;
        } else if (c >= 0x80) {
            ++eight;
        } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
            ++ctl;
        }
    }
    max_line = std::max(max_line, line);
    const bool seven = eight == 0 && !nul && !bare_cr && max_line <= 998 && (is_text || !bare_lf);
    if (seven) return transfer_encoding::seven_bit;
    if (!is_text || nul) return transfer_encoding::base64;
    return (eight + ctl) * 6 <= s.size() ? transfer_encoding::quoted_printable : transfer_encoding::base64;
}

}  // namespace mailwire::mime
