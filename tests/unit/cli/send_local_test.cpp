// `mailwire send` command-line checks that need no server: every mistake is found before
// connecting (exit 2), so nothing is half sent. The port is closed on purpose: reaching it would
// exit 3, not 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "cli_run.hpp"

namespace mailwire::test {
namespace {

namespace fs = std::filesystem;

class CliSendLocal : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("mw-send-local-" + std::to_string(std::random_device{}()));
        fs::create_directories(dir_);
        port_ = std::to_string(closed_port());
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    std::string write(const std::string& name, const std::string& bytes) {
        const auto p = (dir_ / name).string();
        std::ofstream(p, std::ios::binary) << bytes;
        return p;
    }
    run_result send(std::vector<std::string> args) {
        args.insert(args.begin(),
                    {"send", "--host", "127.0.0.1", "--port", port_, "--security", "none", "--timeout", "2"});
        return run_cli(args);
    }
    fs::path dir_;
    std::string port_;
};

TEST_F(CliSendLocal, MistakesExitTwoBeforeConnecting) {
    const auto good = write("good.eml", "From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n\r\nhi\r\n");
    const auto no_from = write("nofrom.eml", "To: b@example.com\r\nSubject: s\r\n\r\nhi\r\n");
    const auto no_to = write("noto.eml", "From: a@example.com\r\nSubject: s\r\n\r\nhi\r\n");
    fs::create_directories(dir_ / "empty");
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{}, "nothing to send"},
        {{good, "--subject", "x"}, "not both"},
        {{"--from", "a@example.com", "--to", "b@example.com", "--body", "x", "--body-file", good},
         "do not go together"},
        {{"--to", "b@example.com", "--subject", "x", "--body", "y"}, "needs --from"},
        {{"--from", "a@example.com", "--subject", "x", "--body", "y"}, "needs --to"},
        {{no_from}, "no From or Sender"},
        {{no_to}, "no To, Cc or Bcc"},
        {{(dir_ / "missing.eml").string()}, "no such file"},
        {{(dir_ / "empty").string()}, "no .eml files"},
        {{"--notify", "never,success", good}, "cannot be combined"},
        {{"--notify", "sometimes", good}, "--notify"},
        {{"--to", "not an address", good}, "not an address"},
        {{"--check", good}, "sends nothing"},
        {{"--from", "a@example.com", "--to", "b@example.com", "--subject", "x", "--attach",
          (dir_ / "nothere.bin").string()},
         "--attach"},
    };
    for (const auto& [args, words] : cases) {
        auto r = send(args);
        std::string cmd;
        for (const auto& a : args) cmd += a + " ";
        EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.out << r.err;
        EXPECT_NE(r.err.find(words), std::string::npos) << cmd << "\n" << r.err;
    }
}

TEST_F(CliSendLocal, AGoodCommandLineGetsAsFarAsConnecting) {
    // The same kind of command line, valid: it fails only at connect (exit 3).
    const auto good = write("good.eml", "From: a@example.com\r\nTo: b@example.com\r\nBcc: c@example.com\r\n\r\nhi\r\n");
    EXPECT_EQ(send({good}).exit_code, 3);
    EXPECT_EQ(send({"--from", "Ann <a@example.com>", "--to", "b@example.com", "--subject", "x", "--body", "y"})
                  .exit_code,
              3);
    EXPECT_EQ(send({"--notify", "success,failure,delay", "--ret", "hdrs", "--envid", "e1", good}).exit_code, 3);
}

}  // namespace
}  // namespace mailwire::test
