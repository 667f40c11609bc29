// settings: defaults, every variable from a fake environment, set(), describe(), bad values.
#include "dataport/settings.hpp"

#include <map>
#include <thread>

#include <catch2/catch.hpp>

#include "dataport/error.hpp"

using dataport::settings;
using namespace std::chrono_literals;

namespace {

settings::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    if (auto it = vars.find(std::string(name)); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

std::string env_error(std::map<std::string, std::string> vars) {
  try {
    settings::from_environment(env_of(std::move(vars)));
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::invalid_argument);
    return e.what();
  }
  return "<no error>";
}

unsigned cores() {
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

TEST_CASE("defaults match the platform") {
  const auto s = settings::from_environment(env_of({}));
  CHECK(s.effective_downloader_threads() == std::min(cores() * 4, 1024u));
  CHECK(s.effective_read_threads() == std::min(cores() * 4, 1024u));
  CHECK(s.effective_block_file_cache_write_threads() == std::min(cores() * 2, 1024u));
  CHECK(s.http_retry_count == 7);
  CHECK_FALSE(s.attribute_cache_ttl.has_value());
  CHECK(s.reserved_free_disk_space == 150ull << 20);
  CHECK_FALSE(s.mount_cache_size.has_value());
  CHECK(s.file_cache_prune_threshold == 1.0);
  CHECK(s.file_cache_prune_target == 0.7);
  CHECK(s.read_block_size == 2ull << 20);
  CHECK(s.read_buffer_block_count == 32);
  CHECK(s.block_based_cache_enabled);
  CHECK(s.memory_cache_size == 128ull << 20);
  CHECK(s.block_file_cache_enabled);
  CHECK(s.block_file_cache_max_queue_size == 512ull << 20);
  CHECK(s.unmount_timeout == 30s);
  CHECK(s.output_upload_timeout == 600s);
  CHECK(s.tls_verify);
  CHECK(s.direct_io);
}

TEST_CASE("every variable is read from the environment") {
  const auto s = settings::from_environment(env_of({
      {"RSLEX_DOWNLOADER_THREADS", "64"},
      {"DATAPORT_CHUNK_SIZE", "4MB"},
      {"DATAPORT_SPLIT_THRESHOLD", "32 MiB"},
      {"DATAPORT_INFLIGHT_BYTES", "1GiB"},
      {"DATAPORT_DIRECT_IO", "false"},
      {"AZUREML_DATASET_HTTP_RETRY_COUNT", "3"},
      {"DATAPORT_RETRY_BASE_DELAY_MS", "50"},
      {"DATAPORT_RETRY_MAX_DELAY_MS", "5000"},
      {"DATAPORT_CONNECT_TIMEOUT_MS", "2500"},
      {"DATAPORT_IDLE_TIMEOUT_MS", "9000"},
      {"DATAPORT_CA_FILE", "/etc/ca.pem"},
      {"DATAPORT_TLS_VERIFY", "false"},
      {"DATASET_MOUNT_ATTRIBUTE_CACHE_TTL", "60000"},
      {"DATASET_RESERVED_FREE_DISK_SPACE", "1GB"},
      {"DATASET_MOUNT_CACHE_SIZE", "-5GB"},
      {"DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD", "0.9"},
      {"DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET", "0.5"},
      {"DATASET_MOUNT_READ_BLOCK_SIZE", "8MB"},
      {"DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT", "80"},
      {"DATASET_MOUNT_READ_THREADS", "16"},
      {"DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED", "no"},
      {"DATASET_MOUNT_MEMORY_CACHE_SIZE", "0"},
      {"DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED", "OFF"},
      {"DATASET_MOUNT_BLOCK_FILE_CACHE_MAX_QUEUE_SIZE", "256k"},
      {"DATASET_MOUNT_BLOCK_FILE_CACHE_WRITE_THREADS", "3"},
      {"DATASET_UNMOUNT_TIMEOUT_SECONDS", "5"},
      {"AZUREML_OUTPUT_UPLOAD_TIMEOUT_SEC", "120"},
      {"DATAPORT_CACHE_DIR", "/var/cache/dp"},
      {"DATAPORT_WORKSPACE", "/etc/dp/ws.yaml"},
  }));
  CHECK(s.downloader_threads == 64);
  CHECK(s.effective_downloader_threads() == 64);
  CHECK(s.chunk_size == 4ull << 20);
  CHECK(s.split_threshold == 32ull << 20);
  CHECK(s.inflight_bytes == 1ull << 30);
  CHECK_FALSE(s.direct_io);
  CHECK(s.http_retry_count == 3);
  CHECK(s.retry_base_delay == 50ms);
  CHECK(s.retry_max_delay == 5000ms);
  CHECK(s.connect_timeout == 2500ms);
  CHECK(s.idle_timeout == 9000ms);
  CHECK(s.ca_file == "/etc/ca.pem");
  CHECK_FALSE(s.tls_verify);
  REQUIRE(s.attribute_cache_ttl.has_value());
  CHECK(*s.attribute_cache_ttl == 60000ms);
  CHECK(s.reserved_free_disk_space == 1ull << 30);
  REQUIRE(s.mount_cache_size.has_value());
  CHECK(*s.mount_cache_size == -(5ll << 30));
  CHECK(s.file_cache_prune_threshold == 0.9);
  CHECK(s.file_cache_prune_target == 0.5);
  CHECK(s.read_block_size == 8ull << 20);
  CHECK(s.read_buffer_block_count == 80);
  CHECK(s.effective_read_threads() == 16);
  CHECK_FALSE(s.block_based_cache_enabled);
  CHECK(s.memory_cache_size == 0);
  CHECK_FALSE(s.block_file_cache_enabled);
  CHECK(s.block_file_cache_max_queue_size == 256ull << 10);
  CHECK(s.effective_block_file_cache_write_threads() == 3);
  CHECK(s.unmount_timeout == 5s);
  CHECK(s.output_upload_timeout == 120s);
  CHECK(s.cache_dir == "/var/cache/dp");
  CHECK(s.workspace_file == "/etc/dp/ws.yaml");
}

TEST_CASE("SSL_CERT_FILE is the fallback CA file - empty variables count as unset") {
  CHECK(settings::from_environment(env_of({{"SSL_CERT_FILE", "/ssl.pem"}})).ca_file == "/ssl.pem");
  CHECK(settings::from_environment(
            env_of({{"SSL_CERT_FILE", "/ssl.pem"}, {"DATAPORT_CA_FILE", "/dp.pem"}}))
            .ca_file == "/dp.pem");
  CHECK(
      settings::from_environment(env_of({{"DATASET_MOUNT_READ_BLOCK_SIZE", ""}})).read_block_size ==
      2ull << 20);
}

TEST_CASE("parse_size accepts plain bytes and 1024-based suffixes") {
  using dataport::parse_size;
  CHECK(parse_size("1048576", "X") == 1048576);
  CHECK(parse_size("150MB", "X") == 150ll << 20);
  CHECK(parse_size("2 MiB", "X") == 2ll << 20);
  CHECK(parse_size("512KB", "X") == 512ll << 10);
  CHECK(parse_size("1GiB", "X") == 1ll << 30);
  CHECK(parse_size("1g", "X") == 1ll << 30);
  CHECK(parse_size("2T", "X") == 2ll << 40);
  CHECK(parse_size("-5GB", "X") == -(5ll << 30));
  CHECK(parse_size("1.5KB", "X") == 1536);
  CHECK(parse_size("7B", "X") == 7);
  CHECK(parse_size(" 3 kib ", "X") == 3072);
  for (const char* bad : {"abc", "", "MB", "1.5", "1..5MB", "5 PB", "1e3", "--1",
                          "9999999999999999999", "9000000TB"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_size(bad, "X"), dataport::error);
  }
  CHECK_THROWS_WITH(
      parse_size("abc", "DATASET_MOUNT_READ_BLOCK_SIZE"),
      "DATASET_MOUNT_READ_BLOCK_SIZE='abc' is not a size: use a number of bytes or a value like "
      "2MB, 512KB, 1GiB");
}

TEST_CASE("parse_bool accepts the usual spellings") {
  using dataport::parse_bool;
  for (const char* t : {"true", "TRUE", "1", "yes", "On"}) CHECK(parse_bool(t, "X"));
  for (const char* f : {"false", "False", "0", "no", "OFF"}) CHECK_FALSE(parse_bool(f, "X"));
  CHECK_THROWS_WITH(parse_bool("maybe", "DATAPORT_TLS_VERIFY"),
                    Catch::Contains("DATAPORT_TLS_VERIFY='maybe' is not a boolean"));
}

TEST_CASE("bad values name the variable and the value") {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> rows = {
      {{{"DATASET_MOUNT_READ_BLOCK_SIZE", "abc"}},
       "DATASET_MOUNT_READ_BLOCK_SIZE='abc' is not a size: use a number of bytes or a value like "
       "2MB, 512KB, 1GiB"},
      {{{"DATASET_MOUNT_READ_BLOCK_SIZE", "0"}},
       "DATASET_MOUNT_READ_BLOCK_SIZE='0' is out of range"},
      {{{"DATASET_MOUNT_READ_BLOCK_SIZE", "257MiB"}},
       "DATASET_MOUNT_READ_BLOCK_SIZE='257MiB' is out of range"},
      {{{"DATASET_MOUNT_READ_BLOCK_SIZE", "-1MB"}}, "is out of range"},
      {{{"RSLEX_DOWNLOADER_THREADS", "0"}},
       "RSLEX_DOWNLOADER_THREADS='0' is not valid: use a whole number from 1 to 1024"},
      {{{"RSLEX_DOWNLOADER_THREADS", "2000"}}, "from 1 to 1024"},
      {{{"DATASET_MOUNT_READ_THREADS", "four"}}, "DATASET_MOUNT_READ_THREADS='four'"},
      {{{"DATASET_MOUNT_BLOCK_FILE_CACHE_WRITE_THREADS", "-2"}}, "from 1 to 1024"},
      {{{"AZUREML_DATASET_HTTP_RETRY_COUNT", "7.5"}},
       "AZUREML_DATASET_HTTP_RETRY_COUNT='7.5' is not valid"},
      {{{"DATASET_MOUNT_ATTRIBUTE_CACHE_TTL", "10s"}},
       "DATASET_MOUNT_ATTRIBUTE_CACHE_TTL='10s' is not valid: use a whole number of ms"},
      {{{"DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD", "1.5"}},
       "DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD='1.5' is not valid"},
      {{{"DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD", "0"}}, "use a number > 0"},
      {{{"DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET", "-0.1"}}, "use a number >= 0"},
      {{{"DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET", "x"}},
       "DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET='x'"},
      {{{"DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD", "0.5"},
        {"DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET", "0.6"}},
       "DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET=0.6 is above "
       "DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD=0.5"},
      {{{"DATAPORT_RETRY_BASE_DELAY_MS", "100"}, {"DATAPORT_RETRY_MAX_DELAY_MS", "10"}},
       "DATAPORT_RETRY_BASE_DELAY_MS=100 is above DATAPORT_RETRY_MAX_DELAY_MS=10"},
      {{{"DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED", "maybe"}},
       "DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED='maybe' is not a boolean"},
      {{{"DATASET_MOUNT_CACHE_SIZE", "lots"}}, "DATASET_MOUNT_CACHE_SIZE='lots' is not a size"},
      {{{"DATASET_UNMOUNT_TIMEOUT_SECONDS", "-1"}}, "DATASET_UNMOUNT_TIMEOUT_SECONDS='-1'"},
      {{{"DATAPORT_CONNECT_TIMEOUT_MS", "0"}}, "DATAPORT_CONNECT_TIMEOUT_MS='0'"},
      {{{"DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT", "5000"}}, "from 0 to 4096"},
  };
  for (const auto& [vars, message] : rows) {
    INFO(message);
    CHECK_THAT(env_error(vars), Catch::Contains(message));
  }
}

TEST_CASE("set() applies one setting by name - validate() checks pairs") {
  settings s;
  s.set("DATASET_MOUNT_READ_BLOCK_SIZE", "4MB");
  CHECK(s.read_block_size == 4ull << 20);
  s.set("DATASET_MOUNT_CACHE_SIZE", "10GB");
  CHECK(s.mount_cache_size == (10ll << 30));
  s.set("DATASET_MOUNT_CACHE_SIZE", "unset");
  CHECK_FALSE(s.mount_cache_size.has_value());
  s.set("DATASET_MOUNT_ATTRIBUTE_CACHE_TTL", "1500");
  CHECK(s.attribute_cache_ttl == std::optional<std::chrono::milliseconds>(1500ms));
  s.set("DATASET_MOUNT_ATTRIBUTE_CACHE_TTL", "never");
  CHECK_FALSE(s.attribute_cache_ttl.has_value());
  CHECK_THROWS_WITH(s.set("DATASET_MOUNT_READ_BLOK_SIZE", "1"),
                    Catch::Contains("unknown setting 'DATASET_MOUNT_READ_BLOK_SIZE'") &&
                        Catch::Contains("DATASET_MOUNT_READ_BLOCK_SIZE"));
  // Order of set() calls does not matter; validate() checks the pair at the end.
  s.set("DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD", "0.5");
  CHECK_THROWS_AS(s.validate(), dataport::error);
  s.set("DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET", "0.4");
  CHECK_NOTHROW(s.validate());
}

TEST_CASE("describe() lists every setting and round-trips through set()") {
  auto s = settings::from_environment(
      env_of({{"DATASET_MOUNT_CACHE_SIZE", "-1GB"}, {"DATASET_MOUNT_READ_THREADS", "12"}}));
  const auto described = s.describe();
  CHECK(described.size() == 34);  // + DATAPORT_MOUNT_RANDOM_READ_REQUEST_COST
  CHECK(described.at("DATASET_MOUNT_CACHE_SIZE") == std::to_string(-(1ll << 30)));
  CHECK(described.at("DATASET_MOUNT_ATTRIBUTE_CACHE_TTL") == "unset");
  CHECK(described.at("DATASET_MOUNT_READ_THREADS") == "12");
  CHECK(described.at("DATAPORT_MOUNT_READ_FETCH_SIZE") == std::to_string(16 << 20));
  CHECK(described.at("DATAPORT_MOUNT_RANDOM_READ_PARTS") == "true");
  CHECK(described.at("DATAPORT_MOUNT_RANDOM_READ_REQUEST_COST") == std::to_string(128 << 10));
  CHECK(described.at("RSLEX_DOWNLOADER_THREADS") == std::to_string(std::min(cores() * 4, 1024u)));
  CHECK(described.at("DATASET_MOUNT_READ_BLOCK_SIZE") == "2097152");
  CHECK(described.at("DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET") == "0.7");
  CHECK(described.at("DATAPORT_TLS_VERIFY") == "true");

  settings copy;
  for (const auto& [name, value] : described) copy.set(name, value);
  CHECK(copy.describe() == described);
}
