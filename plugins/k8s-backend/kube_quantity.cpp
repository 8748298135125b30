// Kubernetes quantity parsing: the suffixes of k8s.io/apimachinery's
// resource.Quantity (binary Ki..Ei, decimal n..E, and exponents).
#include "kube_quantity.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace sched::backend::k8s {
namespace {

struct Suffix {
  const char* text;
  long double factor;
};

constexpr Suffix kSuffixes[] = {
    {"Ki", 1024.0L},
    {"Mi", 1048576.0L},
    {"Gi", 1073741824.0L},
    {"Ti", 1099511627776.0L},
    {"Pi", 1125899906842624.0L},
    {"Ei", 1152921504606846976.0L},
    {"n", 1e-9L},
    {"u", 1e-6L},
    {"m", 1e-3L},
    {"k", 1e3L},
    {"M", 1e6L},
    {"G", 1e9L},
    {"T", 1e12L},
    {"P", 1e15L},
    {"E", 1e18L},
};

}  // namespace

Result<long double> parse_kube_quantity(std::string_view text) {
  const std::string s(text);
  auto bad = [&] { return Status::invalid_argument("'" + s + "' is not a Kubernetes quantity"); };
  if (s.empty() || s.size() > 64) return bad();
  std::size_t i = 0;
  if (s[i] == '+' || s[i] == '-') ++i;
  const std::size_t digits_start = i;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == digits_start) return bad();
  const std::string number = s.substr(0, i);
  std::string rest = s.substr(i);
  long double factor = 1.0L;
  if (!rest.empty()) {
    if ((rest[0] == 'e' || rest[0] == 'E') && rest.size() > 1) {
      char* end = nullptr;
      const long exp = std::strtol(rest.c_str() + 1, &end, 10);
      if (*end != '\0' || exp < -30 || exp > 30) return bad();
      factor = std::pow(10.0L, static_cast<long double>(exp));
    } else {
      bool found = false;
      for (const Suffix& x : kSuffixes) {
        if (rest == x.text) {
          factor = x.factor;
          found = true;
          break;
        }
      }
      if (!found) return bad();
    }
  }
  char* end = nullptr;
  const long double v = std::strtold(number.c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(v)) return bad();
  if (v < 0) return Status::invalid_argument("'" + s + "' is negative");
  return v * factor;
}

Result<std::int64_t> kube_quantity_to_base(core::ResourceKind kind, std::string_view text, Rounding rounding) {
  auto v = parse_kube_quantity(text);
  if (!v) return v.status();
  long double base = *v;
  if (kind == core::kMemory) {
    base /= 1048576.0L;
  } else {
    base *= 1000.0L;  // millicores, milli-units
  }
  // A hair of tolerance so "0.1" cores reads as 100m, not 100.0000001m.
  const long double r = rounding == Rounding::kUp ? std::ceil(base - 1e-6L) : std::floor(base + 1e-6L);
  if (r > 9.0e15L) return Status::invalid_argument("'" + std::string(text) + "' is too large");
  return static_cast<std::int64_t>(r);
}

std::string base_to_kube_quantity(core::ResourceKind kind, std::int64_t base_units) {
  if (kind == core::kMemory) return std::to_string(base_units) + "Mi";
  if (base_units % 1000 == 0) return std::to_string(base_units / 1000);
  return std::to_string(base_units) + "m";
}

}  // namespace sched::backend::k8s
