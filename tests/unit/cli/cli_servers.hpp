// Shared by the CLI tests that run against the real Dovecot/Postfix harness (*_servers_test.cpp):
// the harness's environment, JSON and failure-description helpers.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "support/server_env.hpp"

namespace mailwire::test {

using nlohmann::json;

inline const server_env& env() { return server_env::get(); }

inline std::optional<std::string> opt(const std::string& key) {
    try {
        return env().str(key);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

inline std::string need(const std::string& key) {
    auto v = opt(key);
    if (!v) ADD_FAILURE() << "harness env lacks " << key;
    return v.value_or("");
}

inline std::string host() { return opt("HOST").value_or("127.0.0.1"); }
inline std::string ca() { return need("CA_FILE"); }

#define REQUIRE_HARNESS()                                       \
    do {                                                        \
        if (!env().ok()) GTEST_FAIL() << "harness not running"; \
    } while (0)
#define REQUIRE_POSTFIX()                                                                             \
    do {                                                                                              \
        if (!opt("SUBMISSION_PORT")) GTEST_SKIP() << "the harness runs without Postfix (POSTFIX=no)"; \
    } while (0)

inline json parse_json(const run_result& r) {
    try {
        return json::parse(r.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "stdout is not JSON (" << e.what() << "):\n" << r.out << "\nstderr:\n" << r.err;
        return json::object();
    }
}

inline std::string describe(const run_result& r) {
    return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

inline std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
    a.insert(a.end(), more);
    return a;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace mailwire::test
