// Reads a file with dataport's C++ API (find_package(dataport) from an installed tree) and prints
// its size and FNV-1a hash.   read_blob URI
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <vector>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/readable_file.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s URI\n", argv[0]);
    return 2;
  }
  try {
    dataport::context ctx;
    auto services = std::make_shared<dataport::reader_services>(ctx);
    const dataport::location where = ctx.resolve(argv[1]);
    auto file = dataport::readable_file::open_blocking(ctx, services, where);
    std::vector<std::byte> buffer(1 << 16);
    std::uint64_t offset = 0, hash = 14695981039346656037ULL;
    for (;;) {
      const std::size_t n = file->read_at_blocking(offset, buffer);
      if (n == 0) break;
      for (std::size_t i = 0; i < n; ++i) {
        hash = (hash ^ static_cast<std::uint8_t>(buffer[i])) * 1099511628211ULL;
      }
      offset += n;
    }
    std::printf("size: %llu\nfnv1a: %016llx\n", static_cast<unsigned long long>(offset),
                static_cast<unsigned long long>(hash));
    return offset == file->size() ? 0 : 1;
  } catch (const dataport::error& e) {
    std::fprintf(stderr, "error (%s): %s\n", std::string(dataport::to_string(e.code())).c_str(),
                 e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
