/* GMime 3 side of bench/mime.py: parses an mbox with GMimeParser in mbox mode and decodes every
 * leaf part (g_mime_part_get_content, written to a null stream), like `mailwire parse --mbox
 * FILE --stats` does with its counting sink.
 *
 *   bench_gmime mbox FILE        prints {"messages", "parts", "decoded_bytes", "seconds", ...}
 *   bench_gmime check FILE...    prints "BAD <path>" for each message file GMime cannot construct
 *                                (GMime stops an mbox at the first such message, so mime.py
 *                                leaves those files out of the mbox both sides read)
 */
#include <fcntl.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static gint64 decoded;
static long parts;

static void count_part(GMimeObject* parent, GMimeObject* part, gpointer data) {
    (void)parent;
    (void)data;
    ++parts;
    if (GMIME_IS_PART(part)) {
        GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(part));
        if (!w) return;
        GMimeStream* null = g_mime_stream_null_new();
        gint64 n = g_mime_data_wrapper_write_to_stream(w, null);
        if (n > 0) decoded += n;
        g_object_unref(null);
    }
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* VmHWM in KiB (ru_maxrss would include the parent's image: Linux keeps it across execve). */
static long peak_rss_kib(void) {
    long kib = -1;
    char line[256];
    FILE* f = fopen("/proc/self/status", "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
        fclose(f);
    }
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

static int run_mbox(const char* path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    struct timespec a, b;
    double cpu0 = cpu_seconds();
    clock_gettime(CLOCK_MONOTONIC, &a);
    GMimeStream* stream = g_mime_stream_fs_new(fd);
    GMimeParser* parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
    long messages = 0;
    while (!g_mime_parser_eos(parser)) {
        GMimeMessage* m = g_mime_parser_construct_message(parser, NULL);
        if (!m) break;
        ++messages;
        g_mime_message_foreach(m, count_part, NULL);
        g_object_unref(m);
    }
    gint64 offset = g_mime_stream_tell(stream);
    g_object_unref(parser);
    g_object_unref(stream);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double seconds = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf(
        "{\"messages\": %ld, \"parts\": %ld, \"decoded_bytes\": %lld, \"stopped_at\": %lld, \"seconds\": %.6f, "
        "\"cpu_seconds\": %.6f, \"peak_rss_kib\": %ld}\n",
        messages, parts, (long long)decoded, (long long)offset, seconds, cpu_seconds() - cpu0, peak_rss_kib());
    return 0;
}

static int run_check(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            printf("BAD %s\n", argv[i]);
            continue;
        }
        GMimeStream* stream = g_mime_stream_fs_new(fd);
        GMimeParser* parser = g_mime_parser_new_with_stream(stream);
        GMimeMessage* m = g_mime_parser_construct_message(parser, NULL);
        if (!m) printf("BAD %s\n", argv[i]);
        else g_object_unref(m);
        g_object_unref(parser);
        g_object_unref(stream);
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char** argv) {
    g_mime_init();
    if (argc == 3 && strcmp(argv[1], "mbox") == 0) return run_mbox(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "check") == 0) return run_check(argc - 2, argv + 2);
    fprintf(stderr, "usage: bench_gmime mbox FILE | bench_gmime check FILE...\n");
    return 2;
}
