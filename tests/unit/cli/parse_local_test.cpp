// `mailwire parse` on local files: attachment extraction (byte-exact, hostile names neutralised,
// nothing overwritten, no symlink followed) and `--mbox --stats` counts checked against fixtures
// these tests write themselves. The encoders here are deliberately not the library's, so an
// encode/decode bug cannot cancel out.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "cli_files.hpp"
#include "cli_run.hpp"

namespace mailwire::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

std::string b64(const std::string& in, const std::string& eol) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out, line;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        const auto b0 = static_cast<unsigned char>(in[i]);
        const auto b1 = i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) : 0u;
        const auto b2 = i + 2 < in.size() ? static_cast<unsigned char>(in[i + 2]) : 0u;
        line += t[b0 >> 2];
        line += t[((b0 & 3) << 4) | (b1 >> 4)];
        line += i + 1 < in.size() ? t[((b1 & 15) << 2) | (b2 >> 6)] : '=';
        line += i + 2 < in.size() ? t[b2 & 63] : '=';
        if (line.size() == 76) {
            out += line + eol;
            line.clear();
        }
    }
    if (!line.empty()) out += line + eol;
    return out;
}

std::string qp_escape(unsigned c) {
    static const char* h = "0123456789ABCDEF";
    return std::string{'=', h[c >> 4], h[c & 15]};
}

/// Quoted-printable with every byte outside [A-Za-z0-9 ] escaped, hard line breaks kept as eol,
/// soft breaks every ~70 characters.
std::string qp(const std::string& text, const std::string& eol) {
    std::string out;
    std::size_t col = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            out += eol;
            col = 0;
            continue;
        }
        std::string piece;
        const bool last_on_line = i + 1 == text.size() || text[i + 1] == '\n';
        if (std::isalnum(c) || (c == ' ' && !last_on_line)) piece = std::string(1, static_cast<char>(c));
        else piece = qp_escape(c);
        if (col + piece.size() > 72) {
            out += "=" + eol;
            col = 0;
        }
        out += piece;
        col += piece.size();
    }
    return out;
}

/// One leaf part of a fixture: headers and encoded body, and what decoding must give.
struct leaf {
    std::string headers, body, decoded;
};

leaf text_leaf(const std::string& text) { return {"Content-Type: text/plain; charset=us-ascii\n", text, text}; }

leaf base64_leaf(const std::string& disposition, const std::string& data, const std::string& eol = "\n") {
    return {"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n" + disposition, b64(data, eol),
            data};
}

/// A multipart/mixed message (LF or CRLF line ends). Each body is followed by one more line end,
/// which belongs to the delimiter (RFC 2046 §5.1.1), so each leaf decodes to exactly `decoded`.
std::string multipart(const std::string& subject, const std::vector<leaf>& leaves, const std::string& eol = "\n",
                      const std::string& boundary = "=b=") {
    auto conv = [&](const std::string& s) {
        if (eol == "\n") return s;
        std::string o;
        for (char c : s) o += c == '\n' ? eol : std::string(1, c);
        return o;
    };
    std::string m =
        conv("From: a@example.com\nTo: b@example.com\nSubject: " + subject +
             "\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"" + boundary + "\"\n\npreamble\n");
    for (const auto& l : leaves) {
        m += conv("--" + boundary + "\n" + l.headers + "\n");
        m += l.body + eol;
    }
    m += conv("--" + boundary + "--\n");
    return m;
}

json run_json(const std::vector<std::string>& args, int expect_exit = 0) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, expect_exit) << r.out << r.err;
    try {
        return json::parse(r.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out << r.err;
        return json::object();
    }
}

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir)) s.insert(e.path().filename().string());
    return s;
}

TEST(CliParseLocal, ExtractWritesEveryAttachmentDecodedByteExact) {
    temp_dir tmp{"mw-parse"};
    const std::string bin = random_bytes(150000, 1);  // NULs, CRs and LFs included
    const std::string notes = "price = 5 EUR\ttab\nline with trailing space \n\xc3\xa9t\xc3\xa9 ok\n=== end\n";
    const std::string inner_att = random_bytes(3000, 2);
    const std::string inner =
        multipart("inner",
                  {text_leaf("inner text"),
                   base64_leaf("Content-Disposition: attachment; filename=inner.dat\n", inner_att)},
                  "\n", "inner-b");
    std::vector<leaf> leaves = {
        text_leaf("Hello,\nsee attached.\n"),
        base64_leaf("Content-Disposition: attachment; filename=\"report.bin\"\n", bin, "\r\n"),
        {"Content-Type: text/plain; charset=utf-8; name=notes.txt\nContent-Transfer-Encoding: quoted-printable\n",
         qp(notes, "\n"), notes},
        base64_leaf("Content-Disposition: attachment; filename*=UTF-8''%C3%A9t%C3%A9%20plan.pdf\n", "%PDF-1.4 fake"),
        base64_leaf("Content-Disposition: attachment\n", "no name at all"),
        {"Content-Type: message/rfc822\n", inner, ""},
    };
    const std::string eml = tmp / "m.eml";
    write_file(eml, multipart("extract me", leaves));
    const std::string out = tmp / "out";

    const auto j = run_json({"parse", eml, "--extract", out, "--json"});
    ASSERT_TRUE(j.contains("extracted")) << j.dump();
    const auto& ex = j["extracted"];
    // report.bin, notes.txt, été plan.pdf, the unnamed attachment, inner.dat.
    ASSERT_EQ(ex.size(), 5u) << ex.dump(2);
    const std::vector<std::pair<std::string, std::string>> expected = {{"report.bin", bin},
                                                                       {"notes.txt", notes},
                                                                       {"\xc3\xa9t\xc3\xa9 plan.pdf", "%PDF-1.4 fake"},
                                                                       {"", "no name at all"},
                                                                       {"inner.dat", inner_att}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& f = ex[i];
        const std::string path = f["path"].get<std::string>();
        EXPECT_EQ(fs::path(path).parent_path(), fs::path(out)) << path;
        if (!expected[i].first.empty()) {
            EXPECT_EQ(f["name"], expected[i].first);
        }
        EXPECT_EQ(f["bytes"].get<std::size_t>(), expected[i].second.size()) << path;
        EXPECT_TRUE(read_file(path) == expected[i].second) << path << " differs";
    }
    EXPECT_EQ(ex[3]["name"].get<std::string>().rfind("part-", 0), 0u) << ex[3].dump();
    EXPECT_EQ(names_in(out).size(), 5u);
    // The tree is still reported alongside.
    EXPECT_EQ(j["subject"], "extract me");
    EXPECT_EQ(j["tree"]["parts"].size(), leaves.size());

    // Again into the same directory: nothing is overwritten, every name gets a suffix.
    const auto r = run_cli({"parse", eml, "--extract", out});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("extracted 5 files to " + out), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("report-2.bin"), std::string::npos) << r.out;
    EXPECT_EQ(names_in(out).size(), 10u);
    EXPECT_TRUE(read_file(out + "/report-2.bin") == bin);
    EXPECT_TRUE(read_file(out + "/report.bin") == bin);
}

TEST(CliParseLocal, HostileFileNamesStayInsideTheDirectory) {
    temp_dir tmp{"mw-parse"};
    const std::vector<std::string> hostile =
        {"../../escape.txt", "/etc/passwd", "..",      ".",        ".bashrc",  "a\\\\..\\\\win.txt",
         "sub/dir/deep.txt", "dup.txt",     "dup.txt", "link.txt", "keep.txt", std::string(300, 'x') + ".txt"};
    std::vector<leaf> leaves;
    for (std::size_t i = 0; i < hostile.size(); ++i)
        leaves.push_back(base64_leaf("Content-Disposition: attachment; filename=\"" + hostile[i] + "\"\n",
                                     "payload " + std::to_string(i) + "\n"));
    // Control bytes and a NUL smuggled through RFC 2231 percent-encoding.
    leaves.push_back(base64_leaf("Content-Disposition: attachment; filename*=''evil%01%00name%0A.txt\n", "ctl"));
    const std::string eml = tmp / "hostile.eml";
    write_file(eml, multipart("hostile", leaves));

    const fs::path out = tmp.path() / "out";
    fs::create_directory(out);
    write_file((out / "keep.txt").string(), "mine");
    const std::string outside = tmp / "outside-target";
    write_file(outside, "untouched");
    fs::create_symlink(outside, out / "link.txt");
    const auto before = names_in(tmp.path());

    const auto j = run_json({"parse", eml, "--extract", out.string(), "--json"});
    const auto& ex = j["extracted"];
    ASSERT_EQ(ex.size(), leaves.size()) << j.dump(2);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < ex.size(); ++i) {
        const std::string name = ex[i]["name"];
        const std::string path = ex[i]["path"];
        SCOPED_TRACE(name);
        EXPECT_EQ(fs::path(path).parent_path(), out);
        EXPECT_EQ(name.find('/'), std::string::npos);
        EXPECT_EQ(name.find('\\'), std::string::npos);
        EXPECT_NE(name.front(), '.');
        EXPECT_LE(name.size(), 160u);
        for (char c : name) EXPECT_GE(static_cast<unsigned char>(c), 0x20u);
        EXPECT_TRUE(seen.insert(name).second) << "name used twice";
        EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(path)));
        const std::string want = i < hostile.size() ? "payload " + std::to_string(i) + "\n" : "ctl";
        EXPECT_TRUE(read_file(path) == want);
    }
    EXPECT_EQ(ex[0]["name"], "escape.txt");
    EXPECT_EQ(ex[1]["name"], "passwd");
    EXPECT_EQ(ex[4]["name"], "bashrc");
    EXPECT_EQ(ex[7]["name"], "dup.txt");
    EXPECT_EQ(ex[8]["name"], "dup-2.txt");
    EXPECT_EQ(ex[9]["name"], "link-2.txt");  // the existing symlink is neither followed nor replaced
    EXPECT_EQ(ex[10]["name"], "keep-2.txt");
    EXPECT_EQ(ex[11]["name"].get<std::string>().substr(ex[11]["name"].get<std::string>().size() - 4), ".txt");
    // Nothing outside the directory changed.
    EXPECT_EQ(names_in(tmp.path()), before);
    EXPECT_EQ(read_file(outside), "untouched");
    EXPECT_EQ(read_file((out / "keep.txt").string()), "mine");
    EXPECT_FALSE(fs::exists("/etc/passwd-2"));
}

/// An mbox of `n` messages with varying structure; returns it with the expected counts.
struct mbox_fixture {
    std::string data;
    std::uint64_t messages = 0, parts = 0, leaves = 0, decoded = 0;
};

mbox_fixture make_mbox(std::size_t n, std::size_t big = 0) {
    mbox_fixture f;
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<leaf> ls = {text_leaf("message " + std::to_string(i) + "\n>From the body, quoted\nbye")};
        for (std::size_t k = 0; k < i % 4; ++k)
            ls.push_back(base64_leaf("Content-Disposition: attachment; filename=a.bin\n",
                                     random_bytes(1000 * (k + 1) + i, static_cast<unsigned>(i * 7 + k)),
                                     i % 2 ? "\r\n" : "\n"));
        if (i % 5 == 2) {
            const std::string t = "caf\xc3\xa9 = coffee  \nsecond line\n";
            ls.push_back({"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n", qp(t, "\n"), t});
        }
        if (big > 0 && i == n / 2)
            ls.push_back(base64_leaf("Content-Disposition: attachment\n", random_bytes(big, 99)));
        f.data += "From sender@example.com Mon Jan  1 00:00:00 2024\n";
        f.data += multipart("m" + std::to_string(i), ls, i % 3 == 1 ? "\r\n" : "\n");
        f.data += "\n";
        ++f.messages;
        f.parts += 1 + ls.size();
        f.leaves += ls.size();
        for (const auto& l : ls) f.decoded += l.decoded.size();
    }
    return f;
}

TEST(CliParseLocal, MboxStatsCountWhatWasWritten) {
    temp_dir tmp{"mw-parse"};
    const auto fx = make_mbox(23);
    const std::string mbox = tmp / "box.mbox";
    write_file(mbox, fx.data);

    const auto j = run_json({"parse", "--mbox", mbox, "--stats", "--json"});
    EXPECT_EQ(j["ok"], true);
    EXPECT_EQ(j["format"], "mbox");
    EXPECT_EQ(j["messages"].get<std::uint64_t>(), fx.messages);
    EXPECT_EQ(j["parts"].get<std::uint64_t>(), fx.parts);
    EXPECT_EQ(j["leaf_parts"].get<std::uint64_t>(), fx.leaves);
    EXPECT_EQ(j["decoded_bytes"].get<std::uint64_t>(), fx.decoded);
    EXPECT_EQ(j["input_bytes"].get<std::uint64_t>(), fx.data.size());
    EXPECT_GT(j["peak_rss_kib"].get<std::uint64_t>(), 0u);
    EXPECT_GE(j["seconds"].get<double>(), 0.0);
    EXPECT_GE(j["mb_per_s"].get<double>(), 0.0);

    // The human form says the same, one field per line.
    const auto r = run_cli({"parse", "--mbox", mbox});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    bool messages = false, parts = false, throughput = false, memory = false;
    for (const auto& line : lines_of(r.out)) {
        messages |= line == "  messages    " + std::to_string(fx.messages);
        parts |= line.rfind("  parts       " + std::to_string(fx.parts) + " (", 0) == 0;
        throughput |= line.find("MB/s") != std::string::npos;
        memory |= line.rfind("  peak memory", 0) == 0;
    }
    EXPECT_TRUE(messages && parts && throughput && memory) << r.out;

    // A single message file with --stats counts one message.
    const std::string one = tmp / "one.eml";
    write_file(one, multipart("one", {text_leaf("abc"), base64_leaf("", "xyz!")}));
    const auto s = run_json({"parse", one, "--stats", "--json"});
    EXPECT_EQ(s["messages"], 1);
    EXPECT_EQ(s["parts"], 3);
    EXPECT_EQ(s["decoded_bytes"], 7);
}

TEST(CliParseLocal, MboxIsStreamedNotLoaded) {
    // ~58 MB of mbox, one 40 MiB attachment: peak memory must stay far below the file size.
    temp_dir tmp{"mw-parse"};
    const auto fx = make_mbox(400, 40u << 20);
    ASSERT_GT(fx.data.size(), 55u << 20);
    const std::string mbox = tmp / "big.mbox";
    write_file(mbox, fx.data);
    const auto j = run_json({"parse", "--mbox", mbox, "--stats", "--json"}, 0);
    EXPECT_EQ(j["messages"].get<std::uint64_t>(), fx.messages);
    EXPECT_EQ(j["decoded_bytes"].get<std::uint64_t>(), fx.decoded);
#if defined(__SANITIZE_ADDRESS__)
    // Under ASan, shadow memory and the free quarantine grow with every byte allocated, so RSS says
    // nothing about streaming; the regular build (scripts/test.sh) checks the bound.
    EXPECT_GT(j["peak_rss_kib"].get<std::uint64_t>(), 0u);
#else
    EXPECT_LT(j["peak_rss_kib"].get<std::uint64_t>(), 32u * 1024) << "peak RSS grows with the input";
#endif
}

TEST(CliParseLocal, MboxExtractAcrossMessages) {
    temp_dir tmp{"mw-parse"};
    const auto fx = make_mbox(8);
    const std::string mbox = tmp / "box.mbox";
    write_file(mbox, fx.data);
    const auto j = run_json({"parse", "--mbox", mbox, "--extract", tmp / "x", "--json"});
    // Messages 1..7 carry i % 4 attachments named a.bin: 0+1+2+3+0+1+2+3 = 12 files, all distinct.
    ASSERT_EQ(j["extracted"].size(), 12u) << j.dump(2);
    EXPECT_EQ(names_in(tmp / "x").size(), 12u);
    EXPECT_EQ(j["extracted"][0]["message"], 2);  // message 0 has none
    EXPECT_EQ(j["extracted"][0]["bytes"], 1001);
    EXPECT_TRUE(read_file(j["extracted"][0]["path"].get<std::string>()) == random_bytes(1001, 7));
}

TEST(CliParseLocal, UsageAndFileErrorsAreTyped) {
    temp_dir tmp{"mw-parse"};
    const std::string eml = tmp / "m.eml";
    write_file(eml, "Subject: x\n\nbody\n");
    write_file(tmp / "plain-file", "x");
    EXPECT_EQ(run_cli({"parse"}).exit_code, 2);
    EXPECT_EQ(run_cli({"parse", eml, "--mbox", eml}).exit_code, 2);
    EXPECT_EQ(run_cli({"parse", "--mbox", tmp / "missing.mbox"}).exit_code, 2);
    const auto j = run_json({"parse", eml, "--extract", tmp / "plain-file", "--json"}, 2);
    EXPECT_EQ(j["ok"], false);
    EXPECT_EQ(j["error"]["category"], "usage");
    // An unreadable file is a typed I/O error, not a crash.
    if (::geteuid() != 0) {
        const std::string locked = tmp / "locked.eml";
        write_file(locked, "Subject: y\n\nz\n");
        ::chmod(locked.c_str(), 0);
        const auto e = run_json({"parse", locked, "--json"}, 7);
        EXPECT_EQ(e["error"]["code"], "io_error");
    }
}

}  // namespace
}  // namespace mailwire::test
