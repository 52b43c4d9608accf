// Runs the built `mailwire` binary (or any program) and captures its exit code, stdout and stderr.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace mailwire::test {

struct run_result {
    int exit_code = -1;  ///< -1: killed by a signal or the timeout
    std::string out, err;
};

inline const char* cli_path() { return MAILWIRE_CLI_PATH; }

/// Called with each piece of the program's stdout as it arrives (before it is added to `out`).
using output_observer = std::function<void(std::string_view)>;

/// Runs `argv` (argv[0] is the program path) with extra environment variables; kills it after
/// `timeout_s` seconds. `on_stdout`, when given, sees stdout as it arrives.
inline run_result run_program(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                              int timeout_s = 60, const output_observer& on_stdout = {}) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string s(*e);
        const auto key = s.substr(0, s.find('='));
        if (env.count(key) == 0) env_strings.push_back(s);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, args;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& s : argv_copy) args.push_back(s.data());
    args.push_back(nullptr);

    int out_pipe[2], err_pipe[2];
    if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) return {};
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(out_pipe[0]);
        close(err_pipe[0]);
        close(out_pipe[1]);
        close(err_pipe[1]);
        const int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        execve(args[0], args.data(), envp.data());
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    run_result r;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    bool killed = false;
    while (open_fds > 0) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        if (poll(fds, 2, static_cast<int>(left.count())) < 0) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
            char buf[4096];
            const ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            } else {
                if (i == 0 && on_stdout) on_stdout(std::string_view(buf, static_cast<std::size_t>(n)));
                (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) close(f.fd);
    int status = 0;
    waitpid(pid, &status, 0);
    r.exit_code = (!killed && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
    return r;
}

inline run_result run_cli(std::vector<std::string> args, const std::map<std::string, std::string>& env = {},
                          int timeout_s = 60) {
    args.insert(args.begin(), cli_path());
    return run_program(args, env, timeout_s);
}

/// Lines of `text`, without CR.
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line);
    }
    return out;
}

/// A loopback TCP listener that never accepts: connections complete in the kernel and then hear
/// nothing, which is what a stalled or TLS-first server looks like.
class silent_listener {
public:
    silent_listener() {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        listen(fd_, 64);
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ~silent_listener() { close(fd_); }
    silent_listener(const silent_listener&) = delete;
    silent_listener& operator=(const silent_listener&) = delete;
    int fd() const { return fd_; }
    std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

/// A listener whose thread accepts each connection, optionally writes `greeting`, and closes it.
class closing_listener {
public:
    explicit closing_listener(std::string greeting = {}) : greeting_(std::move(greeting)) {
        thread_ = std::thread([this] {
            while (!stop_) {
                pollfd p{base_.fd(), POLLIN, 0};
                if (poll(&p, 1, 50) <= 0) continue;
                const int c = accept(base_.fd(), nullptr, nullptr);
                if (c < 0) continue;
                if (!greeting_.empty()) (void)!write(c, greeting_.data(), greeting_.size());
                close(c);
            }
        });
    }
    ~closing_listener() {
        stop_ = true;
        thread_.join();
    }
    std::uint16_t port() const { return base_.port(); }

private:
    silent_listener base_;
    std::string greeting_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// A loopback port with nothing listening (bound, then released).
inline std::uint16_t closed_port() {
    silent_listener l;
    const auto p = l.port();
    return p;  // the listener closes here; connecting now is refused
}

}  // namespace mailwire::test
