#include "support/server_env.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace mailwire::test {

const server_env& server_env::get() {
    static const server_env env = [] {
        server_env e;
        const char* path = std::getenv("MAILWIRE_SERVERS_ENV");
        if (path == nullptr) return e;
        std::ifstream in(path);
        std::string line;
        while (std::getline(in, line)) {
            auto eq = line.find('=');
            if (eq == std::string::npos || line.starts_with('#')) continue;
            e.values_[line.substr(0, eq)] = line.substr(eq + 1);
        }
        return e;
    }();
    if (!env.ok()) {
        ADD_FAILURE() << "the real-server harness is not running: run the tests through ctest, which starts it "
                         "(tests/support/servers/mwservers start DIR), and set MAILWIRE_SERVERS_ENV=DIR/env";
    }
    return env;
}

std::string server_env::str(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) throw std::runtime_error("server env has no " + key);
    return it->second;
}

std::uint16_t server_env::port(const std::string& key) const { return static_cast<std::uint16_t>(std::stoi(str(key))); }

}  // namespace mailwire::test
