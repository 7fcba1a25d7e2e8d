// kill -9 of the real ztna-controller while an admin client writes: every
// write the controller acknowledged (HTTP 201) is there after a restart, and
// the database passes SQLite's integrity check.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "admin_init.h"
#include "test_dir.h"
#include "ztna/json.h"

extern char** environ;

using namespace ztna;
using namespace ztna::controller;

namespace {

int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

// The controller as a child process; killed when this goes out of scope.
struct Child {
    pid_t pid = -1;
    explicit Child(const std::string& config) {
        const std::string bin = std::string(ZTNA_BIN_DIR) + "/ztna-controller";
        const char* argv[] = {bin.c_str(), "--config", config.c_str(), nullptr};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        REQUIRE(posix_spawn(&pid, bin.c_str(), &fa, nullptr, const_cast<char**>(argv), environ) == 0);
        posix_spawn_file_actions_destroy(&fa);
    }
    void kill9() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
    ~Child() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            waitpid(pid, nullptr, 0);
        }
    }
};

std::unique_ptr<httplib::SSLClient> client(int port, const std::string& ca) {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
    c->set_ca_cert_path(ca.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(1, 0);
    c->set_read_timeout(5, 0);
    return c;
}

bool wait_healthy(int port, const std::string& ca) {
    for (int i = 0; i < 200; ++i) {
        auto r = client(port, ca)->Get("/v1/health");
        if (r && r->status == 200) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

}  // namespace

TEST_CASE("crash: kill -9 during writes loses no acknowledged row and leaves a sound database") {
    signal(SIGPIPE, SIG_IGN);  // writes to the killed controller must fail, not kill the test
    TestDir dir;
    const int port = free_port();
    InitOptions o;
    o.dir = dir / "ctl";
    o.names = {"127.0.0.1"};
    o.listen_address = "127.0.0.1";
    o.port = port;
    auto init = init_controller_dir(o);
    REQUIRE_MESSAGE(init, init.error().message);
    std::string admin = read_file(init->admin_token_path);
    admin.pop_back();

    std::set<std::string> acknowledged;
    {
        Child c(init->config_path);
        REQUIRE_MESSAGE(wait_healthy(port, init->ca_path), "the controller did not start");
        std::atomic<bool> stop{false};
        std::mutex mu;
        auto writer = [&] {
            auto cli = client(port, init->ca_path);
            while (!stop) {
                auto r = cli->Post("/v1/admin/enrollment-tokens", {{"Authorization", "Bearer " + admin}},
                                   "{\"ttl_s\": 600, \"label\": \"crash\"}", "application/json");
                if (!r) return;  // the controller is gone
                if (r->status != 201) continue;
                auto v = json::parse(r->body);
                if (v && v->string_at("id")) {
                    std::lock_guard lock(mu);
                    acknowledged.insert(*v->string_at("id"));
                }
            }
        };
        std::thread w1(writer), w2(writer);
        for (int i = 0; i < 400; ++i) {
            {
                std::lock_guard lock(mu);
                if (acknowledged.size() >= 60) break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        c.kill9();  // mid-write: the writers are still sending
        stop = true;
        w1.join();
        w2.join();
    }
    REQUIRE(acknowledged.size() >= 20);

    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir / "ctl/controller.db").c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);

    Child again(init->config_path);
    REQUIRE(wait_healthy(port, init->ca_path));
    auto r = client(port, init->ca_path)->Get("/v1/admin/enrollment-tokens", {{"Authorization", "Bearer " + admin}});
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto v = json::parse(r->body);
    REQUIRE(v);
    std::set<std::string> stored;
    for (const auto& t : *v->array_at("tokens")) stored.insert(*t.string_at("id"));
    std::size_t missing = 0;
    for (const auto& id : acknowledged) missing += stored.count(id) ? 0 : 1;
    CHECK(missing == 0);
    MESSAGE(acknowledged.size() << " acknowledged writes before kill -9, " << stored.size() << " rows after restart");
}
