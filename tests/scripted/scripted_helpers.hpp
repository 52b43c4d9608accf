// Small pieces the scripted-server suites share: a plaintext connect with short timeouts, and the
// check that a value was refused before anything was sent.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "mailwire/client.hpp"
#include "mailwire/error.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::test {

/// Connects `c` to `srv` in plaintext, with 2 s for the greeting and for each read.
inline void connect(client_base& c, const scripted_server& srv) {
    c.timeouts().greeting = std::chrono::milliseconds(2000);
    c.timeouts().io = std::chrono::milliseconds(2000);
    c.connect(srv.host(), srv.port(), security::none);
}

/// Runs `f`, which must throw error(invalid_argument) whose detail names `what`.
template <class F>
void expect_refused(F&& f, const std::string& what) {
    try {
        f();
        ADD_FAILURE() << "accepted a value naming " << what;
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::invalid_argument) << e.what();
        EXPECT_NE(e.detail().find(what), std::string::npos) << e.detail();
    }
}

}  // namespace mailwire::test
