// disk_encryption on Linux: the filesystems under "/" and "/home" (when it is
// its own mount), traced from /proc/mounts through the lsblk tree down to the
// disks; each device-mapper layer is named by its dm uuid (CRYPT-LUKS2-...,
// LVM-..., CRYPT-VERITY-...). ZFS roots are read with `zfs get encryption`.
// Works without udev: nothing here reads lsblk's FSTYPE or MOUNTPOINT.
#include <algorithm>
#include <map>

#include "linux_common.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

namespace {

using namespace linux_detail;

const std::string kId = "disk_encryption";

// One place a device appears in the lsblk tree (md members make a device appear under several parents).
struct Node {
    std::string name, kname, type;
    int parent = -1;
};

void flatten(const json::Array& list, int parent, std::vector<Node>& out) {
    for (const auto& d : list) {
        if (out.size() >= 20000) return;
        const std::string* name = d.string_at("name");
        if (!name) continue;
        Node n;
        n.name = *name;
        if (const auto* k = d.string_at("kname")) n.kname = *k;
        if (const auto* t = d.string_at("type")) n.type = *t;
        n.parent = parent;
        out.push_back(std::move(n));
        const int me = int(out.size()) - 1;
        if (const json::Array* children = d.array_at("children")) flatten(*children, me, out);
    }
}

enum class Layer { NotDm, Luks1, Luks2, Plain, Bitlk, Tcrypt, Verity, Integrity, Lvm, OtherDm, Unreadable };

bool encrypts(Layer l) { return l == Layer::Luks1 || l == Layer::Luks2 || l == Layer::Plain || l == Layer::Bitlk || l == Layer::Tcrypt; }

const char* layer_name(Layer l) {
    switch (l) {
        case Layer::Luks1: return "LUKS1";
        case Layer::Luks2: return "LUKS2";
        case Layer::Plain: return "plain dm-crypt";
        case Layer::Bitlk: return "BitLocker (dm-crypt)";
        case Layer::Tcrypt: return "TrueCrypt/VeraCrypt (dm-crypt)";
        case Layer::Verity: return "dm-verity";
        case Layer::Integrity: return "dm-integrity";
        case Layer::Lvm: return "LVM";
        case Layer::OtherDm: return "device-mapper";
        case Layer::Unreadable: return "unreadable device-mapper";
        case Layer::NotDm: return "";
    }
    return "";
}

const char* layer_key(Layer l) {
    switch (l) {
        case Layer::Luks1: return "luks1";
        case Layer::Luks2: return "luks2";
        case Layer::Plain: return "plain";
        case Layer::Bitlk: return "bitlk";
        case Layer::Tcrypt: return "tcrypt";
        default: return "none";
    }
}

struct Trace {
    enum class State { Encrypted, Unencrypted, Unknown } state = State::Unknown;
    std::string layer;     // luks2, luks1, plain, bitlk, tcrypt, zfs:aes-256-gcm, none
    std::string via;       // the device (or dataset) of the encryption layer
    std::string reason;    // for Unknown
    json::Array chain;     // "name (type)" from the mounted device down to the disk
};

class Tracer {
public:
    Tracer(const SystemView& view, json::Object& ev) : view_(view), ev_(ev) {}

    Trace trace_device(const std::string& dev) {
        Trace t;
        if (!load_lsblk()) {
            t.reason = "the block devices could not be listed (lsblk)";
            return t;
        }
        std::vector<int> hits;
        for (int i = 0; i < int(nodes_.size()); ++i)
            if (nodes_[std::size_t(i)].name == dev || nodes_[std::size_t(i)].kname == dev) hits.push_back(i);
        if (hits.empty()) {
            t.reason = "lsblk does not list " + dev;
            return t;
        }
        bool any_plain = false, any_unknown = false;
        std::string first_layer, first_via, unknown_dev;
        for (int hit : hits) {
            bool enc = false, unreadable = false;
            json::Array chain;
            for (int i = hit, guard = 0; i >= 0 && guard < 64; i = nodes_[std::size_t(i)].parent, ++guard) {
                const Node& n = nodes_[std::size_t(i)];
                const Layer l = classify(n);
                chain.push_back(n.name + " (" + (l == Layer::NotDm ? n.type : std::string(layer_name(l))) + ")");
                if (encrypts(l) && !enc) {
                    enc = true;
                    if (first_layer.empty()) first_layer = layer_key(l), first_via = n.name;
                }
                if (l == Layer::Unreadable || (l == Layer::OtherDm && n.type == "crypt")) {
                    unreadable = true;
                    if (unknown_dev.empty()) unknown_dev = n.name;
                }
            }
            if (t.chain.empty()) t.chain = chain;
            if (!enc && unreadable) any_unknown = true;
            else if (!enc) {
                any_plain = true;
                t.chain = chain;  // show the unencrypted path
            }
        }
        if (any_plain) {
            t.state = Trace::State::Unencrypted;
            t.layer = "none";
        } else if (any_unknown) {
            t.reason = "the device-mapper layer " + unknown_dev + " could not be identified (its dm uuid is unreadable)";
        } else {
            t.state = Trace::State::Encrypted;
            t.layer = first_layer;
            t.via = first_via;
        }
        return t;
    }

    Trace trace_zfs(const std::string& dataset) {
        Trace t;
        if (!zfs_loaded_) {
            zfs_loaded_ = true;
            const Text z = run(view_, "zfs-encryption");
            if (!z.ok) {
                ev_["zfs_error"] = z.error;
            } else if (readable(z.text)) {
                for (auto line : text::lines(z.text)) {
                    const auto a = line.find('\t');
                    const auto b = a == std::string_view::npos ? a : line.find('\t', a + 1);
                    if (b == std::string_view::npos) continue;
                    zfs_[std::string(line.substr(0, a))][std::string(line.substr(a + 1, b - a - 1))] =
                        std::string(text::trim(line.substr(b + 1)));
                }
                if (zfs_.empty()) ev_["zfs_excerpt"] = text::excerpt(z.text);
            } else {
                ev_["zfs_excerpt"] = text::excerpt(z.text);
            }
        }
        t.chain.push_back(dataset + " (zfs)");
        const auto it = zfs_.find(dataset);
        if (it == zfs_.end() || !it->second.count("encryption")) {
            t.reason = "the ZFS encryption of " + dataset + " could not be read (zfs get)";
            return t;
        }
        const std::string enc = it->second["encryption"];
        const std::string key = it->second.count("keystatus") ? it->second["keystatus"] : std::string();
        ev_["zfs_dataset"] = dataset;
        ev_["zfs_encryption"] = text::excerpt(enc, 40);
        if (!key.empty()) ev_["zfs_keystatus"] = text::excerpt(key, 40);
        if (it->second.count("encryptionroot")) ev_["zfs_encryptionroot"] = text::excerpt(it->second["encryptionroot"], 120);
        if (enc == "off") {
            t.state = Trace::State::Unencrypted;
            t.layer = "none";
        } else if (key == "available") {
            t.state = Trace::State::Encrypted;
            t.layer = "zfs";
            t.via = it->second.count("encryptionroot") ? it->second["encryptionroot"] : dataset;
        } else {
            t.reason = "the ZFS dataset " + dataset + " is encrypted but its key status is \"" + text::excerpt(key, 40) + "\"";
        }
        return t;
    }

    Trace trace_mount(const Mount& m) {
        if (m.fstype == "zfs") return trace_zfs(m.device);
        if (m.device.rfind("/dev/", 0) != 0 || m.device == "/dev/root") {
            Trace t;
            t.reason = "it is mounted from \"" + text::excerpt(m.device, 60) + "\" (" + text::excerpt(m.fstype, 20) +
                       "), not from a block device that can be traced";
            t.chain.push_back(m.device + " (" + m.fstype + ")");
            return t;
        }
        return trace_device(m.device);
    }

private:
    bool load_lsblk() {
        if (lsblk_loaded_) return lsblk_ok_;
        lsblk_loaded_ = true;
        const Text t = run(view_, "lsblk");
        if (!t.ok) {
            ev_["lsblk_error"] = t.error;
            return false;
        }
        auto doc = json::parse(t.text);
        const json::Array* devs = doc ? doc->array_at("blockdevices") : nullptr;
        if (!devs) {
            ev_["lsblk_excerpt"] = text::excerpt(t.text);
            return false;
        }
        flatten(*devs, -1, nodes_);
        lsblk_ok_ = !nodes_.empty();
        if (!lsblk_ok_) ev_["lsblk_excerpt"] = text::excerpt(t.text);
        return lsblk_ok_;
    }

    Layer classify(const Node& n) {
        const std::string& k = n.kname.empty() ? n.name : n.kname;
        if (k.rfind("/dev/dm-", 0) != 0) return Layer::NotDm;
        const std::string dm = k.substr(5);
        if (!plain_name(dm)) return Layer::Unreadable;
        if (const auto it = layers_.find(dm); it != layers_.end()) return it->second;
        const std::string path = "/sys/class/block/" + dm + "/dm/uuid";
        const Text u = read_file(view_, path, 512);
        Layer l = Layer::Unreadable;
        if (u.ok && !text::looks_binary(u.text)) {
            const std::string uuid(text::trim(u.text));
            const auto starts = [&](const char* p) { return uuid.rfind(p, 0) == 0; };
            if (starts("CRYPT-LUKS2-")) l = Layer::Luks2;
            else if (starts("CRYPT-LUKS1-")) l = Layer::Luks1;
            else if (starts("CRYPT-PLAIN-")) l = Layer::Plain;
            else if (starts("CRYPT-BITLK-")) l = Layer::Bitlk;
            else if (starts("CRYPT-TCRYPT-")) l = Layer::Tcrypt;
            else if (starts("CRYPT-VERITY-")) l = Layer::Verity;
            else if (starts("CRYPT-INTEGRITY-") || starts("CRYPT-SUBDEV-")) l = Layer::Integrity;
            else if (starts("LVM-")) l = Layer::Lvm;
            else if (!uuid.empty()) l = Layer::OtherDm;
            json::Object& uuids = dm_uuids();
            // Only the kind: the rest of the uuid names the volume and is not needed.
            const auto dash = uuid.find('-');
            const auto cut = uuid.rfind("CRYPT-", 0) == 0 ? uuid.find('-', 6) : dash;
            uuids[dm] = text::excerpt(uuid.substr(0, std::min(cut, uuid.size())), 24);
        } else if (!u.ok && n.type == "lvm") {
            l = Layer::Lvm;  // lsblk itself named it from its LVM- uuid
        }
        if (!u.ok) ev_["dm_uuid_error_" + dm] = u.error;
        layers_[dm] = l;
        return l;
    }

    json::Object& dm_uuids() {
        auto it = ev_.find("dm_uuid_kinds");
        if (it == ev_.end() || !it->second.is_object()) it = ev_.insert_or_assign("dm_uuid_kinds", json::Value(json::Object{})).first;
        return it->second.as_object();
    }

    const SystemView& view_;
    json::Object& ev_;
    bool lsblk_loaded_ = false, lsblk_ok_ = false, zfs_loaded_ = false;
    std::vector<Node> nodes_;
    std::map<std::string, Layer> layers_;
    std::map<std::string, std::map<std::string, std::string>> zfs_;
};

std::string describe(const Trace& t) {
    if (t.layer == "zfs") return "ZFS native encryption (" + t.via + ")";
    if (t.layer == "luks2") return "LUKS2 (" + t.via + ")";
    if (t.layer == "luks1") return "LUKS1 (" + t.via + ")";
    if (t.layer == "plain") return "plain dm-crypt (" + t.via + ")";
    if (t.layer == "bitlk") return "BitLocker via dm-crypt (" + t.via + ")";
    if (t.layer == "tcrypt") return "TrueCrypt/VeraCrypt via dm-crypt (" + t.via + ")";
    return t.via;
}

const std::string kEncryptRemediation =
    "Encrypt the system disk: reinstall with full-disk encryption (LUKS, e.g. \"Encrypt the new installation\" or "
    "\"Use LVM and encryption\" in the installer) after backing up your data, or ask your IT helpdesk.";

}  // namespace

CheckResult disk_encryption_linux(const SystemView& view, const Requirements&) {
    json::Object ev;
    const Text mt = read_file(view, "/proc/mounts");
    if (!mt.ok) {
        ev["mounts_error"] = mt.error;
        return CheckResult::unknown(kId, "The mounted filesystems could not be read (/proc/mounts), so disk encryption is not known.",
                                    "Make sure /proc is mounted and readable by the agent, then check again.", std::move(ev));
    }
    const auto mounts = parse_mounts(mt.text);
    const Mount* root = mount_at(mounts, "/");
    if (!root) {
        ev["mounts_excerpt"] = text::excerpt(mt.text);
        return CheckResult::unknown(kId, "No root filesystem was found in /proc/mounts, so disk encryption is not known.",
                                    "Make sure /proc is mounted and readable by the agent, then check again.", std::move(ev));
    }
    Tracer tracer(view, ev);
    ev["root_device"] = root->device;
    ev["root_fstype"] = root->fstype;
    const Trace rt = tracer.trace_mount(*root);
    ev["root_chain"] = json::Value(rt.chain);
    if (rt.state != Trace::State::Unknown) ev["root_encryption"] = rt.layer;

    const Mount* home = mount_at(mounts, "/home");
    Trace ht;
    if (home) {
        ev["home_device"] = home->device;
        ht = tracer.trace_mount(*home);
        if (ht.state != Trace::State::Unknown) ev["home_encryption"] = ht.layer;
    }

    // Swap: noted, never decisive. zram is memory.
    const Text sw = read_file(view, "/proc/swaps", 64 * 1024);
    if (sw.ok) {
        json::Array plain, untraced;
        int n = 0;
        for (auto line : text::lines(sw.text)) {
            if (line.rfind("Filename", 0) == 0 || ++n > 32) continue;
            std::vector<std::string_view> f;
            for (std::size_t i = 0; i < line.size();) {
                while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
                std::size_t j = i;
                while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
                if (j > i) f.push_back(line.substr(i, j - i));
                i = j;
            }
            if (f.size() < 2 || f[0].empty() || f[0][0] != '/') continue;
            const std::string name = unescape_octal(f[0]);
            if (name.rfind("/dev/zram", 0) == 0) continue;
            Trace s;
            if (f[1] == "file") {
                const Mount* holder = mount_holding(mounts, name);
                if (holder) s = tracer.trace_mount(*holder);
            } else {
                s = tracer.trace_device(name);
            }
            if (s.state == Trace::State::Unencrypted) plain.push_back(name);
            else if (s.state == Trace::State::Unknown) untraced.push_back(name);
        }
        if (!plain.empty()) ev["unencrypted_swap"] = json::Value(std::move(plain));
        if (!untraced.empty()) ev["untraced_swap"] = json::Value(std::move(untraced));
    } else {
        ev["swaps_error"] = sw.error;
    }

    if (rt.state == Trace::State::Unknown) {
        return CheckResult::unknown(kId, "The disk under the root filesystem could not be traced: " + rt.reason + ".",
                                    "Run the agent as root with lsblk (util-linux) installed, then check again; if it "
                                    "persists, send a diagnostic bundle to your IT helpdesk.",
                                    std::move(ev));
    }

    if (rt.state == Trace::State::Unencrypted) {
        // Home-only encryption: said as such, still a failure for the system disk.
        std::string home_only;
        if (home && ht.state == Trace::State::Encrypted) home_only = "/home on " + describe(ht);
        for (const auto& m : mounts) {
            if (!home_only.empty()) break;
            const bool under_home = m.mount_point == "/home" || m.mount_point.rfind("/home/", 0) == 0;
            if (!under_home) continue;
            if (m.fstype == "ecryptfs") {
                home_only = "eCryptfs (" + m.mount_point + ")";
                ev["home_only_encryption"] = "ecryptfs";
            } else if (m.device.rfind("/dev/mapper/home-", 0) == 0 && m.mount_point.rfind("/home/", 0) == 0) {
                const Trace h = tracer.trace_device(m.device);
                if (h.state == Trace::State::Encrypted) {
                    home_only = "systemd-homed (" + m.mount_point + " on " + describe(h) + ")";
                    ev["home_only_encryption"] = "systemd-homed";
                }
            }
        }
        if (home_only.empty()) {
            const Text fs = run(view, "fscrypt-status");
            if (fs.ok) {
                json::Array set_up;
                for (auto line : text::lines(fs.text)) {
                    std::vector<std::string_view> f;
                    for (std::size_t i = 0; i < line.size();) {
                        while (i < line.size() && line[i] == ' ') ++i;
                        std::size_t j = i;
                        while (j < line.size() && line[j] != ' ') ++j;
                        if (j > i) f.push_back(line.substr(i, j - i));
                        i = j;
                    }
                    if (f.size() >= 5 && !f[0].empty() && f[0][0] == '/' && f.back() == "Yes") set_up.push_back(std::string(f[0]));
                }
                if (!set_up.empty()) {
                    home_only = "fscrypt directories on " + set_up.front().as_string();
                    ev["home_only_encryption"] = "fscrypt";
                    ev["fscrypt_filesystems"] = json::Value(std::move(set_up));
                }
            } else {
                ev["fscrypt_error"] = fs.error;
            }
        } else if (!ev.count("home_only_encryption")) {
            ev["home_only_encryption"] = "separate-home";
        }
        if (!home_only.empty()) {
            return CheckResult::fail(kId, "Only home directories are encrypted (" + home_only + "); the system disk holding / (" +
                                              root->device + ") is not, so it can be read without a key.",
                                     kEncryptRemediation, std::move(ev));
        }
        return CheckResult::fail(kId, "The system disk is not encrypted: / is on " + root->device + " (" + root->fstype +
                                          ") with no encryption layer, so it can be read without a key.",
                                 kEncryptRemediation, std::move(ev));
    }

    // The root filesystem is encrypted; a separate /home must be too.
    if (home && ht.state == Trace::State::Unencrypted) {
        return CheckResult::fail(kId, "/home is not encrypted: it is on " + home->device + " with no encryption layer, although / is on " +
                                          describe(rt) + ".",
                                 "Move /home onto the encrypted volume or encrypt its partition with LUKS, after backing up your data.",
                                 std::move(ev));
    }
    if (home && ht.state == Trace::State::Unknown) {
        return CheckResult::unknown(kId, "/ is on " + describe(rt) + ", but the disk under /home could not be traced: " + ht.reason + ".",
                                    "Run the agent as root with lsblk (util-linux) installed, then check again.", std::move(ev));
    }
    if (home && !(home->device == root->device)) {
        return CheckResult::pass(kId, "The system disk is encrypted: / is on " + describe(rt) + " and /home on " + describe(ht) + ".",
                                 std::move(ev));
    }
    return CheckResult::pass(kId, "The system disk is encrypted: / is on " + describe(rt) + ".", std::move(ev));
}

}  // namespace ztna::posture::probes
