// The local backend's configuration section and the machine's own capacity
// as its defaults.
#include <dirent.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "config/tree_yaml.hpp"
#include "config/yaml_fields.hpp"
#include "core/quantity.hpp"
#include "local_backend.hpp"

namespace sched::backend {
namespace {

using config::FieldPath;

constexpr std::int64_t kDefaultReserveMib = 1024;

std::string machine_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// MemTotal in MiB, 0 when /proc/meminfo cannot tell.
std::int64_t machine_memory_mib() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    std::int64_t kib = 0;
    if (fields >> key >> kib && key == "MemTotal:") return kib / 1024;
  }
  return 0;
}

// NVIDIA's driver makes one /dev/nvidiaN per device; other GPUs are named in
// the configuration.
std::int64_t machine_gpus() {
  std::int64_t n = 0;
  DIR* dir = ::opendir("/dev");
  if (dir == nullptr) return 0;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.size() > 6 && name.compare(0, 6, "nvidia") == 0 &&
        name.find_first_not_of("0123456789", 6) == std::string::npos) {
      ++n;
    }
  }
  ::closedir(dir);
  return n;
}

}  // namespace

Result<LocalBackendConfig> read_local_backend_config(const YAML::Node* section, const std::string& source) {
  const FieldPath ctx{&source, "backend.local"};
  LocalBackendConfig out;
  const YAML::Node n = section != nullptr ? *section : YAML::Node();
  const bool present = n.IsDefined() && !n.IsNull();
  if (present) {
    SCHED_RETURN_IF_ERROR(config::check_keys(
        ctx, n,
        {"hosts", "host", "cpu", "memory", "gpu", "reserve_memory", "orphan_grace", "warm_pool", "warm_pool_idle",
         "warm_pool_refill_delay", "warm_pool_commands", "class_data", "class_data_dir", "class_data_train"}));
    auto duration = [&](const char* key, std::chrono::milliseconds* into) -> Status {
      if (!n[key]) return Status::ok();
      auto g = config::read_duration(ctx / key, n[key]);
      if (!g) return g.status();
      *into = std::chrono::milliseconds(*g);
      return Status::ok();
    };
    auto count = [&](const char* key, int min, int max, int* into) -> Status {
      if (!n[key]) return Status::ok();
      auto v = config::read_int(ctx / key, n[key]);
      if (!v) return v.status();
      if (*v < min || *v > max) {
        return (ctx / key).error(n[key], "must be from " + std::to_string(min) + " to " + std::to_string(max));
      }
      *into = static_cast<int>(*v);
      return Status::ok();
    };
    SCHED_RETURN_IF_ERROR(duration("orphan_grace", &out.orphan_grace));
    SCHED_RETURN_IF_ERROR(count("warm_pool", 0, 64, &out.warm_pool.size));
    SCHED_RETURN_IF_ERROR(duration("warm_pool_idle", &out.warm_pool.idle));
    SCHED_RETURN_IF_ERROR(duration("warm_pool_refill_delay", &out.warm_pool.refill_delay));
    SCHED_RETURN_IF_ERROR(count("warm_pool_commands", 1, 64, &out.warm_pool.commands));
    if (n["class_data"]) {
      auto b = config::read_bool(ctx / "class_data", n["class_data"]);
      if (!b) return b.status();
      out.class_data.enabled = *b;
    }
    if (n["class_data_dir"]) {
      auto d = config::read_string(ctx / "class_data_dir", n["class_data_dir"]);
      if (!d) return d.status();
      if (d->empty()) return (ctx / "class_data_dir").error(n["class_data_dir"], "must not be empty");
      out.class_data.dir = *d;
    }
    SCHED_RETURN_IF_ERROR(duration("class_data_train", &out.class_data.train));
    if (out.class_data.train.count() <= 0) {
      return (ctx / "class_data_train").error(n["class_data_train"], "must be longer than 0");
    }
  }

  if (present && n["hosts"]) {
    for (const char* single : {"host", "cpu", "memory", "gpu", "reserve_memory"}) {
      if (n[single]) return (ctx / single).error(n[single], "cannot be combined with hosts (give each host its own)");
    }
    std::set<std::string> names;
    auto hosts = config::read_hosts(ctx / "hosts", n["hosts"], &names);
    if (!hosts) return hosts.status();
    if (hosts->empty()) return (ctx / "hosts").error(n["hosts"], "needs at least one host");
    out.hosts = std::move(*hosts);
    return out;
  }

  core::HostSpec host;
  host.name = machine_hostname();
  if (present && n["host"]) {
    auto s = config::read_string(ctx / "host", n["host"]);
    if (!s) return s.status();
    if (s->empty()) return (ctx / "host").error(n["host"], "must not be empty");
    host.name = *s;
  }

  // The given kinds through the shared reader, so errors read as elsewhere.
  YAML::Node given(YAML::NodeType::Map);
  const bool has_cpu = present && n["cpu"];
  const bool has_memory = present && n["memory"];
  const bool has_gpu = present && n["gpu"];
  if (has_cpu) given["cpu"] = n["cpu"];
  if (has_memory) given["memory"] = n["memory"];
  if (has_gpu) given["gpu"] = n["gpu"];
  auto vec = config::read_vector(ctx, given);
  if (!vec) return vec.status();

  std::int64_t reserve = kDefaultReserveMib;
  if (present && n["reserve_memory"]) {
    const YAML::Node r = n["reserve_memory"];
    if (!r.IsScalar()) return (ctx / "reserve_memory").error(r, "expected a quantity like 1Gi");
    auto q = core::parse_quantity(core::kMemory, r.Scalar());
    if (!q) return (ctx / "reserve_memory").error(r, q.status().message());
    reserve = *q;
  }

  host.capacity = *vec;
  if (!has_cpu) {
    const unsigned cores = std::thread::hardware_concurrency();
    host.capacity[core::kCpu] = static_cast<std::int64_t>(cores == 0 ? 1 : cores) * 1000;
  }
  if (!has_memory) {
    const std::int64_t total = machine_memory_mib();
    if (total <= reserve) {
      return ctx.error(n, "the machine's memory (" + core::format_quantity(core::kMemory, total) +
                              ") does not exceed reserve_memory (" + core::format_quantity(core::kMemory, reserve) +
                              "); give memory explicitly");
    }
    host.capacity[core::kMemory] = total - reserve;
  }
  if (!has_gpu) host.capacity[core::kGpu] = machine_gpus() * 1000;
  if (host.capacity.is_zero()) return ctx.error(n, "the host has no resources");
  out.hosts.push_back(std::move(host));
  return out;
}

}  // namespace sched::backend
