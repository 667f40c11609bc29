#include "dataport/metrics.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

TEST_CASE("metrics counters add and appear in JSON") {
  dataport::metrics m;
  m.add(dataport::counter::requests, 3);
  m.add(dataport::counter::bytes_received, 1000);
  m.add(dataport::counter::requests);
  CHECK(m.get(dataport::counter::requests) == 4);
  const auto json = nlohmann::json::parse(m.to_json());
  CHECK(json["counters"]["requests"] == 4);
  CHECK(json["counters"]["bytes_received"] == 1000);
  CHECK(json["counters"]["retries"] == 0);
}

TEST_CASE("latency percentiles come from the log2 histogram") {
  dataport::metrics m;
  for (int i = 0; i < 90; ++i) m.record_latency(std::chrono::microseconds(100));
  for (int i = 0; i < 10; ++i) m.record_latency(std::chrono::microseconds(5000));
  CHECK(m.latency_percentile_us(50) == 127);   // bucket [64,128)
  CHECK(m.latency_percentile_us(99) == 5000);  // bucket upper 8191 capped by max
  const auto json = nlohmann::json::parse(m.to_json());
  CHECK(json["request_latency_us"]["max"] == 5000);
}
