// The CLI's own handling of the password (issue #12 item 12): it is read from the environment
// into a wiped secret, and --log masks it a second time behind the library's masking.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "cli_run.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(CliSecretLocal, TranscriptMaskEndsWhenThePasswordOccursInItsPlaceholder) {
    // "ss" occurs in the "<password>" put in its place: a mask that searched again from the start
    // of the replacement replaced it for ever (the CLI hung, growing a string without bound).
    scripted_server srv(script{}
                            .send("+OK pass ss ready\r\n")
                            .expect_line("CAPA")
                            .send("+OK\r\nUSER\r\n.\r\n")
                            .expect_line("USER u")
                            .send("+OK\r\n")
                            .expect_line("PASS ss")
                            .send("+OK logged in\r\n")
                            .expect_line("STAT")
                            .send("+OK 0 0\r\n")
                            .expect_line("QUIT")
                            .send("+OK bye\r\n")
                            .close());
    const fs::path log = fs::temp_directory_path() / ("mailwire-secret-log-" + std::to_string(std::random_device{}()));
    auto r = run_cli({"pop3", "stat", "--host", "127.0.0.1", "--port", std::to_string(srv.port()), "--security", "none",
                      "--allow-plaintext-auth", "--user", "u", "--password-env", "MW_TEST_PW", "--timeout", "10",
                      "--log", log.string()},
                     {{"MW_TEST_PW", "ss"}}, 20);
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string text = slurp(log);
    fs::remove(log);
    EXPECT_EQ(text.find("PASS ss"), std::string::npos) << text;  // every occurrence masked, once
    EXPECT_EQ(text.find(" ss "), std::string::npos) << text;
    EXPECT_NE(text.find("S: +OK pa<password> <password> ready"), std::string::npos) << text;
    EXPECT_NE(text.find("C: PASS <pa<password>word>"), std::string::npos) << text;
}

}  // namespace
}  // namespace mailwire::test
