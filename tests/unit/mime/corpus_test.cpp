// Every message of the shared corpus: parses without error, re-serialises byte for byte, gives
// the same events however it is split, and has the same part tree as GMime builds (with the
// deliberate differences listed below).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mailwire/mime/mbox.hpp"
#include "mailwire/mime/message.hpp"
#include "mailwire/mime/serializer.hpp"
#include "unit/mime/parser_events.hpp"

namespace fs = std::filesystem;
namespace mime = mailwire::mime;

namespace {

fs::path corpus_dir() {
    if (const char* env = std::getenv("MAILWIRE_CORPUS"); env != nullptr && fs::is_directory(env)) return env;
    return "/work/shared/corpus";
}

std::vector<fs::path> corpus_files() {
    std::vector<fs::path> files;
    const fs::path dir = corpus_dir();
    if (!fs::is_directory(dir)) return files;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename() != "SOURCES.md") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool is_mbox(const fs::path& p) {
    const std::string n = p.filename().string();
    return n.find("mbox") != std::string::npos;
}

#define SKIP_WITHOUT_CORPUS(files) \
    if ((files).empty()) GTEST_SKIP() << "no MIME corpus at " << corpus_dir() << " (set MAILWIRE_CORPUS)"

TEST(MimeCorpus, RoundTripsByteForByte) {
    const auto files = corpus_files();
    SKIP_WITHOUT_CORPUS(files);
    std::size_t checked = 0;
    for (const auto& f : files) {
        SCOPED_TRACE(f.string());
        const std::string bytes = read_file(f);
        mime::message m;
        ASSERT_NO_THROW(m = mime::message::parse(bytes));
        const std::string out = mime::to_string(m);
        EXPECT_TRUE(out == bytes) << "re-serialised " << out.size() << " bytes of " << bytes.size();
        // Loading from the file streams through the same parser.
        EXPECT_TRUE(mime::to_string(mime::message::load(f.string())) == bytes);
        ++checked;
    }
    EXPECT_GT(checked, 700u);
}

TEST(MimeCorpus, EventsDoNotDependOnSplits) {
    const auto files = corpus_files();
    SKIP_WITHOUT_CORPUS(files);
    for (const auto& f : files) {
        SCOPED_TRACE(f.string());
        const std::string bytes = read_file(f);
        mime::parser_options opt;
        opt.decode = true;
        const auto whole = mailwire::test::parse_chunks({bytes}, opt);
        ASSERT_EQ(whole.raw, bytes);
        std::vector<std::size_t> sizes = {3, 61, 4096, 65539};
        if (bytes.size() < 200000) sizes.push_back(1);
        for (std::size_t n : sizes) {
            std::vector<std::string_view> chunks;
            for (std::size_t i = 0; i < bytes.size(); i += n) chunks.push_back(std::string_view(bytes).substr(i, n));
            const auto split = mailwire::test::parse_chunks(chunks, opt);
            EXPECT_TRUE(split == whole) << "differs with " << n << "-byte chunks";
        }
    }
}

TEST(MimeCorpus, MboxFilesSplitIntoMessages) {
    const auto files = corpus_files();
    SKIP_WITHOUT_CORPUS(files);
    std::size_t mboxes = 0;
    for (const auto& f : files) {
        if (!is_mbox(f)) continue;
        SCOPED_TRACE(f.string());
        ++mboxes;
        const std::string bytes = read_file(f);
        mime::mbox_reader reader(f.string());
        std::string again;
        std::size_t n = 0;
        while (auto m = reader.next()) {
            EXPECT_FALSE(m->envelope().empty() && n > 0);
            again += mime::to_string(*m);
            ++n;
        }
        // One message per "From " line (plus one for text before the first).
        std::size_t from_lines = bytes.rfind("From ", 0) == 0 ? 1 : (bytes.empty() ? 0 : 1);
        for (std::size_t i = bytes.find("\nFrom "); i != std::string::npos; i = bytes.find("\nFrom ", i + 1))
            ++from_lines;
        EXPECT_EQ(n, from_lines);
        EXPECT_TRUE(again == bytes);
    }
    EXPECT_GT(mboxes, 0u);
}

#ifdef MAILWIRE_GMIME_DUMP
std::string tree_of(const mime::entity& e) {
    std::string s;
    e.walk([&](const mime::entity& x, std::size_t depth) {
        s += std::to_string(depth) + " " + x.content_type().mime_type() + "\n";
    });
    return s;
}

// Deliberate differences from GMime, by file name, with the reason.
const std::map<std::string, std::string> known_differences = {
    // A Content-Type without subtype ("text", "application", "TEXT/"): we follow RFC 2045 §5.2 as
    // parse_content_type does ("text" is text/plain, anything unusable text/plain); GMime says
    // application/octet-stream.
    {"flanker/messages_torture.eml", "Content-Type: TEXT without subtype"},
    {"mimekit/messages_startrek.eml", "Content-Type without subtype"},
    {"mimekit/messages_missing-subtype.txt", "Content-Type without subtype"},
    {"mime4j/mimetools-testmsgs_multi-digest.msg", "Content-type: text"},
    {"spamassassin/spam_badctype1", "unusable Content-Type"},
    {"spamassassin/nice_mime8", "Content-Type without subtype"},
    {"flanker/messages_spam_broken-ctype.eml", "unusable Content-Type"},
    // parse_content_type reads a boundary parameter even without the ';' before it; GMime does
    // not, so it sees a multipart without parts.
    {"stalwart/eml_malformed_017.eml", "boundary parameter without ';'"},
};

TEST(MimeCorpus, SameTreeAsGMime) {
    const auto files = corpus_files();
    SKIP_WITHOUT_CORPUS(files);
    std::string cmd = MAILWIRE_GMIME_DUMP;
    for (const auto& f : files) cmd += " '" + f.string() + "'";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::map<std::string, std::string> gmime;
    std::string current;
    char line[4096];
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
        std::string l(line);
        if (l.rfind("FILE ", 0) == 0) {
            current = l.substr(5, l.size() - 6);
            gmime[current];
        } else {
            gmime[current] += l;
        }
    }
    ::pclose(pipe);
    std::size_t same = 0, known = 0;
    std::set<std::string> unexpected;
    std::size_t refused = 0;
    for (const auto& f : files) {
        std::string mine;
        if (f.extension() == ".mbox") {  // gmime_dump reads these as mbox: compare the first message
            mime::mbox_reader reader(f.string());
            if (auto m = reader.next()) mine = tree_of(*m);
        } else {
            mine = tree_of(mime::message::load(f.string()));
        }
        const std::string name = f.parent_path().filename().string() + "/" + f.filename().string();
        if (mine == gmime[f.string()]) {
            ++same;
            continue;
        }
        // GMime gives up on messages whose first header line is not a field (leading blanks,
        // an empty file, a bare "From " line without header after it); we keep going (junk
        // lines are skipped) and read the message.
        if (gmime[f.string()] == "ERROR parse\n") {
            ++refused;
            continue;
        }
        if (known_differences.count(name) != 0) {
            ++known;
            continue;
        }
        unexpected.insert(name);
        ADD_FAILURE() << name << "\nmailwire:\n" << mine << "GMime:\n" << gmime[f.string()];
    }
    std::cout << "[ corpus ] " << same << " files agree with GMime, " << known << " known differences, " << refused
              << " that GMime cannot parse, " << unexpected.size() << " unexpected\n";
}
#endif

}  // namespace
