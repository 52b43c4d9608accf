// The vector paths of the MIME decoders (scalar, SSSE3, AVX2): every path decodes every input
// exactly like a plain reference decoder written here, whole, at every split and byte by byte,
// including every malformed form the decoders tolerate; and the kernels under them (base64 runs,
// the two byte searches) agree with naive loops at every alignment and every byte value.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "mailwire/mime/encoding.hpp"
#include "mime/simd_decode.hpp"
#include "support/grind.hpp"
#include "unit/mime/parser_events.hpp"

using namespace mailwire::mime;
using detail::simd_path;

namespace {

const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The paths this machine can run (the test names the ones it skips).
std::vector<simd_path> paths() {
    std::vector<simd_path> r;
    for (auto p : {simd_path::scalar, simd_path::ssse3, simd_path::avx2})
        if (detail::simd_supported(p)) r.push_back(p);
    return r;
}

struct decoded {
    std::string text;
    bool errors = false;
    bool operator==(const decoded&) const = default;
};

std::ostream& operator<<(std::ostream& os, const decoded& d) {
    return os << (d.errors ? "[errors] " : "") << testing::PrintToString(d.text);
}

// ---- reference decoders: the documented rules, one character (or line) at a time ---------------

decoded ref_base64(std::string_view in) {
    decoded r;
    std::uint32_t acc = 0;
    int n = 0;
    auto flush = [&] {
        if (n == 2) r.text.push_back(static_cast<char>(acc >> 4));
        if (n == 3) {
            r.text.push_back(static_cast<char>(acc >> 10));
            r.text.push_back(static_cast<char>(acc >> 2));
        }
        if (n == 1) r.errors = true;
        n = 0;
        acc = 0;
    };
    for (char c : in) {
        const auto pos = alphabet.find(c);
        if (pos != std::string::npos) {
            acc = (acc << 6) | static_cast<std::uint32_t>(pos);
            if (++n == 4) {
                r.text.push_back(static_cast<char>(acc >> 16));
                r.text.push_back(static_cast<char>(acc >> 8));
                r.text.push_back(static_cast<char>(acc));
                n = 0;
                acc = 0;
            }
        } else if (c == '=') {
            flush();
        } else if (std::string_view(" \t\r\n\f\v").find(c) == std::string_view::npos) {
            r.errors = true;
        }
    }
    flush();
    return r;
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// RFC 2045 §6.7, line by line: trailing blanks dropped, "=" at the end (after blanks) is a soft
// break, "=XX" decoded, any other "=" kept and reported; the last line without LF also drops
// trailing CRs.
decoded ref_qp(std::string_view in) {
    decoded r;
    std::size_t ls = 0;
    while (ls < in.size()) {
        const auto nl = in.find('\n', ls);
        const bool has_nl = nl != std::string_view::npos;
        std::size_t te = has_nl ? nl : in.size();
        bool cr = false;
        if (has_nl && te > ls && in[te - 1] == '\r') {
            cr = true;
            --te;
        }
        std::size_t ce = te;
        while (ce > ls && (in[ce - 1] == ' ' || in[ce - 1] == '\t' || (!has_nl && in[ce - 1] == '\r'))) --ce;
        const bool soft = ce > ls && in[ce - 1] == '=';
        const std::size_t end = soft ? ce - 1 : ce;
        for (std::size_t i = ls; i < end; ++i) {
            if (in[i] == '=' && i + 2 < end && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
                r.text.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
                i += 2;
            } else {
                if (in[i] == '=') r.errors = true;
                r.text.push_back(in[i]);
            }
        }
        if (has_nl && !soft) r.text += cr ? "\r\n" : "\n";
        if (!has_nl) break;
        ls = nl + 1;
    }
    return r;
}

decoded decode_chunks(transfer_encoding e, simd_path path, const std::vector<std::string_view>& chunks) {
    auto d = detail::make_decoder(e, path);
    decoded r;
    for (auto c : chunks) d->decode(c, r.text);
    d->finish(r.text);
    r.errors = d->saw_errors();
    return r;
}

// Every path, whole, at every split and byte by byte, against the reference.
void check_all_paths(transfer_encoding e, std::string_view in) {
    const decoded want = e == transfer_encoding::base64 ? ref_base64(in) : ref_qp(in);
    for (auto path : paths()) {
        SCOPED_TRACE(std::string(detail::to_string(path)) + " on " + testing::PrintToString(std::string(in)));
        EXPECT_EQ(decode_chunks(e, path, {in}), want);
        EXPECT_NO_THROW(mailwire::test::grind(in, [&](const std::vector<std::string_view>& chunks) {
            return decode_chunks(e, path, chunks);
        }));
        if (e == transfer_encoding::base64) EXPECT_EQ(detail::base64_decode(in, path), want.text);
        else EXPECT_EQ(detail::qp_decode(in, path), want.text);
    }
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
    return s;
}

std::string b64_lines(const std::string& data, std::size_t width, const char* eol) {
    const std::string flat = base64_encode(data, 0);
    std::string out;
    for (std::size_t i = 0; i < flat.size(); i += width) out.append(flat, i, width).append(eol);
    return out;
}

}  // namespace

TEST(MimeSimd, ThisMachineRunsEveryPath) {
    // The project's machine has AVX2; on another x86-64 the missing paths are skipped, not failed.
#if defined(__x86_64__)
    EXPECT_TRUE(detail::simd_supported(simd_path::ssse3));
#endif
    EXPECT_TRUE(detail::simd_supported(simd_path::scalar));
    for (auto p : paths()) EXPECT_EQ(detail::kernels(p).path, p);
}

TEST(MimeSimd, ChoiceFollowsTheEnvironmentValue) {
    EXPECT_EQ(detail::simd_choose("scalar"), simd_path::scalar);
    EXPECT_EQ(detail::simd_choose("SCALAR"), simd_path::scalar);
    const simd_path best = detail::simd_choose(nullptr);
    EXPECT_EQ(detail::simd_choose(""), best);
    EXPECT_EQ(detail::simd_choose("avx512"), best);  // unknown: the best path
    for (auto p : paths()) EXPECT_EQ(detail::simd_choose(detail::to_string(p).data()), p);
    EXPECT_FALSE(detail::parse_simd_path("sse2").has_value());
    // The process's path is the environment's choice, made once.
    EXPECT_EQ(detail::simd_active(), detail::simd_choose(std::getenv("MAILWIRE_SIMD")));
    EXPECT_EQ(detail::active_kernels().path, detail::simd_active());
}

TEST(MimeSimd, Base64MalformedFormsDecodeAlikeOnEveryPath) {
    std::mt19937 rng(14);
    const std::string data = random_bytes(rng, 300);
    const std::string flat = base64_encode(data, 0);
    const std::vector<std::string> inputs = {
        "",
        "QUJD",
        "QUJDRA==",
        "QUJDRA",        // missing padding
        "QUJDREU",       // missing padding, two bytes
        "QUJDR",         // truncated quantum: a lone sixth of a byte
        "QU=JD",         // '=' inside a quantum
        "QUJD=QUJD",     // '=' between quanta, data goes on
        "QUJDRA==QUJD",  // padding in the middle (concatenated streams)
        "QUJ\x80\xff"
        "D",                      // bytes >= 0x80 inside a quantum
        "QUJD!!QUJD@#QUJD",       // garbage between quanta
        " \t QU JD\r\nRE\fFG\v",  // every kind of whitespace
        "====",
        "=",
        b64_lines(data, 76, "\r\n"),  // MIME: CRLF every 76
        b64_lines(data, 76, "\n"),    // LF every 76
        b64_lines(data, 64, "\r\n"),  // PEM width
        b64_lines(data, 75, "\r\n"),  // lines that split quanta
        b64_lines(data, 1, "\n"),     // one character per line
        flat,                         // one very long line
        flat + "\r\n" + flat,         // a break without padding between streams
        flat.substr(0, 100) + "\x80" + flat.substr(100),
        flat.substr(0, 99) + "=" + flat.substr(99),  // '=' in the middle of a long run
        flat.substr(0, flat.size() - 1),             // truncated at the end
        flat.substr(0, 31) + "*" + flat.substr(31, 64) + "\x00" + flat.substr(95),
    };
    for (const auto& in : inputs) check_all_paths(transfer_encoding::base64, in);
}

TEST(MimeSimd, Base64EveryByteAtEveryVectorPosition) {
    // A run of alphabet characters long enough for two AVX2 steps, with one byte replaced: every
    // byte value at every position of the first vectors, so each nibble table entry is exercised
    // where a vector starts, ends and straddles a quad.
    const std::string run = (alphabet + alphabet).substr(3, 96);
    for (std::size_t pos = 0; pos < 70; ++pos) {
        for (int b = 0; b < 256; ++b) {
            std::string in = run;
            in[pos] = static_cast<char>(b);
            const decoded want = ref_base64(in);
            for (auto path : paths()) {
                ASSERT_EQ(decode_chunks(transfer_encoding::base64, path, {in}), want)
                    << detail::to_string(path) << " byte " << b << " at " << pos;
            }
        }
    }
}

TEST(MimeSimd, Base64RunStopsWhereTheStateMachineMustTakeOver) {
    // The kernel contract: whole quads of alphabet characters and whitespace between quads, up to
    // '=', junk, a quad split by whitespace or the end; no further, on every path.
    auto is_alpha = [](char c) { return alphabet.find(c) != std::string::npos; };
    auto is_space = [](char c) { return std::string_view(" \t\r\n\f\v").find(c) != std::string_view::npos; };
    auto expected = [&](const std::string& in) {
        std::size_t i = 0;
        for (;;) {
            while (in.size() - i >= 4 && is_alpha(in[i]) && is_alpha(in[i + 1]) && is_alpha(in[i + 2]) &&
                   is_alpha(in[i + 3]))
                i += 4;
            std::size_t j = i;
            while (j < in.size() && is_space(in[j])) ++j;
            if (j == i) return i;
            i = j;
        }
    };
    const std::string run = (alphabet + alphabet + alphabet).substr(0, 150);
    for (auto path : paths()) {
        const auto& k = detail::kernels(path);
        for (const char* stop : {"*", "\n", "\r\n", "=", "\x80"}) {
            for (std::size_t len = 0; len <= run.size(); len += 1 + len / 40) {
                for (std::size_t bad = 0; bad <= len; ++bad) {
                    std::string in = run.substr(0, len);
                    in.insert(bad, stop);
                    if (len > 100) in.insert(76, "\r\n");  // a second break, as in MIME lines
                    std::string out(in.size() / 4 * 3 + 3, '\0');
                    char* o = out.data();
                    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
                    const std::size_t used = k.b64_run(p, in.size(), o, out.data() + out.size());
                    ASSERT_EQ(used, expected(in)) << detail::to_string(path) << " on " << testing::PrintToString(in);
                    ASSERT_EQ(std::string(out.data(), o), ref_base64(in.substr(0, used)).text)
                        << detail::to_string(path) << " on " << testing::PrintToString(in);
                }
            }
        }
    }
}

TEST(MimeSimd, Base64RandomInputsDecodeAlike) {
    std::mt19937 rng(1414);
    const std::string noise = "=\r\n \t*\x80\xff-";
    for (int round = 0; round < 400; ++round) {
        const std::string data = random_bytes(rng, rng() % 700);
        std::string in = b64_lines(data, 4 + rng() % 90, rng() % 2 ? "\r\n" : "\n");
        const auto damage = rng() % 6;
        for (unsigned i = 0; i < damage && !in.empty(); ++i) in[rng() % in.size()] = noise[rng() % noise.size()];
        const decoded want = ref_base64(in);
        for (auto path : paths()) {
            ASSERT_EQ(decode_chunks(transfer_encoding::base64, path, {in}), want) << detail::to_string(path);
            const std::size_t cut = rng() % (in.size() + 1);
            ASSERT_EQ(decode_chunks(transfer_encoding::base64, path,
                                    {std::string_view(in).substr(0, cut), std::string_view(in).substr(cut)}),
                      want)
                << detail::to_string(path) << " split at " << cut;
        }
    }
}

TEST(MimeSimd, QuotedPrintableMalformedFormsDecodeAlikeOnEveryPath) {
    const std::string long_plain(300, 'x');
    const std::vector<std::string> inputs = {
        "",
        "plain text\r\n",
        "caf=C3=A9 na=c3=afve\n",  // lower-case hex
        "soft=\r\nbreak",
        "soft= \t\r\nbreak with blanks after '='",
        "trailing blanks   \r\nand tabs\t\t\nend",
        "=20\r\n=20 \n=09\t\n",  // encoded blanks stay, literal ones go
        "bad =G1 escape, = alone, =4\n",
        "==\n=\n=\r\n",
        "=3D=\r\n=3=\n",
        "a=\r\r\nb= \r \nc\r\r\n",  // CRs that are not line ends
        "=0D\n=0A\r\n",
        "8-bit \xc3\xa9\xff\x80 bytes\n",
        "no line end at the end =",
        "ends with blanks   ",
        "ends with =4",
        "ends with =\r",
        long_plain + "\r\n" + long_plain + "=\r\n" + long_plain + "=41" + long_plain + "\n",
        long_plain + "=" + long_plain,  // '=' in the middle of a very long line
        std::string(100, ' ') + "\n" + std::string(100, '=') + "\n",
    };
    for (const auto& in : inputs) check_all_paths(transfer_encoding::quoted_printable, in);
}

TEST(MimeSimd, QuotedPrintableRandomInputsDecodeAlike) {
    std::mt19937 rng(77);
    const std::string pieces[] = {"=",  "=4",   "=41",   "=g1",  " ",   "\t",       "\r",
                                  "\n", "\r\n", "=\r\n", "= \n", "abc", "\xc3\xa9", std::string(40, 'y')};
    for (int round = 0; round < 600; ++round) {
        std::string in;
        const auto n = rng() % 60;
        for (unsigned i = 0; i < n; ++i) in += pieces[rng() % std::size(pieces)];
        const decoded want = ref_qp(in);
        for (auto path : paths()) {
            ASSERT_EQ(decode_chunks(transfer_encoding::quoted_printable, path, {in}), want)
                << detail::to_string(path) << " on " << testing::PrintToString(in);
            const std::size_t cut = rng() % (in.size() + 1);
            ASSERT_EQ(decode_chunks(transfer_encoding::quoted_printable, path,
                                    {std::string_view(in).substr(0, cut), std::string_view(in).substr(cut)}),
                      want)
                << detail::to_string(path) << " split at " << cut << " of " << testing::PrintToString(in);
        }
    }
}

TEST(MimeSimd, SearchKernelsFindTheFirstMatchAtEveryAlignment) {
    std::mt19937 rng(5);
    std::string buf(200, 'a');
    for (auto path : paths()) {
        const auto& k = detail::kernels(path);
        for (std::size_t start = 0; start < 40; ++start) {
            for (std::size_t len = 0; start + len <= 140; len += 1 + len / 8) {
                for (std::size_t at = 0; at <= len; ++at) {
                    std::fill(buf.begin(), buf.end(), 'a');
                    // A match at `at` (none when at == len) and decoys around it.
                    if (at < len) buf[start + at] = rng() % 2 ? '=' : '\n';
                    if (start > 0) buf[start - 1] = '=';
                    buf[start + len] = '\n';
                    const char* b = buf.data() + start;
                    const char* e = b + len;
                    ASSERT_EQ(k.find2(b, e, '=', '\n') - b, static_cast<std::ptrdiff_t>(at))
                        << detail::to_string(path) << " start " << start << " len " << len;
                    // '\n' followed by '-' or 'F'; a '\n' as the last byte does not count.
                    std::fill(buf.begin(), buf.end(), 'a');
                    for (std::size_t i = 0; i < at; i += 7) buf[start + i] = '\n';  // '\n' + 'a': no match
                    if (at + 1 < len) {
                        buf[start + at] = '\n';
                        buf[start + at + 1] = rng() % 2 ? '-' : 'F';
                    } else if (at < len) {
                        buf[start + at] = '\n';  // last byte: its next byte is outside
                        buf[start + len] = '-';
                    }
                    const std::ptrdiff_t want =
                        at + 1 < len ? static_cast<std::ptrdiff_t>(at) : static_cast<std::ptrdiff_t>(len);
                    ASSERT_EQ(k.find_nl_then(b, e, '-', 'F') - b, want)
                        << detail::to_string(path) << " start " << start << " len " << len << " at " << at;
                }
            }
        }
    }
}

TEST(MimeSimd, PublicDecodersUseTheChosenPath) {
    // make_decoder/base64_decode/qp_decode run on simd_active(); same results as the explicit path.
    std::mt19937 rng(9);
    const std::string data = random_bytes(rng, 5000);
    const std::string b64 = b64_lines(data, 76, "\r\n");
    EXPECT_EQ(base64_decode(b64), data);
    EXPECT_EQ(base64_decode(b64), detail::base64_decode(b64, detail::simd_active()));
    const std::string qp = qp_encode(data);
    EXPECT_EQ(qp_decode(qp), detail::qp_decode(qp, detail::simd_active()));
}

TEST(MimeSimd, ParserSlicesLargeInputWithoutChangingEvents) {
    // feed() scans a large buffer in 64 KiB slices (so the decoder reads bytes still in the
    // cache). Delimiters, line ends, "From " lines and a '>From' placed on every offset around the
    // slice edge must give the same events as the input fed in small pieces.
    std::mt19937 rng(64);
    const std::string data = random_bytes(rng, 30000);
    const std::string body = b64_lines(data, 76, "\r\n");
    for (std::size_t shift = 0; shift < 32; ++shift) {
        std::string m = "From a@b Mon Jan  1 00:00:00 2024\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n";
        m += "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body;
        m += "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
        // QP text up to just before the 64 KiB edge, then the close delimiter across it.
        while (m.size() < 65536 - 52 + shift) m += "caf=C3=A9 text=\r\n";
        m += std::string(65536 - 24 + shift - m.size(), 'x') + "\r\n>From me\r\n--b--\r\n";
        m += "\r\nFrom c@d Mon Jan  1 00:00:00 2024\r\nSubject: two\r\n\r\n" + body;
        mailwire::mime::parser_options opt;
        opt.format = input_format::mbox;
        opt.decode = true;
        opt.unquote_from = true;
        const auto whole = mailwire::test::parse_chunks({m}, opt);
        std::vector<std::string_view> pieces;
        for (std::size_t i = 0; i < m.size(); i += 997) pieces.push_back(std::string_view(m).substr(i, 997));
        const auto small = mailwire::test::parse_chunks(pieces, opt);
        ASSERT_TRUE(whole == small) << "shift " << shift;
        ASSERT_NE(whole.decoded.find(data), std::string::npos);
    }
}
