// `mailwire pop3` against a scripted POP3 server: what Dovecot will not do on request — UIDLs that
// are not safe file names, a RETR refused in the middle of a pipelined batch, a DELE refused after
// another DELE succeeded.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "cli_pop3_local.hpp"
#include "cli_run.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(CliPop3Local, RetrAllNamesFilesByEscapedUidlAndReportsARefusal) {
    scripted_server srv(pop3_logged_in()
                            .expect_line("LIST")
                            .send("+OK\r\n1 13\r\n2 5\r\n3 7\r\n.\r\n")
                            .expect_line("UIDL")
                            .send("+OK\r\n1 a/b\r\n2 x%y\r\n3 ..\r\n.\r\n")
                            .expect_line("RETR 1")
                            .expect_line("RETR 2")
                            .expect_line("RETR 3")
                            .send("+OK 13 octets\r\n..dot\r\nbody\r\n.\r\n-ERR [SYS/TEMP] try later\r\n"
                                  "+OK\r\nthird\r\n.\r\n")
                            .expect_line("QUIT")
                            .send("+OK bye\r\n")
                            .close());
    const fs::path dir = fs::temp_directory_path() / ("mailwire-pop3-local-" + std::to_string(std::random_device{}()));
    auto r = run_cli(pop3_args(srv, {"retr", "--all", "-o", dir.string(), "--json"}), {{"MW_TEST_PW", "pw"}});
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j.value("ok", true), false);
    ASSERT_EQ(j["messages"].size(), 2u) << j.dump(2);
    EXPECT_EQ(j["messages"][0].value("uid", ""), "a/b");
    EXPECT_EQ(j["messages"][1].value("uid", ""), "..");
    ASSERT_EQ(j["refused"].size(), 1u) << j.dump(2);
    EXPECT_EQ(j["refused"][0].value("number", 0), 2);
    EXPECT_EQ(j["refused"][0].value("response_code", ""), "SYS/TEMP");
    EXPECT_EQ(j["refused"][0].value("server_text", ""), "try later");
    // '/' and a leading '.' are escaped: no path, no hidden file, no "..".
    EXPECT_EQ(slurp(dir / "a%2Fb.eml"), ".dot\r\nbody\r\n");
    EXPECT_EQ(slurp(dir / "%2E..eml"), "third\r\n");
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        ++files;
        EXPECT_FALSE(e.path().filename().string().ends_with(".part")) << e.path();
    }
    EXPECT_EQ(files, 2u);
    fs::remove_all(dir);
}

TEST(CliPop3Local, DeleIsAllOrNothing) {
    scripted_server srv(pop3_logged_in()
                            .expect_line("UIDL 1")
                            .expect_line("UIDL 2")
                            .send("+OK 1 u1\r\n+OK 2 u2\r\n")
                            .expect_line("DELE 1")
                            .send("+OK marked\r\n")
                            .expect_line("DELE 2")
                            .send("-ERR message 2 already deleted\r\n")
                            .expect_line("RSET")
                            .send("+OK\r\n")
                            .expect_line("QUIT")
                            .send("+OK bye\r\n")
                            .close());
    auto r = run_cli(pop3_args(srv, {"dele", "1", "2"}), {{"MW_TEST_PW", "pw"}});
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_NE(r.err.find("nothing was deleted"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("message 2 already deleted"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
}

// --jsonl: a line per saved file, then the summary line with "ok"; a connection that drops in the
// middle still ends with a summary line that carries the error (the files saved so far listed).
TEST(CliPop3Local, RetrJsonlReportsEachFileAndEndsWithTheSummaryEvenOnADrop) {
    for (const bool drop : {false, true}) {
        SCOPED_TRACE(drop ? "drop" : "complete");
        script s = pop3_logged_in()
                       .expect_line("LIST")
                       .send("+OK\r\n1 6\r\n2 6\r\n.\r\n")
                       .expect_line("UIDL")
                       .send("+OK\r\n1 one\r\n2 two\r\n.\r\n")
                       .expect_line("RETR 1")
                       .expect_line("RETR 2");
        if (drop) {
            s.send("+OK\r\nfirst\r\n.\r\n+OK\r\nsec").drop();
        } else {
            s.send("+OK\r\nfirst\r\n.\r\n+OK\r\nsecond\r\n.\r\n").expect_line("QUIT").send("+OK bye\r\n").close();
        }
        scripted_server srv(std::move(s));
        const fs::path dir =
            fs::temp_directory_path() / ("mailwire-pop3-jsonl-" + std::to_string(std::random_device{}()));
        const auto r =
            run_cli(pop3_args(srv, {"retr", "--all", "-o", dir.string() + "/", "--jsonl"}), {{"MW_TEST_PW", "pw"}});
        srv.wait();
        const auto lines = lines_of(r.out);
        ASSERT_EQ(lines.size(), drop ? 2u : 3u) << r.out << r.err;
        const auto first = nlohmann::json::parse(lines[0]);
        EXPECT_EQ(first["uid"], "one");
        EXPECT_EQ(first["number"], 1);
        EXPECT_FALSE(first.contains("ok"));
        const auto last = nlohmann::json::parse(lines.back());
        EXPECT_EQ(last["directory"].get<std::string>().find(dir.string()), 0u) << lines.back();
        if (drop) {
            EXPECT_NE(r.exit_code, 0);
            EXPECT_EQ(last["ok"], false);
            EXPECT_EQ(last["error"]["exit_code"], r.exit_code) << lines.back();
            EXPECT_EQ(slurp(dir / "one.eml"), "first\r\n");
            EXPECT_FALSE(fs::exists(dir / "two.eml"));
        } else {
            EXPECT_EQ(r.exit_code, 0) << r.err;
            EXPECT_EQ(nlohmann::json::parse(lines[1])["uid"], "two");
            EXPECT_EQ(last["ok"], true);
            EXPECT_EQ(last["bytes"], 15);
        }
        fs::remove_all(dir);
    }
}

}  // namespace
}  // namespace mailwire::test
