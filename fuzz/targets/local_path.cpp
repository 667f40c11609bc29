// Fuzz target: dataport::map_remote_name (blob name → local relative path).
// Properties: the result is a rejection with a reason, or a path that (joined under a root and
// lexically normalised) stays strictly under that root; every accepted segment is a valid POSIX
// file name (1-255 bytes, not "." or "..", no '/', NUL, control character or backslash); the
// joined path is the name itself minus trailing '/'; and the decision agrees with an independent
// model of the documented rules.
#include <filesystem>
#include <string>
#include <variant>

#include "../fuzz_check.hpp"
#include "dataport/local_path.hpp"

namespace {

/// The rules of dataport/local_path.hpp, written independently: true when the name is accepted.
bool model_accepts(std::string_view name) {
  if (name.empty() || name.size() > 4096 || name.front() == '/') return false;
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  if (name.empty()) return false;
  std::size_t segment_length = 0;
  std::string_view segment_start = name;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      const auto segment = segment_start.substr(0, segment_length);
      if (segment.empty() || segment == "." || segment == ".." || segment.size() > 255) {
        return false;
      }
      if (i < name.size()) segment_start = name.substr(i + 1);
      segment_length = 0;
      continue;
    }
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') return false;
    ++segment_length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 8192) return 0;
  const std::string_view name = dataport_fuzz::as_text(data, size);
  const auto result = dataport::map_remote_name(name);
  const bool accepted = std::holds_alternative<dataport::local_name>(result);
  FUZZ_CHECK(accepted == model_accepts(name), std::string(accepted ? "accepted" : "rejected") +
                                                  " against the rules: '" + std::string(name) +
                                                  "'");
  if (!accepted) {
    FUZZ_CHECK(!std::get<dataport::rejected_name>(result).reason.empty(), "empty reason");
    return 0;
  }
  const auto& local = std::get<dataport::local_name>(result);
  FUZZ_CHECK(!local.segments.empty(), "no segments");
  for (const auto& segment : local.segments) {
    FUZZ_CHECK(!segment.empty() && segment.size() <= 255 && segment != "." && segment != "..",
               segment);
    for (const char ch : segment) {
      const auto c = static_cast<unsigned char>(ch);
      FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '/' && c != '\\', segment);
    }
  }
  std::string_view trimmed = name;
  while (trimmed.ends_with('/')) trimmed.remove_suffix(1);
  const std::string joined = local.joined();
  FUZZ_CHECK(joined == trimmed, joined);

  const std::filesystem::path root = "/fuzz/destination";
  const auto full = (root / joined).lexically_normal().string();
  FUZZ_CHECK(full.starts_with(root.string() + "/") && full.size() > root.string().size() + 1, full);
  FUZZ_CHECK(!std::filesystem::path(joined).is_absolute(), joined);
  return 0;
}
