// Access to the real-server harness from integration tests.
//
// tests/support/servers/mwservers writes KEY=VALUE lines to <dir>/env; CTest passes that
// path in MAILWIRE_SERVERS_ENV. See tests/support/servers/README.md for the keys.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace mailwire::test {

class server_env {
public:
    /// The harness environment; fails the current test (ADD_FAILURE) when it is missing.
    static const server_env& get();

    bool ok() const { return !values_.empty(); }
    std::string str(const std::string& key) const;
    std::uint16_t port(const std::string& key) const;

private:
    std::map<std::string, std::string> values_;
};

}  // namespace mailwire::test
