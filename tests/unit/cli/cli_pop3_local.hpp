// A scripted POP3 server that logs a CLI test in (USER u / PASS pw, with CAPA), and the
// `mailwire pop3` arguments that point at it.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "support/scripted_server.hpp"

namespace mailwire::test {

/// Greeting, CAPA (USER UIDL TOP PIPELINING), then USER u / PASS pw accepted.
inline script pop3_logged_in() {
    return script{}
        .send("+OK ready\r\n")
        .expect_line("CAPA")
        .send("+OK\r\nUSER\r\nUIDL\r\nTOP\r\nPIPELINING\r\n.\r\n")
        .expect_line("USER u")
        .send("+OK\r\n")
        .expect_line("PASS pw")
        .send("+OK logged in\r\n");
}

/// `pop3 <command…>` against `srv` in plaintext as user u, password from MW_TEST_PW.
inline std::vector<std::string> pop3_args(const scripted_server& srv, std::initializer_list<std::string> command) {
    std::vector<std::string> a{"pop3"};
    a.insert(a.end(), command);
    a.insert(a.end(), {"--host", "127.0.0.1", "--port", std::to_string(srv.port()), "--security", "none",
                       "--allow-plaintext-auth", "--user", "u", "--password-env", "MW_TEST_PW", "--timeout", "10"});
    return a;
}

}  // namespace mailwire::test
