/* gmime_dump: prints the MIME tree GMime builds for each file, one line per part:
 * "<depth> <type>/<subtype>", preceded by "FILE <path>". Used only by tests and benchmarks to
 * compare mailwire's parser with GMime's. With --bench, parses each file (mbox when it ends in
 * .mbox) and decodes every leaf into a counting sink, printing bytes and seconds. */
#include <fcntl.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void lower_print(const char* s) {
    for (; s && *s; ++s) putchar(g_ascii_tolower(*s));
}

static void dump(GMimeObject* obj, int depth) {
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    printf("%d ", depth);
    lower_print(ct ? g_mime_content_type_get_media_type(ct) : "text");
    putchar('/');
    lower_print(ct ? g_mime_content_type_get_media_subtype(ct) : "plain");
    putchar('\n');
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart* mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; ++i) dump(g_mime_multipart_get_part(mp, i), depth + 1);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (m && g_mime_message_get_mime_part(m)) dump(g_mime_message_get_mime_part(m), depth + 1);
    }
}

static gint64 total;

static void count_leaf(GMimeObject* parent, GMimeObject* part, gpointer data) {
    (void)parent;
    (void)data;
    if (GMIME_IS_PART(part)) {
        GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(part));
        if (!w) return;
        GMimeStream* null = g_mime_stream_null_new();
        total += g_mime_data_wrapper_write_to_stream(w, null);
        g_object_unref(null);
    }
}

int main(int argc, char** argv) {
    int bench = argc > 1 && strcmp(argv[1], "--bench") == 0;
    g_mime_init();
    for (int i = 1 + bench; i < argc; ++i) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            printf("FILE %s\nERROR open\n", argv[i]);
            continue;
        }
        GMimeStream* stream = g_mime_stream_fs_new(fd);
        GMimeParser* parser = g_mime_parser_new_with_stream(stream);
        size_t len = strlen(argv[i]);
        int mbox = len > 5 && strcmp(argv[i] + len - 5, ".mbox") == 0;
        g_mime_parser_set_format(parser, mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
        if (bench) {
            struct timespec a, b;
            long messages = 0;
            clock_gettime(CLOCK_MONOTONIC, &a);
            while (!g_mime_parser_eos(parser)) {
                GMimeMessage* m = g_mime_parser_construct_message(parser, NULL);
                if (!m) break;
                ++messages;
                g_mime_message_foreach(m, count_leaf, NULL);
                g_object_unref(m);
            }
            clock_gettime(CLOCK_MONOTONIC, &b);
            printf("messages %ld decoded %lld seconds %.3f\n", messages, (long long)total,
                   (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
        } else {
            printf("FILE %s\n", argv[i]);
            GMimeMessage* m = g_mime_parser_construct_message(parser, NULL);
            if (!m) printf("ERROR parse\n");
            else {
                if (g_mime_message_get_mime_part(m)) dump(g_mime_message_get_mime_part(m), 0);
                g_object_unref(m);
            }
        }
        g_object_unref(parser);
        g_object_unref(stream);
    }
    fflush(stdout);
    return 0;
}
