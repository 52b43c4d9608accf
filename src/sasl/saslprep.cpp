// SASLprep (RFC 4013) through ICU's StringPrep implementation, which ships the RFC 3454 tables
// and the RFC 4013 profile (USPREP_RFC4013_SASLPREP): B.1 mapped to nothing, C.1.2 non-ASCII
// spaces to U+0020, NFKC, the C.1.2-C.9 prohibitions and the RFC 3454 §6 bidi rule.
// ICU works in UTF-16, so the input is converted there and back.
#include <unicode/usprep.h>
#include <unicode/ustring.h>

#include <climits>
#include <memory>
#include <vector>

#include "sasl/detail.hpp"

namespace mailwire::sasl {
namespace {

[[noreturn]] void refuse(const char* why) {
    // Never echo the input: it is usually a password.
    detail::fail(errc::invalid_argument, std::string("SASLprep refused the string: ") + why);
}

// Wipes a UTF-16 buffer that held (part of) a password on every way out, refusals included.
struct wiped_utf16 {
    std::vector<UChar> v;
    explicit wiped_utf16(std::size_t n) : v(n) {}
    wiped_utf16(const wiped_utf16&) = delete;
    wiped_utf16& operator=(const wiped_utf16&) = delete;
    ~wiped_utf16() { detail::cleanse_bytes(v.data(), v.size() * sizeof(UChar)); }
    // A fresh buffer of `n` units; the old one is wiped first (resize() would free it unwiped).
    void renew(std::size_t n) {
        detail::cleanse_bytes(v.data(), v.size() * sizeof(UChar));
        v = std::vector<UChar>(n);
    }
};

struct profile_closer {
    void operator()(UStringPrepProfile* p) const noexcept { usprep_close(p); }
};

}  // namespace

std::string saslprep(std::string_view utf8) {
    if (utf8.empty()) return {};
    if (utf8.size() > 65536) refuse("longer than 64 KiB");
    // Fast path: printable ASCII is left unchanged by every step of the profile.
    bool ascii = true;
    for (char c : utf8) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) {
            ascii = false;
            break;
        }
    }
    if (ascii) return std::string(utf8);

    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<UStringPrepProfile, profile_closer> profile(usprep_openByType(USPREP_RFC4013_SASLPREP, &status));
    if (U_FAILURE(status) || !profile)
        detail::fail(errc::configuration, std::string("ICU SASLprep profile unavailable: ") + u_errorName(status));

    wiped_utf16 in_buf(utf8.size() + 1);
    auto& in = in_buf.v;
    int32_t in_len = 0;
    u_strFromUTF8(in.data(), static_cast<int32_t>(in.size()), &in_len, utf8.data(), static_cast<int32_t>(utf8.size()),
                  &status);
    if (U_FAILURE(status)) refuse("not valid UTF-8");

    // NFKC can expand a code unit into several (U+FDFA becomes 18); grow and retry on overflow.
    wiped_utf16 out_buf(static_cast<std::size_t>(in_len) * 4 + 16);
    auto& out = out_buf.v;
    int32_t out_len = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        status = U_ZERO_ERROR;
        UParseError perr{};
        out_len = usprep_prepare(profile.get(), in.data(), in_len, out.data(), static_cast<int32_t>(out.size()),
                                 USPREP_ALLOW_UNASSIGNED, &perr, &status);
        if (status != U_BUFFER_OVERFLOW_ERROR) break;
        out_buf.renew(static_cast<std::size_t>(out_len) + 1);
    }
    if (status == U_STRINGPREP_PROHIBITED_ERROR) refuse("it contains a prohibited character (RFC 4013 §2.3)");
    if (status == U_STRINGPREP_CHECK_BIDI_ERROR) refuse("it mixes right-to-left and left-to-right text (RFC 3454 §6)");
    if (U_FAILURE(status)) refuse(u_errorName(status));

    std::string result(static_cast<std::size_t>(out_len) * 3 + 1, '\0');
    int32_t result_len = 0;
    u_strToUTF8(result.data(), static_cast<int32_t>(result.size()), &result_len, out.data(), out_len, &status);
    if (U_FAILURE(status)) {
        detail::cleanse(result);
        refuse("unpaired surrogate");
    }
    // Shrinking keeps the buffer; a caller that takes the result into a mailwire::secret wipes
    // all of it (the whole capacity).
    result.resize(static_cast<std::size_t>(result_len));
    return result;
}

}  // namespace mailwire::sasl
