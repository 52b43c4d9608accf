// The floor for MIME parsing: one pass over a file counting '\n' with memchr, read the way
// mime::parse_file reads (4 MiB mmap windows), nothing else. bench/mime.py runs it next to
// `mailwire parse --mbox FILE --stats`, GMime and python's email.
//
//   bench_mime floor FILE      prints {"bytes", "lines", "seconds", "cpu_seconds", "peak_rss_kib"}
//   bench_mime parse FILE      mime::parse_file in mbox mode, every leaf decoded into a counter
//                              (what `mailwire parse --mbox FILE --stats` does, without the CLI);
//                              prints {"messages", "parts", "decoded_bytes", "seconds", ...}
//   bench_mime decode          each decoder on each decoding path this CPU runs, on 64 KiB that
//                              stay in the cache: base64 in 76-column CRLF lines and in one line,
//                              quoted-printable text; best of 7 runs of 200 decodes, MB/s of input
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <algorithm>
#include <random>
#include <tuple>

#include "mailwire/mime/encoding.hpp"
#include "mailwire/mime/parser.hpp"
#include "mime/simd_decode.hpp"

namespace {

double cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// VmHWM in KiB (ru_maxrss would include the parent's image: Linux keeps it across execve).
long peak_rss_kib() {
    long kib = -1;
    if (std::FILE* f = std::fopen("/proc/self/status", "re")) {
        char line[256];
        while (std::fgets(line, sizeof line, f) != nullptr)
            if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
        std::fclose(f);
    }
    if (kib < 0) {
        rusage ru{};
        ::getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

int floor_scan(const char* path) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        std::fprintf(stderr, "cannot open %s: %s\n", path, std::strerror(errno));
        return 1;
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    constexpr std::size_t window = 4u << 20;  // as mime::parse_fd
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    std::size_t lines = 0;
    for (std::size_t base = 0; base < size; base += window) {
        const std::size_t len = std::min(window, size - base);
        void* m = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, static_cast<off_t>(base));
        if (m == MAP_FAILED) {
            std::fprintf(stderr, "mmap failed: %s\n", std::strerror(errno));
            return 1;
        }
        const char* p = static_cast<const char*>(m);
        const char* end = p + len;
        while (p < end) {
            const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
            if (nl == nullptr) break;
            ++lines;
            p = static_cast<const char*>(nl) + 1;
        }
        ::munmap(m, len);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    ::close(fd);
    std::printf("{\"bytes\": %zu, \"lines\": %zu, \"seconds\": %.6f, \"cpu_seconds\": %.6f, \"peak_rss_kib\": %ld}\n",
                size, lines, seconds, cpu, peak_rss_kib());
    return 0;
}

// Counts what the parser reports; decoded bytes go nowhere else.
class counter : public mailwire::mime::parser_handler {
public:
    std::size_t messages = 0, parts = 0, decoded = 0;
    void on_message_begin(std::string_view) override { ++messages; }
    void on_part_begin(const mailwire::mime::part_head&) override { ++parts; }
    void on_decoded(std::string_view data) override { decoded += data.size(); }
};

int parse(const char* path) {
    mailwire::mime::parser_options opt;
    opt.format = mailwire::mime::input_format::mbox;
    opt.decode = true;
    counter c;
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    mailwire::mime::parse_file(path, c, opt);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    std::printf(
        "{\"messages\": %zu, \"parts\": %zu, \"decoded_bytes\": %zu, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
        "\"peak_rss_kib\": %ld}\n",
        c.messages, c.parts, c.decoded, seconds, cpu, peak_rss_kib());
    return 0;
}

int decode_speed() {
    using namespace mailwire::mime;
    std::mt19937 rng(1);
    std::string data(48 * 1024, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    const std::string lines = base64_encode(data);  // 76 columns, CRLF
    const std::string flat = base64_encode(data, 0);
    std::string text;
    while (text.size() < 64 * 1024)
        text += "Le caf\xC3\xA9 est tr\xC3\xA8s bon, and this line is plain ASCII text of a mail body.\n";
    const std::string qp = qp_encode(text);
    const std::tuple<const char*, transfer_encoding, const std::string*> inputs[] =
        {{"base64 76-column lines", transfer_encoding::base64, &lines},
         {"base64 one line", transfer_encoding::base64, &flat},
         {"quoted-printable text", transfer_encoding::quoted_printable, &qp}};
    for (auto path : {detail::simd_path::scalar, detail::simd_path::ssse3, detail::simd_path::avx2}) {
        if (!detail::simd_supported(path)) continue;
        for (const auto& [name, e, in] : inputs) {
            std::string out;
            out.reserve(in->size() + 64);
            double best = 1e9;
            for (int rep = 0; rep < 7; ++rep) {
                const auto t0 = std::chrono::steady_clock::now();
                for (int i = 0; i < 200; ++i) {
                    out.clear();
                    auto d = detail::make_decoder(e, path);
                    d->decode(*in, out);
                    d->finish(out);
                }
                best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            std::printf("%-7s %-24s %8.0f MB/s\n", std::string(detail::to_string(path)).c_str(), name,
                        200.0 * static_cast<double>(in->size()) / best / 1e6);
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::string(argv[1]) == "decode") return decode_speed();
    if (argc == 3 && std::string(argv[1]) == "floor") return floor_scan(argv[2]);
    if (argc == 3 && std::string(argv[1]) == "parse") return parse(argv[2]);
    std::fprintf(stderr, "usage: bench_mime floor|parse FILE, bench_mime decode\n");
    return 2;
}
