// The JSON object an OAuth server sends as its error challenge (XOAUTH2; OAUTHBEARER, RFC 7628
// §3.2.2): {"status":"invalid_token","schemes":"Bearer","scope":"..."}. A small bounded reader
// of one JSON object (RFC 8259) is enough: only top-level string members are kept, anything
// else is validated and skipped; nesting is capped so hostile input cannot exhaust the stack.
#include <fmt/format.h>

#include "sasl/detail.hpp"

namespace mailwire::sasl::detail {
namespace {

class reader {
public:
    explicit reader(std::string_view s) : s_(s) {}

    bool object(oauth_error& out) {
        ws();
        if (!eat('{')) return false;
        ws();
        if (eat('}')) return end();
        for (;;) {
            std::string key, value;
            ws();
            if (!string(key)) return false;
            ws();
            if (!eat(':')) return false;
            ws();
            if (peek() == '"') {
                if (!string(value)) return false;
                if (key == "status") out.status = std::move(value);
                else if (key == "schemes") out.schemes = std::move(value);
                else if (key == "scope") out.scope = std::move(value);
                else if (key == "openid-configuration") out.openid_configuration = std::move(value);
            } else if (!skip_value(1)) {
                return false;
            }
            ws();
            if (eat('}')) return end();
            if (!eat(',')) return false;
        }
    }

private:
    static constexpr int max_depth = 16;

    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool eat(char c) {
        if (peek() != c || i_ >= s_.size()) return false;
        ++i_;
        return true;
    }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool end() {
        ws();
        return i_ == s_.size();
    }

    static void put_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | cp >> 6);
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | cp >> 12);
            out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | cp >> 18);
            out += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
            out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    bool hex4(unsigned& v) {
        if (s_.size() - i_ < 4) return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
            else return false;
        }
        return true;
    }

    bool string(std::string& out) {
        if (!eat('"')) return false;
        while (i_ < s_.size()) {
            const char c = s_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) return false;
            switch (s_[i_++]) {
            case '"':
                out += '"';
                break;
            case '\\':
                out += '\\';
                break;
            case '/':
                out += '/';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                unsigned cp = 0;
                if (!hex4(cp)) return false;
                if (cp >= 0xd800 && cp < 0xdc00) {  // a high surrogate needs its low half
                    unsigned lo = 0;
                    if (!eat('\\') || !eat('u') || !hex4(lo) || lo < 0xdc00 || lo > 0xdfff) return false;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return false;
                }
                put_utf8(out, cp);
                break;
            }
            default:
                return false;
            }
        }
        return false;
    }

    bool skip_value(int depth) {
        if (depth > max_depth) return false;
        ws();
        const char c = peek();
        if (c == '"') {
            std::string ignored;
            return string(ignored);
        }
        if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            ++i_;
            ws();
            if (eat(close)) return true;
            for (;;) {
                ws();
                if (c == '{') {
                    std::string ignored;
                    if (!string(ignored)) return false;
                    ws();
                    if (!eat(':')) return false;
                }
                if (!skip_value(depth + 1)) return false;
                ws();
                if (eat(close)) return true;
                if (!eat(',')) return false;
            }
        }
        for (std::string_view lit : {"true", "false", "null"})
            if (s_.substr(i_, lit.size()) == lit) {
                i_ += lit.size();
                return true;
            }
        // number: -?int frac? exp?
        const std::size_t start = i_;
        eat('-');
        if (eat('0')) {
        } else if (peek() >= '1' && peek() <= '9') {
            while (peek() >= '0' && peek() <= '9') ++i_;
        } else {
            return false;
        }
        if (eat('.')) {
            if (!(peek() >= '0' && peek() <= '9')) return false;
            while (peek() >= '0' && peek() <= '9') ++i_;
        }
        if (peek() == 'e' || peek() == 'E') {
            ++i_;
            if (peek() == '+' || peek() == '-') ++i_;
            if (!(peek() >= '0' && peek() <= '9')) return false;
            while (peek() >= '0' && peek() <= '9') ++i_;
        }
        return i_ > start;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

oauth_error parse_oauth_error(std::string_view json) {
    oauth_error e;
    reader r(json);
    oauth_error tmp;
    if (r.object(tmp)) {
        e = std::move(tmp);
        e.parsed = true;
        std::string s;
        auto add = [&](std::string_view k, const std::string& v) {
            if (v.empty()) return;
            if (!s.empty()) s += ' ';
            s += fmt::format("{}={}", k, printable(v, 200));
        };
        add("status", e.status);
        add("schemes", e.schemes);
        add("scope", e.scope);
        add("openid-configuration", e.openid_configuration);
        e.summary = s.empty() ? "no status given" : s;
    } else {
        e.summary = "unparsable error challenge: " + printable(json, 200);
    }
    return e;
}

}  // namespace mailwire::sasl::detail
