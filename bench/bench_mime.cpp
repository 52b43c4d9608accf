// The floor for MIME parsing: one pass over a file counting '\n' with memchr, read the way
// mime::parse_file reads (4 MiB mmap windows), nothing else. bench/mime.py runs it next to
// `mailwire parse --mbox FILE --stats`, GMime and python's email.
//
//   bench_mime floor FILE      prints {"bytes", "lines", "seconds", "cpu_seconds", "peak_rss_kib"}
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

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

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "floor") return floor_scan(argv[2]);
    std::fprintf(stderr, "usage: bench_mime floor FILE\n");
    return 2;
}
