#include "device_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ztna::agent {

Result<posture::DeviceSigningKey> load_or_create_device_key(const std::string& path, bool* created) {
    if (created) *created = false;
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0) {
        if ((st.st_mode & 077) != 0) ::chmod(path.c_str(), 0600);  // never readable by others
        std::ifstream in(path, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        std::string text = ss.str();
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        auto seed = posture::from_base64(text);
        if (!seed || seed->size() != 32)
            return fail("the device key " + path + " is damaged (it does not hold a 32-byte key); the device must be enrolled again: "
                        "move the file away, put a new enrollment token in the managed settings and restart ztna-agentd");
        auto key = posture::DeviceSigningKey::from_seed(*seed);
        if (!key) return fail("the device key " + path + " is damaged: " + key.error().message);
        return std::move(*key);
    }
    if (errno != ENOENT) return fail("cannot read the device key " + path + ": " + std::strerror(errno));
    auto key = posture::DeviceSigningKey::generate();
    const std::string seed = key.seed_bytes();
    std::string text = posture::to_base64(reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size()) + "\n";
    const std::string tmp = path + ".new";
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail("cannot create the device key " + tmp + ": " + std::strerror(errno) + " (is the state directory writable by root?)");
    const bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    std::fill(text.begin(), text.end(), '\0');
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return fail("cannot write the device key " + path + ": " + std::strerror(errno));
    }
    if (created) *created = true;
    return key;
}

}  // namespace ztna::agent
